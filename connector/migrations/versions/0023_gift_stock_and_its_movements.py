"""gift stock: units per store and goods, and their movements

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04 19:06:48.929981
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gift_stock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("goods_id", sa.String(length=80), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity >= 0", name=op.f("ck_gift_stock_quantity_not_negative")),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
            name=op.f("fk_gift_stock_store_id_stores"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_gift_stock_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gift_stock")),
        sa.UniqueConstraint("store_id", "goods_id", name=op.f("uq_gift_stock_store_id_goods_id")),
    )
    with op.batch_alter_table("gift_stock", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gift_stock_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "gift_movements",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("goods_id", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("balance_after", sa.Integer(), nullable=False),
        sa.Column(
            "receipt_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("transaction_id", sa.String(length=64), nullable=True),
        sa.Column("line_no", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("promotion", sa.String(length=64), nullable=True),
        sa.Column("document", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("author", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_gift_movements_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["receipt_id"],
            ["receipts.id"],
            name=op.f("fk_gift_movements_receipt_id_receipts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
            name=op.f("fk_gift_movements_store_id_stores"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_gift_movements_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gift_movements")),
    )
    with op.batch_alter_table("gift_movements", schema=None) as batch_op:
        batch_op.create_index("ix_gift_movements_receipt_id", ["receipt_id"], unique=False)
        batch_op.create_index(
            "ix_gift_movements_store_id_goods_id", ["store_id", "goods_id", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("gift_movements", schema=None) as batch_op:
        batch_op.drop_index("ix_gift_movements_store_id_goods_id")
        batch_op.drop_index("ix_gift_movements_receipt_id")

    op.drop_table("gift_movements")
    with op.batch_alter_table("gift_stock", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gift_stock_tenant_id"))

    op.drop_table("gift_stock")
