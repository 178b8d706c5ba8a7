"""Finding a tenant's customers the way a desk finds them: by phone or card number (a cashier
may), or also by e-mail or name (whoever may see personal data)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from processing.cards.models import Card
from processing.customers.models import Customer
from processing.customers.phones import InvalidPhone, normalise_phone
from processing.tenants.models import Tenant
from processing.validation import email_address

SEARCH_LIMIT = 50


def search_customers(
    session: Session, tenant: Tenant, text: str, *, personal: bool, limit: int = SEARCH_LIMIT
) -> Sequence[Customer]:
    """Customers matching ``text``: its phone, a card number, and with ``personal`` an e-mail
    or the start of a last or first name. Anonymised customers are found by card only."""
    text = text.strip()[:100]
    if not text:
        return []
    found: dict[int, Customer] = {}
    card_owner = select(Card.customer_id).where(Card.tenant_id == tenant.id, Card.number == text)
    conditions: list[ColumnElement[bool]] = [Customer.id.in_(card_owner)]
    with contextlib.suppress(InvalidPhone):
        conditions.append(Customer.phone == normalise_phone(text))
    if personal:
        email = email_address(text)
        if email is not None:
            conditions.append(Customer.email == email)
        elif not any(ch.isdigit() for ch in text):
            prefix = text.lower().replace("\\", "").replace("%", "").replace("_", "") + "%"
            conditions.append(func.lower(Customer.last_name).like(prefix))
            conditions.append(func.lower(Customer.first_name).like(prefix))
    query = (
        select(Customer)
        .where(Customer.tenant_id == tenant.id, or_(*conditions))
        .order_by(Customer.last_name, Customer.first_name, Customer.id)
        .limit(limit)
    )
    for customer in session.scalars(query):
        found[customer.id] = customer
    return list(found.values())
