"""Returns of receipts with set-based promotions through the POS API: a return that breaks an
M-for-N set, a kit or a gift's condition keeps back the discount the kept units no longer earn;
a full return in any steps restores the balance, the usage counters and the budgets."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from processing.ledger.service import balance
from processing.programs.models import Program
from processing.programs.service import add_program, add_version
from processing.promotions.models import PromotionUsage
from processing.tenants.models import Tenant
from tests.connector.onec_http.world import World, receipt
from tests.factories import T0

D = Decimal
SINCE = T0.replace(year=2026, month=1, day=1)
NUMBERS = itertools.count(1)
THREE_FOR_TWO = {"kind": "m_for_n", "n": 3, "m": 2}


def _promotion(session: Session, world: World, code: str, name: str, rules: Any) -> None:
    tenant = session.get_one(Tenant, world.tenant_id)
    add_version(session, add_program(session, tenant, "promotion", code, name), rules, SINCE)
    session.flush()


def _post(client: FlaskClient, world: World, path: str, body: Any) -> Any:
    response = client.post(f"/api/v1/{path}", json=body, headers=world.auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _sell(
    client: FlaskClient,
    world: World,
    lines: list[dict[str, Any]],
    pay: int = 0,
    *,
    today: bool = False,
) -> Any:
    body = receipt(f"s{next(NUMBERS)}", card_number=world.card, lines=lines, pay_bonus=pay)
    if today:
        # Sold now, like its returns: a sale dated in the past would keep counting towards the
        # level of its own window after returns made today.
        del body["sold_at"]
    return _post(client, world, "receipts/commit", body)


def _return(
    client: FlaskClient, world: World, sale: Any, lines: list[tuple[int, Any]] | None = None
) -> Any:
    body: dict[str, Any] = {"cashier": "c-01", "number": f"r{next(NUMBERS)}",
                            "original_transaction_id": sale["transaction_id"]}  # fmt: skip
    if lines is not None:
        body["lines"] = [{"line": n, "qty": q} for n, q in lines]
    answer = _post(client, world, "receipts/return", body)
    for line in answer["lines"]:  # a return line's sums add up to the kopeck
        assert line["sum"] - line["discount"] - line["bonus_payment"] == line["final_sum"]
        assert line["final_sum"] >= 0
    return answer


def _total(session: Session, world: World) -> Decimal:
    return balance(session, world.account_id, datetime.now(UTC)).total


def test_returning_a_unit_of_three_for_two_refunds_nothing_and_the_rest_what_was_paid(
    client: FlaskClient, world: World, session: Session
) -> None:
    _promotion(session, world, "3for2", "3 по цене 2",
               {"receipt": {"goods": {"goods": ["g-100"]}}, "reward": THREE_FOR_TWO})  # fmt: skip
    before = _total(session, world)
    sale = _sell(client, world, [{"line": 1, "goods": "g-100", "qty": 3, "price": 100,
                                  "sum": 300}])  # fmt: skip
    assert (sale["totals"]["discount"], sale["totals"]["final_sum"]) == (D("100.00"), D("200.00"))
    assert sale["totals"]["accrual"] == D("6.00")  # 3% of 200.00
    first = _return(client, world, sale, [(1, 1)])
    # The 2 kept units now cost 200.00, what was paid: the unit's 66.67 share is kept back,
    # and with it the accrual on it (the accrual follows the money refunded).
    line = first["lines"][0]
    assert (line["sum"], line["discount"], line["final_sum"]) == (D("100"), D("100"), D("0"))
    assert first["totals"]["accrual"] == 0
    assert first["notes"] == [
        "Возврат нарушил условие акции «3 по цене 2»: скидка 66,67 ₽ удержана из суммы возврата."
    ]
    assert line["explanation"] == [
        {"rule": "promotion_withheld", "amount": D("66.67"), "promotion": "3for2",
         "text": "Скидка по акции «3 по цене 2» удержана: возврат нарушил её условие"},
    ]  # fmt: skip
    assert _total(session, world) == before + D("6.00")
    rest = _return(client, world, sale, [(1, 2)])
    assert rest["totals"]["final_sum"] == D("200.00")  # in all 200.00 back: what was paid
    assert rest["totals"]["accrual"] == D("6.00")
    assert rest["notes"] == ["Возвращена удержанная ранее скидка по акции «3 по цене 2»: 66,67 ₽."]
    assert _total(session, world) == before


def test_a_return_that_leaves_the_sets_whole_refunds_by_shares(
    client: FlaskClient, world: World, session: Session
) -> None:
    _promotion(session, world, "3for2", "3 по цене 2",
               {"receipt": {"goods": {"goods": ["g-100"]}}, "reward": THREE_FOR_TWO})  # fmt: skip
    sale = _sell(client, world, [{"line": 1, "goods": "g-100", "qty": 4, "price": 100,
                                  "sum": 400}])  # fmt: skip
    assert sale["totals"]["final_sum"] == D("300.00")
    first = _return(client, world, sale, [(1, 1)])  # 3 units kept: the set is whole
    assert (first["totals"]["final_sum"], first["notes"]) == (D("75.00"), [])


def test_a_dearer_unit_returned_pays_for_the_free_unit_kept(
    client: FlaskClient, world: World, session: Session
) -> None:
    _promotion(session, world, "3for2", "3 по цене 2",
               {"receipt": {"goods": {"goods": ["g-100", "g-300"]}},
                "reward": THREE_FOR_TWO})  # fmt: skip
    before = _total(session, world)
    sale = _sell(client, world, [
        {"line": 1, "goods": "g-100", "qty": 2, "price": 150, "sum": 300},
        {"line": 2, "goods": "g-300", "qty": 1, "price": 100, "sum": 100},
    ])  # fmt: skip
    assert [line["final_sum"] for line in sale["lines"]] == [D("300.00"), D("0.00")]
    # A unit of 150.00 back: the kept 150.00 + 100.00 are no set, the free unit now costs
    # 100.00, kept back from the 150.00.
    first = _return(client, world, sale, [(1, 1)])
    assert (first["totals"]["final_sum"], first["totals"]["discount"]) == (D("50"), D("100"))
    assert first["notes"] == [
        "Возврат нарушил условие акции «3 по цене 2»: скидка 100,00 ₽ удержана из суммы возврата."
    ]
    # The unit that was free back: the 150.00 kept costs 150.00, so 100.00 more comes back.
    second = _return(client, world, sale, [(2, 1)])
    assert second["totals"]["final_sum"] == D("100.00")
    last = _return(client, world, sale)
    assert last["totals"]["final_sum"] == D("150.00")
    assert _total(session, world) == before


def test_the_set_line_returned_whole_keeps_the_discount_of_the_free_unit_kept(
    client: FlaskClient, world: World, session: Session
) -> None:
    _promotion(session, world, "3for2", "3 по цене 2",
               {"receipt": {"goods": {"goods": ["g-100", "g-300"]}},
                "reward": THREE_FOR_TWO})  # fmt: skip
    sale = _sell(client, world, [
        {"line": 1, "goods": "g-100", "qty": 2, "price": 150, "sum": 300},
        {"line": 2, "goods": "g-300", "qty": 1, "price": 100, "sum": 100},
    ])  # fmt: skip
    first = _return(client, world, sale, [(1, 2)])
    assert first["totals"]["final_sum"] == D("200.00")  # the kept unit costs 100.00 now
    last = _return(client, world, sale, [(2, 1)])
    assert last["totals"]["final_sum"] == D("100.00")  # 300.00 back in all


def test_a_broken_kit_keeps_back_its_discount(
    client: FlaskClient, world: World, session: Session
) -> None:
    _promotion(session, world, "kit", "Паста и соус", {
        "receipt": {"kit": [{"goods": {"goods": ["pasta"]}, "quantity": 2},
                            {"goods": {"goods": ["sauce"]}, "quantity": 1}]},
        "reward": {"kind": "fixed_price", "price": "49.90", "target": {"goods": ["sauce"]}},
    })  # fmt: skip
    sale = _sell(client, world, [
        {"line": 1, "goods": "pasta", "qty": 2, "price": 120, "sum": 240},
        {"line": 2, "goods": "sauce", "qty": 1, "price": 99.90, "sum": 99.90},
    ])  # fmt: skip
    assert sale["totals"]["discount"] == D("50.00")
    first = _return(client, world, sale, [(1, 1)])
    assert first["totals"]["final_sum"] == D("70.00")  # 120.00 − the sauce's 50.00
    assert "«Паста и соус»: скидка 50,00 ₽" in first["notes"][0]


def test_a_gift_lost_by_a_return_is_paid_for_from_the_refund(
    client: FlaskClient, world: World, session: Session
) -> None:
    _promotion(session, world, "bear", "Мишка в подарок", {
        "receipt": {"sum": {"min": "500.00"}},
        "reward": {"kind": "gift", "gift": {"goods": ["bear"]}, "price": "0.01"},
    })  # fmt: skip
    sale = _sell(client, world, [
        {"line": 1, "goods": "g-100", "qty": 3, "price": 100, "sum": 300},
        {"line": 2, "goods": "g-500", "qty": 1, "price": 250, "sum": 250},
        {"line": 3, "goods": "bear", "qty": 1, "price": 199, "sum": 199},
    ])  # fmt: skip
    assert sale["lines"][2]["final_sum"] == D("0.01")
    # 499.00 kept is under 500.00: the bear kept costs 199.00, 198.99 of it from the 250.00.
    first = _return(client, world, sale, [(2, 1)])
    assert first["totals"]["final_sum"] == D("51.01")
    rest = _return(client, world, sale)
    assert sale["totals"]["final_sum"] == D("550.01")
    assert first["totals"]["final_sum"] + rest["totals"]["final_sum"] == D("550.01")


# --- a full return in random steps --------------------------------------------------------

GROUPS = [{"code": "main", "name": "Основная", "mode": "multiply", "level_discount": True}]
PROPERTY_LINES = [
    {"line": 1, "goods": "g-100", "qty": 3, "price": 100, "sum": 300},
    {"line": 2, "goods": "g-300", "qty": 2, "price": 80, "sum": 160},
    {"line": 3, "goods": "g-200", "qty": 0.347, "price": 459, "sum": 159.27},
    {"line": 4, "goods": "g-400", "qty": 2, "price": 89.99, "sum": 179.98, "no_discount": True},
]
# Parts of each line in thousandths of its quantity.
LINE_TOTALS = (3000, 2000, 347, 2000)
UNIT_LINES = {1, 2, 4}  # returned in whole units


@pytest.fixture
def promoted(world: World, session: Session) -> World:
    """Percent then 3 for 2 (one after another), and campaign points, all counted."""
    session.get_one(Tenant, world.tenant_id).promotion_groups = GROUPS
    _promotion(session, world, "pct", "Минус 5%", {
        "reward": {"kind": "percent", "value": "5"}, "limits": {"total": 100_000},
    })  # fmt: skip
    _promotion(session, world, "m3for2", "3 по цене 2", {
        "receipt": {"goods": {"goods": ["g-100", "g-300"]}}, "reward": THREE_FOR_TWO,
        "limits": {"budget": "100000.00"},
    })  # fmt: skip
    _promotion(session, world, "points", "Баллы за покупку", {
        "receipt": {"sum": {"min": "100.00"}},
        "reward": {"kind": "extra_bonus", "value": "60.00", "lifetime_days": 30},
        "limits": {"total": 100_000, "budget": "100000.00"},
    })  # fmt: skip
    return world


def _usage(session: Session) -> dict[str, tuple[int, Decimal]]:
    rows = session.execute(
        select(Program.code, PromotionUsage.uses, PromotionUsage.spent)
        .join(PromotionUsage, PromotionUsage.program_id == Program.id)
        .execution_options(populate_existing=True)
    ).all()
    return {code: (uses, spent) for code, uses, spent in rows}


def _partition(total: int, unit: int) -> st.SearchStrategy[list[int]]:
    """Random positive parts (multiples of ``unit``) adding up to ``total``."""
    return st.lists(st.integers(1, total // unit - 1), max_size=3, unique=True).map(
        lambda cuts: [
            (b - a) * unit for a, b in itertools.pairwise([0, *sorted(cuts), total // unit])
        ]
    )


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    pay=st.integers(0, 250),  # the program caps it at 256.15 here
    parts=st.tuples(*(
        _partition(total, 1000 if number in UNIT_LINES else 1)
        for number, total in enumerate(LINE_TOTALS, 1)
    )),
    keys=st.lists(st.integers(0, 1000), min_size=16, max_size=16),
)  # fmt: skip
def test_a_full_return_in_random_steps_restores_balances_counters_and_budgets(
    client: FlaskClient,
    promoted: World,
    session: Session,
    pay: int,
    parts: tuple[list[int], ...],
    keys: list[int],
) -> None:
    world = promoted
    # Everything is drawn before the first request: an example is never cut short midway.
    steps = [(line, part) for line, line_parts in enumerate(parts, 1) for part in line_parts]
    steps = [step for _, step in sorted(zip(keys, steps, strict=False), key=lambda kv: kv[0])]
    before, usage = _total(session, world), _usage(session)
    sale = _sell(client, world, PROPERTY_LINES, pay, today=True)
    applied = {e["promotion"] for line in sale["lines"] for e in line["explanation"]}
    assert {"pct", "m3for2"} <= applied, sale
    points = usage.get("points", (0, D(0)))
    assert _usage(session)["points"] == (points[0] + 1, points[1] + D("60.00"))
    refunded, credited = D(0), D(0)
    for line, part in steps:
        answer = _return(client, world, sale, [(line, str(D(part) / 1000))])
        refunded += answer["totals"]["final_sum"]
        credited += answer["totals"]["bonus_payment"]
        assert refunded <= sale["totals"]["final_sum"]
    assert (refunded, credited) == (sale["totals"]["final_sum"], sale["totals"]["bonus_payment"])
    assert _total(session, world) == before
    after = _usage(session)
    assert after == {code: usage.get(code, (0, D("0.00"))) for code in after}
