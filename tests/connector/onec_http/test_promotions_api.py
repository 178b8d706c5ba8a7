"""Promotions through the POS API: calculate and commit give the same figures, every line says
why, the receipt keeps the promotion versions it used, gifts print as a part of their own."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from processing.levels.service import set_override
from processing.programs.models import Program, ProgramVersion
from processing.programs.rules import parse_level_rules
from processing.programs.service import add_program, add_version
from processing.promotions.models import ReceiptPromotion
from processing.receipts.models import Receipt
from processing.tenants.models import Tenant
from tests.connector.onec_http.world import World, receipt
from tests.factories import LEVEL_RULES, T0

D = Decimal
SINCE = T0.replace(year=2026, month=1, day=1)
# The world's receipts are dated Friday 2026-05-01 12:00 (Moscow).
FRIDAY_20 = {
    "when": {"weekdays": [5]},
    "receipt": {"goods": {"goods": ["g-100"]}},
    "reward": {"kind": "percent", "value": "20"},
}


def _promotion(session: Session, world: World, code: str, rules: dict[str, Any]) -> Program:
    tenant = session.get(Tenant, world.tenant_id)
    assert tenant is not None
    program = add_program(session, tenant, "promotion", code, f"Акция {code}")
    add_version(session, program, rules, SINCE)
    session.flush()
    return program


def _post(client: FlaskClient, world: World, path: str, body: Any) -> tuple[int, Any]:
    response = client.post(f"/api/v1/{path}", json=body, headers=world.auth)
    return response.status_code, response.get_json()


def test_calculate_then_commit_with_a_promotion(
    client: FlaskClient, world: World, session: Session
) -> None:
    program = _promotion(session, world, "friday", FRIDAY_20)
    status, soft = _post(client, world, "receipts/calculate", receipt(card_number=world.card))
    assert status == 200, soft
    # Line 1: 300.00 − 20% = 240.00; line 2 untouched; line 3 is a no-discount line.
    # Accrual 3% of what is paid: 7.20 + 4.78 (159.27 × 3%, half-up), none on line 3.
    assert soft["totals"] == {
        "sum": D("639.25"), "discount": D("60.00"), "bonus_payment": 0,
        "final_sum": D("579.25"), "accrual": D("11.98"),
    }  # fmt: skip
    assert soft["lines"][0]["explanation"][0] == {
        "rule": "promotion", "amount": D("60.00"), "text": "Акция friday", "promotion": "friday",
    }  # fmt: skip
    assert soft["promotions"] == [
        {"code": "friday", "name": "Акция friday", "applied": True, "discount": D("60.00"),
         "reason": None},
    ]  # fmt: skip
    body = receipt(card_number=world.card, calculation_id=soft["calculation_id"])
    status, committed = _post(client, world, "receipts/commit", body)
    assert status == 200, committed
    assert committed["totals"] == soft["totals"]
    assert committed["lines"][0]["explanation"][0]["promotion"] == "friday"
    version_id = session.scalar(
        select(ProgramVersion.id).where(ProgramVersion.program_id == program.id)
    )
    used = session.scalars(select(ReceiptPromotion)).all()
    assert [(u.version_id, u.discount) for u in used] == [(version_id, D("60.00"))]
    receipt_row = session.scalars(select(Receipt)).one()
    assert used[0].receipt_id == receipt_row.id and receipt_row.discount == D("60.00")


def test_commit_without_a_soft_calculation_gives_the_same_figures(
    client: FlaskClient, world: World, session: Session
) -> None:
    _promotion(session, world, "friday", FRIDAY_20)
    status, soft = _post(client, world, "receipts/calculate", receipt(card_number=world.card))
    status, committed = _post(
        client, world, "receipts/commit", receipt(number="2", card_number=world.card)
    )
    assert status == 200, committed
    assert committed["totals"] == soft["totals"]
    assert [line["final_sum"] for line in committed["lines"]] == [
        line["final_sum"] for line in soft["lines"]
    ]


def test_gift_units_print_as_a_part_of_their_own(
    client: FlaskClient, world: World, session: Session
) -> None:
    _promotion(session, world, "bear", {
        "receipt": {"sum": {"min": "500.00"}},
        "reward": {"kind": "gift", "gift": {"goods": ["g-bear"]}},
    })  # fmt: skip
    body = receipt(card_number=world.card)
    body["lines"].append({"line": 4, "goods": "g-bear", "qty": 2, "price": 99, "sum": 198})
    status, soft = _post(client, world, "receipts/calculate", body)
    assert status == 200, soft
    bear = soft["lines"][3]
    assert (bear["discount"], bear["final_sum"], bear["gift_qty"]) == (D("99.00"), 99, 1)
    assert bear["parts"] == [
        {"qty": 1, "price": D("99.00"), "sum": D("99.00")},
        {"qty": 1, "price": 0, "sum": 0},
    ]
    status, committed = _post(client, world, "receipts/commit", body)
    assert status == 200, committed
    assert committed["lines"][3]["parts"] == bear["parts"]
    assert committed["lines"][3]["gift_qty"] == 1


def test_near_miss_hint_and_reason(client: FlaskClient, world: World, session: Session) -> None:
    _promotion(session, world, "over700", {
        "text": "Скидка 100 ₽ от 700 ₽",
        "receipt": {"sum": {"min": "700.00"}},
        "reward": {"kind": "fixed", "value": "100.00"},
    })  # fmt: skip
    status, soft = _post(client, world, "receipts/calculate", receipt(card_number=world.card))
    assert status == 200, soft
    assert soft["hints"] == ["Ещё 60,75 ₽ — и сработает «Скидка 100 ₽ от 700 ₽»."]
    assert soft["promotions"][0]["reason"] == "Сумма покупки меньше 700,00 ₽."
    assert soft["totals"]["discount"] == 0


def test_paused_promotions_and_tariffs_without_them_apply_nothing(
    client: FlaskClient, world: World, session: Session
) -> None:
    program = _promotion(session, world, "friday", FRIDAY_20)
    program.status = "paused"
    session.flush()
    status, soft = _post(client, world, "receipts/calculate", receipt(card_number=world.card))
    assert status == 200 and soft["totals"]["discount"] == 0 and soft["promotions"] == []
    program.status = "active"
    tenant = session.get(Tenant, world.tenant_id)
    assert tenant is not None
    tenant.features = [f for f in tenant.features if f != "promotions"]
    session.flush()
    status, soft = _post(client, world, "receipts/calculate", receipt(card_number=world.card))
    assert status == 200 and soft["totals"]["discount"] == 0


def test_customer_conditions_read_the_customer(
    client: FlaskClient, world: World, session: Session
) -> None:
    from processing.customers.models import Customer

    _promotion(session, world, "birthday", {
        "customer": {"birthday": {"before_days": 3, "after_days": 3}},
        "reward": {"kind": "percent", "value": "10"},
    })  # fmt: skip
    status, soft = _post(client, world, "receipts/calculate", receipt(card_number=world.card))
    assert soft["totals"]["discount"] == 0
    assert soft["promotions"][0]["reason"] == "Действует только в дни рождения покупателя."
    customer = session.get(Customer, world.customer_id)
    assert customer is not None
    customer.birth_date = customer.birth_date or T0.date().replace(year=1990, month=4, day=29)
    session.flush()
    status, soft = _post(client, world, "receipts/calculate", receipt(card_number=world.card))
    # 10% of the discountable lines: 300.00 + 159.27 = 459.27 → 45.93 (half-up), spread.
    assert status == 200 and soft["totals"]["discount"] == D("45.93")
    status, anonymous = _post(client, world, "receipts/calculate", receipt())
    assert anonymous["promotions"][0]["reason"] == "Нужна карта покупателя."


def test_campaign_points_are_a_lot_of_their_own(
    client: FlaskClient, world: World, session: Session
) -> None:
    from processing.ledger.models import BonusLot, Posting
    from processing.ledger.service import balance

    _promotion(session, world, "camp", {
        "receipt": {"sum": {"min": "500.00"}},
        "reward": {"kind": "extra_bonus", "value": "50.00", "activation_delay_days": 1,
                   "lifetime_days": 30},
    })  # fmt: skip
    status, soft = _post(client, world, "receipts/calculate", receipt(card_number=world.card))
    assert soft["extra_bonus"] == [
        {"promotion": "camp", "sum": 50, "activation_delay_days": 1, "lifetime_days": 30}
    ]
    before = balance(session, world.account_id, T0).total
    status, committed = _post(client, world, "receipts/commit", receipt(card_number=world.card))
    assert status == 200, committed
    accrual = committed["totals"]["accrual"]
    assert balance(session, world.account_id, T0).total == before + accrual + D("50.00")
    posting = session.scalars(select(Posting).where(Posting.kind == "campaign")).one()
    lot = session.scalars(select(BonusLot).where(BonusLot.posting_id == posting.id)).one()
    sold_at = session.scalars(select(Receipt)).one().sold_at
    assert (lot.amount, lot.remaining) == (D("50.00"), D("50.00"))
    assert lot.activates_at - sold_at == timedelta(days=1)
    assert lot.expires_at is not None and lot.expires_at - lot.activates_at == timedelta(days=30)
    used = session.scalars(select(ReceiptPromotion)).one()
    assert (used.discount, used.bonus) == (0, D("50.00"))


DAIRY = "5f2a8c1e-0b7d-11ef-9a3c-00155d012a01"
CHEESE = "5f2a8c1e-0b7d-11ef-9a3c-00155d012a02"
GOUDA = "9e8f7a6b-0b7d-11ef-9a3c-00155d012b01"
GOUDA_300G = f"{GOUDA}#a1b2c3d4-0b7d-11ef-9a3c-00155d012c01"
CIGARETTES = "9e8f7a6b-0b7d-11ef-9a3c-00155d012b02"


def test_the_catalog_gives_lines_their_groups_and_marks(
    client: FlaskClient, world: World, session: Session
) -> None:
    from tests.admin.conftest import admin_headers

    admin = admin_headers(session, world)
    uploads = {
        "groups": [{"external_id": DAIRY, "name": "Молочная продукция"},
                   {"external_id": CHEESE, "name": "Сыры", "parent": DAIRY}],
        "goods": [{"external_id": GOUDA_300G, "name": "Гауда, 300 г", "group": CHEESE,
                   "barcodes": ["4607001234574"]},
                  {"external_id": CIGARETTES, "name": "Сигареты", "no_discount": True,
                   "no_bonus_payment": True, "group": DAIRY}],
    }  # fmt: skip
    for kind, items in uploads.items():
        answer = client.put(f"/api/v1/catalog/{kind}", json={"items": items}, headers=admin)
        assert answer.status_code == 200, answer.get_json()
    # A promotion on the parent group, named in upper case as 1C may print a GUID.
    _promotion(session, world, "dairy", {
        "receipt": {"goods": {"groups": [DAIRY.upper()]}},
        "reward": {"kind": "percent", "value": "10"},
    })  # fmt: skip
    body = receipt(card_number=world.card, pay_bonus=100)
    body["lines"] = [
        # by barcode: the goods of the subgroup «Сыры»
        {"line": 1, "goods": "x-unknown-id", "barcode": "4607001234574", "qty": 1,
         "price": 279, "sum": 279},
        # a catalog "no discount, no bonus payment" mark the line does not carry
        {"line": 2, "goods": CIGARETTES.upper(), "qty": 1, "price": 200, "sum": 200},
        # unknown to the catalog: its own groups count
        {"line": 3, "goods": "g-local", "groups": [DAIRY], "qty": 1, "price": 100, "sum": 100},
    ]  # fmt: skip
    status, soft = _post(client, world, "receipts/calculate", body)
    assert status == 200, soft
    lines = soft["lines"]
    assert [line["discount"] for line in lines] == [D("27.90"), 0, D("10.00")]
    assert lines[1]["bonus_payment"] == 0 and lines[0]["bonus_payment"] > 0
    unknown = [[e for e in line["explanation"] if e["rule"] == "unknown_goods"] for line in lines]
    assert unknown == [
        [],
        [],
        [
            {
                "rule": "unknown_goods",
                "amount": 0,
                "promotion": None,
                "text": "Товара нет в каталоге: акции по данным строки чека.",
            }
        ],
    ]
    status, committed = _post(client, world, "receipts/commit", body)
    assert status == 200, committed
    assert committed["totals"] == soft["totals"]


def test_a_stored_version_that_no_longer_parses_is_left_out_not_the_tenants_receipts(
    client: FlaskClient, world: World, session: Session, caplog: Any
) -> None:
    """Rules saved before a stricter check (a per-receipt limit on a percent) keep the tenant's
    receipts going: that promotion is left out and logged, the others apply."""
    _promotion(session, world, "friday", FRIDAY_20)
    tenant = session.get(Tenant, world.tenant_id)
    assert tenant is not None
    old = add_program(session, tenant, "promotion", "old", "Старая акция")
    stale = {"reward": {"kind": "percent", "value": "50"}, "limits": {"per_receipt": 1}}
    session.add(ProgramVersion(program=old, effective_from=SINCE, rules=stale))
    session.flush()
    with caplog.at_level("ERROR", logger="processing.programs.service"):
        status, soft = _post(client, world, "receipts/calculate", receipt(card_number=world.card))
    assert status == 200, soft
    assert soft["totals"]["discount"] == D("60.00")  # friday's 20% on line 1 only
    assert [p["code"] for p in soft["promotions"]] == ["friday"]
    left_out = [r for r in caplog.records if "left out" in r.getMessage()]
    # logged whenever the tenant's rules are read afresh (here: once per request)
    assert {(r.program, r.field) for r in left_out} == {("old", "rules.limits.per_receipt")}


def test_a_level_multiplier_through_calculate_and_commit(
    client: FlaskClient, world: World, session: Session
) -> None:
    """The card at silver (5%), ×2 on g-100 on Fridays: the level gives 5% of the 459.27
    discountable = 22.96 (15.00 + 7.96, largest remainder); the multiplier 5% of 300.00 = 15.00
    more on line 1, kept as the promotion's own discount on the receipt."""
    set_override(
        session, world.account_id, "silver", rules=parse_level_rules(LEVEL_RULES),
        reason="тест", author="t", now=T0,
    )  # fmt: skip
    _promotion(session, world, "double", {
        "when": {"weekdays": [5]}, "receipt": {"goods": {"goods": ["g-100"]}},
        "reward": {"kind": "level_multiplier", "factor": "2"},
    })  # fmt: skip
    status, soft = _post(client, world, "receipts/calculate", receipt(card_number=world.card))
    assert status == 200, soft
    assert soft["totals"]["discount"] == D("37.96")
    first = [(e["rule"], e["amount"]) for e in soft["lines"][0]["explanation"][:2]]
    assert first == [("level_discount", D("15.00")), ("promotion", D("15.00"))]
    body = receipt(card_number=world.card, calculation_id=soft["calculation_id"])
    status, committed = _post(client, world, "receipts/commit", body)
    assert status == 200 and committed["totals"] == soft["totals"], committed
    used = session.scalars(select(ReceiptPromotion)).all()
    assert [u.discount for u in used] == [D("15.00")]


