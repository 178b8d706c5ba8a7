"""Coupon series, code generation and import, and every coupon transition, through the domain
functions on PostgreSQL (receipts for redemption are committed through the POS API)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from processing.cards.numbers import has_valid_check_digit
from processing.codes import ALNUM_ALPHABET, code_format
from processing.coupons.errors import (
    CouponBatchTooLarge,
    CouponCodeInvalid,
    CouponCodesDuplicate,
    CouponCodeSpaceTooSmall,
    CouponUnusable,
)
from processing.coupons.lifecycle import (
    cancel_coupon,
    check_coupon,
    expire_coupons,
    find_coupon,
    issue_coupon,
    redeem_coupon,
    release_coupons,
    take_coupon,
)
from processing.coupons.models import Coupon, CouponSeries
from processing.coupons.series import (
    add_series,
    close_series,
    generate_coupons,
    import_coupons,
    series_counts,
)
from processing.customers.models import Customer
from processing.customers.service import register_customer
from processing.errors import ConnectorError, InvalidInput
from processing.programs.service import add_program, get_program
from processing.receipts.models import Receipt
from processing.tenants.models import Tenant
from sync.jobs import expire_coupons as expire_coupons_job
from sync.runtime import Runtime, activate
from tests.connector.onec_http.world import World, receipt, seed_world

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _series(session: Session, world: World, code: str = "s", **overrides: Any) -> CouponSeries:
    values: dict[str, Any] = {
        "code": code, "title": "Купон", "promotion": None, "code_format_kind": "numeric",
        "code_length": 10, "author": "t", "now": NOW,
    }  # fmt: skip
    values.update(overrides)
    return add_series(session, session.get_one(Tenant, world.tenant_id), **values)


def _codes(session: Session, series: CouponSeries) -> list[str]:
    return list(session.scalars(select(Coupon.code).where(Coupon.series_id == series.id)))


def _coupon(session: Session, world: World, series: CouponSeries) -> Coupon:
    generate_coupons(session, series, 1, author="t", now=NOW)
    newest = select(Coupon.code).where(Coupon.series_id == series.id).order_by(Coupon.id.desc())
    return find_coupon(session, world.tenant_id, session.scalars(newest).first() or "")


def _customer(session: Session, world: World, phone: str = "+79160000001") -> Customer:
    return register_customer(
        session, session.get_one(Tenant, world.tenant_id), {"first_name": "Анна", "phone": phone},
        source="admin", author="t", consents={"processing": True}, now=NOW,
    )  # fmt: skip


def _receipt_id(client: FlaskClient, session: Session, world: World, number: str) -> int:
    response = client.post(
        "/api/v1/receipts/commit", json=receipt(number, card_number=world.card), headers=world.auth
    )
    assert response.status_code == 200, response.get_json()
    txn = response.get_json()["transaction_id"]
    return session.scalars(select(Receipt.id).where(Receipt.transaction_id == txn)).one()


def _code_of(error: pytest.ExceptionInfo[ConnectorError]) -> str:
    return error.value.code


# Series and code formats


def test_a_series_ties_to_a_promotion_only(session: Session, world: World) -> None:
    tenant = session.get_one(Tenant, world.tenant_id)
    promotion = add_program(session, tenant, "promotion", "spring", "Весна")
    series = _series(session, world, promotion=promotion, bound=True, auto=True)
    assert (series.promotion_id, series.status, series.code_length) == (promotion.id, "active", 10)
    with pytest.raises(InvalidInput) as refused:
        _series(session, world, "s2", promotion=get_program(session, tenant, "bonus"))
    assert refused.value.details == {"field": "promotion"}
    for field, overrides in [
        ("auto", {"auto": True}),
        ("code_format", {"code_format_kind": "qr"}),
        ("code_length", {"code_length": 3}),
        ("prefix", {"prefix": "AB"}),
        ("prefix", {"prefix": "1234567890"}),  # nothing random left of 10 digits
        ("valid_to", {"valid_from": NOW, "valid_to": NOW}),
        ("uses_per_coupon", {"uses_per_coupon": 0}),
        ("per_receipt", {"per_receipt": 2}),
    ]:
        with pytest.raises(InvalidInput) as refused:
            _series(session, world, "bad", **overrides)
        assert refused.value.details == {"field": field}, overrides
    with pytest.raises(ConnectorError) as exists:
        _series(session, world)
    assert _code_of(exists) == "CODE_EXISTS"


def test_two_batches_of_100000_ean13_codes_are_distinct_and_valid(
    session: Session, world: World
) -> None:
    series = _series(session, world, code_format_kind="ean13", code_length=None, prefix="29")
    assert generate_coupons(session, series, 100_000, author="t", now=NOW) == 100_000
    assert generate_coupons(session, series, 100_000, author="t", now=NOW) == 100_000
    codes = _codes(session, series)
    assert len(codes) == len(set(codes)) == 200_000
    assert all(
        len(code) == 13 and code.startswith("29") and has_valid_check_digit(code, "ean13")
        for code in codes
    )
    assert series_counts(session, series) == {"generated": 200_000}


def test_alnum_and_numeric_codes_match_their_format(session: Session, world: World) -> None:
    alnum = _series(session, world, "a", code_format_kind="alnum", code_length=8, prefix="SP")
    numeric = _series(session, world, "n", code_length=6, prefix="77")
    generate_coupons(session, alnum, 5_000, author="t", now=NOW)
    generate_coupons(session, numeric, 1_000, author="t", now=NOW)
    fmt = code_format("alnum", 8, "SP")
    for code in _codes(session, alnum):
        assert fmt.matches(code) and set(code[2:]) <= set(ALNUM_ALPHABET), code
        assert not set(code[2:]) & set("0O1IL")
    assert all(len(c) == 6 and c.startswith("77") and c.isdigit() for c in _codes(session, numeric))


def test_gs1_coupon_numbers_and_how_they_are_scanned(
    session: Session, world: World, client: FlaskClient
) -> None:
    """The GS1 Global Coupon Number layout: the issuer's 12 digits, their check digit, a
    serial; found whether typed, printed with its AI ``(255)`` or read after a symbology id."""
    gcn = _series(session, world, "g", code_format_kind="gs1", code_length=18,
                  prefix="460123456789")  # fmt: skip
    generate_coupons(session, gcn, 500, author="t", now=NOW)
    codes = _codes(session, gcn)
    assert len(set(codes)) == 500
    for code in codes:
        assert len(code) == 18 and code[:13] == "4601234567893" and code.isdigit(), code
    coupon = find_coupon(session, world.tenant_id, codes[0])
    issue_coupon(session, coupon, via="admin", customer=None, now=NOW)
    for scanned in (f"(255){codes[0]}", f"]e0255{codes[0]}", f"{codes[0][:9]} {codes[0][9:]}"):
        answer = client.post("/api/v1/coupons/check", json={"code": scanned}, headers=world.auth)
        assert answer.get_json()["code"] == codes[0], (scanned, answer.get_json())
    base = "460123456789"
    for prefix, length, field in ((base[:11], 18, "prefix"), (base, 16, "code_length"),
                                  (base, 26, "code_length")):  # fmt: skip
        with pytest.raises(InvalidInput) as refused:
            _series(session, world, f"x{length}{len(prefix)}", code_format_kind="gs1",
                    code_length=length, prefix=prefix)  # fmt: skip
        assert refused.value.details["field"] == field
    wrong_check = codes[1][:12] + str((int(codes[1][12]) + 1) % 10) + codes[1][13:]
    assert not code_format("gs1", 18, "460123456789").matches(wrong_check)


def test_a_batch_may_fill_a_tenth_of_the_free_code_space(session: Session, world: World) -> None:
    series = _series(session, world, code_length=4)  # 10,000 codes
    with pytest.raises(CouponCodeSpaceTooSmall) as refused:
        generate_coupons(session, series, 1_001, author="t", now=NOW)
    assert refused.value.details == {"space": 10_000, "taken": 0, "count": 1_001}
    generate_coupons(session, series, 1_000, author="t", now=NOW)
    with pytest.raises(CouponCodeSpaceTooSmall):  # 9,000 left: at most 900
        generate_coupons(session, series, 901, author="t", now=NOW)
    generate_coupons(session, series, 900, author="t", now=NOW)
    assert len(set(_codes(session, series))) == 1_900
    with pytest.raises(CouponBatchTooLarge):
        generate_coupons(session, series, 1_000_001, author="t", now=NOW)
    with pytest.raises(InvalidInput):
        generate_coupons(session, series, 0, author="t", now=NOW)


def test_no_code_repeats_across_series_of_the_tenant(session: Session, world: World) -> None:
    first = _series(session, world, "one", code_length=5)
    second = _series(session, world, "two", code_length=5)  # the same 100,000 codes
    generate_coupons(session, first, 5_000, author="t", now=NOW)
    generate_coupons(session, second, 4_500, author="t", now=NOW)  # 95,000 left
    both = _codes(session, first) + _codes(session, second)
    assert len(both) == len(set(both)) == 9_500


def test_import_is_all_or_nothing_and_names_refused_codes(session: Session, world: World) -> None:
    series = _series(session, world, code_format_kind="ean13", code_length=None, prefix="20")
    good = ["2000000000008", "2000000000015", "2000000000022"]
    assert import_coupons(session, series, good, author="t", now=NOW) == 3
    coupon = find_coupon(session, world.tenant_id, good[0])
    assert (coupon.status, coupon.issued_via, coupon.issued_at) == ("issued", "import", NOW)
    with pytest.raises(CouponCodeInvalid) as invalid:
        import_coupons(
            session, series, ["2000000000039", "2000000000031", "1"], author="t", now=NOW
        )
    assert invalid.value.details == {"codes": ["2000000000031", "1"], "count": 2}
    assert "2000000000031" in invalid.value.text
    with pytest.raises(CouponCodesDuplicate) as duplicate:
        import_coupons(
            session, series, ["2000000000039", "2000000000046", "2000000000046", good[1]],
            author="t", now=NOW,
        )  # fmt: skip
    assert duplicate.value.details == {"repeated": ["2000000000046"], "existing": [good[1]]}
    assert len(_codes(session, series)) == 3
    alnum = _series(session, world, "a", code_format_kind="alnum", code_length=6)
    assert import_coupons(session, alnum, [" abcdef "], author="t", now=NOW) == 1
    assert find_coupon(session, world.tenant_id, "abcdef").code == "ABCDEF"
    with pytest.raises(CouponCodeInvalid):
        import_coupons(session, alnum, ["ABCDE0"], author="t", now=NOW)  # a look-alike


# Transitions


def test_issue_to_a_customer_or_as_bearer(session: Session, world: World) -> None:
    customer = _customer(session, world)
    bearer = _series(session, world)
    coupon = _coupon(session, world, bearer)
    refusal = check_coupon(session, world.tenant_id, coupon.code, NOW).refusal
    assert refusal is not None and refusal.code == "COUPON_NOT_ISSUED"
    issue_coupon(session, coupon, via="admin", customer=None, now=NOW)
    assert (coupon.status, coupon.issued_via, coupon.customer_id) == ("issued", "admin", None)
    assert check_coupon(session, world.tenant_id, coupon.code, NOW).refusal is None
    with pytest.raises(ConnectorError) as twice:
        issue_coupon(session, coupon, via="mailing", customer=customer, now=NOW)
    assert twice.value.code == "COUPON_TRANSITION_REFUSED"
    assert twice.value.details == {"from": "issued", "to": "issued"}
    bound = _series(session, world, "b", bound=True)
    named = _coupon(session, world, bound)
    with pytest.raises(ConnectorError) as nobody:
        issue_coupon(session, named, via="promotion", customer=None, now=NOW)
    assert nobody.value.code == "COUPON_CUSTOMER_REQUIRED"
    with pytest.raises(InvalidInput):
        issue_coupon(session, named, via="import", customer=customer, now=NOW)
    issue_coupon(session, named, via="promotion", customer=customer, now=NOW)
    assert named.customer_id == customer.id


def test_take_bound_only_by_its_customer(session: Session, world: World) -> None:
    owner, stranger = _customer(session, world), _customer(session, world, "+79160000002")
    bound = _series(session, world, "b", bound=True)
    coupon = _coupon(session, world, bound)
    with pytest.raises(ConnectorError) as not_issued:
        take_coupon(session, coupon, customer=owner, channel="app", now=NOW)
    assert not_issued.value.code == "COUPON_TRANSITION_REFUSED"
    issue_coupon(session, coupon, via="mailing", customer=owner, now=NOW)
    with pytest.raises(ConnectorError) as wrong:
        take_coupon(session, coupon, customer=stranger, channel="app", now=NOW)
    assert wrong.value.code == "COUPON_WRONG_CUSTOMER"
    take_coupon(session, coupon, customer=owner, channel="app", now=NOW)
    assert (coupon.status, coupon.taken_via, coupon.taken_at) == ("taken", "app", NOW)
    with pytest.raises(ConnectorError) as again:
        take_coupon(session, coupon, customer=owner, channel="app", now=NOW)
    assert again.value.code == "COUPON_TRANSITION_REFUSED"
    pool = _coupon(session, world, _series(session, world, "pool"))  # bearer: from the pool
    take_coupon(session, pool, customer=stranger, channel="site", now=NOW)
    assert (pool.status, pool.customer_id) == ("taken", stranger.id)


def test_cancel_with_a_reason_not_once_redeemed(
    session: Session, world: World, client: FlaskClient
) -> None:
    series = _series(session, world)
    coupon = _coupon(session, world, series)
    with pytest.raises(InvalidInput):
        cancel_coupon(session, coupon, reason="  ", now=NOW)
    cancel_coupon(session, coupon, reason="ошибка рассылки", now=NOW)
    assert (coupon.status, coupon.cancel_reason) == ("cancelled", "ошибка рассылки")
    refusal = check_coupon(session, world.tenant_id, coupon.code, NOW).refusal
    assert refusal is not None and refusal.code == "COUPON_CANCELLED"
    with pytest.raises(ConnectorError) as twice:
        cancel_coupon(session, coupon, reason="ещё раз", now=NOW)
    assert twice.value.code == "COUPON_TRANSITION_REFUSED"
    used = _coupon(session, world, series)
    issue_coupon(session, used, via="admin", customer=None, now=NOW)
    redeem_coupon(
        session,
        world.tenant_id,
        used.code,
        receipt_id=_receipt_id(client, session, world, "c1"),
        customer_id=None,
        at=NOW,
    )
    with pytest.raises(ConnectorError) as redeemed:
        cancel_coupon(session, used, reason="поздно", now=NOW)
    assert redeemed.value.code == "COUPON_TRANSITION_REFUSED"
    assert redeemed.value.details == {"from": "redeemed", "to": "cancelled"}


def test_check_says_why_a_coupon_cannot_be_used(session: Session, world: World) -> None:
    owner, stranger = _customer(session, world), _customer(session, world, "+79160000002")
    dated = _series(session, world, "d", valid_from=NOW, valid_to=NOW + timedelta(days=30))
    coupon = _coupon(session, world, dated)
    issue_coupon(session, coupon, via="admin", customer=None, now=NOW - timedelta(days=1))

    def reason(code: str, at: datetime, customer: int | None = None) -> str | None:
        refusal = check_coupon(session, world.tenant_id, code, at, customer).refusal
        return None if refusal is None else refusal.code

    assert reason(coupon.code, NOW - timedelta(seconds=1)) == "COUPON_NOT_YET_VALID"
    assert reason(coupon.code, NOW) is None
    assert reason(coupon.code, NOW + timedelta(days=30)) == "COUPON_EXPIRED"
    bound = _series(session, world, "b", bound=True)
    named = _coupon(session, world, bound)
    issue_coupon(session, named, via="admin", customer=owner, now=NOW)
    assert reason(named.code, NOW) == "COUPON_CUSTOMER_REQUIRED"
    assert reason(named.code, NOW, stranger.id) == "COUPON_WRONG_CUSTOMER"
    assert reason(named.code, NOW, owner.id) is None
    close_series(session, bound)
    assert reason(named.code, NOW, owner.id) == "COUPON_SERIES_CLOSED"
    with pytest.raises(ConnectorError) as missing:
        check_coupon(session, world.tenant_id, "0000000000", NOW)
    assert missing.value.code == "COUPON_NOT_FOUND"


def test_n_uses_counted_and_a_return_gives_them_back(
    session: Session, world: World, client: FlaskClient
) -> None:
    series = _series(session, world, uses_per_coupon=3, valid_to=NOW + timedelta(days=10))
    coupon = _coupon(session, world, series)
    issue_coupon(session, coupon, via="admin", customer=None, now=NOW)
    receipts = [_receipt_id(client, session, world, f"n{i}") for i in range(5)]

    def redeem(receipt_id: int, at: datetime = NOW) -> Any:
        return redeem_coupon(
            session, world.tenant_id, coupon.code, receipt_id=receipt_id, customer_id=None, at=at
        )

    first = redeem(receipts[0])
    assert redeem(receipts[0]) is first  # the same receipt again: the same use
    redeem(receipts[1])
    assert (coupon.uses, coupon.status) == (2, "issued")
    redeem(receipts[2])
    assert (coupon.uses, coupon.status, coupon.redeemed_at) == (3, "redeemed", NOW)
    with pytest.raises(CouponUnusable) as used_up:
        redeem(receipts[3])
    assert used_up.value.code == "COUPON_USED_UP"
    assert [c.code for c in release_coupons(session, receipts[1], at=NOW)] == [coupon.code]
    assert (coupon.uses, coupon.status, coupon.redeemed_at) == (2, "issued", None)
    assert release_coupons(session, receipts[1], at=NOW) == []  # given back once
    redeem(receipts[3])
    assert (coupon.uses, coupon.status) == (3, "redeemed")
    # Past the series' end a return gives nothing back.
    assert release_coupons(session, receipts[3], at=NOW + timedelta(days=10)) == []
    assert (coupon.uses, coupon.status) == (3, "redeemed")
    with pytest.raises(ConnectorError) as returned:
        redeem(receipts[1])
    assert returned.value.code == "COUPON_TRANSITION_REFUSED"


def test_a_taken_coupon_returns_to_taken(
    session: Session, world: World, client: FlaskClient
) -> None:
    owner = _customer(session, world)
    coupon = _coupon(session, world, _series(session, world, bound=True))
    issue_coupon(session, coupon, via="mailing", customer=owner, now=NOW)
    take_coupon(session, coupon, customer=owner, channel="app", now=NOW)
    receipt_id = _receipt_id(client, session, world, "t1")
    with pytest.raises(CouponUnusable) as stranger:
        redeem_coupon(
            session, world.tenant_id, coupon.code, receipt_id=receipt_id, customer_id=None, at=NOW
        )
    assert stranger.value.code == "COUPON_CUSTOMER_REQUIRED"
    redeem_coupon(
        session, world.tenant_id, coupon.code, receipt_id=receipt_id, customer_id=owner.id, at=NOW
    )
    assert coupon.status == "redeemed"
    release_coupons(session, receipt_id, at=NOW)
    assert (coupon.status, coupon.uses) == ("taken", 0)


def test_coupons_combined_on_a_receipt(session: Session, world: World, client: FlaskClient) -> None:
    """A series with ``per_receipt`` 1 shares a receipt with no other coupon, either way round;
    coupons of combinable series share one; a promotion takes one coupon per receipt."""
    tenant = session.get_one(Tenant, world.tenant_id)
    promotion = add_program(session, tenant, "promotion", "p", "Акция")
    one = _series(session, world, "one")
    several = _series(session, world, "several", per_receipt=None)
    tied = [_series(session, world, f"t{i}", per_receipt=None, promotion=promotion)
            for i in range(2)]  # fmt: skip
    coupons = [_coupon(session, world, s) for s in (one, one, several, several, *tied)]
    for coupon in coupons:
        issue_coupon(session, coupon, via="admin", customer=None, now=NOW)
    first, second = (_receipt_id(client, session, world, number) for number in ("p1", "p2"))

    def redeem(coupon: Coupon, receipt_id: int) -> str:
        try:
            redeem_coupon(session, world.tenant_id, coupon.code, receipt_id=receipt_id,
                          customer_id=None, at=NOW)  # fmt: skip
        except CouponUnusable as refused:
            return refused.code
        return "ok"

    assert [redeem(c, first) for c in (coupons[2], coupons[3], coupons[4], coupons[5])] == [
        "ok", "ok", "ok", "COUPON_SAME_PROMOTION",
    ]  # fmt: skip
    assert redeem(coupons[0], first) == "COUPON_ONE_PER_RECEIPT"
    assert [redeem(c, second) for c in (coupons[0], coupons[1], coupons[5])] == [
        "ok", "COUPON_ONE_PER_RECEIPT", "COUPON_ONE_PER_RECEIPT",
    ]  # fmt: skip


def test_expiry_job_expires_unused_coupons_past_their_series(
    session: Session, world: World, client: FlaskClient
) -> None:
    ending = _series(session, world, "end", valid_to=NOW)
    lasting = _series(session, world, "last", valid_to=NOW + timedelta(days=1))
    generate_coupons(session, ending, 5, author="t", now=NOW)
    generate_coupons(session, lasting, 2, author="t", now=NOW)
    codes = _codes(session, ending)
    issued, used = (find_coupon(session, world.tenant_id, c) for c in codes[:2])
    for coupon in (issued, used):
        issue_coupon(session, coupon, via="admin", customer=None, now=NOW - timedelta(days=1))
    redeem_coupon(
        session,
        world.tenant_id,
        used.code,
        at=NOW - timedelta(hours=1),
        receipt_id=_receipt_id(client, session, world, "e1"),
        customer_id=None,
    )
    assert expire_coupons(session, NOW - timedelta(seconds=1)) == 0
    assert expire_coupons(session, NOW, batch=3) == 3
    assert expire_coupons(session, NOW, batch=3) == 1
    assert expire_coupons(session, NOW) == 0
    session.expire_all()
    assert series_counts(session, ending) == {"expired": 4, "redeemed": 1}
    assert series_counts(session, lasting) == {"generated": 2}
    refusal = check_coupon(session, world.tenant_id, issued.code, NOW).refusal
    assert refusal is not None and refusal.code == "COUPON_EXPIRED"
    with pytest.raises(ConnectorError) as expired:
        cancel_coupon(session, issued, reason="поздно", now=NOW)
    assert expired.value.code == "COUPON_TRANSITION_REFUSED"


def test_a_closed_series_takes_no_more_codes(session: Session, world: World) -> None:
    series = _series(session, world)
    close_series(session, series)
    for add in (
        lambda: generate_coupons(session, series, 1, author="t", now=NOW),
        lambda: import_coupons(session, series, ["1234567890"], author="t", now=NOW),
    ):
        with pytest.raises(CouponUnusable) as closed:
            add()
        assert closed.value.code == "COUPON_SERIES_CLOSED"
    assert session.scalar(select(func.count()).select_from(Coupon)) == 0


@pytest.mark.committed
def test_the_daily_job_expires_coupons_once_per_run(runtime: Runtime, engine: Engine) -> None:
    """The scheduled job (sync.jobs.expire_coupons) works a batch per transaction and marks its
    run done: a second run under the same key does nothing."""
    activate(runtime)
    with Session(engine) as session:
        world = seed_world(session)
        ending = _series(session, world, "job", valid_to=NOW)
        generate_coupons(session, ending, 3, author="t", now=NOW)
        session.commit()
        series_id = ending.id
    assert expire_coupons_job("expire-coupons-1", now=NOW) == 3
    assert expire_coupons_job("expire-coupons-1", now=NOW) == 0
    with Session(engine) as session:
        statuses = session.scalars(select(Coupon.status).where(Coupon.series_id == series_id))
        assert list(statuses) == ["expired"] * 3
