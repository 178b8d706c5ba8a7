"""The hot paths write exactly what the general paths write."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from processing.cards.service import (
    block,
    card_account_id,
    find_card,
    generate_cards,
    get_template,
    issue_card,
)
from processing.customers.models import PersonalDataAccess
from processing.customers.service import register_customer
from processing.ledger.models import BonusLot, LotMovement, Posting
from processing.ledger.service import PostingKind, balance, claw_back, credit, debit
from processing.levels.models import PurchaseStat
from processing.levels.service import record_purchase, set_override
from processing.programs.rules import parse_level_rules
from processing.programs.service import add_version, get_program
from processing.promotions.models import ReceiptPromotion
from processing.receipts import fast, service
from processing.receipts.inputs import Identification, LineInput, ReceiptInput, digest
from processing.receipts.models import Receipt, ReceiptLine, SoftCalculation
from processing.tenants.models import Tenant
from tests.connector.onec_http.world import World, receipt
from tests.factories import LEVEL_RULES, T0


def _account_state(session: Session, account_id: int, receipt_row: Receipt) -> dict[str, Any]:
    postings = session.scalars(
        select(Posting).where(Posting.account_id == account_id).order_by(Posting.id)
    ).all()
    lots = session.scalars(
        select(BonusLot).where(BonusLot.account_id == account_id).order_by(BonusLot.id)
    ).all()
    # Per posting, in posting order (the hot path writes a statement's rows in its own order).
    movements = session.execute(
        select(Posting.kind, LotMovement.amount)
        .join(Posting, Posting.id == LotMovement.posting_id)
        .where(LotMovement.posting_id.in_([p.id for p in postings]))
        .order_by(LotMovement.posting_id, LotMovement.id)
    ).all()
    stats = session.scalars(select(PurchaseStat).where(PurchaseStat.account_id == account_id))
    lines = session.scalars(
        select(ReceiptLine).where(ReceiptLine.receipt_id == receipt_row.id)
        .order_by(ReceiptLine.line_no)
    ).all()  # fmt: skip
    return {
        "postings": [(p.kind, p.amount, p.balance_after) for p in postings],
        "lots": [(lot.amount, lot.remaining, lot.activates_at, lot.expires_at) for lot in lots],
        "movements": [tuple(m) for m in movements],
        "stats": [(s.local_date, s.amount, s.purchases) for s in stats],
        "receipt": (receipt_row.amount, receipt_row.discount, receipt_row.bonus_payment,
                    receipt_row.final_amount, receipt_row.accrual, receipt_row.level_code,
                    receipt_row.levels_version_id, receipt_row.bonus_version_id,
                    receipt_row.credit_posting_id is not None,
                    receipt_row.debit_posting_id is not None),
        "lines": [(x.line_no, x.amount, x.discount, x.bonus_payment, x.final_amount, x.accrual,
                   x.explanations, x.gift_quantity, x.gift_amount) for x in lines],
        "promotions": [
            (u.version_id, u.discount, u.bonus) for u in session.scalars(
                select(ReceiptPromotion).where(ReceiptPromotion.receipt_id == receipt_row.id)
                .order_by(ReceiptPromotion.version_id)
            )
        ],
    }  # fmt: skip


@contextmanager
def _general_path(
    monkeypatch: pytest.MonkeyPatch, general: bool, hot_path: str = "commit_fast"
) -> Iterator[None]:
    """Send a commit (or the call of another ``hot_path``) through the general (ORM) path: the
    hot path declines it."""
    if not general:
        yield
        return
    with monkeypatch.context() as patch:
        patch.setattr(service, hot_path, lambda *_args, **_kwargs: None)
        yield


def test_fast_and_general_paths_write_the_same_rows(
    client: FlaskClient, world: World, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    general_calls: list[str] = []
    original = service.commit_claimed

    def spy(*args: Any, **kwargs: Any) -> Any:
        general_calls.append(args[3].number)
        return original(*args, **kwargs)

    monkeypatch.setattr(service, "commit_claimed", spy)
    tenant = session.get_one(Tenant, world.tenant_id)
    accounts = []
    for i, number in enumerate(world.blank[:2]):
        customer = register_customer(
            session, tenant, {"first_name": "Тест", "phone": f"+7903000000{i}"},
            source="admin", author="t", consents={"processing": True}, now=T0,
        )  # fmt: skip
        card = issue_card(session, tenant, number, customer, author="t", now=T0)
        account = card_account_id(card)
        # Two lots, one about to be drained, so the write-off crosses lots.
        credit(session, account, Decimal("5.00"), PostingKind.ACCRUAL, now=T0,
               expires_at=T0.replace(year=2030))  # fmt: skip
        credit(session, account, Decimal("995.00"), PostingKind.OPENING, now=T0)
        debit(session, account, Decimal("1.00"), PostingKind.WRITE_OFF, now=T0)
        accounts.append(account)
    session.flush()
    fast = receipt("fast", card_number=world.blank[0], pay_bonus=100)
    general = receipt("general", card_number=world.blank[1], pay_bonus=100)
    for body in (fast, general):
        with _general_path(monkeypatch, body is general):
            response = client.post("/api/v1/receipts/commit", json=body, headers=world.auth)
        assert response.status_code == 200, response.get_json()
    assert general_calls == ["general"]  # the other one took the hot path
    session.expire_all()  # rows written through Core or SQL are read afresh
    rows = {r.number: r for r in session.scalars(select(Receipt))}
    state_fast = _account_state(session, accounts[0], rows["fast"])
    state_general = _account_state(session, accounts[1], rows["general"])
    assert state_fast == state_general
    assert [kind for kind, _, _ in state_fast["postings"]][-2:] == ["write_off", "accrual"]


def test_level_window_uses_the_store_local_date(
    client: FlaskClient, world: World, session: Session
) -> None:
    tenant = session.get_one(Tenant, world.tenant_id)
    monthly = {
        "basis": "sum",
        "window": {"kind": "calendar_month"},
        "levels": [
            {"code": "base", "threshold": "0"},
            {"code": "silver", "threshold": "100", "discount_percent": "5"},
        ],
    }
    add_version(session, get_program(session, tenant, "levels"), monthly,
                datetime(2026, 1, 1, tzinfo=UTC))  # fmt: skip
    record_purchase(session, world.account_id, date(2026, 5, 1), Decimal("200.00"), 1)
    session.flush()
    # 01:30 in Moscow on 1 May is still 30 April in UTC: the May window must apply.
    body = receipt("midnight", card_number=world.card, sold_at="2026-05-01T01:30:00")
    response = client.post("/api/v1/receipts/commit", json=body, headers=world.auth)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["level"] == "silver"


def test_fast_and_general_soft_calculations_agree(
    client: FlaskClient, world: World, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = receipt("soft", card_number=world.card, pay_bonus=50)
    answers, stored = [], []
    for path in ("fast", "general"):
        if path == "general":
            monkeypatch.setattr(service, "calculate_fast", lambda *_a, **_k: None)
        response = client.post("/api/v1/receipts/calculate", json=body, headers=world.auth)
        assert response.status_code == 200, response.get_json()
        answer = response.get_json()
        soft = session.get_one(SoftCalculation, answer.pop("calculation_id"))
        answers.append(answer)
        stored.append((soft.tenant_id, soft.pos_id, soft.input_hash, soft.result))
    assert answers[0] == answers[1]
    assert stored[0] == stored[1]
    assert answers[0]["totals"]["bonus_payment"] == 50


def test_body_hash_is_the_asdict_text() -> None:
    """Stored hashes decide replays: the hot path's cheaper build must hash the same text."""
    line = LineInput(number=1, goods_id="g", quantity=Decimal("0.347"), price=Decimal("459"),
                     amount=Decimal("159.27"), no_discount=True, barcode="460", group_ids=("a",),
                     seller="s", final_amount=Decimal("150.00"))  # fmt: skip
    for ident in (None, Identification(card_number="2775")):
        receipt_input = ReceiptInput(
            cashier_code="c", shift="1", number="2", lines=(line, line), identification=ident,
            sold_at=T0, cashier_name="И", requested_bonus=Decimal("1.50"),
            calculation_id="x", client_txn_id="t",
        )  # fmt: skip
        data = asdict(receipt_input)
        data.pop("calculation_id")
        del data["payments"]  # none: left out, as before the field existed
        del data["coupons"]  # the same
        del data["certificates"]
        for hashed in data["lines"]:
            del hashed["certificate"]
            del hashed["no_accrual"]  # false: left out, as before the field existed
        for hashed in data["lines"]:
            del hashed["pos_discount"]  # zero: left out, as before the field existed
        assert receipt_input.body_hash() == digest(repr(sorted(data.items())))
    discounted = replace(line, pos_discount=Decimal("10.00"))
    receipt_input = ReceiptInput(cashier_code="c", shift="1", number="2", lines=(discounted,),
                                 payments=frozenset({"sbp", "cash"}))  # fmt: skip
    unearning = replace(receipt_input, lines=(replace(discounted, no_accrual=True),))
    for hashed_input in (receipt_input, unearning):
        data = asdict(hashed_input)
        data.pop("calculation_id")
        data["payments"] = ["cash", "sbp"]
        del data["coupons"]
        del data["certificates"]
        del data["lines"][0]["certificate"]
        if not data["lines"][0]["no_accrual"]:
            del data["lines"][0]["no_accrual"]  # false: left out
        assert hashed_input.body_hash() == digest(repr(sorted(data.items())))
    assert unearning.body_hash() != receipt_input.body_hash()
    assert unearning.calculation_hash() != receipt_input.calculation_hash()
    assert receipt_input.body_hash() != replace(receipt_input, payments=frozenset()).body_hash()
    with_coupon = replace(receipt_input, coupons=("123",))
    assert with_coupon.body_hash() != receipt_input.body_hash()
    assert with_coupon.calculation_hash() != receipt_input.calculation_hash()