def test_previous_purchases_are_seen_as_a_sale_sees_its_goods(
    client: FlaskClient, world: World, session: Session
) -> None:
    """ "Bought cheese in the last 30 days: 10% on wine". The look-back finds a purchase by the
    catalog's group of its goods (bought by barcode, under another id), and by a goods id in
    any case; a purchase returned in full no longer counts."""
    from tests.admin.conftest import admin_headers

    admin = admin_headers(session, world)
    uploads = {
        "groups": [{"external_id": DAIRY, "name": "Молочная продукция"},
                   {"external_id": CHEESE, "name": "Сыры", "parent": DAIRY}],
        "goods": [{"external_id": GOUDA_300G, "name": "Гауда, 300 г", "group": CHEESE,
                   "barcodes": ["4607001234574"]}],
    }  # fmt: skip
    for kind, items in uploads.items():
        answer = client.put(f"/api/v1/catalog/{kind}", json={"items": items}, headers=admin)
        assert answer.status_code == 200, answer.get_json()
    wine = {"line": 1, "goods": "wine-1", "qty": 1, "price": 500, "sum": 500}
    _promotion(session, world, "cheese-then-wine", {
        "customer": {"previous_purchase": {"goods": {"groups": [DAIRY]}, "days": 30}},
        "receipt": {"goods": {"goods": ["wine-1"]}},
        "reward": {"kind": "percent", "value": "10"},
    })  # fmt: skip
    _promotion(session, world, "tea-then-wine", {
        "customer": {"previous_purchase": {"goods": {"goods": ["tea-1"]}, "days": 30}},
        "receipt": {"goods": {"goods": ["wine-1"]}},
        "reward": {"kind": "fixed", "value": "7.00"}, "group": "main",
    })  # fmt: skip

    def wine_answer(number: str) -> dict[str, Any]:
        status, soft = _post(client, world, "receipts/calculate",
                             receipt(number, card_number=world.card, lines=[wine]))  # fmt: skip
        assert status == 200, soft
        return {p["code"]: p["applied"] for p in soft["promotions"]}

    assert wine_answer("w-0") == {"cheese-then-wine": False, "tea-then-wine": False}
    cheese = {"line": 1, "goods": "x-unknown-id", "barcode": "4607001234574", "qty": 1,
              "price": 279, "sum": 279}  # fmt: skip
    tea = {"line": 2, "goods": "TEA-1", "qty": 1, "price": 100, "sum": 100}
    status, sale = _post(client, world, "receipts/commit",
                         receipt("s-1", card_number=world.card, lines=[cheese, tea]))  # fmt: skip
    assert status == 200, sale
    # both look-backs hold; in the "max" group the larger wins: 10% of 500.00 = 50.00 > 7.00
    assert wine_answer("w-1") == {"cheese-then-wine": True, "tea-then-wine": False}
    returned = {"cashier": "c-01", "number": "r-1",
                "original_transaction_id": sale["transaction_id"],
                "lines": [{"line": 1, "qty": 1}]}  # fmt: skip
    status, answer = _post(client, world, "receipts/return", returned)
    assert status == 200, answer
    # the cheese went back: only the tea still counts
    assert wine_answer("w-2") == {"cheese-then-wine": False, "tea-then-wine": True}
