"""receipt line no accrual: the POS's mark that a line earns no bonus (Manzana's SignCharge 0)

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-04 21:41:34.950495
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A constant default: PostgreSQL adds the column without rewriting the table.
    with op.batch_alter_table("receipt_lines", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("no_accrual", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("receipt_lines", schema=None) as batch_op:
        batch_op.drop_column("no_accrual")
