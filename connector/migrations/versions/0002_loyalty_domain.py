"""loyalty domain

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 19:39:26.098454
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "cashiers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_cashiers_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cashiers")),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_cashiers_tenant_id_code")),
    )
    with op.batch_alter_table("cashiers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cashiers_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("last_name", sa.String(length=100), nullable=True),
        sa.Column("first_name", sa.String(length=100), nullable=True),
        sa.Column("middle_name", sa.String(length=100), nullable=True),
        sa.Column("phone", sa.String(length=12), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("gender", sa.String(length=6), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("processing_consent", sa.Boolean(), nullable=False),
        sa.Column("processing_consent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("processing_consent_source", sa.String(length=32), nullable=True),
        sa.Column("advertising_consent", sa.Boolean(), nullable=False),
        sa.Column("advertising_consent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("advertising_consent_source", sa.String(length=32), nullable=True),
        sa.Column("anonymised_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_customers_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("tenant_id", "email", name=op.f("uq_customers_tenant_id_email")),
        sa.UniqueConstraint("tenant_id", "phone", name=op.f("uq_customers_tenant_id_phone")),
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customers_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "legal_entities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("inn", sa.String(length=12), nullable=True),
        sa.Column("kpp", sa.String(length=9), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_legal_entities_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_entities")),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_legal_entities_tenant_id_code")),
    )
    with op.batch_alter_table("legal_entities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_legal_entities_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "programs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_programs_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programs")),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_programs_tenant_id_code")),
    )
    with op.batch_alter_table("programs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_programs_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "questionnaire_fields",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_questionnaire_fields_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_questionnaire_fields")),
        sa.UniqueConstraint(
            "tenant_id", "code", name=op.f("uq_questionnaire_fields_tenant_id_code")
        ),
    )
    with op.batch_alter_table("questionnaire_fields", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_questionnaire_fields_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "store_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_store_groups_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_groups")),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_store_groups_tenant_id_code")),
    )
    with op.batch_alter_table("store_groups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_store_groups_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_accounts_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_accounts_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_accounts_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_accounts_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "card_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("card_type", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=18), nullable=False),
        sa.Column("number_length", sa.Integer(), nullable=False),
        sa.Column("check_digit", sa.String(length=8), nullable=False),
        sa.Column("range_start", sa.BigInteger(), nullable=False),
        sa.Column("range_end", sa.BigInteger(), nullable=False),
        sa.Column("next_serial", sa.BigInteger(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=True),
        sa.Column("validity_days", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["programs.id"],
            name=op.f("fk_card_templates_program_id_programs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_card_templates_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_card_templates")),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_card_templates_tenant_id_code")),
    )
    with op.batch_alter_table("card_templates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_card_templates_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "customer_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=100), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("author", sa.String(length=100), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_changes_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_changes")),
    )
    with op.batch_alter_table("customer_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_changes_customer_id"), ["customer_id"], unique=False
        )

    op.create_table(
        "program_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("effective_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["programs.id"],
            name=op.f("fk_program_versions_program_id_programs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_versions")),
    )
    with op.batch_alter_table("program_versions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_program_versions_program_id_from", ["program_id", "effective_from"], unique=False
        )

    op.create_table(
        "cards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("is_virtual", sa.Boolean(), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("replaced_by_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_cards_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_cards_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["replaced_by_id"],
            ["cards.id"],
            name=op.f("fk_cards_replaced_by_id_cards"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["card_templates.id"],
            name=op.f("fk_cards_template_id_card_templates"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_cards_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cards")),
        sa.UniqueConstraint("tenant_id", "number", name=op.f("uq_cards_tenant_id_number")),
    )
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cards_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cards_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(
            "uq_cards_virtual_customer_id",
            ["customer_id"],
            unique=True,
            postgresql_where=sa.text("is_virtual"),
            sqlite_where=sa.text("is_virtual"),
        )

    op.create_table(
        "level_overrides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("level_code", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("author", sa.String(length=100), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cleared_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_level_overrides_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_level_overrides")),
    )
    with op.batch_alter_table("level_overrides", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_level_overrides_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "postings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("balance_after", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("operation", sa.String(length=128), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("author", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_postings_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_postings_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_postings")),
    )
    with op.batch_alter_table("postings", schema=None) as batch_op:
        batch_op.create_index("ix_postings_account_id_id", ["account_id", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_postings_operation"), ["operation"], unique=False)
        batch_op.create_index(batch_op.f("ix_postings_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "program_version_store_groups",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["store_groups.id"],
            name=op.f("fk_program_version_store_groups_group_id_store_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["program_versions.id"],
            name=op.f("fk_program_version_store_groups_version_id_program_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "version_id", "group_id", name=op.f("pk_program_version_store_groups")
        ),
    )
    op.create_table(
        "program_version_stores",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
            name=op.f("fk_program_version_stores_store_id_stores"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["program_versions.id"],
            name=op.f("fk_program_version_stores_version_id_program_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("version_id", "store_id", name=op.f("pk_program_version_stores")),
    )
    op.create_table(
        "purchase_stats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("purchases", sa.Integer(), nullable=False),
        sa.Column("operation", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_purchase_stats_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchase_stats")),
    )
    with op.batch_alter_table("purchase_stats", schema=None) as batch_op:
        batch_op.create_index(
            "ix_purchase_stats_account_id_day", ["account_id", "local_date"], unique=False
        )

    op.create_table(
        "store_group_members",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["store_groups.id"],
            name=op.f("fk_store_group_members_group_id_store_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
            name=op.f("fk_store_group_members_store_id_stores"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "store_id", name=op.f("pk_store_group_members")),
    )
    with op.batch_alter_table("store_group_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_store_group_members_store_id"), ["store_id"], unique=False
        )

    op.create_table(
        "bonus_lots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("posting_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("remaining", sa.BigInteger(), nullable=False),
        sa.Column("activates_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_bonus_lots_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["posting_id"],
            ["postings.id"],
            name=op.f("fk_bonus_lots_posting_id_postings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bonus_lots")),
    )
    with op.batch_alter_table("bonus_lots", schema=None) as batch_op:
        batch_op.create_index(
            "ix_bonus_lots_account_id_expires_at", ["account_id", "expires_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_bonus_lots_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "card_status_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("card_id", sa.Integer(), nullable=False),
        sa.Column("old_status", sa.String(length=16), nullable=True),
        sa.Column("new_status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("author", sa.String(length=100), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["card_id"],
            ["cards.id"],
            name=op.f("fk_card_status_changes_card_id_cards"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_card_status_changes")),
    )
    with op.batch_alter_table("card_status_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_card_status_changes_card_id"), ["card_id"], unique=False
        )

    op.create_table(
        "lot_movements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("posting_id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lot_id"],
            ["bonus_lots.id"],
            name=op.f("fk_lot_movements_lot_id_bonus_lots"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["posting_id"],
            ["postings.id"],
            name=op.f("fk_lot_movements_posting_id_postings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lot_movements")),
    )
    with op.batch_alter_table("lot_movements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lot_movements_lot_id"), ["lot_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_lot_movements_posting_id"), ["posting_id"], unique=False
        )

    with op.batch_alter_table("stores", schema=None) as batch_op:
        batch_op.add_column(sa.Column("legal_entity_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("onec_guid", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("address", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("city", sa.String(length=255), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_stores_tenant_id_onec_guid"), ["tenant_id", "onec_guid"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_stores_legal_entity_id_legal_entities"),
            "legal_entities",
            ["legal_entity_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("tariff", sa.String(length=32), server_default="network", nullable=False)
        )
        batch_op.add_column(sa.Column("max_stores", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("max_pos", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("max_customers", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("features", sa.JSON(), server_default="[]", nullable=False))
        batch_op.add_column(
            sa.Column(
                "questionnaire_policy", sa.String(length=16), server_default="full", nullable=False
            )
        )
        batch_op.add_column(
            sa.Column("questionnaire_required", sa.JSON(), server_default="[]", nullable=False)
        )


def downgrade() -> None:

    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("questionnaire_required")
        batch_op.drop_column("questionnaire_policy")
        batch_op.drop_column("features")
        batch_op.drop_column("max_customers")
        batch_op.drop_column("max_pos")
        batch_op.drop_column("max_stores")
        batch_op.drop_column("tariff")

    with op.batch_alter_table("stores", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_stores_legal_entity_id_legal_entities"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("uq_stores_tenant_id_onec_guid"), type_="unique")
        batch_op.drop_column("city")
        batch_op.drop_column("address")
        batch_op.drop_column("onec_guid")
        batch_op.drop_column("legal_entity_id")

    with op.batch_alter_table("lot_movements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lot_movements_posting_id"))
        batch_op.drop_index(batch_op.f("ix_lot_movements_lot_id"))

    op.drop_table("lot_movements")
    with op.batch_alter_table("card_status_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_card_status_changes_card_id"))

    op.drop_table("card_status_changes")
    with op.batch_alter_table("bonus_lots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bonus_lots_expires_at"))
        batch_op.drop_index("ix_bonus_lots_account_id_expires_at")

    op.drop_table("bonus_lots")
    with op.batch_alter_table("store_group_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_store_group_members_store_id"))

    op.drop_table("store_group_members")
    with op.batch_alter_table("purchase_stats", schema=None) as batch_op:
        batch_op.drop_index("ix_purchase_stats_account_id_day")

    op.drop_table("purchase_stats")
    op.drop_table("program_version_stores")
    op.drop_table("program_version_store_groups")
    with op.batch_alter_table("postings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_postings_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_postings_operation"))
        batch_op.drop_index("ix_postings_account_id_id")

    op.drop_table("postings")
    with op.batch_alter_table("level_overrides", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_level_overrides_account_id"))

    op.drop_table("level_overrides")
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_cards_virtual_customer_id",
            postgresql_where=sa.text("is_virtual"),
            sqlite_where=sa.text("is_virtual"),
        )
        batch_op.drop_index(batch_op.f("ix_cards_customer_id"))
        batch_op.drop_index(batch_op.f("ix_cards_account_id"))

    op.drop_table("cards")
    with op.batch_alter_table("program_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_program_versions_program_id_from")

    op.drop_table("program_versions")
    with op.batch_alter_table("customer_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_changes_customer_id"))

    op.drop_table("customer_changes")
    with op.batch_alter_table("card_templates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_card_templates_tenant_id"))

    op.drop_table("card_templates")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_accounts_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_accounts_customer_id"))

    op.drop_table("accounts")
    with op.batch_alter_table("store_groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_store_groups_tenant_id"))

    op.drop_table("store_groups")
    with op.batch_alter_table("questionnaire_fields", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_questionnaire_fields_tenant_id"))

    op.drop_table("questionnaire_fields")
    with op.batch_alter_table("programs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_programs_tenant_id"))

    op.drop_table("programs")
    with op.batch_alter_table("legal_entities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_legal_entities_tenant_id"))

    op.drop_table("legal_entities")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customers_tenant_id"))

    op.drop_table("customers")
    with op.batch_alter_table("cashiers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cashiers_tenant_id"))

    op.drop_table("cashiers")
