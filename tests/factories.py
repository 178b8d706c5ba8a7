"""Small builders for domain tests (through the real services, never raw inserts)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from processing.customers.models import Customer
from processing.customers.service import register_customer
from processing.tenants.models import Store, Tenant
from processing.tenants.service import add_store, add_tenant

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)

LEVEL_RULES: dict[str, Any] = {
    "basis": "sum",
    "window": {"kind": "rolling_days", "days": 365},
    "levels": [
        {"code": "base", "name": "Базовый", "threshold": "0", "discount_percent": "0"},
        {"code": "silver", "name": "Серебряный", "threshold": "10000", "discount_percent": "5"},
        {"code": "gold", "name": "Золотой", "threshold": "50000", "discount_percent": "10"},
    ],
}

BONUS_RULES: dict[str, Any] = {
    "accrual_percent": "3",
    "accrual_percent_by_level": {"silver": "5", "gold": "7"},
    "max_payment_percent": "50",
    "activation_delay_days": 14,
    "lifetime_days": 365,
}


def tenant(session: Session, code: str = "acme", tariff: str = "network") -> Tenant:
    return add_tenant(session, code, f"Сеть {code}", tariff)


def store(session: Session, owner: Tenant, code: str = "s1") -> Store:
    return add_store(session, owner, code, f"Магазин {code}")


def customer(
    session: Session, owner: Tenant, phone: str = "+79161234567", **values: Any
) -> Customer:
    return register_customer(
        session,
        owner,
        {"first_name": "Иван", "last_name": "Петров", "phone": phone, **values},
        source="admin",
        author="tester",
        consents={"processing": True},
        now=T0,
    )
