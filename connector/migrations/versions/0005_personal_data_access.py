"""personal data access log (152-FZ)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 06:16:03.619010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "personal_data_access",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=150), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_personal_data_access_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personal_data_access")),
    )
    with op.batch_alter_table("personal_data_access", schema=None) as batch_op:
        batch_op.create_index(
            "ix_personal_data_access_customer_id_at", ["customer_id", "at"], unique=False
        )
        batch_op.create_index(
            "ix_personal_data_access_tenant_id_at", ["tenant_id", "at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("personal_data_access", schema=None) as batch_op:
        batch_op.drop_index("ix_personal_data_access_tenant_id_at")
        batch_op.drop_index("ix_personal_data_access_customer_id_at")

    op.drop_table("personal_data_access")
