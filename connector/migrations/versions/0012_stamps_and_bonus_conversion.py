"""stamps: a counter per card account and stamps promotion; what a receipt's promotion changed
in stamps and spent in points (bonus conversion), and what returns took back

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 20:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stamp_counters",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("stamps", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_stamp_counters_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["programs.id"],
            name=op.f("fk_stamp_counters_program_id_programs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "program_id", name=op.f("pk_stamp_counters")),
    )
    with op.batch_alter_table("stamp_counters", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_stamp_counters_program_id"), ["program_id"], unique=False
        )
    with op.batch_alter_table("receipt_promotions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stamps", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column("returned_stamps", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("points", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("returned_points", sa.BigInteger(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("receipt_promotions", schema=None) as batch_op:
        batch_op.drop_column("returned_points")
        batch_op.drop_column("points")
        batch_op.drop_column("returned_stamps")
        batch_op.drop_column("stamps")
    with op.batch_alter_table("stamp_counters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stamp_counters_program_id"))
    op.drop_table("stamp_counters")
