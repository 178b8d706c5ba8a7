"""goods catalog: goods groups (a tree), brands, goods and their barcodes, per tenant

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 15:48:15.698998
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "brands",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("deleted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_brands_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_brands")),
        sa.UniqueConstraint(
            "tenant_id", "external_id", name=op.f("uq_brands_tenant_id_external_id")
        ),
    )  # fmt: skip
    op.create_table(
        "goods_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("deleted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["goods_groups.id"],
            name=op.f("fk_goods_groups_parent_id_goods_groups"), ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_goods_groups_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_goods_groups")),
        sa.UniqueConstraint(
            "tenant_id", "external_id", name=op.f("uq_goods_groups_tenant_id_external_id")
        ),
    )  # fmt: skip
    op.create_table(
        "goods",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=80), nullable=False),
        sa.Column("article", sa.String(length=100), nullable=True),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=True),
        sa.Column("brand_id", sa.Integer(), nullable=True),
        sa.Column("supplier", sa.String(length=80), nullable=True),
        sa.Column("supplier_name", sa.String(length=500), nullable=True),
        sa.Column("vat_rate", sa.String(length=8), nullable=True),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("no_discount", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("no_bonus_payment", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("price_categories", sa.JSON(), server_default="{}", nullable=False),
        sa.Column("deleted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["brand_id"], ["brands.id"], name=op.f("fk_goods_brand_id_brands"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["goods_groups.id"], name=op.f("fk_goods_group_id_goods_groups"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_goods_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_goods")),
        sa.UniqueConstraint(
            "tenant_id", "external_id", name=op.f("uq_goods_tenant_id_external_id")
        ),
    )  # fmt: skip
    op.create_table(
        "goods_barcodes",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("barcode", sa.String(length=64), nullable=False),
        sa.Column("goods_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["goods_id"], ["goods.id"], name=op.f("fk_goods_barcodes_goods_id_goods"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_goods_barcodes_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "barcode", name=op.f("pk_goods_barcodes")),
    )  # fmt: skip
    with op.batch_alter_table("goods_barcodes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_goods_barcodes_goods_id"), ["goods_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("goods_barcodes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_goods_barcodes_goods_id"))

    op.drop_table("goods_barcodes")
    op.drop_table("goods")
    op.drop_table("goods_groups")
    op.drop_table("brands")
