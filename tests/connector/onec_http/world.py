"""A tenant set up as a real chain would be: store, POS token, level and bonus programs,
a card series, a customer with a card and 1,000.00 of active bonus, blank cards."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from processing.cards.service import add_template, card_account_id, generate_cards, issue_card
from processing.customers.service import register_customer
from processing.ledger.service import PostingKind, credit
from processing.programs.service import add_program, add_version
from processing.receipts import fast, service
from processing.tenants.service import add_pos, add_store, add_tenant
from tests.factories import LEVEL_RULES, T0

BONUS = {
    "accrual_percent": "3",
    "accrual_percent_by_level": {"silver": "5", "gold": "7"},
    "max_payment_percent": "50",
    "activation_delay_days": 0,
    "lifetime_days": 365,
}


@dataclass
class World:
    tenant_id: int
    token: str
    card: str
    account_id: int
    customer_id: int
    blank: list[str]

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def seed_world(
    session: Session,
    code: str = "acme",
    *,
    prefix: str = "2775",
    since: datetime = T0 - timedelta(days=400),
) -> World:
    tenant = add_tenant(session, code, f"Сеть {code}")
    # The receipts here are dated 2026-05-01: accept them whatever today's date is (the offline
    # window itself is tested on a tenant of its own).
    tenant.offline_window_days = 36_500
    store = add_store(session, tenant, "s1", "Магазин", "Europe/Moscow")
    token = f"token-{code}"
    add_pos(session, store, "p1", token=token)
    add_pos(session, store, "p2", token=f"{token}-2")
    levels = add_program(session, tenant, "discount_level", "levels", "Уровни")
    add_version(session, levels, LEVEL_RULES, since)
    bonus = add_program(session, tenant, "bonus", "bonus", "Бонусы")
    add_version(session, bonus, BONUS, since)
    template = add_template(
        session, tenant, code="main", name="Карта", card_type="3%", prefix=prefix,
        number_length=13, check_digit="ean13",
    )  # fmt: skip
    cards = generate_cards(session, template, 6, author="t", now=since)
    customer = register_customer(
        session, tenant, {"first_name": "Иван", "last_name": "Петров", "phone": "+79161234567"},
        source="admin", author="t", consents={"processing": True}, now=since,
    )  # fmt: skip
    card = issue_card(session, tenant, cards[0].number, customer, author="t", now=since)
    account_id = card_account_id(card)
    credit(session, account_id, Decimal("1000.00"), PostingKind.OPENING, now=since)
    session.flush()
    return World(
        tenant_id=tenant.id,
        token=token,
        card=card.number,
        account_id=account_id,
        customer_id=customer.id,
        blank=[c.number for c in cards[1:]],
    )


def receipt(number: str = "1", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "cashier": "c-01",
        "shift": "5",
        "number": number,
        "sold_at": "2026-05-01T12:00:00",
        "lines": [
            {"line": 1, "goods": "g-100", "qty": 3, "price": 100, "sum": 300},
            {"line": 2, "goods": "g-200", "qty": 0.347, "price": 459, "sum": 159.27},
            {"line": 3, "goods": "g-400", "qty": 2, "price": 89.99, "sum": 179.98,
             "no_discount": True},
        ],
    }  # fmt: skip
    body.update(overrides)
    return body


def race(app: Flask, count: int, make: Callable[[int], tuple[str, dict[str, Any]]],
          world: World) -> list[tuple[int, Any]]:  # fmt: skip
    """``count`` requests through the real app at once (a barrier releases them together);
    their statuses and JSON answers in order."""
    barrier = threading.Barrier(count)
    results: list[tuple[int, Any]] = [(0, None)] * count

    def run(i: int) -> None:
        path, body = make(i)
        client = app.test_client()
        barrier.wait()
        response = client.post(path, json=body, headers=world.auth)
        results[i] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def spy_commits(patch: pytest.MonkeyPatch) -> tuple[list[str], dict[str, bool]]:
    """The receipts the general writer commits, and per receipt whether a stored soft result
    was posted."""
    general: list[str] = []
    replayed: dict[str, bool] = {}
    commit_claimed = service.commit_claimed

    def spy_commit(*args: Any, **kwargs: Any) -> Any:
        general.append(args[3].number)
        return commit_claimed(*args, **kwargs)

    def spy_replay(module: Any) -> Callable[..., Any]:
        original = module.replayable

        def replay(*args: Any, **kwargs: Any) -> Any:
            stored = original(*args, **kwargs)
            replayed[args[2].number] = stored is not None
            return stored

        return replay

    patch.setattr(service, "commit_claimed", spy_commit)
    for module in (fast, service):
        patch.setattr(module, "replayable", spy_replay(module))
    return general, replayed
