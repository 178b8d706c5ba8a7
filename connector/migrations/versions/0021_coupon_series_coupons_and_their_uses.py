"""coupons: series (code format, validity, usage rules), coupons and their uses on receipts

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 17:26:04.790628
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "coupon_series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("promotion_id", sa.Integer(), nullable=True),
        sa.Column("code_format", sa.String(length=8), nullable=False),
        sa.Column("code_length", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("uses_per_coupon", sa.Integer(), nullable=True),
        sa.Column("per_receipt", sa.Integer(), nullable=True),
        sa.Column("bound", sa.Boolean(), nullable=False),
        sa.Column("auto", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["promotion_id"], ["programs.id"], name=op.f("fk_coupon_series_promotion_id_programs")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_coupon_series_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_series")),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_coupon_series_tenant_id_code")),
    )
    with op.batch_alter_table("coupon_series", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_coupon_series_promotion_id"), ["promotion_id"], unique=False
        )

    op.create_table(
        "coupons",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("uses", sa.Integer(), server_default="0", nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("issued_via", sa.String(length=16), nullable=True),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("taken_via", sa.String(length=32), nullable=True),
        sa.Column("redeemed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_coupons_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["coupon_series.id"],
            name=op.f("fk_coupons_series_id_coupon_series"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_coupons_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupons")),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_coupons_tenant_id_code")),
    )
    with op.batch_alter_table("coupons", schema=None) as batch_op:
        batch_op.create_index(
            "ix_coupons_customer_id",
            ["customer_id"],
            unique=False,
            postgresql_where=sa.text("customer_id IS NOT NULL"),
            sqlite_where=sa.text("customer_id IS NOT NULL"),
        )
        batch_op.create_index("ix_coupons_series_id_status", ["series_id", "status"], unique=False)

    op.create_table(
        "coupon_uses",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "coupon_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "receipt_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["coupon_id"],
            ["coupons.id"],
            name=op.f("fk_coupon_uses_coupon_id_coupons"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["receipt_id"],
            ["receipts.id"],
            name=op.f("fk_coupon_uses_receipt_id_receipts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_uses")),
        sa.UniqueConstraint(
            "coupon_id", "receipt_id", name=op.f("uq_coupon_uses_coupon_id_receipt_id")
        ),
    )
    with op.batch_alter_table("coupon_uses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_coupon_uses_receipt_id"), ["receipt_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("coupon_uses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coupon_uses_receipt_id"))

    op.drop_table("coupon_uses")
    with op.batch_alter_table("coupons", schema=None) as batch_op:
        batch_op.drop_index("ix_coupons_series_id_status")
        batch_op.drop_index(
            "ix_coupons_customer_id",
            postgresql_where=sa.text("customer_id IS NOT NULL"),
            sqlite_where=sa.text("customer_id IS NOT NULL"),
        )

    op.drop_table("coupons")
    with op.batch_alter_table("coupon_series", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coupon_series_promotion_id"))

    op.drop_table("coupon_series")
