"""The embedded demo tenant: lets the README's examples run on a fresh machine.

Its POS token is the fixed, public ``demo-pos-token``, so anyone who reaches the port can use
it: the CLI seeds it only in embedded (SQLite) mode, and ``serve`` only when listening on a
loopback address or when asked (``serve --demo``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from processing.accounts.models import User
from processing.accounts.roles import ADMIN
from processing.accounts.service import add_user
from processing.cards.service import add_template, card_account_id, generate_cards, issue_card
from processing.customers.service import register_customer
from processing.ledger.service import PostingKind, credit
from processing.programs.service import add_program, add_version
from processing.tenants.models import Tenant
from processing.tenants.service import add_pos, add_store, add_tenant

DEMO_TENANT = "demo"
DEMO_STORE = "store-1"
DEMO_POS = "pos-1"
DEMO_POS_TOKEN = "demo-pos-token"  # noqa: S105 - public by design, embedded mode only
DEMO_SINCE = datetime(2026, 1, 1, tzinfo=UTC)
# The demo tenant's administrator for the admin pages (/admin/): public like the POS token.
DEMO_ADMIN_EMAIL = "admin@demo.example"
DEMO_ADMIN_PASSWORD = "demo-admin-password"  # noqa: S105 - public by design, embedded mode only

DEMO_LEVELS = {
    "basis": "sum",
    "window": {"kind": "rolling_days", "days": 365},
    "levels": [
        {"code": "base", "name": "Базовый", "threshold": "0", "discount_percent": "0"},
        {"code": "silver", "name": "Серебряный", "threshold": "15000", "discount_percent": "3"},
        {"code": "gold", "name": "Золотой", "threshold": "50000", "discount_percent": "5"},
    ],
}
DEMO_BONUS = {
    "accrual_percent": "3",
    "accrual_percent_by_level": {"silver": "4", "gold": "5"},
    "max_payment_percent": "50",
    "activation_delay_days": 0,
    "lifetime_days": 365,
}


@dataclass(frozen=True)
class DemoCards:
    personal: list[str]  # issued to demo customers, with 1,000.00 active bonus each
    blank: list[str]  # pre-printed, activate on first use


def demo_exists(session: Session) -> bool:
    return session.scalar(select(Tenant.id).where(Tenant.code == DEMO_TENANT)) is not None


def _demo_admin(session: Session, tenant: Tenant, now: datetime) -> None:
    """The demo administrator, also for a demo tenant seeded before the admin pages existed."""
    if session.scalar(select(User.id).where(User.email == DEMO_ADMIN_EMAIL)) is None:
        add_user(
            session, tenant, DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, [ADMIN],
            name="Демо-администратор", now=now,
        )  # fmt: skip


def seed_demo(session: Session, now: datetime | None = None) -> DemoCards | None:
    """Create the demo tenant unless it exists; returns its card numbers when created."""
    now = now or datetime.now(UTC)
    existing = session.scalar(select(Tenant).where(Tenant.code == DEMO_TENANT))
    if existing is not None:
        _demo_admin(session, existing, now)
        return None
    tenant = add_tenant(session, DEMO_TENANT, "Демо-сеть")
    _demo_admin(session, tenant, now)
    store = add_store(session, tenant, DEMO_STORE, "Демо-магазин на Тверской", city="Москва")
    add_pos(session, store, DEMO_POS, token=DEMO_POS_TOKEN)
    levels = add_program(session, tenant, "discount_level", "levels", "Уровни покупателя")
    add_version(session, levels, DEMO_LEVELS, DEMO_SINCE)
    bonus = add_program(session, tenant, "bonus", "bonus", "Бонусная программа")
    add_version(session, bonus, DEMO_BONUS, DEMO_SINCE)
    template = add_template(
        session, tenant, code="demo", name="Демо-карта", card_type="3%", prefix="2775",
        number_length=13, check_digit="ean13",
    )  # fmt: skip
    cards = generate_cards(session, template, 5, author="demo", now=now)
    personal = []
    for i, (first, last) in enumerate([("Иван", "Петров"), ("Анна", "Смирнова")]):
        customer = register_customer(
            session,
            tenant,
            {"first_name": first, "last_name": last, "phone": f"+7916000000{i + 1}"},
            source="system",
            author="demo",
            consents={"processing": True},
            now=now,
        )
        card = issue_card(session, tenant, cards[i].number, customer, author="demo", now=now)
        credit(
            session, card_account_id(card), Decimal("1000.00"), PostingKind.OPENING,
            now=now, reason="демо", author="demo",
        )  # fmt: skip
        personal.append(card.number)
    return DemoCards(personal=personal, blank=[card.number for card in cards[2:]])
