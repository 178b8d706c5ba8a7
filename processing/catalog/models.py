"""Goods groups (a tree), brands, goods and their barcodes, per tenant, keyed by 1C ids.

Nothing is removed: 1C's deletion mark is kept as ``deleted``, and an upload without the mark
revives the record. The unique ``(tenant_id, external_id)`` constraints lead with
``tenant_id``, so their indexes serve every per-tenant query (no separate tenant index).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, ForeignKey, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from processing.db import Base
from processing.types import Quantity, UtcDateTime

EXTERNAL_ID_LENGTH = 80  # a 1C GUID, or GUID#GUID for a characteristic
BARCODE_LENGTH = 64
NAME_LENGTH = 500
ARTICLE_LENGTH = 100
UNIT_LENGTH = 32


class GoodsGroup(Base):
    """A group of goods (1C: группа номенклатуры). A condition on a group covers its subtree."""

    __tablename__ = "goods_groups"
    __table_args__ = (UniqueConstraint("tenant_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(EXTERNAL_ID_LENGTH))
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("goods_groups.id", ondelete="SET NULL")
    )
    deleted: Mapped[bool] = mapped_column(Boolean, server_default=false())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Brand(Base):
    """A brand (1C: марка, производитель)."""

    __tablename__ = "brands"
    __table_args__ = (UniqueConstraint("tenant_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(EXTERNAL_ID_LENGTH))
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    deleted: Mapped[bool] = mapped_column(Boolean, server_default=false())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Goods(Base):
    """A goods item, or one characteristic of it (``external_id`` ``GUID#characteristicGUID``).

    ``price_categories`` maps a 1C price type to the price as a decimal string with two
    decimals (``"125.50"``): JSON numbers would go through float."""

    __tablename__ = "goods"
    __table_args__ = (UniqueConstraint("tenant_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(EXTERNAL_ID_LENGTH))
    article: Mapped[str | None] = mapped_column(String(ARTICLE_LENGTH))
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    unit: Mapped[str | None] = mapped_column(String(UNIT_LENGTH))
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id", ondelete="SET NULL"))
    supplier: Mapped[str | None] = mapped_column(String(EXTERNAL_ID_LENGTH))
    supplier_name: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    vat_rate: Mapped[str | None] = mapped_column(String(8))  # service.VAT_RATES
    group_id: Mapped[int | None] = mapped_column(ForeignKey("goods_groups.id", ondelete="SET NULL"))
    no_discount: Mapped[bool] = mapped_column(Boolean, server_default=false())
    no_bonus_payment: Mapped[bool] = mapped_column(Boolean, server_default=false())
    price_categories: Mapped[dict[str, str]] = mapped_column(
        JSON, default=dict, server_default="{}"
    )
    # Property Ид → value text (a reference property's value resolved to its text).
    properties: Mapped[dict[str, str]] = mapped_column(JSON, default=dict, server_default="{}")
    # 1C requisites by name (ВидНоменклатуры, ТипНоменклатуры, ...).
    requisites: Mapped[dict[str, str]] = mapped_column(JSON, default=dict, server_default="{}")
    stock: Mapped[Decimal | None] = mapped_column(Quantity())  # in all warehouses, when sent
    # 1C warehouse GUID → quantity with 3 decimals ("12.000"), as 1C last sent it: a store's
    # stock is its warehouse's (``Store.warehouse_id``). One column, not a row per warehouse,
    # so an offers file updates each goods row once.
    warehouse_stock: Mapped[dict[str, str]] = mapped_column(JSON, default=dict, server_default="{}")
    deleted: Mapped[bool] = mapped_column(Boolean, server_default=false())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class GoodsBarcode(Base):
    """A barcode names one goods item of the tenant; a goods item may have several."""

    __tablename__ = "goods_barcodes"

    # No foreign key of its own: the goods' (cascading from the tenant's) covers it, and an
    # import writes hundreds of thousands of barcodes, each key checked.
    tenant_id: Mapped[int] = mapped_column(primary_key=True)
    barcode: Mapped[str] = mapped_column(String(BARCODE_LENGTH), primary_key=True)
    goods_id: Mapped[int] = mapped_column(ForeignKey("goods.id", ondelete="CASCADE"), index=True)


class GoodsProperty(Base):
    """A property of goods (1C: свойство, доп. реквизит) with the values of a reference one."""

    __tablename__ = "goods_properties"
    __table_args__ = (UniqueConstraint("tenant_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(EXTERNAL_ID_LENGTH))
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    value_type: Mapped[str | None] = mapped_column(String(32))
    values: Mapped[dict[str, str]] = mapped_column(JSON, default=dict, server_default="{}")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PriceType(Base):
    """A 1C price type (вид цены): the keys of ``Goods.price_categories``."""

    __tablename__ = "price_types"
    __table_args__ = (UniqueConstraint("tenant_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(EXTERNAL_ID_LENGTH))
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    currency: Mapped[str | None] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
