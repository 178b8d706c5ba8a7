"""discount server, sync log, external ids, admin tokens

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 20:14:00.709974
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "admin_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_admin_tokens_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_admin_tokens_token_hash")),
    )
    with op.batch_alter_table("admin_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_admin_tokens_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "discount_server_credentials",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_discount_server_credentials_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_discount_server_credentials")),
    )
    op.create_table(
        "ds_bonuses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("document_type", sa.String(length=100), nullable=False),
        sa.Column("document_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.DateTime(), nullable=False),
        sa.Column("movement", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.String(length=64), nullable=True),
        sa.Column("card_id", sa.String(length=64), nullable=True),
        sa.Column("accrued", sa.BigInteger(), nullable=True),
        sa.Column("to_write_off", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_ds_bonuses_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ds_bonuses")),
    )
    with op.batch_alter_table("ds_bonuses", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ds_bonuses_card", ["tenant_id", "card_id", "period"], unique=False
        )
        batch_op.create_index(
            "ix_ds_bonuses_document", ["tenant_id", "document_type", "document_id"], unique=False
        )

    op.create_table(
        "ds_coupons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("document_type", sa.String(length=100), nullable=False),
        sa.Column("document_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.DateTime(), nullable=False),
        sa.Column("discount_id", sa.String(length=64), nullable=True),
        sa.Column("coupon_code", sa.String(length=200), nullable=True),
        sa.Column("state", sa.String(length=50), nullable=True),
        sa.Column("store_id", sa.String(length=64), nullable=True),
        sa.Column("valid_until", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_ds_coupons_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ds_coupons")),
    )
    with op.batch_alter_table("ds_coupons", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ds_coupons_code", ["tenant_id", "coupon_code", "period"], unique=False
        )
        batch_op.create_index(
            "ix_ds_coupons_document", ["tenant_id", "document_type", "document_id"], unique=False
        )

    op.create_table(
        "ds_sales",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("document_type", sa.String(length=100), nullable=False),
        sa.Column("document_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.DateTime(), nullable=False),
        sa.Column("card_id", sa.String(length=64), nullable=True),
        sa.Column("goods_id", sa.String(length=64), nullable=True),
        sa.Column("characteristic_id", sa.String(length=64), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("quantity", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_ds_sales_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ds_sales")),
    )
    with op.batch_alter_table("ds_sales", schema=None) as batch_op:
        batch_op.create_index("ix_ds_sales_card", ["tenant_id", "card_id", "period"], unique=False)
        batch_op.create_index(
            "ix_ds_sales_document", ["tenant_id", "document_type", "document_id"], unique=False
        )

    op.create_table(
        "external_ids",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_external_ids_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_external_ids")),
        sa.UniqueConstraint(
            "tenant_id",
            "kind",
            "external_id",
            name=op.f("uq_external_ids_tenant_id_kind_external_id"),
        ),
    )
    op.create_table(
        "sync_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("exchange", sa.String(length=32), nullable=False),
        sa.Column("operation", sa.String(length=100), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("document_type", sa.String(length=100), nullable=True),
        sa.Column("document_id", sa.String(length=100), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_sync_log_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_log")),
    )
    with op.batch_alter_table("sync_log", schema=None) as batch_op:
        batch_op.create_index("ix_sync_log_tenant_id_at", ["tenant_id", "at"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("sync_log", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_log_tenant_id_at")

    op.drop_table("sync_log")
    op.drop_table("external_ids")
    with op.batch_alter_table("ds_sales", schema=None) as batch_op:
        batch_op.drop_index("ix_ds_sales_document")
        batch_op.drop_index("ix_ds_sales_card")

    op.drop_table("ds_sales")
    with op.batch_alter_table("ds_coupons", schema=None) as batch_op:
        batch_op.drop_index("ix_ds_coupons_document")
        batch_op.drop_index("ix_ds_coupons_code")

    op.drop_table("ds_coupons")
    with op.batch_alter_table("ds_bonuses", schema=None) as batch_op:
        batch_op.drop_index("ix_ds_bonuses_document")
        batch_op.drop_index("ix_ds_bonuses_card")

    op.drop_table("ds_bonuses")
    op.drop_table("discount_server_credentials")
    with op.batch_alter_table("admin_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_admin_tokens_tenant_id"))

    op.drop_table("admin_tokens")