lot_strategy = st.tuples(
    st.integers(1, 50_000),  # kopecks
    st.integers(-30, 30),  # activation, days from now
    st.one_of(st.none(), st.integers(-10, 400)),  # expiry, days from now (past: not yet expired)
)


Lot = tuple[int, int, int | None]  # kopecks, activation and expiry in days from now


def fill_account(
    session: Session,
    account: int,
    lots: list[Lot],
    debt: int | None,
    override: str | None,
    now: datetime,
) -> None:
    """Give ``account`` a snapshot's lots, debt and level override."""
    for kopecks, activation, expiry in lots:
        credit(
            session, account, Decimal(kopecks).scaleb(-2), PostingKind.ACCRUAL, now=now,
            activates_at=now + timedelta(days=activation),
            expires_at=None if expiry is None else now + timedelta(days=expiry),
        )  # fmt: skip
    if debt is not None:
        owed = balance(session, account, now).total + Decimal(debt).scaleb(-2)
        claw_back(session, account, owed, allow_negative=True, now=now, operation="t")
    if override is not None:
        set_override(session, account, override, rules=parse_level_rules(LEVEL_RULES),
                     reason="t", author="t", now=now)  # fmt: skip


# A random account snapshot: lots (active, pending, expired), a debt, the bonus the receipt asks
# to pay (kopecks) and a level override.
snapshot_strategies = {
    "lots": st.lists(lot_strategy, max_size=6),
    "debt": st.one_of(st.none(), st.integers(1, 5_000)),
    "requested": st.integers(0, 30_000),
    "override": st.sampled_from([None, "silver", "gold"]),
}


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(**snapshot_strategies)
def test_both_writers_persist_the_same_plan_for_any_account(
    client: FlaskClient,
    world: World,
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
    lots: list[Lot],
    debt: int | None,
    requested: int,
    override: str | None,
) -> None:
    """Random snapshots (several lots, pending and expired ones, a debt, a level override,
    a write-off or none): the hot path's SQL writer and the ORM writer give identical rows,
    answers and balances."""
    tenant = session.get_one(Tenant, world.tenant_id)
    template = get_template(session, tenant, "main")
    now = datetime.now(UTC).replace(microsecond=0)
    sold_at = (now - timedelta(minutes=1)).astimezone(ZoneInfo("Europe/Moscow"))
    accounts, numbers = [], []
    for blank in generate_cards(session, template, 2, author="t", now=now):
        customer = register_customer(
            session, tenant, {"first_name": "Тест"}, source="admin", author="t",
            consents={"processing": True}, now=now,
        )  # fmt: skip
        account = card_account_id(issue_card(session, tenant, blank.number, customer,
                                             author="t", now=now))  # fmt: skip
        fill_account(session, account, lots, debt, override, now)
        accounts.append(account)
        numbers.append(blank.number)
    session.flush()
    base = receipt("p", sold_at=sold_at.replace(tzinfo=None).isoformat())
    soft = client.post("/api/v1/receipts/calculate", headers=world.auth,
                       json={**base, "card_number": numbers[0],
                             "pay_bonus": Decimal(requested).scaleb(-2)}).get_json()  # fmt: skip
    pay = min(Decimal(requested).scaleb(-2), Decimal(str(soft["max_bonus_payment"])))
    general_calls: list[str] = []
    original = service.commit_claimed

    def spy(*args: Any, **kwargs: Any) -> Any:
        general_calls.append(args[3].number)
        return original(*args, **kwargs)

    monkeypatch.setattr(service, "commit_claimed", spy)
    answers = []
    for path, number in zip(("fast", "general"), numbers, strict=True):
        body = {**base, "number": f"{path}-{number}", "card_number": number, "pay_bonus": pay}
        with _general_path(monkeypatch, path == "general"):
            response = client.post("/api/v1/receipts/commit", json=body, headers=world.auth)
        assert response.status_code == 200, response.get_json()
        answer = response.get_json()
        answers.append({k: v for k, v in answer.items() if k not in ("transaction_id", "number")})
    assert general_calls == [f"general-{numbers[1]}"]
    assert answers[0] == answers[1]
    session.expire_all()
    rows = {r.number: r for r in session.scalars(select(Receipt))}
    states = [
        _account_state(session, account, rows[f"{path}-{number}"])
        for path, account, number in zip(("fast", "general"), accounts, numbers, strict=True)
    ]
    assert states[0] == states[1]
    assert balance(session, accounts[0], now) == balance(session, accounts[1], now)


