"""Promotion conditions through the POS API, each shown holding and not holding (with the reason
the answer gives): local dates and yearly dates in the store's zone, days since registration,
card series, goods sets by brand, supplier and unit price, a version scoped to a store group;
budget and per-customer limits under sixteen parallel commits; an offline batch giving the same
discount as an online commit.

The world's receipt (``world.receipt``): line 1 g-100 3 × 100.00 = 300.00, line 2 g-200
0.347 × 459 = 159.27, line 3 g-400 2 × 89.99 = 179.98 marked no-discount. The world card is at
the base level (no level discount), so a promotion's figures are the receipt's discount."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from processing.cards.service import add_template, generate_cards, issue_card
from processing.customers.models import Customer
from processing.customers.service import register_customer
from processing.programs.models import Program
from processing.programs.service import add_program, add_version
from processing.promotions.models import PromotionUsage, ReceiptPromotion
from processing.receipts.models import Receipt
from processing.tenants.models import StoreGroup, Tenant
from processing.tenants.service import add_pos, add_store, add_store_group
from tests.connector.onec_http.world import World, race, receipt
from tests.factories import T0

D = Decimal
SINCE = datetime(2025, 6, 1, tzinfo=UTC)  # before every receipt date used here
TEN_PERCENT: dict[str, Any] = {"reward": {"kind": "percent", "value": "10"}}
# 10% of the discountable 459.27 (lines 1 and 2) = 45.927 → 45.93 (half-up, once), spread by
# largest remainder: line 1 30.00, line 2 15.927 → 15.93.
TEN_OF_WORLD = D("45.93")


def _promotion(
    session: Session,
    world: World,
    code: str,
    rules: dict[str, Any],
    *,
    store_groups: list[StoreGroup] | None = None,
) -> Program:
    tenant = session.get_one(Tenant, world.tenant_id)
    program = add_program(session, tenant, "promotion", code, f"Акция {code}")
    add_version(session, program, rules, SINCE, store_groups=store_groups)
    session.flush()
    return program


def _post(
    client: FlaskClient, world: World, path: str, body: Any, token: str | None = None
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else world.auth
    response = client.post(f"/api/v1/{path}", json=body, headers=headers)
    return response.status_code, response.get_json()


def _calculate(client: FlaskClient, world: World, token: str | None = None, **over: Any) -> Any:
    status, answer = _post(client, world, "receipts/calculate", receipt(**over), token)
    assert status == 200, answer
    return answer


def _outcome(answer: Any, code: str) -> Any:
    found = [p for p in answer["promotions"] if p["code"] == code]
    assert len(found) == 1, answer["promotions"]
    return found[0]


def _applied(answer: Any, code: str, discount: Decimal) -> None:
    outcome = _outcome(answer, code)
    assert (outcome["applied"], outcome["discount"], outcome["reason"]) == (True, discount, None)
    assert answer["totals"]["discount"] == discount


def _refused(answer: Any, code: str, reason: str) -> None:
    outcome = _outcome(answer, code)
    assert (outcome["applied"], outcome["reason"]) == (False, reason), outcome
    assert answer["totals"]["discount"] == 0


# --- when ----------------------------------------------------------------------------------


def test_a_date_range_holds_on_the_stores_local_dates(
    client: FlaskClient, world: World, session: Session
) -> None:
    _promotion(session, world, "may", {
        **TEN_PERCENT, "when": {"dates": [{"from": "2026-05-01", "to": "2026-05-03"}]},
    })  # fmt: skip
    card = world.card
    # 2026-05-01 12:00 Moscow: inside → 45.93.
    _applied(_calculate(client, world, card_number=card), "may", TEN_OF_WORLD)
    # 2026-04-30 21:30 UTC is 2026-05-01 00:30 in Moscow (+3): inside, though UTC says April.
    early = _calculate(client, world, card_number=card, sold_at="2026-04-30T21:30:00+00:00")
    _applied(early, "may", TEN_OF_WORLD)
    # 2026-04-30 20:30 UTC is 23:30 on April 30 in Moscow: outside.
    before = _calculate(client, world, card_number=card, sold_at="2026-04-30T20:30:00+00:00")
    _refused(before, "may", "Акция не действует в эту дату.")
    # The last day is included: 2026-05-03 23:59 Moscow inside, 2026-05-04 00:30 outside
    # (2026-05-03T21:30Z).
    last = _calculate(client, world, card_number=card, sold_at="2026-05-03T23:59:00")
    _applied(last, "may", TEN_OF_WORLD)
    after = _calculate(client, world, card_number=card, sold_at="2026-05-03T21:30:00+00:00")
    _refused(after, "may", "Акция не действует в эту дату.")
    # The commit gives what calculate said.
    status, committed = _post(client, world, "receipts/commit", receipt(card_number=card))
    assert status == 200 and committed["totals"]["discount"] == TEN_OF_WORLD, committed


def test_a_yearly_date_holds_every_year_in_the_stores_zone(
    client: FlaskClient, world: World, session: Session
) -> None:
    _promotion(session, world, "march8", {
        "when": {"yearly": [{"from": "03-08", "to": "03-08"}]},
        "receipt": {"goods": {"goods": ["g-100"]}},
        "reward": {"kind": "percent", "value": "15"},
    })  # fmt: skip
    card = world.card
    # 15% of line 1 only: 300.00 × 15% = 45.00.
    on_the_day = _calculate(client, world, card_number=card, sold_at="2026-03-08T12:00:00")
    _applied(on_the_day, "march8", D("45.00"))
    assert on_the_day["lines"][0]["discount"] == D("45.00")
    assert on_the_day["lines"][1]["discount"] == 0
    # 2026-03-07 21:30 UTC = 2026-03-08 00:30 Moscow: already 8 March at the store.
    midnight = _calculate(client, world, card_number=card, sold_at="2026-03-07T21:30:00+00:00")
    _applied(midnight, "march8", D("45.00"))
    # 2026-03-07 20:59 UTC = 23:59 on 7 March at the store: not yet.
    eve = _calculate(client, world, card_number=card, sold_at="2026-03-07T20:59:00+00:00")
    _refused(eve, "march8", "Акция не действует в эту дату.")
    # Any other day of the year, e.g. the world's 1 May.
    _refused(
        _calculate(client, world, card_number=card), "march8", "Акция не действует в эту дату."
    )
    status, committed = _post(
        client, world, "receipts/commit",
        receipt(card_number=card, sold_at="2026-03-08T12:00:00"),
    )  # fmt: skip
    assert status == 200 and committed["totals"]["discount"] == D("45.00"), committed


def test_a_yearly_range_over_new_year(client: FlaskClient, world: World, session: Session) -> None:
    _promotion(session, world, "newyear", {
        **TEN_PERCENT, "when": {"yearly": [{"from": "12-30", "to": "01-02"}]},
    })  # fmt: skip
    # 2025-12-31 and 2026-01-02 are inside the 30 Dec – 2 Jan range; 2026-01-03 is not.
    for sold_at in ("2025-12-31T12:00:00", "2026-01-02T23:00:00"):
        _applied(_calculate(client, world, sold_at=sold_at), "newyear", TEN_OF_WORLD)
    third = _calculate(client, world, sold_at="2026-01-03T00:10:00")
    _refused(third, "newyear", "Акция не действует в эту дату.")


# --- customer ------------------------------------------------------------------------------

REGISTERED_30 = "Только для покупателей, зарегистрированных не раньше 30 дн. назад."


def test_registered_within_days_counts_from_the_registration_in_the_stores_zone(
    client: FlaskClient, world: World, session: Session
) -> None:
    _promotion(session, world, "newbie", {
        **TEN_PERCENT, "customer": {"registered_within_days": 30},
    })  # fmt: skip
    customer = session.get_one(Customer, world.customer_id)
    # Registered 2026-04-15 (16 days before the 2026-05-01 receipt): holds.
    customer.created_at = datetime(2026, 4, 15, 9, 0, tzinfo=UTC)
    session.flush()
    _applied(_calculate(client, world, card_number=world.card), "newbie", TEN_OF_WORLD)
    # 2026-03-31 21:30 UTC is 2026-04-01 00:30 in Moscow: 30 days before 1 May, still within.
    customer.created_at = datetime(2026, 3, 31, 21, 30, tzinfo=UTC)
    session.flush()
    _applied(_calculate(client, world, card_number=world.card), "newbie", TEN_OF_WORLD)
    # 2026-03-31 20:30 UTC is 23:30 on 31 March in Moscow: 31 days, refused.
    customer.created_at = datetime(2026, 3, 31, 20, 30, tzinfo=UTC)
    session.flush()
    _refused(_calculate(client, world, card_number=world.card), "newbie", REGISTERED_30)
    # 400 days before T0: refused, and on commit too.
    customer.created_at = T0 - timedelta(days=400)
    session.flush()
    _refused(_calculate(client, world, card_number=world.card), "newbie", REGISTERED_30)
    status, committed = _post(client, world, "receipts/commit", receipt(card_number=world.card))
    assert status == 200 and committed["totals"]["discount"] == 0, committed
    # No card: no customer to ask.
    _refused(_calculate(client, world), "newbie", "Нужна карта покупателя.")


def test_registered_within_days_of_a_customer_registered_with_a_given_moment(
    client: FlaskClient, world: World, session: Session
) -> None:
    """The world's customer is registered with ``now=T0 - 400 days`` (2025-03-27): on a receipt
    of 2026-05-01 that is 400 days, more than 30."""
    _promotion(session, world, "newbie", {
        **TEN_PERCENT, "customer": {"registered_within_days": 30},
    })  # fmt: skip
    _refused(_calculate(client, world, card_number=world.card), "newbie", REGISTERED_30)


def _customer_with_card(
    session: Session, world: World, series: str, prefix: str, phone: str
) -> str:
    tenant = session.get_one(Tenant, world.tenant_id)
    since = T0 - timedelta(days=10)
    template = add_template(
        session, tenant, code=series, name=f"Карта {series}", card_type="3%", prefix=prefix,
        number_length=13, check_digit="ean13",
    )  # fmt: skip
    cards = generate_cards(session, template, 1, author="t", now=since)
    customer = register_customer(
        session, tenant, {"first_name": "Анна", "last_name": "Смирнова", "phone": phone},
        source="admin", author="t", consents={"processing": True}, now=since,
    )  # fmt: skip
    card = issue_card(session, tenant, cards[0].number, customer, author="t", now=since)
    session.flush()
    return card.number


def test_card_series_condition(client: FlaskClient, world: World, session: Session) -> None:
    _promotion(session, world, "vip", {**TEN_PERCENT, "customer": {"card_templates": ["vip"]}})
    _promotion(session, world, "mainonly", {
        "customer": {"card_templates": ["main"]},
        "receipt": {"goods": {"goods": ["g-100"]}},
        "reward": {"kind": "fixed", "value": "20.00"},
    })  # fmt: skip
    vip_card = _customer_with_card(session, world, "vip", "2779", "+79160000011")
    # The world's card is of the series "main": vip is refused, mainonly gives 20.00 on line 1.
    main = _calculate(client, world, card_number=world.card)
    _refused_only = _outcome(main, "vip")
    assert (_refused_only["applied"], _refused_only["reason"]) == (
        False,
        "Не для этого вида карты.",
    )
    assert _outcome(main, "mainonly")["applied"] is True
    assert main["totals"]["discount"] == D("20.00")
    # A vip card: vip's 10% = 45.93 (30.00 on line 1, 15.93 on line 2); mainonly refused.
    vip = _calculate(client, world, card_number=vip_card)
    assert _outcome(vip, "vip")["applied"] is True
    assert _outcome(vip, "vip")["discount"] == TEN_OF_WORLD
    assert _outcome(vip, "mainonly")["reason"] == "Не для этого вида карты."
    assert vip["totals"]["discount"] == TEN_OF_WORLD
    status, committed = _post(
        client, world, "receipts/commit", receipt("vip-1", card_number=vip_card)
    )
    assert status == 200 and committed["totals"]["discount"] == TEN_OF_WORLD, committed


# --- goods sets from the catalog -----------------------------------------------------------

BRAND_A = "7c41d2b0-0b7d-11ef-9a3c-00155d012a10"
BRAND_B = "7c41d2b0-0b7d-11ef-9a3c-00155d012a11"
SUPPLIER_1 = "0c6e2f4a-0b7d-11ef-9a3c-00155d012d01"
SUPPLIER_2 = "0c6e2f4a-0b7d-11ef-9a3c-00155d012d02"
CHEESE = "9e8f7a6b-0b7d-11ef-9a3c-00155d012b01"  # brand A, supplier 1
MILK = "9e8f7a6b-0b7d-11ef-9a3c-00155d012b02"  # brand B, supplier 2
BREAD = "9e8f7a6b-0b7d-11ef-9a3c-00155d012b03"  # no brand, supplier 2


def _catalog(client: FlaskClient, session: Session, world: World) -> None:
    from tests.admin.conftest import admin_headers

    admin = admin_headers(session, world)
    uploads = {
        "brands": [{"external_id": BRAND_A, "name": "Вкуснотеево"},
                   {"external_id": BRAND_B, "name": "Простоквашино"}],
        "goods": [{"external_id": CHEESE, "name": "Сыр", "brand": BRAND_A,
                   "supplier": SUPPLIER_1, "supplier_name": "ООО «Сыр»"},
                  {"external_id": MILK, "name": "Молоко", "brand": BRAND_B,
                   "supplier": SUPPLIER_2, "supplier_name": "ООО «Молоко»"},
                  {"external_id": BREAD, "name": "Хлеб", "supplier": SUPPLIER_2}],
    }  # fmt: skip
    for kind, items in uploads.items():
        answer = client.put(f"/api/v1/catalog/{kind}", json={"items": items}, headers=admin)
        assert answer.status_code == 200, answer.get_json()


def _lines(*goods: tuple[str, int, str]) -> list[dict[str, Any]]:
    """(goods, qty, unit price) → POS lines."""
    return [
        {"line": n, "goods": g, "qty": qty, "price": float(price), "sum": float(D(price) * qty)}
        for n, (g, qty, price) in enumerate(goods, start=1)
    ]


def test_goods_sets_by_brand_and_supplier_from_the_catalog(
    client: FlaskClient, world: World, session: Session
) -> None:
    _catalog(client, session, world)
    # GUIDs named in upper case: compared in any case.
    _promotion(session, world, "brand", {
        "receipt": {"goods": {"brands": [BRAND_A.upper()]}},
        "reward": {"kind": "percent", "value": "10"},
    })  # fmt: skip
    _promotion(session, world, "supplier", {
        "receipt": {"goods": {"suppliers": [SUPPLIER_2]}},
        "reward": {"kind": "percent", "value": "20"},
    })  # fmt: skip
    lines = _lines((CHEESE, 2, "250.00"), (MILK, 1, "90.00"), (BREAD, 1, "50.00"),
                   ("g-unknown", 1, "100.00"))  # fmt: skip
    answer = _calculate(client, world, card_number=world.card, lines=lines)
    # brand A: cheese 500.00 × 10% = 50.00; supplier 2: milk 90.00 + bread 50.00 = 140.00 × 20%
    # = 28.00 (18.00 + 10.00); the unknown goods nothing. In all 78.00.
    assert [line["discount"] for line in answer["lines"]] == [D("50.00"), D("18.00"),
                                                             D("10.00"), 0]  # fmt: skip
    assert _outcome(answer, "brand")["discount"] == D("50.00")
    assert _outcome(answer, "supplier")["discount"] == D("28.00")
    assert answer["totals"]["discount"] == D("78.00")
    # Without goods of brand A or supplier 2 neither promotion concerns the receipt: not listed.
    other = _calculate(client, world, card_number=world.card,
                       lines=_lines(("g-unknown", 1, "100.00")))  # fmt: skip
    assert other["promotions"] == [] and other["totals"]["discount"] == 0
    status, committed = _post(
        client, world, "receipts/commit", receipt(card_number=world.card, lines=lines)
    )
    assert status == 200 and committed["totals"]["discount"] == D("78.00"), committed
    used = session.scalars(select(ReceiptPromotion).order_by(ReceiptPromotion.discount)).all()
    assert [u.discount for u in used] == [D("28.00"), D("50.00")]


def test_a_goods_set_by_unit_price_bounds(
    client: FlaskClient, world: World, session: Session
) -> None:
    _catalog(client, session, world)
    # Brand A between 100.00 and 200.00 a unit (bounds included).
    _promotion(session, world, "mid", {
        "receipt": {"goods": {"brands": [BRAND_A], "price_min": "100.00", "price_max": "200.00"}},
        "reward": {"kind": "percent", "value": "10"},
    })  # fmt: skip
    inside = _lines((CHEESE, 2, "200.00"), (CHEESE, 1, "100.00"), (MILK, 1, "150.00"))
    answer = _calculate(client, world, card_number=world.card, lines=inside)
    # 400.00 + 100.00 = 500.00 × 10% = 50.00 (40.00 + 10.00); milk is of brand B.
    assert [line["discount"] for line in answer["lines"]] == [D("40.00"), D("10.00"), 0]
    _applied(answer, "mid", D("50.00"))
    # 200.01 and 99.99 a unit: out of bounds, the promotion does not concern the receipt.
    outside = _lines((CHEESE, 1, "200.01"), (CHEESE, 1, "99.99"))
    answer = _calculate(client, world, card_number=world.card, lines=outside)
    assert answer["promotions"] == [] and answer["totals"]["discount"] == 0


def test_a_price_only_goods_set(client: FlaskClient, world: World, session: Session) -> None:
    """A set of price bounds alone covers every goods within them."""
    _promotion(session, world, "cheap", {
        "receipt": {"goods": {"price_max": "100.00"}},
        "reward": {"kind": "percent", "value": "10"},
    })  # fmt: skip
    # Line 1 at 100.00 a unit (300.00) is inside; line 2 at 459.00 is not; line 3 is
    # no-discount. 10% of 300.00 = 30.00.
    answer = _calculate(client, world, card_number=world.card)
    _applied(answer, "cheap", D("30.00"))
    assert [line["discount"] for line in answer["lines"]] == [D("30.00"), 0, 0]


def test_a_price_only_goods_set_without_such_goods_says_so(
    client: FlaskClient, world: World, session: Session
) -> None:
    _promotion(session, world, "cheap", {
        "receipt": {"goods": {"price_max": "50.00"}},
        "reward": {"kind": "percent", "value": "10"},
    })  # fmt: skip
    # Unit prices 100.00, 459.00, 89.99: none at most 50.00.
    answer = _calculate(client, world, card_number=world.card)
    _refused(answer, "cheap", "В чеке нет товаров акции.")


# --- store groups --------------------------------------------------------------------------


def test_a_version_for_a_store_group_applies_in_its_stores_only(
    client: FlaskClient, world: World, session: Session
) -> None:
    tenant = session.get_one(Tenant, world.tenant_id)
    north = add_store(session, tenant, "s2", "Магазин на севере", "Europe/Moscow")
    add_pos(session, north, "p1", token="token-acme-north")
    group = add_store_group(session, tenant, "north", "Север", [north])
    _promotion(session, world, "northern", TEN_PERCENT, store_groups=[group])
    # In s2 (of the group): 45.93.
    there = _calculate(client, world, "token-acme-north", card_number=world.card)
    _applied(there, "northern", TEN_OF_WORLD)
    # In s1 (not of the group): the version is not in force there, not even considered.
    here = _calculate(client, world, card_number=world.card)
    assert here["promotions"] == [] and here["totals"]["discount"] == 0
    # Commits: the promotion is recorded for the s2 receipt only.
    status, north_receipt = _post(
        client, world, "receipts/commit", receipt("n-1", card_number=world.card),
        "token-acme-north",
    )  # fmt: skip
    assert status == 200 and north_receipt["totals"]["discount"] == TEN_OF_WORLD, north_receipt
    status, home_receipt = _post(
        client, world, "receipts/commit", receipt("h-1", card_number=world.card)
    )
    assert status == 200 and home_receipt["totals"]["discount"] == 0, home_receipt
    used = session.execute(
        select(Receipt.number, ReceiptPromotion.discount).join(
            ReceiptPromotion, ReceiptPromotion.receipt_id == Receipt.id
        )
    ).all()
    assert [tuple(row) for row in used] == [("n-1", TEN_OF_WORLD)]


# --- limits under parallel commits ---------------------------------------------------------


def _committed_promotion(engine: Engine, world: World, rules: dict[str, Any]) -> None:
    with Session(engine) as session:
        _promotion(session, world, "limited", rules)
        session.commit()


@pytest.mark.committed
def test_a_budget_is_never_exceeded_by_sixteen_parallel_commits(
    app: Flask, committed_world: World, engine: Engine
) -> None:
    """Anonymous receipts (no card, so no account lock orders them): only the budget's counter
    row does. 10% of a receipt is 45.93; a budget of 100.00 fits two (91.86) and, to whichever
    commit reads 8.14 left, 8.14 more — never more than 100.00."""
    _committed_promotion(engine, committed_world, {**TEN_PERCENT, "limits": {"budget": "100.00"}})

    def make(i: int) -> tuple[str, dict[str, Any]]:
        return "/api/v1/receipts/commit", receipt(f"bud-{i}")

    results = race(app, 16, make, committed_world)
    assert [status for status, _ in results] == [200] * 16, results
    given = sorted((D(str(body["totals"]["discount"])) for _, body in results), reverse=True)
    assert given[:2] == [TEN_OF_WORLD, TEN_OF_WORLD], given
    assert set(given[2:]) <= {D("8.14"), D("0")} and given[3:].count(D("8.14")) == 0, given
    assert sum(given) in (D("91.86"), D("100.00")), given
    with Session(engine) as session:
        recorded = session.scalar(select(func.sum(ReceiptPromotion.discount)))
        usage = session.scalars(select(PromotionUsage)).one()
        assert recorded == sum(given) <= D("100.00")
        assert (usage.uses, usage.spent) == (sum(1 for g in given if g > 0), sum(given))
        assert session.scalar(select(func.count()).select_from(Receipt)) == 16


def test_a_commit_after_others_spent_the_budget_gets_what_is_left(
    client: FlaskClient, world: World, session: Session
) -> None:
    _promotion(session, world, "limited", {**TEN_PERCENT, "limits": {"budget": "100.00"}})
    # The cashier of receipt "late" calculates while 100.00 is left: 45.93.
    status, soft = _post(client, world, "receipts/calculate", receipt("late"))
    assert status == 200 and soft["totals"]["discount"] == TEN_OF_WORLD, soft
    # Meanwhile two other receipts spend 91.86.
    for number in ("a", "b"):
        status, body = _post(client, world, "receipts/commit", receipt(number))
        assert status == 200 and body["totals"]["discount"] == TEN_OF_WORLD, body
    # The commit cannot give 45.93 (137.79 > 100.00); what is left is 8.14, as a fresh commit
    # of the same receipt would give (test_promotion_limits: 45.93, 45.93, 8.14).
    body = receipt("late", calculation_id=soft["calculation_id"])
    status, committed = _post(client, world, "receipts/commit", body)
    assert status == 200, committed
    assert committed["totals"]["discount"] == D("8.14")


@pytest.mark.committed
def test_a_per_customer_limit_gives_exactly_n_uses_under_sixteen_parallel_commits(
    app: Flask, committed_world: World, engine: Engine
) -> None:
    """per_customer 3: of sixteen receipts of one card at once exactly three get 45.93."""
    _committed_promotion(engine, committed_world, {**TEN_PERCENT, "limits": {"per_customer": 3}})

    def make(i: int) -> tuple[str, dict[str, Any]]:
        return "/api/v1/receipts/commit", receipt(f"pc-{i}", card_number=committed_world.card)

    results = race(app, 16, make, committed_world)
    assert [status for status, _ in results] == [200] * 16, results
    given = sorted((D(str(body["totals"]["discount"])) for _, body in results), reverse=True)
    assert given == [TEN_OF_WORLD] * 3 + [D("0")] * 13, given
    with Session(engine) as session:
        used = session.scalars(select(ReceiptPromotion.discount)).all()
        assert sorted(used) == [TEN_OF_WORLD] * 3
        assert session.scalar(select(func.count()).select_from(Receipt)) == 16
    # A seventeenth receipt of the card is refused with the reason; an anonymous one is not.
    client = app.test_client()
    body = receipt("pc-x", card_number=committed_world.card)
    answer = client.post(
        "/api/v1/receipts/calculate", headers=committed_world.auth, json=body
    ).get_json()
    # (3 × 593.32 + 13 × 639.25 = 10,090.21 bought took the card past silver's 10,000: its 5%
    # of 459.27 = 22.96 is the level's discount, no promotion's.)
    outcome = _outcome(answer, "limited")
    assert (outcome["applied"], outcome["reason"]) == (False, "Лимит акции исчерпан.")
    assert not any(e["rule"] == "promotion" for ln in answer["lines"] for e in ln["explanation"])
    anonymous = client.post("/api/v1/receipts/calculate", headers=committed_world.auth,
                            json=receipt("pc-y")).get_json()  # fmt: skip
    _applied(anonymous, "limited", TEN_OF_WORLD)


# --- offline ------------------------------------------------------------------------------


def test_an_offline_receipt_gets_the_same_promotion_discount_as_online(
    client: FlaskClient, world: World, session: Session
) -> None:
    _promotion(session, world, "ten", TEN_PERCENT)
    sold_at = "2026-05-02T10:00:00"
    response = client.post(
        "/api/v1/receipts/offline", headers=world.auth,
        json={"receipts": [receipt("off-1", card_number=world.card, sold_at=sold_at)]},
    )  # fmt: skip
    assert response.status_code == 200, response.get_json()
    assert [r["status"] for r in response.get_json()["results"]] == ["committed"]
    status, online = _post(
        client, world, "receipts/commit", receipt("on-1", card_number=world.card, sold_at=sold_at)
    )
    assert status == 200, online
    # Both: 45.93 off (line 1 30.00, line 2 15.93); paid 270.00 + 143.34 (+ 179.98 no-discount)
    # = 593.32; accrual 3% of the discountable lines paid: 8.10 + 4.30 (4.3002) = 12.40.
    assert online["totals"]["discount"] == TEN_OF_WORLD
    assert online["totals"]["final_sum"] == D("593.32")
    assert online["totals"]["accrual"] == D("12.40")
    stored = {r.number: r for r in session.scalars(select(Receipt))}
    assert stored["off-1"].offline and not stored["on-1"].offline
    for number in ("off-1", "on-1"):
        row = stored[number]
        assert (row.discount, row.accrual) == (TEN_OF_WORLD, D("12.40")), number
    used = {
        number: discount
        for number, discount in session.execute(
            select(Receipt.number, ReceiptPromotion.discount).join(
                ReceiptPromotion, ReceiptPromotion.receipt_id == Receipt.id
            )
        )
    }
    assert used == {"off-1": TEN_OF_WORLD, "on-1": TEN_OF_WORLD}
