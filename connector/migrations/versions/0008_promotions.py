"""promotions: the program status (pause, archive), the tenant's promotion groups, gift units on
receipt lines, the promotion versions each receipt used and each promotion's usage counter

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 15:46:49.791023
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "promotion_usage",
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("uses", sa.BigInteger(), nullable=False),
        sa.Column("spent", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["programs.id"],
            name=op.f("fk_promotion_usage_program_id_programs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("program_id", name=op.f("pk_promotion_usage")),
    )
    op.create_table(
        "receipt_promotions",
        sa.Column(
            "receipt_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("discount", sa.BigInteger(), nullable=False),
        sa.Column("bonus", sa.BigInteger(), nullable=False),
        sa.Column("returned_discount", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("returned_bonus", sa.BigInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["receipt_id"],
            ["receipts.id"],
            name=op.f("fk_receipt_promotions_receipt_id_receipts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["program_versions.id"],
            name=op.f("fk_receipt_promotions_version_id_program_versions"),
        ),
        sa.PrimaryKeyConstraint("receipt_id", "version_id", name=op.f("pk_receipt_promotions")),
    )
    with op.batch_alter_table("receipt_promotions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_receipt_promotions_version_id"), ["version_id"], unique=False
        )

    with op.batch_alter_table("programs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=16), server_default="active", nullable=False)
        )

    with op.batch_alter_table("receipt_lines", schema=None) as batch_op:
        batch_op.alter_column(
            "goods_id", existing_type=sa.String(length=64), type_=sa.String(length=80),
            existing_nullable=False,
        )  # fmt: skip
        batch_op.add_column(
            sa.Column("gift_quantity", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("gift_amount", sa.BigInteger(), server_default="0", nullable=False)
        )

    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("promotion_groups", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("promotion_groups")

    with op.batch_alter_table("receipt_lines", schema=None) as batch_op:
        batch_op.alter_column(
            "goods_id", existing_type=sa.String(length=80), type_=sa.String(length=64),
            existing_nullable=False,
        )  # fmt: skip
        batch_op.drop_column("gift_amount")
        batch_op.drop_column("gift_quantity")

    with op.batch_alter_table("programs", schema=None) as batch_op:
        batch_op.drop_column("status")

    with op.batch_alter_table("receipt_promotions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_receipt_promotions_version_id"))

    op.drop_table("receipt_promotions")
    op.drop_table("promotion_usage")
