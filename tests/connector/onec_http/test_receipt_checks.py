"""What a receipt must satisfy before anything is calculated or stored: line sums against
quantity × price, a plausible time, the tenant's tariff; and a bonus that would expire at birth is
never accrued."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from processing.ledger.models import BonusLot
from processing.programs.service import add_version, get_program
from processing.receipts.models import Receipt, SoftCalculation
from processing.tenants.models import Tenant
from processing.tenants.service import change_tariff
from tests.connector.onec_http.world import BONUS, World, receipt

D = Decimal
MOSCOW = ZoneInfo("Europe/Moscow")


def _post(client: FlaskClient, world: World, path: str, body: Any) -> tuple[int, Any]:
    response = client.post(f"/api/v1/{path}", json=body, headers=world.auth)
    return response.status_code, response.get_json()


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def _local(moment: datetime) -> str:
    """A store-local wall-clock time, as 1C sends it."""
    return moment.astimezone(MOSCOW).replace(tzinfo=None).isoformat(timespec="seconds")


def _one_line(qty: object, price: object, total: object, **extra: object) -> list[dict[str, Any]]:
    return [{"line": 1, "goods": "g", "qty": qty, "price": price, "sum": total, **extra}]


@pytest.mark.parametrize("path", ["receipts/calculate", "receipts/commit"])
def test_a_line_sum_that_is_not_qty_times_price_is_refused(
    client: FlaskClient, world: World, session: Session, path: str
) -> None:
    body = receipt("s-1", card_number=world.card, lines=_one_line(1, 100, 250))
    status, error = _post(client, world, path, body)
    assert (status, error["code"]) == (400, "LINE_SUM_MISMATCH")
    [message] = error["details"]["fields"]["json"]["lines"]["0"]["sum"]
    assert "250.00" in message and "100.00" in message
    assert _count(session, Receipt) == 0 and _count(session, SoftCalculation) == 0


def test_line_sums_within_the_tolerance_or_explained_by_a_pos_discount_are_accepted(
    client: FlaskClient, world: World, session: Session
) -> None:
    lines = [
        {"line": 1, "goods": "g1", "qty": 1, "price": 100, "sum": 99.99},  # a kopeck off
        {"line": 2, "goods": "g2", "qty": 0.347, "price": 459, "sum": 159.27},  # 159.273
        {"line": 3, "goods": "g3", "qty": 2, "price": 125, "sum": 200, "pos_discount": 50},
    ]
    status, body = _post(client, world, "receipts/commit", receipt("s-2", lines=lines))
    assert status == 200, body
    weighed = [{"line": 1, "goods": "g", "qty": 0.347, "price": 459, "sum": 159.29}]
    status, error = _post(client, world, "receipts/commit", receipt("s-3", lines=weighed))
    assert (status, error["code"]) == (400, "LINE_SUM_MISMATCH")
    session.get_one(Tenant, world.tenant_id).line_sum_tolerance = D(0)
    session.flush()
    status, error = _post(client, world, "receipts/commit", receipt("s-4", lines=lines[:1]))
    assert (status, error["code"]) == (400, "LINE_SUM_MISMATCH")


@pytest.fixture
def window(world: World, session: Session) -> World:
    """The world's tenant with the default offline window (30 days)."""
    session.get_one(Tenant, world.tenant_id).offline_window_days = 30
    session.flush()
    return world


@pytest.mark.parametrize(
    ("shift", "code"),
    [(timedelta(days=365), "SOLD_AT_IN_FUTURE"), (timedelta(minutes=11), "SOLD_AT_IN_FUTURE"),
     (-timedelta(days=31), "SOLD_AT_TOO_OLD")],
)  # fmt: skip
@pytest.mark.parametrize("path", ["receipts/calculate", "receipts/commit", "visits"])
def test_implausible_receipt_times_are_refused(
    client: FlaskClient, window: World, session: Session, shift: timedelta, code: str, path: str
) -> None:
    sold_at = _local(datetime.now(UTC) + shift)
    body = receipt("t-1", card_number=window.card, sold_at=sold_at)
    status, error = _post(client, window, path, body)
    assert (status, error["code"]) == (400, code), error
    assert _count(session, Receipt) == 0


@pytest.mark.parametrize("sold_at", ["2099-01-01T00:00:00", "1900-01-01T00:00:00"])
def test_absurd_years_are_refused(client: FlaskClient, window: World, sold_at: str) -> None:
    status, error = _post(client, window, "receipts/commit", receipt("t-2", sold_at=sold_at))
    assert status == 400 and error["code"] in (
        "SOLD_AT_IN_FUTURE",
        "SOLD_AT_TOO_OLD",
        "VALIDATION_ERROR",
    )


