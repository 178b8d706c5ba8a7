"""Returns and rollbacks through the HTTP API."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from processing.ledger.service import balance, correct
from processing.receipts.models import Receipt
from processing.tenants.models import Tenant
from tests.connector.onec_http.world import World, receipt

D = Decimal
NUMBERS = itertools.count(1000)


def _post(client: FlaskClient, world: World, path: str, body: Any) -> tuple[int, Any]:
    response = client.post(f"/api/v1/{path}", json=body, headers=world.auth)
    return response.status_code, response.get_json()


def _total(session: Session, world: World) -> Decimal:
    return balance(session, world.account_id, datetime.now(UTC)).total


def _sell(
    client: FlaskClient, world: World, pay: int = 0, *, today: bool = False
) -> dict[str, Any]:
    body = receipt(str(next(NUMBERS)), card_number=world.card, pay_bonus=pay)
    if today:
        # Sold now, like its returns: a sale dated in the past would keep counting towards the
        # level of its own window after returns made today, and examples would drift.
        del body["sold_at"]
    status, body = _post(client, world, "receipts/commit", body)
    assert status == 200, body
    return body  # type: ignore[no-any-return]


def _return(
    client: FlaskClient, world: World, txn: str, lines: list[tuple[int, str]] | None = None
) -> tuple[int, Any]:
    body: dict[str, Any] = {"cashier": "c-01", "number": f"r{next(NUMBERS)}",
                            "original_transaction_id": txn}  # fmt: skip
    if lines is not None:
        body["lines"] = [{"line": n, "qty": q} for n, q in lines]
    return _post(client, world, "receipts/return", body)


def test_partial_then_full_return_restores_the_balance(
    client: FlaskClient, world: World, session: Session
) -> None:
    sale = _sell(client, world, pay=100)
    assert _total(session, world) == D("910.78")
    status, first = _return(client, world, sale["transaction_id"], [(1, "1")])
    assert status == 200, first
    # A third of line 1: accrual 7.04 → 2.35 taken back, payment 65.32 → 21.77 credited.
    assert first["totals"]["accrual"] == D("2.35")
    assert first["totals"]["bonus_payment"] == D("21.77")
    assert _total(session, world) == D("910.78") - D("2.35") + D("21.77")
    status, rest = _return(client, world, sale["transaction_id"])
    assert status == 200 and rest["kind"] == "return"
    assert _total(session, world) == D("1000.00")
    status, error = _return(client, world, sale["transaction_id"], [(1, "1")])
    assert (status, error["code"]) == (422, "RETURN_EXCEEDS_SALE")


def test_return_exceeding_the_sale_writes_nothing(
    client: FlaskClient, world: World, session: Session
) -> None:
    sale = _sell(client, world)
    _return(client, world, sale["transaction_id"], [(2, "0.2")])
    status, error = _return(client, world, sale["transaction_id"], [(2, "0.148")])
    assert (status, error["code"]) == (422, "RETURN_EXCEEDS_SALE")
    assert error["details"] == {"line": 2, "sold": "0.347", "left": "0.147"}
    status, error = _return(client, world, sale["transaction_id"], [(7, "1")])
    assert (status, error["code"]) == (400, "VALIDATION_ERROR")
    assert len(session.scalars(select(Receipt).where(Receipt.kind == "return")).all()) == 1


def test_return_by_receipt_identity_and_idempotency(
    client: FlaskClient, world: World, session: Session
) -> None:
    sale = _sell(client, world)
    body = {"cashier": "c-01", "number": "r-1", "original_shift": "5",
            "original_number": sale["number"], "original_sold_at": "2026-05-01T12:00:00",
            "lines": [{"line": 3, "qty": 1}]}  # fmt: skip
    status, first = _post(client, world, "receipts/return", body)
    assert status == 200, first
    status, again = _post(client, world, "receipts/return", body)
    assert status == 200 and again["replay"] is True
    assert again["transaction_id"] == first["transaction_id"]
    missing = {**body, "number": "r-2", "original_number": "nope"}
    status, error = _post(client, world, "receipts/return", missing)
    assert (status, error["code"]) == (404, "RECEIPT_NOT_FOUND")


def test_spent_accrual_under_cap_at_zero_and_allow_negative(
    client: FlaskClient, world: World, session: Session
) -> None:
    sale = _sell(client, world)  # accrues 13.78
    correct(session, world.account_id, D("-1013.78"), reason="потрачено", author="t",
            now=datetime.now(UTC))  # fmt: skip
    session.flush()
    status, capped = _return(client, world, sale["transaction_id"], [(1, "3")])
    assert status == 200
    assert capped["clawback_shortfall"] == D("9.00") and capped["notes"]
    assert _total(session, world) == D("0.00")
    session.get_one(Tenant, world.tenant_id).return_policy = "allow_negative"
    session.flush()
    status, negative = _return(client, world, sale["transaction_id"], [(2, "0.347")])
    assert status == 200 and negative["clawback_shortfall"] == 0
    assert _total(session, world) == D("-4.78")
    assert "отрицательным" in negative["notes"][0]


def test_rollback_restores_exactly_and_is_idempotent(
    client: FlaskClient, world: World, session: Session
) -> None:
    sale = _sell(client, world, pay=100)
    path = f"transactions/{sale['transaction_id']}/rollback"
    status, body = _post(client, world, path, {})
    assert (status, body["status"]) == (200, "rolled_back")
    assert _total(session, world) == D("1000.00")
    assert _post(client, world, path, {}) == (200, body)
    assert _total(session, world) == D("1000.00")
    status, error = _return(client, world, sale["transaction_id"])
    assert (status, error["code"]) == (404, "RECEIPT_NOT_FOUND")


def test_rollback_refusals(
    client: FlaskClient, world: World, other: World, session: Session
) -> None:
    sale = _sell(client, world)
    _return(client, world, sale["transaction_id"], [(1, "1")])
    status, error = _post(client, world, f"transactions/{sale['transaction_id']}/rollback", {})
    assert (status, error["code"]) == (422, "ROLLBACK_NOT_ALLOWED")
    late = _sell(client, world)
    stored = session.scalars(
        select(Receipt).where(Receipt.transaction_id == late["transaction_id"])
    ).one()
    stored.created_at = datetime.now(UTC) - timedelta(hours=25)
    session.flush()
    status, error = _post(client, world, f"transactions/{late['transaction_id']}/rollback", {})
    assert (status, error["code"]) == (422, "ROLLBACK_NOT_ALLOWED")
    assert error["details"] == {"window_hours": 24}
    status, error = _post(client, other, f"transactions/{late['transaction_id']}/rollback", {})
    assert (status, error["code"]) == (404, "RECEIPT_NOT_FOUND")


def _partition(total: int) -> st.SearchStrategy[list[int]]:
    """Random positive parts (in thousandths) adding up to ``total``."""
    return st.lists(st.integers(1, total - 1), max_size=3, unique=True).map(
        lambda cuts: [b - a for a, b in itertools.pairwise([0, *sorted(cuts), total])]
    )


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    pay=st.integers(0, 229),
    parts=st.tuples(_partition(3000), _partition(347), _partition(2000)),
    keys=st.lists(st.integers(0, 1000), min_size=12, max_size=12),
)
def test_full_return_in_random_steps_restores_the_balance(
    client: FlaskClient,
    world: World,
    session: Session,
    pay: int,
    parts: tuple[list[int], list[int], list[int]],
    keys: list[int],
) -> None:
    # Everything is drawn before the first request: an example is never cut short midway.
    steps = [(line, part) for line, line_parts in enumerate(parts, 1) for part in line_parts]
    steps = [step for _, step in sorted(zip(keys, steps, strict=False), key=lambda kv: kv[0])]
    before = _total(session, world)
    sale = _sell(client, world, pay=pay, today=True)
    for line, part in steps:
        status, body = _return(client, world, sale["transaction_id"], [(line, str(D(part) / 1000))])
        assert status == 200, body
    assert _total(session, world) == before


def test_a_rollback_refused_because_the_bonus_was_spent_names_the_transaction(
    client: FlaskClient, world: World, session: Session
) -> None:
    sale = _sell(client, world)  # accrues, active at once
    spend = receipt(str(next(NUMBERS)), card_number=world.card, pay_bonus=D("500"))
    spend["lines"] = [{"line": 1, "goods": "g", "qty": 1, "price": 5000, "sum": 5000}]
    _post(client, world, "receipts/commit", spend)
    correct(session, world.account_id, -_total(session, world), reason="test", author="t",
            now=datetime.now(UTC))  # fmt: skip
    status, error = _post(client, world, f"transactions/{sale['transaction_id']}/rollback", {})
    assert (status, error["code"]) == (422, "ROLLBACK_NOT_ALLOWED")
    assert error["details"] == {"transaction_id": sale["transaction_id"]}


def test_a_return_of_an_unknown_line_is_a_validation_error_with_fields(
    client: FlaskClient, world: World
) -> None:
    sale = _sell(client, world)
    status, error = _return(client, world, sale["transaction_id"], [(1, "1"), (7, "1")])
    assert (status, error["code"]) == (400, "VALIDATION_ERROR")
    assert error["details"] == {
        "fields": {"json": {"lines": {"1": {"line": ["В исходном чеке нет строки 7."]}}}}
    }


def test_a_commit_re_sent_after_its_rollback_says_it_is_rolled_back(
    client: FlaskClient, world: World, session: Session
) -> None:
    body = receipt(str(next(NUMBERS)), card_number=world.card, pay_bonus=100)
    status, sale = _post(client, world, "receipts/commit", body)
    assert status == 200
    _post(client, world, f"transactions/{sale['transaction_id']}/rollback", {})
    status, again = _post(client, world, "receipts/commit", body)
    assert status == 200
    assert (again["replay"], again["status"]) == (True, "rolled_back")
    assert _total(session, world) == D("1000.00")  # the re-sent commit posted nothing
