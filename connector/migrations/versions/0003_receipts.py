"""receipts

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 19:52:53.314452
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "offline_batches",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("pos_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("receipts", sa.JSON(), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["pos_id"],
            ["pos_terminals.id"],
            name=op.f("fk_offline_batches_pos_id_pos_terminals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_offline_batches_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offline_batches")),
    )
    op.create_table(
        "receipts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("transaction_id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("pos_id", sa.Integer(), nullable=False),
        sa.Column("cashier_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("identity_key", sa.String(length=300), nullable=False),
        sa.Column("client_txn_id", sa.String(length=64), nullable=True),
        sa.Column("body_hash", sa.String(length=64), nullable=False),
        sa.Column("shift", sa.String(length=32), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("sold_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("card_id", sa.Integer(), nullable=True),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column(
            "original_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("offline", sa.Boolean(), nullable=False),
        sa.Column("level_code", sa.String(length=64), nullable=True),
        sa.Column("levels_version_id", sa.Integer(), nullable=True),
        sa.Column("bonus_version_id", sa.Integer(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("discount", sa.BigInteger(), nullable=False),
        sa.Column("bonus_payment", sa.BigInteger(), nullable=False),
        sa.Column("final_amount", sa.BigInteger(), nullable=False),
        sa.Column("accrual", sa.BigInteger(), nullable=False),
        sa.Column("credit_posting_id", sa.Integer(), nullable=True),
        sa.Column("debit_posting_id", sa.Integer(), nullable=True),
        sa.Column("clawback_shortfall", sa.BigInteger(), nullable=False),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_receipts_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["bonus_version_id"],
            ["program_versions.id"],
            name=op.f("fk_receipts_bonus_version_id_program_versions"),
        ),
        sa.ForeignKeyConstraint(["card_id"], ["cards.id"], name=op.f("fk_receipts_card_id_cards")),
        sa.ForeignKeyConstraint(
            ["cashier_id"], ["cashiers.id"], name=op.f("fk_receipts_cashier_id_cashiers")
        ),
        sa.ForeignKeyConstraint(
            ["credit_posting_id"],
            ["postings.id"],
            name=op.f("fk_receipts_credit_posting_id_postings"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_receipts_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["debit_posting_id"],
            ["postings.id"],
            name=op.f("fk_receipts_debit_posting_id_postings"),
        ),
        sa.ForeignKeyConstraint(
            ["levels_version_id"],
            ["program_versions.id"],
            name=op.f("fk_receipts_levels_version_id_program_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["original_id"], ["receipts.id"], name=op.f("fk_receipts_original_id_receipts")
        ),
        sa.ForeignKeyConstraint(
            ["pos_id"], ["pos_terminals.id"], name=op.f("fk_receipts_pos_id_pos_terminals")
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_receipts_store_id_stores")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_receipts_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipts")),
        sa.UniqueConstraint(
            "tenant_id", "client_txn_id", name=op.f("uq_receipts_tenant_id_client_txn_id")
        ),
        sa.UniqueConstraint(
            "tenant_id", "identity_key", name=op.f("uq_receipts_tenant_id_identity_key")
        ),
        sa.UniqueConstraint("transaction_id", name=op.f("uq_receipts_transaction_id")),
    )
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_receipts_account_id_sold_at", ["account_id", "sold_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_receipts_original_id"), ["original_id"], unique=False)
        batch_op.create_index("ix_receipts_pos_id_sold_at", ["pos_id", "sold_at"], unique=False)

    op.create_table(
        "soft_calculations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("pos_id", sa.Integer(), nullable=False),
        sa.Column("input_hash", sa.String(length=64), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["pos_id"],
            ["pos_terminals.id"],
            name=op.f("fk_soft_calculations_pos_id_pos_terminals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_soft_calculations_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_soft_calculations")),
    )
    with op.batch_alter_table("soft_calculations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_soft_calculations_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "receipt_lines",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "receipt_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("goods_id", sa.String(length=64), nullable=False),
        sa.Column("barcode", sa.String(length=64), nullable=True),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("discount", sa.BigInteger(), nullable=False),
        sa.Column("bonus_payment", sa.BigInteger(), nullable=False),
        sa.Column("final_amount", sa.BigInteger(), nullable=False),
        sa.Column("accrual", sa.BigInteger(), nullable=False),
        sa.Column("no_discount", sa.Boolean(), nullable=False),
        sa.Column("seller", sa.String(length=64), nullable=True),
        sa.Column("explanations", sa.JSON(), nullable=False),
        sa.Column("returned_quantity", sa.BigInteger(), nullable=False),
        sa.Column("returned_amount", sa.BigInteger(), nullable=False),
        sa.Column("returned_accrual", sa.BigInteger(), nullable=False),
        sa.Column("returned_payment", sa.BigInteger(), nullable=False),
        sa.Column("returned_final", sa.BigInteger(), nullable=False),
        sa.Column(
            "original_line_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["original_line_id"],
            ["receipt_lines.id"],
            name=op.f("fk_receipt_lines_original_line_id_receipt_lines"),
        ),
        sa.ForeignKeyConstraint(
            ["receipt_id"],
            ["receipts.id"],
            name=op.f("fk_receipt_lines_receipt_id_receipts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipt_lines")),
        sa.UniqueConstraint(
            "receipt_id", "line_no", name=op.f("uq_receipt_lines_receipt_id_line_no")
        ),
    )
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sums_tolerance", sa.BigInteger(), server_default="1", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "return_policy", sa.String(length=16), server_default="cap_at_zero", nullable=False
            )
        )
        batch_op.add_column(
            sa.Column("rollback_window_hours", sa.Integer(), server_default="24", nullable=False)
        )
        batch_op.add_column(
            sa.Column("phone_write_off", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "phone_level_discount", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )


def downgrade() -> None:

    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("phone_level_discount")
        batch_op.drop_column("phone_write_off")
        batch_op.drop_column("rollback_window_hours")
        batch_op.drop_column("return_policy")
        batch_op.drop_column("sums_tolerance")

    op.drop_table("receipt_lines")
    with op.batch_alter_table("soft_calculations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_soft_calculations_created_at"))

    op.drop_table("soft_calculations")
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.drop_index("ix_receipts_pos_id_sold_at")
        batch_op.drop_index(batch_op.f("ix_receipts_original_id"))
        batch_op.drop_index("ix_receipts_account_id_sold_at")

    op.drop_table("receipts")
    op.drop_table("offline_batches")