def test_the_documented_flow_posts_the_stored_soft_result_on_the_hot_path(
    client: FlaskClient, world: World, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    general_calls: list[str] = []
    original = service.commit_claimed

    def spy(*args: Any, **kwargs: Any) -> Any:
        general_calls.append(args[3].number)
        return original(*args, **kwargs)

    monkeypatch.setattr(service, "commit_claimed", spy)
    body = receipt("flow-1", card_number=world.card, pay_bonus=100)
    soft = client.post("/api/v1/receipts/calculate", json=body, headers=world.auth).get_json()
    # The stored result is what gets posted: poison it to see that it, not a recomputation, is.
    stored = session.get_one(SoftCalculation, soft["calculation_id"])
    result = dict(stored.result)
    result["engine"] = {**result["engine"], "accrual": "12.34"}
    stored.result = result
    session.flush()
    flow = {**body, "calculation_id": soft["calculation_id"]}
    committed = client.post("/api/v1/receipts/commit", json=flow, headers=world.auth).get_json()
    assert general_calls == [] and committed["totals"]["accrual"] == Decimal("12.34")
    # Bonus spent since the soft calculation: the stored result no longer holds, and the
    # commit recomputes (here: it cannot pay what was printed).
    body2 = receipt("flow-2", card_number=world.card, pay_bonus=900)
    body2["lines"] = [{"line": 1, "goods": "g", "qty": 1, "price": 2000, "sum": 2000}]
    soft2 = client.post("/api/v1/receipts/calculate", json=body2, headers=world.auth).get_json()
    assert soft2["totals"]["bonus_payment"] == 900
    debit(session, world.account_id, Decimal("200.00"), PostingKind.CORRECTION,
          now=datetime.now(UTC), operation="t")  # fmt: skip
    session.flush()
    response = client.post("/api/v1/receipts/commit", headers=world.auth,
                           json={**body2, "calculation_id": soft2["calculation_id"]})  # fmt: skip
    assert response.status_code == 422 and response.get_json()["code"] == "NOT_ENOUGH_BONUS"


@pytest.mark.parametrize("policy", ["full", "nothing"])
def test_identify_answers_the_same_on_both_paths(
    client: FlaskClient,
    world: World,
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
    policy: str,
) -> None:
    now = datetime.now(UTC)
    tenant = session.get_one(Tenant, world.tenant_id)
    tenant.questionnaire_policy = policy
    credit(session, world.account_id, Decimal("7.50"), PostingKind.ACCRUAL, now=now,
           expires_at=now + timedelta(days=3))  # fmt: skip
    credit(session, world.account_id, Decimal("2.50"), PostingKind.ACCRUAL, now=now,
           activates_at=now + timedelta(days=2))  # fmt: skip
    record_purchase(session, world.account_id, now.date(), Decimal("12000.00"), 1)
    session.flush()
    calls: list[str] = []
    original = fast.identify_fast

    def spy(*args: Any, **kwargs: Any) -> Any:
        answer, recorded = original(*args, **kwargs)
        calls.append("fast" if answer is not None else "declined")
        return answer, recorded

    monkeypatch.setattr(service, "identify_fast", spy)
    body = {"card_number": world.card, "expiring_days": 5}
    fast_response = client.post("/api/v1/identify", json=body, headers=world.auth)
    hot = fast_response.get_json()
    with monkeypatch.context() as patch:
        patch.setattr(service, "identify_fast", lambda *_args, **_kwargs: (None, False))
        general_response = client.post("/api/v1/identify", json=body, headers=world.auth)
    general = general_response.get_json()
    assert calls == ["fast"]
    assert hot == general
    # Each path logs the read of the customer's masked name once, with the same row.
    rows = session.scalars(select(PersonalDataAccess).order_by(PersonalDataAccess.id)).all()
    assert [row.request_id for row in rows] == [
        fast_response.headers["X-Request-ID"], general_response.headers["X-Request-ID"],
    ]  # fmt: skip
    logged = {(r.tenant_id, r.customer_id, r.action, r.actor, r.channel, tuple(r.fields))
              for r in rows}  # fmt: skip
    assert logged == {(world.tenant_id, world.customer_id, "read", "pos:s1/p1", "api",
                       ("first_name", "last_name"))}  # fmt: skip
    assert hot["expiring"] == {"sum": Decimal("7.50"), "days": 5}
    assert hot["balance"]["pending"] == Decimal("2.50") and hot["level"]["code"] == "silver"


def test_identify_of_a_card_the_hot_path_declines_logs_the_read_once(
    client: FlaskClient, world: World, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hot path logs the read in its read round trip; when it then leaves a blocked card to
    the general path, that path answers without logging the read a second time."""
    block(session, find_card(session, world.tenant_id, world.card), reason="утеряна",
          author="t", now=datetime.now(UTC))  # fmt: skip
    session.flush()
    calls: list[bool] = []
    original = fast.identify_fast

    def spy(*args: Any, **kwargs: Any) -> Any:
        answer, recorded = original(*args, **kwargs)
        calls.append(recorded)
        return answer, recorded

    monkeypatch.setattr(service, "identify_fast", spy)
    response = client.post("/api/v1/identify", json={"card_number": world.card},
                           headers=world.auth)  # fmt: skip
    assert response.status_code == 200 and response.get_json()["card_status"] == "blocked"
    assert response.get_json()["customer_name"] is not None
    assert calls == [True]
    rows = session.scalars(select(PersonalDataAccess)).all()
    assert [(r.customer_id, r.request_id) for r in rows] == [
        (world.customer_id, response.headers["X-Request-ID"])
    ]


def test_both_paths_write_the_same_rows_with_promotions_active(
    client: FlaskClient, world: World, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from processing.programs.service import add_program, add_version

    tenant = session.get_one(Tenant, world.tenant_id)
    tenant.promotion_groups = [{"code": "seq", "mode": "multiply", "order": 1}]
    promotions = {
        "g100": {"group": "seq", "receipt": {"goods": {"goods": ["g-100"]}},
                 "reward": {"kind": "m_for_n", "n": 3, "m": 2}},
        "ten": {"reward": {"kind": "percent", "value": "10"}},
        "gift": {"receipt": {"sum": {"min": "100.00"}},
                 "reward": {"kind": "gift", "gift": {"goods": ["g-gift"]}, "price": "0.01"}},
    }  # fmt: skip
    for code, rules in promotions.items():
        add_version(session, add_program(session, tenant, "promotion", code, code), rules, T0)
    accounts = []
    for i, number in enumerate(world.blank[:2]):
        customer = register_customer(
            session, tenant, {"first_name": "Тест", "phone": f"+7903000001{i}"},
            source="admin", author="t", consents={"processing": True}, now=T0,
        )  # fmt: skip
        card = issue_card(session, tenant, number, customer, author="t", now=T0)
        accounts.append(card_account_id(card))
        credit(session, accounts[-1], Decimal("500.00"), PostingKind.OPENING, now=T0)
    session.flush()
    calls: list[str] = []
    original = service.commit_claimed
    monkeypatch.setattr(service, "commit_claimed",
                        lambda *a, **k: calls.append(a[3].number) or original(*a, **k))  # fmt: skip
    bodies = {}
    for name, number in zip(("fast", "general"), world.blank[:2], strict=True):
        body = receipt(name, card_number=number, pay_bonus=50)
        body["lines"].append({"line": 4, "goods": "g-gift", "qty": 2, "price": 10, "sum": 20})
        bodies[name] = body
        with _general_path(monkeypatch, name == "general"):
            response = client.post("/api/v1/receipts/commit", json=body, headers=world.auth)
        assert response.status_code == 200, response.get_json()
    assert calls == ["general"]
    session.expire_all()
    rows = {r.number: r for r in session.scalars(select(Receipt))}
    state_fast = _account_state(session, accounts[0], rows["fast"])
    state_general = _account_state(session, accounts[1], rows["general"])
    assert state_fast == state_general
    assert len(state_fast["promotions"]) == 3
    assert state_fast["lines"][3][7:] == (1, Decimal("0.01"))  # one gift unit at 0.01
