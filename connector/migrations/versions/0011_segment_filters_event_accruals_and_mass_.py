"""segments as saved filters (kind, filter, member count, last refresh); event accruals (once
per customer and event: welcome, birthday, mass accrual) and scheduled mass accruals

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 20:06:33.897679
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mass_accruals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("segment_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("activation_delay_days", sa.Integer(), nullable=False),
        sa.Column("lifetime_days", sa.Integer(), nullable=True),
        sa.Column("run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("author", sa.String(length=150), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("credited", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("last_customer_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["segments.id"],
            name=op.f("fk_mass_accruals_segment_id_segments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_mass_accruals_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mass_accruals")),
    )
    with op.batch_alter_table("mass_accruals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mass_accruals_run_at"), ["run_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_mass_accruals_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "event_accruals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("posting_id", sa.Integer(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_event_accruals_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_event_accruals_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["posting_id"],
            ["postings.id"],
            name=op.f("fk_event_accruals_posting_id_postings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_event_accruals_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_accruals")),
        sa.UniqueConstraint(
            "customer_id", "event", name=op.f("uq_event_accruals_customer_id_event")
        ),
    )
    with op.batch_alter_table("event_accruals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_event_accruals_tenant_id"), ["tenant_id"], unique=False
        )

    with op.batch_alter_table("segments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=8), server_default="static", nullable=False)
        )
        batch_op.add_column(sa.Column("filter", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("member_count", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=True))
    # The member count is kept on the segment from now on: count the static lists' members.
    op.execute(
        "UPDATE segments SET member_count = (SELECT count(*) FROM segment_members"
        " WHERE segment_members.segment_id = segments.id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("segments", schema=None) as batch_op:
        batch_op.drop_column("refreshed_at")
        batch_op.drop_column("member_count")
        batch_op.drop_column("filter")
        batch_op.drop_column("kind")

    with op.batch_alter_table("event_accruals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_accruals_tenant_id"))

    op.drop_table("event_accruals")
    with op.batch_alter_table("mass_accruals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mass_accruals_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_mass_accruals_run_at"))

    op.drop_table("mass_accruals")
