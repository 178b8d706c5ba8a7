"""certificate operations on receipts

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04 20:01:18.312517
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "certificate_operations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column(
            "certificate_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "receipt_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("origin_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("line_no", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("balance_after", sa.BigInteger(), nullable=False),
        sa.Column("status_after", sa.String(length=16), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("pos_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["certificates.id"],
            name=op.f("fk_certificate_operations_certificate_id_certificates"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["origin_id"],
            ["receipts.id"],
            name=op.f("fk_certificate_operations_origin_id_receipts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["pos_id"],
            ["pos_terminals.id"],
            name=op.f("fk_certificate_operations_pos_id_pos_terminals"),
        ),
        sa.ForeignKeyConstraint(
            ["receipt_id"],
            ["receipts.id"],
            name=op.f("fk_certificate_operations_receipt_id_receipts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_certificate_operations_store_id_stores")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_certificate_operations_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate_operations")),
    )
    with op.batch_alter_table("certificate_operations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_certificate_operations_certificate_id"), ["certificate_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_certificate_operations_origin_id"), ["origin_id"], unique=False
        )
        batch_op.create_index("ix_certificate_operations_receipt_id", ["receipt_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("certificate_operations", schema=None) as batch_op:
        batch_op.drop_index("ix_certificate_operations_receipt_id")
        batch_op.drop_index(batch_op.f("ix_certificate_operations_origin_id"))
        batch_op.drop_index(batch_op.f("ix_certificate_operations_certificate_id"))

    op.drop_table("certificate_operations")
