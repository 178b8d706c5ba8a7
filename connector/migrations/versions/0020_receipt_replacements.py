"""receipt replacements: a 1C document's sale re-posted and the receipt of its new version

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "receipt_replacements",
        sa.Column(
            "receipt_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "replaced_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["receipt_id"],
            ["receipts.id"],
            name=op.f("fk_receipt_replacements_receipt_id_receipts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["replaced_by_id"],
            ["receipts.id"],
            name=op.f("fk_receipt_replacements_replaced_by_id_receipts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("receipt_id", name=op.f("pk_receipt_replacements")),
        sa.UniqueConstraint("replaced_by_id", name=op.f("uq_receipt_replacements_replaced_by_id")),
    )


def downgrade() -> None:
    op.drop_table("receipt_replacements")
