"""certificates: series (nominal, validity, goods item, scope, re-sale, remainder), certificates
and the documents that move them between accounting, stores and POS

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 18:00:56.615157
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "certificate_series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("nominal", sa.BigInteger(), nullable=True),
        sa.Column("min_nominal", sa.BigInteger(), nullable=True),
        sa.Column("max_nominal", sa.BigInteger(), nullable=True),
        sa.Column("valid_days", sa.Integer(), nullable=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("goods_id", sa.String(length=80), nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("resale", sa.Boolean(), nullable=False),
        sa.Column("remainder", sa.String(length=8), nullable=False),
        sa.Column("code_format", sa.String(length=8), nullable=False),
        sa.Column("code_length", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_certificate_series_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate_series")),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_certificate_series_tenant_id_code")),
    )
    op.create_table(
        "certificate_documents",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author", sa.String(length=100), nullable=False),
        sa.Column("from_store_id", sa.Integer(), nullable=True),
        sa.Column("from_pos_id", sa.Integer(), nullable=True),
        sa.Column("to_store_id", sa.Integer(), nullable=True),
        sa.Column("to_pos_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["from_pos_id"],
            ["pos_terminals.id"],
            name=op.f("fk_certificate_documents_from_pos_id_pos_terminals"),
        ),
        sa.ForeignKeyConstraint(
            ["from_store_id"],
            ["stores.id"],
            name=op.f("fk_certificate_documents_from_store_id_stores"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_certificate_documents_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["to_pos_id"],
            ["pos_terminals.id"],
            name=op.f("fk_certificate_documents_to_pos_id_pos_terminals"),
        ),
        sa.ForeignKeyConstraint(
            ["to_store_id"], ["stores.id"], name=op.f("fk_certificate_documents_to_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate_documents")),
        sa.UniqueConstraint(
            "tenant_id", "number", name=op.f("uq_certificate_documents_tenant_id_number")
        ),
    )
    op.create_table(
        "certificates",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=True),
        sa.Column("pos_id", sa.Integer(), nullable=True),
        sa.Column("nominal", sa.BigInteger(), nullable=True),
        sa.Column("balance", sa.BigInteger(), nullable=True),
        sa.Column("sold_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sold_store_id", sa.Integer(), nullable=True),
        sa.Column("sold_pos_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["pos_id"], ["pos_terminals.id"], name=op.f("fk_certificates_pos_id_pos_terminals")
        ),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["certificate_series.id"],
            name=op.f("fk_certificates_series_id_certificate_series"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sold_pos_id"],
            ["pos_terminals.id"],
            name=op.f("fk_certificates_sold_pos_id_pos_terminals"),
        ),
        sa.ForeignKeyConstraint(
            ["sold_store_id"], ["stores.id"], name=op.f("fk_certificates_sold_store_id_stores")
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_certificates_store_id_stores")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_certificates_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificates")),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_certificates_tenant_id_code")),
    )
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.create_index("ix_certificates_pos_id", ["pos_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_certificates_series_id"), ["series_id"], unique=False)
        batch_op.create_index(
            "ix_certificates_tenant_id_status", ["tenant_id", "status"], unique=False
        )

    op.create_table(
        "certificate_document_lines",
        sa.Column(
            "document_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "certificate_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["certificates.id"],
            name=op.f("fk_certificate_document_lines_certificate_id_certificates"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["certificate_documents.id"],
            name=op.f("fk_certificate_document_lines_document_id_certificate_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "document_id", "certificate_id", name=op.f("pk_certificate_document_lines")
        ),
    )
    with op.batch_alter_table("certificate_document_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_certificate_document_lines_certificate_id"),
            ["certificate_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("certificate_document_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certificate_document_lines_certificate_id"))

    op.drop_table("certificate_document_lines")
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.drop_index("ix_certificates_tenant_id_status")
        batch_op.drop_index(batch_op.f("ix_certificates_series_id"))
        batch_op.drop_index("ix_certificates_pos_id")

    op.drop_table("certificates")
    op.drop_table("certificate_documents")
    op.drop_table("certificate_series")