def test_receipt_times_within_the_bounds_are_accepted(
    client: FlaskClient, window: World, session: Session
) -> None:
    for number, shift in (("t-3", timedelta(minutes=5)), ("t-4", -timedelta(days=29))):
        sold_at = _local(datetime.now(UTC) + shift)
        status, body = _post(client, window, "receipts/commit", receipt(number, sold_at=sold_at))
        assert status == 200, body
    offline = receipt(
        "t-5", card_number=window.card, sold_at=_local(datetime.now(UTC) - timedelta(days=40))
    )
    response = client.post("/api/v1/receipts/offline", json={"receipts": [offline]},
                           headers=window.auth)  # fmt: skip
    [result] = response.get_json()["results"]
    assert (result["status"], result["code"]) == ("error", "SOLD_AT_TOO_OLD")


def test_a_bonus_that_would_expire_at_birth_is_not_accrued_and_says_why(
    client: FlaskClient, window: World, session: Session
) -> None:
    program = get_program(session, session.get_one(Tenant, window.tenant_id), "bonus")
    add_version(session, program, {**BONUS, "lifetime_days": 7},
                datetime.now(UTC) - timedelta(days=60))  # fmt: skip
    session.flush()
    lots = _count(session, BonusLot)
    old = _local(datetime.now(UTC) - timedelta(days=10))
    body = receipt("e-1", card_number=window.card, sold_at=old)
    status, soft = _post(client, window, "receipts/calculate", body)
    assert status == 200 and soft["totals"]["accrual"] == 0
    assert any("срок жизни" in message for message in soft["cashier_messages"])
    status, committed = _post(client, window, "receipts/commit", body)
    assert status == 200 and committed["totals"]["accrual"] == 0
    withheld = [e for line in committed["lines"] for e in line["explanation"]
                if e["rule"] == "bonus_accrual_withheld"]  # fmt: skip
    assert withheld and all("срок жизни" in e["text"] for e in withheld)
    assert _count(session, BonusLot) == lots  # no lot expired at birth
    today = receipt("e-2", card_number=window.card, sold_at=_local(datetime.now(UTC)))
    status, fresh = _post(client, window, "receipts/commit", today)
    assert status == 200 and fresh["totals"]["accrual"] > 0, fresh
    identified = _post(client, window, "identify", {"card_number": window.card})[1]["balance"]
    assert D(str(identified["total"])) == D(str(identified["active"])) + D(
        str(identified["pending"])
    )


def test_a_tenant_without_the_bonus_server_keeps_identify_and_discounts(
    client: FlaskClient, world: World, session: Session
) -> None:
    change_tariff(session, session.get_one(Tenant, world.tenant_id), "start")
    session.flush()
    status, found = _post(client, world, "identify", {"card_number": world.card})
    assert status == 200 and found["level"]["code"] == "base"
    assert found["balance"] == {"total": 0, "active": 0, "pending": 0}
    assert found["write_off_allowed"] is False and "тариф" in found["write_off_refusal"]
    for path in ("receipts/calculate", "receipts/commit"):
        status, error = _post(client, world, path, receipt("b-1", card_number=world.card,
                                                            pay_bonus=10))  # fmt: skip
        assert (status, error["code"]) == (403, "BONUS_NOT_IN_TARIFF")
    status, sale = _post(client, world, "receipts/commit", receipt("b-2", card_number=world.card))
    assert status == 200 and sale["totals"]["accrual"] == 0


def test_a_client_transaction_id_is_unique_per_pos(
    client: FlaskClient, world: World, session: Session
) -> None:
    first = receipt("x-1", card_number=world.card, transaction_id="1042")
    assert _post(client, world, "receipts/commit", first)[0] == 200
    other_pos = {"Authorization": f"Bearer {world.token}-2"}
    response = client.post("/api/v1/receipts/commit", json=receipt("x-1", transaction_id="1042"),
                           headers=other_pos)  # fmt: skip
    assert response.status_code == 200 and response.get_json()["replay"] is False
    again = receipt("x-2", card_number=world.card, transaction_id="1042")
    status, error = _post(client, world, "receipts/commit", again)
    assert (status, error["code"]) == (409, "RECEIPT_CONFLICT")
    assert _count(session, Receipt) == 2
