"""partial receipt indexes (client transaction id, original receipt), no postings.operation index:
a commit no longer writes index entries that no query reads

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 15:27:50.721966
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _where(condition: str) -> dict[str, sa.TextClause]:
    return {"postgresql_where": sa.text(condition), "sqlite_where": sa.text(condition)}


def upgrade() -> None:
    with op.batch_alter_table("postings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_postings_operation"))

    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_receipts_pos_id_client_txn_id"), type_="unique")
        batch_op.create_index(
            "uq_receipts_pos_id_client_txn_id", ["pos_id", "client_txn_id"], unique=True,
            **_where("client_txn_id IS NOT NULL"),
        )  # fmt: skip
        batch_op.drop_index(batch_op.f("ix_receipts_original_id"))
        batch_op.create_index(
            "ix_receipts_original_id", ["original_id"], **_where("original_id IS NOT NULL")
        )


def downgrade() -> None:
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.drop_index("ix_receipts_original_id")
        batch_op.create_index(batch_op.f("ix_receipts_original_id"), ["original_id"])
        batch_op.drop_index("uq_receipts_pos_id_client_txn_id")
        batch_op.create_unique_constraint(
            batch_op.f("uq_receipts_pos_id_client_txn_id"), ["pos_id", "client_txn_id"]
        )

    with op.batch_alter_table("postings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_postings_operation"), ["operation"], unique=False)
