"""Card series with programs of their own ("5% and 10% cards"), and card validity: through the
POS API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from processing.cards.models import Card, CardStatusChange
from processing.cards.service import (
    CardStatus,
    add_template,
    block,
    card_account_id,
    close,
    finish_expired,
    generate_cards,
    issue_card,
)
from processing.customers.service import register_customer
from processing.errors import ConnectorError
from processing.ledger.service import PostingKind, balance, credit
from processing.programs.service import add_program, add_version
from processing.tenants.models import Tenant
from sync.jobs import finish_expired_cards
from sync.runtime import Runtime, activate
from tests.connector.onec_http.world import World, receipt, seed_world
from tests.factories import T0

D = Decimal


def _post(client: FlaskClient, world: World, path: str, body: Any) -> tuple[int, Any]:
    response = client.post(f"/api/v1/{path}", json=body, headers=world.auth)
    return response.status_code, response.get_json()


def _series_card(session: Session, world: World) -> str:
    """A "10% card" series with its own bonus (1%) and one card issued to a customer."""
    tenant = session.get_one(Tenant, world.tenant_id)
    since = T0 - timedelta(days=400)
    fixed = add_program(session, tenant, "fixed_discount", "card10", "Карта 10%")
    add_version(session, fixed, {"discount_percent": "10", "name": "Карта 10%"}, since)
    bonus = add_program(session, tenant, "bonus", "card10-bonus", "Бонус карты 10%")
    add_version(session, bonus, {"accrual_percent": "1", "max_payment_percent": "20"}, since)
    template = add_template(
        session, tenant, code="ten", name="Карта 10%", card_type="10%", prefix="2777",
        number_length=13, check_digit="ean13", programs=[fixed, bonus],
    )  # fmt: skip
    [blank] = generate_cards(session, template, 1, author="t", now=since)
    customer = register_customer(
        session, tenant, {"first_name": "Анна", "phone": "+79160000077"}, source="admin",
        author="t", consents={"processing": True}, now=since,
    )  # fmt: skip
    card = issue_card(session, tenant, blank.number, customer, author="t", now=since)
    credit(session, card_account_id(card), D("100.00"), PostingKind.OPENING, now=since)
    session.flush()
    return card.number


@pytest.mark.parametrize("path", ["receipts/calculate", "receipts/commit"])
def test_a_series_program_replaces_the_tenants_for_its_cards_only(
    client: FlaskClient, world: World, session: Session, path: str
) -> None:
    number = _series_card(session, world)
    lines = [{"line": 1, "goods": "g", "qty": 1, "price": 1000, "sum": 1000}]
    status, own = _post(client, world, path, receipt("c-1", card_number=number, lines=lines))
    assert status == 200, own
    # 10% fixed discount, 1% of the 900.00 paid accrued (the tenant gives 0% and 3% here).
    assert (own["totals"]["discount"], own["totals"]["accrual"]) == (100, 9)
    status, other = _post(client, world, path, receipt("c-2", card_number=world.card,
                                                        lines=lines))  # fmt: skip
    assert status == 200 and (other["totals"]["discount"], other["totals"]["accrual"]) == (0, 30)
    status, anonymous = _post(client, world, path, receipt("c-3", lines=lines))
    assert anonymous["totals"]["discount"] == 0


def test_a_series_carries_one_program_per_slot(world: World, session: Session) -> None:
    tenant = session.get_one(Tenant, world.tenant_id)
    a = add_program(session, tenant, "fixed_discount", "a", "A")
    b = add_program(session, tenant, "discount_level", "b", "B")
    with pytest.raises(ConnectorError) as refused:
        add_template(session, tenant, code="x", name="X", card_type="5%", prefix="2778",
                     number_length=13, check_digit="ean13", programs=[a, b])  # fmt: skip
    assert refused.value.code == "VALIDATION_ERROR"


def test_a_card_past_its_validity_answers_as_finished(
    client: FlaskClient, world: World, session: Session
) -> None:
    card = session.scalars(select(Card).where(Card.number == world.card)).one()
    card.valid_until = datetime.now(UTC) - timedelta(days=1)
    session.flush()
    status, found = _post(client, world, "identify", {"card_number": world.card})
    assert (status, found["card_status"], found["card_status_title"]) == (
        200, "finished", "Завершена",
    )  # fmt: skip
    status, error = _post(client, world, "receipts/commit", receipt(card_number=world.card))
    assert (status, error["code"]) == (422, "CARD_NOT_ACTIVE")


def test_a_new_card_can_be_closed_and_a_blocked_one_finished(
    world: World, session: Session
) -> None:
    blank = session.scalars(select(Card).where(Card.number == world.blank[0])).one()
    close(session, blank, reason="испорчена", author="t", now=T0)
    assert blank.status == CardStatus.CLOSED
    card = session.scalars(select(Card).where(Card.number == world.card)).one()
    block(session, card, reason="t", author="t", now=T0)
    card.valid_until = T0
    session.flush()
    assert finish_expired(session, T0 + timedelta(seconds=1)) == 1
    assert card.status == CardStatus.FINISHED


@pytest.mark.committed
def test_the_daily_job_finishes_expired_cards_and_keeps_their_balance(
    runtime: Runtime, engine: Engine
) -> None:
    activate(runtime)
    with Session(engine) as session:
        world = seed_world(session)
        card = session.scalars(select(Card).where(Card.number == world.card)).one()
        block(session, card, reason="t", author="t", now=T0)
        card.valid_until = T0 + timedelta(days=1)
        session.commit()
    assert finish_expired_cards("finish-expired-cards-1", now=T0) == 0
    later = T0 + timedelta(days=2)
    assert finish_expired_cards("finish-expired-cards-2", now=later) == 1
    assert finish_expired_cards("finish-expired-cards-2", now=later) == 0
    with Session(engine) as session:
        card = session.scalars(select(Card).where(Card.number == world.card)).one()
        assert card.status == CardStatus.FINISHED
        change = session.scalars(
            select(CardStatusChange).where(CardStatusChange.card_id == card.id)
            .order_by(CardStatusChange.id.desc())
        ).first()  # fmt: skip
        assert change is not None and (change.old_status, change.reason) == (
            "blocked", "истёк срок действия",
        )  # fmt: skip
        assert balance(session, world.account_id, later).total == D("1000.00")
