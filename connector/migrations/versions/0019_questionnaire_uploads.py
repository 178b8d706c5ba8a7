"""questionnaire uploads: the accountant's customer file (kept in the row) with its mapping,
status and progress, and the row errors of its check or load

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 18:23:20.358925
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "questionnaire_uploads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=100), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("valid", sa.Integer(), nullable=False),
        sa.Column("invalid", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_questionnaire_uploads_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_questionnaire_uploads")),
    )
    with op.batch_alter_table("questionnaire_uploads", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_questionnaire_uploads_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "questionnaire_upload_errors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("upload_id", sa.Integer(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["upload_id"],
            ["questionnaire_uploads.id"],
            name=op.f("fk_questionnaire_upload_errors_upload_id_questionnaire_uploads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_questionnaire_upload_errors")),
    )
    with op.batch_alter_table("questionnaire_upload_errors", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_questionnaire_upload_errors_upload_id"), ["upload_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("questionnaire_upload_errors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_questionnaire_upload_errors_upload_id"))

    op.drop_table("questionnaire_upload_errors")
    with op.batch_alter_table("questionnaire_uploads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_questionnaire_uploads_tenant_id"))

    op.drop_table("questionnaire_uploads")
