"""Certificate series, certificates, and the documents that move them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from processing.catalog.models import EXTERNAL_ID_LENGTH
from processing.db import Base
from processing.types import UtcDateTime

BIG_ID = BigInteger().with_variant(Integer, "sqlite")  # as receipts.id


class SeriesKind(StrEnum):
    PAPER = "paper"  # a fixed nominal, printed codes generated in batches
    ELECTRONIC = "electronic"  # the nominal chosen at sale within limits, the code made then


class Scope(StrEnum):
    """Where a sold certificate may be redeemed."""

    POS = "pos"  # at the POS that sold it
    STORE = "store"  # in the store that sold it
    TENANT = "tenant"  # in any store of the tenant


class Remainder(StrEnum):
    """What becomes of the unspent part after a partial redemption."""

    KEEP = "keep"  # stays on the certificate for the next purchase
    BURN = "burn"  # is lost


class SeriesStatus(StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"  # final: no new certificates, none issued to a store any more


class CertificateStatus(StrEnum):
    INACTIVE = "inactive"  # in accounting
    IN_STORE = "in_store"  # issued to a store, not at a POS
    AT_POS = "at_pos"  # at a POS, ready for sale
    SOLD = "sold"  # with the customer
    REDEEMED = "redeemed"  # spent (or its remainder burnt), not sold again
    WITHDRAWN = "withdrawn"  # written off; final


STATUS_TITLES = {
    CertificateStatus.INACTIVE: "Не активный",
    CertificateStatus.IN_STORE: "Не на кассе",
    CertificateStatus.AT_POS: "На кассе",
    CertificateStatus.SOLD: "У покупателя",
    CertificateStatus.REDEEMED: "Погашен",
    CertificateStatus.WITHDRAWN: "Списан",
}

# Where a certificate in each status is: the stock report's locations.
ACCOUNTING, STORE, POS, CUSTOMER, SPENT, WRITTEN_OFF = (
    "accounting",
    "store",
    "pos",
    "customer",
    "redeemed",
    "withdrawn",
)
LOCATION_OF_STATUS = {
    CertificateStatus.INACTIVE: ACCOUNTING,
    CertificateStatus.IN_STORE: STORE,
    CertificateStatus.AT_POS: POS,
    CertificateStatus.SOLD: CUSTOMER,
    CertificateStatus.REDEEMED: SPENT,
    CertificateStatus.WITHDRAWN: WRITTEN_OFF,
}


class CertificateSeries(Base):
    __tablename__ = "certificate_series"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))  # SeriesKind
    # Money in kopecks: the nominal of a paper series; the limits of an electronic one.
    nominal: Mapped[int | None] = mapped_column(BigInteger)
    min_nominal: Mapped[int | None] = mapped_column(BigInteger)
    max_nominal: Mapped[int | None] = mapped_column(BigInteger)
    valid_days: Mapped[int | None] = mapped_column(Integer)  # after the sale
    valid_until: Mapped[datetime | None] = mapped_column(UtcDateTime())  # or a fixed end
    goods_id: Mapped[str] = mapped_column(String(EXTERNAL_ID_LENGTH))  # 1C goods item selling it
    scope: Mapped[str] = mapped_column(String(8))  # Scope
    resale: Mapped[bool] = mapped_column(Boolean)  # a redeemed certificate is sold again
    remainder: Mapped[str] = mapped_column(String(8))  # Remainder
    code_format: Mapped[str] = mapped_column(String(8))  # processing.codes.FORMATS
    code_length: Mapped[int] = mapped_column(Integer)
    prefix: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # SeriesStatus
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    author: Mapped[str] = mapped_column(String(100))


class Certificate(Base):
    """A certificate and where it is: accounting (inactive), a store, a POS (``store_id`` too),
    or with the customer; ``sold_*`` say where it was sold, for its redemption scope."""

    __tablename__ = "certificates"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        Index("ix_certificates_tenant_id_status", "tenant_id", "status"),
        Index("ix_certificates_pos_id", "pos_id"),
    )

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    series_id: Mapped[int] = mapped_column(
        ForeignKey("certificate_series.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # CertificateStatus
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    pos_id: Mapped[int | None] = mapped_column(ForeignKey("pos_terminals.id"))
    nominal: Mapped[int | None] = mapped_column(BigInteger)  # kopecks; electronic: at sale
    balance: Mapped[int | None] = mapped_column(BigInteger)  # kopecks: the remainder
    sold_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    sold_store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    sold_pos_id: Mapped[int | None] = mapped_column(ForeignKey("pos_terminals.id"))

    series: Mapped[CertificateSeries] = relationship(lazy="joined", innerjoin=True)


class CertificateDocument(Base):
    """One move of certificates between locations; ``number`` makes it idempotent. A location
    is accounting (no store), a store, or a POS (its store as well); a withdrawal goes nowhere."""

    __tablename__ = "certificate_documents"
    __table_args__ = (UniqueConstraint("tenant_id", "number"),)

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    number: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(24))  # documents.MOVES
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    author: Mapped[str] = mapped_column(String(100))
    from_store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    from_pos_id: Mapped[int | None] = mapped_column(ForeignKey("pos_terminals.id"))
    to_store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    to_pos_id: Mapped[int | None] = mapped_column(ForeignKey("pos_terminals.id"))


class CertificateDocumentLine(Base):
    __tablename__ = "certificate_document_lines"

    document_id: Mapped[int] = mapped_column(
        BIG_ID, ForeignKey("certificate_documents.id", ondelete="CASCADE"), primary_key=True
    )
    certificate_id: Mapped[int] = mapped_column(
        BIG_ID, ForeignKey("certificates.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class OperationKind(StrEnum):
    """A change of a certificate on a receipt; ``amount`` is the balance change (kopecks)."""

    SALE = "sale"  # sold: the balance is its nominal (+)
    REDEMPTION = "redemption"  # paid a purchase (−)
    BURN = "burn"  # the remainder lost after a partial redemption (−), policy "burn"
    REFUND = "refund"  # a purchase it paid returned: the money back on it (+)
    SALE_RETURN = "sale_return"  # the certificate itself returned unused (−, back at the POS)
    RESTOCK = "restock"  # spent, back in the store's stock for sale again (0)
    REVERSAL = "reversal"  # the receipt rolled back, unposted or replaced (an operation undone)


class CertificateOperation(Base):
    """One change of a certificate by a receipt: what the receipt did, for its answer, returns
    and undoing, and the certificate's history."""

    __tablename__ = "certificate_operations"
    __table_args__ = (Index("ix_certificate_operations_receipt_id", "receipt_id"),)

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    certificate_id: Mapped[int] = mapped_column(
        BIG_ID, ForeignKey("certificates.id", ondelete="CASCADE"), index=True
    )
    receipt_id: Mapped[int] = mapped_column(BIG_ID, ForeignKey("receipts.id", ondelete="CASCADE"))
    # a refund: the sale receipt whose certificate payment the return gives back
    origin_id: Mapped[int | None] = mapped_column(
        BIG_ID, ForeignKey("receipts.id", ondelete="CASCADE"), index=True
    )
    line_no: Mapped[int | None] = mapped_column(Integer)  # the sale line
    kind: Mapped[str] = mapped_column(String(16))  # OperationKind
    amount: Mapped[int] = mapped_column(BigInteger)  # kopecks, signed
    balance_after: Mapped[int] = mapped_column(BigInteger)
    status_after: Mapped[str] = mapped_column(String(16))
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # a sale: as answered
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    pos_id: Mapped[int] = mapped_column(ForeignKey("pos_terminals.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
