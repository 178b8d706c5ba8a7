"""server defaults the hot path's write relies on: a sale line's returned sums, a receipt's
offline mark and claw-back shortfall

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 20:58:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RETURNED = (
    "returned_quantity", "returned_amount", "returned_accrual", "returned_payment",
    "returned_final",
)  # fmt: skip


def upgrade() -> None:
    with op.batch_alter_table("receipt_lines", schema=None) as batch_op:
        for name in RETURNED:
            batch_op.alter_column(name, existing_type=sa.BigInteger(), server_default="0")
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.alter_column("offline", existing_type=sa.Boolean(), server_default=sa.false())
        batch_op.alter_column(
            "clawback_shortfall", existing_type=sa.BigInteger(), server_default="0"
        )


def downgrade() -> None:
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.alter_column(
            "clawback_shortfall", existing_type=sa.BigInteger(), server_default=None
        )
        batch_op.alter_column("offline", existing_type=sa.Boolean(), server_default=None)
    with op.batch_alter_table("receipt_lines", schema=None) as batch_op:
        for name in RETURNED:
            batch_op.alter_column(name, existing_type=sa.BigInteger(), server_default=None)
