"""admin action log (logins, changes, views of personal data, exports) and the tenants
assigned to each agent; a tenant's time zone (for its admin pages) and suspension; the moment
a user's sessions end

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 18:20:50.590692
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "action_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=200), server_default="", nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_action_log_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_action_log_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_log")),
    )
    with op.batch_alter_table("action_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_action_log_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_action_log_tenant_id"), ["tenant_id"], unique=False)

    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "timezone", sa.String(length=64), server_default="Europe/Moscow", nullable=False
            )
        )
        batch_op.add_column(sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sessions_valid_after", sa.DateTime(timezone=True), nullable=True)
        )

    op.create_table(
        "agent_tenants",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_agent_tenants_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_agent_tenants_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "tenant_id", name=op.f("pk_agent_tenants")),
    )
    with op.batch_alter_table("agent_tenants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agent_tenants_tenant_id"), ["tenant_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("sessions_valid_after")
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("suspended_at")
        batch_op.drop_column("timezone")

    with op.batch_alter_table("agent_tenants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_tenants_tenant_id"))

    op.drop_table("agent_tenants")
    with op.batch_alter_table("action_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_action_log_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_action_log_at"))

    op.drop_table("action_log")
