"""goods: stock per 1C warehouse as one column of the goods row; barcodes keyed by tenant
without a foreign key of their own

An offers file updates each goods row once (prices, total stock and stock per warehouse) instead
of writing a ``goods_stock`` row per store besides. A store's stock is its warehouse's. Rows
already in ``goods_stock`` are folded in under their store's warehouse. A barcode's goods
(cascading from the tenant) covers its tenant: the second key check per barcode goes.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 16:20:00.000000
"""

from collections.abc import Sequence
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_goods = sa.table("goods", sa.column("id", sa.Integer()), sa.column("warehouse_stock", sa.JSON()))
_stores = sa.table(
    "stores",
    sa.column("id", sa.Integer()),
    sa.column("tenant_id", sa.Integer()),
    sa.column("warehouse_id", sa.String()),
)
_stock = sa.table(
    "goods_stock",
    sa.column("goods_id", sa.Integer()),
    sa.column("store_id", sa.Integer()),
    sa.column("quantity", sa.BigInteger()),
)


def upgrade() -> None:
    with op.batch_alter_table("goods_barcodes", schema=None) as batch_op:
        batch_op.drop_constraint("fk_goods_barcodes_tenant_id_tenants", type_="foreignkey")
    with op.batch_alter_table("goods", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("warehouse_stock", sa.JSON(), server_default="{}", nullable=False)
        )
    connection = op.get_bind()
    folded: dict[int, dict[str, str]] = {}
    rows = connection.execute(
        sa.select(_stock.c.goods_id, _stores.c.warehouse_id, _stock.c.quantity)
        .join(_stores, _stores.c.id == _stock.c.store_id)
        .where(_stores.c.warehouse_id.is_not(None))
    )
    for goods_id, warehouse_id, quantity in rows:
        folded.setdefault(goods_id, {})[warehouse_id] = str(Decimal(quantity).scaleb(-3))
    for goods_id, stock in folded.items():
        connection.execute(
            sa.update(_goods).where(_goods.c.id == goods_id).values(warehouse_stock=stock)
        )
    with op.batch_alter_table("goods_stock", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_goods_stock_store_id"))
    op.drop_table("goods_stock")


def downgrade() -> None:
    op.create_table(
        "goods_stock",
        sa.Column("goods_id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["goods_id"],
            ["goods.id"],
            name=op.f("fk_goods_stock_goods_id_goods"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
            name=op.f("fk_goods_stock_store_id_stores"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("goods_id", "store_id", name=op.f("pk_goods_stock")),
    )
    with op.batch_alter_table("goods_stock", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_goods_stock_store_id"), ["store_id"], unique=False)
    connection = op.get_bind()
    stores = {
        (tenant_id, warehouse_id): store_id
        for store_id, tenant_id, warehouse_id in connection.execute(
            sa.select(_stores.c.id, _stores.c.tenant_id, _stores.c.warehouse_id)
        )
    }
    goods = sa.table(
        "goods",
        sa.column("id", sa.Integer()),
        sa.column("tenant_id", sa.Integer()),
        sa.column("warehouse_stock", sa.JSON()),
    )
    for goods_id, tenant_id, stock in connection.execute(
        sa.select(goods.c.id, goods.c.tenant_id, goods.c.warehouse_stock)
    ):
        for warehouse_id, quantity in (stock or {}).items():
            store_id = stores.get((tenant_id, warehouse_id))
            if store_id is not None:
                connection.execute(
                    sa.insert(_stock).values(
                        goods_id=goods_id,
                        store_id=store_id,
                        quantity=int(Decimal(quantity).scaleb(3)),
                    )
                )
    with op.batch_alter_table("goods", schema=None) as batch_op:
        batch_op.drop_column("warehouse_stock")
    with op.batch_alter_table("goods_barcodes", schema=None) as batch_op:
        batch_op.create_foreign_key(
            "fk_goods_barcodes_tenant_id_tenants",
            "tenants",
            ["tenant_id"],
            ["id"],
            ondelete="CASCADE",
        )
