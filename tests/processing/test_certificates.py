"""Certificate series, batch generation and every movement document, allowed and refused,
through the domain functions on PostgreSQL; the stock report; two documents moving the same
certificate at once (committed data, a session per thread)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from processing.cards.numbers import has_valid_check_digit
from processing.certificates.documents import DocumentRecord, apply_document, get_document
from processing.certificates.models import Certificate, CertificateDocument, CertificateSeries
from processing.certificates.series import (
    add_series,
    close_series,
    generate_certificates,
    series_counts,
)
from processing.certificates.stock import StockRow, certificates_at_pos, stock_report
from processing.errors import ConnectorError, InvalidInput
from processing.tenants.models import Pos, Store, Tenant
from processing.tenants.service import add_pos, add_store, get_pos, get_store
from tests.connector.onec_http.world import World, seed_world

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
GOODS = "b1c2d3e4-0000-11ee-8000-000000000001"


def _tenant(session: Session, world: World) -> Tenant:
    return session.get_one(Tenant, world.tenant_id)


def _series(session: Session, world: World, code: str = "g", **overrides: Any) -> CertificateSeries:
    values: dict[str, Any] = {
        "code": code, "title": "Сертификат 1000", "kind": "paper", "nominal": Decimal("1000"),
        "valid_days": 365, "goods_id": GOODS, "code_format_kind": "ean13", "code_length": None,
        "prefix": "299", "author": "t", "now": NOW,
    }  # fmt: skip
    values.update(overrides)
    return add_series(session, _tenant(session, world), **values)


def _generated(session: Session, series: CertificateSeries, count: int) -> list[str]:
    generate_certificates(session, series, count, author="t", now=NOW)
    return list(
        session.scalars(
            select(Certificate.code)
            .where(Certificate.series_id == series.id)
            .order_by(Certificate.code)
        )
    )


def _places(session: Session, world: World) -> tuple[Store, Pos, Pos, Store, Pos]:
    tenant = _tenant(session, world)
    s1 = get_store(session, tenant, "s1")
    s2 = add_store(session, tenant, "s2", "Второй", "Europe/Moscow")
    q1 = add_pos(session, s2, "q1").pos
    return s1, get_pos(session, s1, "p1"), get_pos(session, s1, "p2"), s2, q1


def _move(session: Session, world: World, kind: str, codes: list[str], *,
          store: Store | None = None, pos: Pos | None = None, number: str | None = None,
          may_withdraw: bool = True) -> DocumentRecord:  # fmt: skip
    return apply_document(
        session, _tenant(session, world), number=number, kind=kind, store=store, pos=pos,
        codes=codes, author="t", now=NOW, may_withdraw=may_withdraw,
    )  # fmt: skip


def _where(session: Session, codes: list[str]) -> set[tuple[str, int | None, int | None]]:
    session.expire_all()
    rows = session.execute(
        select(Certificate.status, Certificate.store_id, Certificate.pos_id).where(
            Certificate.code.in_(codes)
        )
    )
    return {tuple(row) for row in rows}  # type: ignore[misc]


def _refused(session: Session, world: World, kind: str, codes: list[str], **kw: Any) -> str:
    with session.begin_nested(), pytest.raises(ConnectorError) as refused:
        _move(session, world, kind, codes, **kw)
    return refused.value.code


# Series and generation


def test_series_rules(session: Session, world: World) -> None:
    paper = _series(session, world)
    assert (paper.nominal, paper.code_length, paper.status) == (100_000, 13, "active")
    electronic = _series(
        session, world, "e", kind="electronic", nominal=None, min_nominal=Decimal("500"),
        max_nominal=Decimal("30000"), valid_days=None, valid_until=NOW + timedelta(days=90),
        scope="store", remainder="burn", resale=True, code_format_kind="alnum", code_length=12,
        prefix="",
    )  # fmt: skip
    assert (electronic.nominal, electronic.min_nominal, electronic.max_nominal) == (
        None, 50_000, 3_000_000,
    )  # fmt: skip
    for field, overrides in [
        ("kind", {"kind": "plastic"}),
        ("nominal", {"nominal": None}),
        ("nominal", {"nominal": Decimal("0")}),
        ("nominal", {"nominal": Decimal("10.005")}),
        ("min_nominal", {"min_nominal": Decimal("1")}),
        ("nominal", {"kind": "electronic"}),
        ("max_nominal", {"kind": "electronic", "nominal": None, "min_nominal": Decimal("2"),
                         "max_nominal": Decimal("1")}),
        ("valid_days", {"valid_days": None}),
        ("valid_days", {"valid_until": NOW + timedelta(days=1)}),
        ("valid_days", {"valid_days": 0}),
        ("valid_until", {"valid_days": None, "valid_until": NOW}),
        ("goods_id", {"goods_id": " "}),
        ("scope", {"scope": "region"}),
        ("remainder", {"remainder": "refund"}),
        ("code_format", {"code_format_kind": "qr"}),
    ]:  # fmt: skip
        with pytest.raises(InvalidInput) as refused:
            _series(session, world, "bad", **cast("dict[str, Any]", overrides))
        assert refused.value.details == {"field": field}, overrides
    with pytest.raises(ConnectorError) as exists:
        _series(session, world)
    assert exists.value.code == "CODE_EXISTS"


def test_a_batch_of_inactive_paper_certificates(session: Session, world: World) -> None:
    fixed_end = NOW + timedelta(days=200)
    series = _series(session, world, valid_days=None, valid_until=fixed_end)
    codes = _generated(session, series, 500)
    assert len(set(codes)) == 500
    assert all(code.startswith("299") and has_valid_check_digit(code, "ean13") for code in codes)
    assert series_counts(session, series) == {"inactive": 500}
    first = session.scalars(select(Certificate).where(Certificate.code == codes[0])).one()
    assert (first.nominal, first.balance, first.expires_at, first.store_id) == (
        100_000, 100_000, fixed_end, None,
    )  # fmt: skip
    # The codes of a second batch never repeat the first's.
    assert len(set(_generated(session, series, 500))) == 1000


def test_generation_refusals(session: Session, world: World) -> None:
    electronic = _series(
        session, world, "e", kind="electronic", nominal=None, min_nominal=Decimal("500"),
        max_nominal=Decimal("5000"),
    )  # fmt: skip
    with pytest.raises(InvalidInput):
        generate_certificates(session, electronic, 1, author="t", now=NOW)
    small = _series(session, world, "small", code_format_kind="numeric", code_length=4, prefix="")
    for series, count, code in [
        (small, 1_001, "CERTIFICATE_CODE_SPACE_TOO_SMALL"),
        (small, 100_001, "CERTIFICATE_BATCH_TOO_LARGE"),
    ]:
        with pytest.raises(ConnectorError) as refused:
            generate_certificates(session, series, count, author="t", now=NOW)
        assert refused.value.code == code
    close_series(session, small)
    with pytest.raises(ConnectorError) as closed:
        generate_certificates(session, small, 1, author="t", now=NOW)
    assert closed.value.code == "CERTIFICATE_SERIES_CLOSED"


# Moves


def test_every_move_both_ways(session: Session, world: World) -> None:
    s1, p1, _, _, _ = _places(session, world)
    codes = _generated(session, _series(session, world), 3)
    to_store = _move(session, world, "to_store", codes, store=s1, number="В-1")
    assert (to_store.codes, to_store.nominal, to_store.target, to_store.source.store) == (
        codes, Decimal("3000"), to_store.target, None,
    )  # fmt: skip
    assert to_store.target is not None and to_store.target.store == "s1"
    assert _where(session, codes) == {("in_store", s1.id, None)}
    _move(session, world, "to_pos", codes, store=s1, pos=p1)
    assert _where(session, codes) == {("at_pos", s1.id, p1.id)}
    assert [c.code for c in certificates_at_pos(session, world.tenant_id, p1.id)] == codes
    _move(session, world, "to_store_from_pos", codes[:2], store=s1, pos=p1)
    assert _where(session, codes[:2]) == {("in_store", s1.id, None)}
    _move(session, world, "to_accounting", codes[:1], store=s1)
    assert _where(session, codes[:1]) == {("inactive", None, None)}
    # Withdrawal from each place: accounting, a store, a POS.
    _move(session, world, "withdraw", codes[:1])
    _move(session, world, "withdraw", codes[1:2], store=s1)
    withdrawn = _move(session, world, "withdraw", codes[2:], store=s1, pos=p1)
    assert (withdrawn.target, withdrawn.source.pos) == (None, "p1")
    assert _where(session, codes) == {("withdrawn", None, None)}
    assert session.scalar(select(func.count()).select_from(CertificateDocument)) == 7


def test_moves_refused_with_their_codes(session: Session, world: World) -> None:
    s1, p1, p2, s2, q1 = _places(session, world)
    series = _series(session, world)
    codes = _generated(session, series, 4)
    inactive, in_s1, at_p1, withdrawn = ([code] for code in codes)
    _move(session, world, "to_store", in_s1 + at_p1 + withdrawn, store=s1)
    _move(session, world, "to_pos", at_p1, store=s1, pos=p1)
    _move(session, world, "withdraw", withdrawn, store=s1)
    for kind, moved, places, code in [
        ("to_pos", inactive, {"store": s1, "pos": p1}, "CERTIFICATE_WRONG_STATUS"),
        ("to_store", in_s1, {"store": s2}, "CERTIFICATE_WRONG_STATUS"),
        ("to_store_from_pos", in_s1, {"store": s1, "pos": p1}, "CERTIFICATE_WRONG_STATUS"),
        ("to_accounting", at_p1, {"store": s1}, "CERTIFICATE_WRONG_STATUS"),
        ("to_accounting", inactive, {"store": s1}, "CERTIFICATE_WRONG_STATUS"),
        ("withdraw", withdrawn, {"store": s1}, "CERTIFICATE_WRONG_STATUS"),
        ("to_store", withdrawn, {"store": s1}, "CERTIFICATE_WRONG_STATUS"),
        ("to_pos", in_s1, {"store": s2, "pos": q1}, "CERTIFICATE_NOT_AT_SOURCE"),
        ("to_accounting", in_s1, {"store": s2}, "CERTIFICATE_NOT_AT_SOURCE"),
        ("to_store_from_pos", at_p1, {"store": s1, "pos": p2}, "CERTIFICATE_NOT_AT_SOURCE"),
        ("withdraw", at_p1, {"store": s1, "pos": p2}, "CERTIFICATE_NOT_AT_SOURCE"),
        ("to_store", ["2990000000000"], {"store": s1}, "CERTIFICATE_NOT_FOUND"),
        ("withdraw", inactive, {"may_withdraw": False}, "CERTIFICATE_WITHDRAW_FORBIDDEN"),
    ]:  # fmt: skip
        assert _refused(session, world, kind, moved, **cast("dict[str, Any]", places)) == code, (
            kind,
            places,
        )
    # All or none: one misplaced certificate refuses the whole document.
    assert _refused(session, world, "to_pos", in_s1 + inactive, store=s1, pos=p2) == (
        "CERTIFICATE_WRONG_STATUS"
    )
    assert _where(session, in_s1) == {("in_store", s1.id, None)}
    for kind, places, field in [
        ("to_store", {}, "store"),
        ("to_pos", {"store": s1}, "pos"),
        ("to_store", {"store": s1, "pos": p1}, "pos"),
        ("move", {"store": s1}, "kind"),
    ]:
        with pytest.raises(InvalidInput) as invalid:
            _move(session, world, kind, inactive, **cast("dict[str, Any]", places))
        assert invalid.value.details == {"field": field}
    with pytest.raises(InvalidInput) as empty:
        _move(session, world, "to_store", [" "], store=s1)
    assert empty.value.details == {"field": "codes"}


def test_a_closed_series_is_not_issued_to_stores(session: Session, world: World) -> None:
    s1, *_ = _places(session, world)
    series = _series(session, world)
    codes = _generated(session, series, 2)
    _move(session, world, "to_store", codes[:1], store=s1)
    close_series(session, series)
    assert _refused(session, world, "to_store", codes[1:], store=s1) == "CERTIFICATE_SERIES_CLOSED"
    _move(session, world, "to_accounting", codes[:1], store=s1)
    _move(session, world, "withdraw", codes)
    assert series_counts(session, series) == {"withdrawn": 2}


def test_a_document_number_is_idempotent(session: Session, world: World) -> None:
    s1, p1, _, s2, _ = _places(session, world)
    codes = _generated(session, _series(session, world), 3)
    first = _move(session, world, "to_store", codes[:2], store=s1, number="В-7")
    again = _move(session, world, "to_store", list(reversed(codes[:2])), store=s1, number=" В-7")
    assert (again.document.id, again.codes, again.nominal) == (
        first.document.id, first.codes, first.nominal,
    )  # fmt: skip
    assert get_document(session, _tenant(session, world), "В-7").codes == codes[:2]
    for kind, moved, places in [
        ("to_store", codes, {"store": s1}),
        ("to_store", codes[:2], {"store": s2}),
        ("to_pos", codes[:2], {"store": s1, "pos": p1}),
    ]:
        assert _refused(
            session, world, kind, moved, number="В-7", **cast("dict[str, Any]", places)
        ) == ("CERTIFICATE_DOCUMENT_CONFLICT")
    generated = _move(session, world, "to_store", codes[2:], store=s1)
    assert generated.document.number != "В-7" and generated.document.number.startswith("20260601-")
    with pytest.raises(ConnectorError) as unknown:
        get_document(session, _tenant(session, world), "В-8")
    assert unknown.value.code == "CERTIFICATE_DOCUMENT_NOT_FOUND"


def test_the_stock_report_sums_by_place_and_status(session: Session, world: World) -> None:
    s1, p1, _, s2, _ = _places(session, world)
    thousand = _generated(session, _series(session, world), 6)
    five_hundred = _generated(session, _series(session, world, "h", nominal=Decimal("500.50")), 3)
    _move(session, world, "to_store", thousand[:4] + five_hundred[:2], store=s1)
    _move(session, world, "to_pos", thousand[:2] + five_hundred[:1], store=s1, pos=p1)
    _move(session, world, "to_store", thousand[4:5], store=s2)
    sold = session.scalars(select(Certificate).where(Certificate.code == thousand[5])).one()
    sold.status, sold.balance = (
        "sold",
        25_000,
    )  # a sale with a partial redemption, until the till does it
    _move(session, world, "withdraw", five_hundred[2:])
    assert stock_report(session, world.tenant_id) == [
        StockRow("store", "s1", None, "in_store", 3, Decimal("2500.50"), Decimal("2500.50")),
        StockRow("store", "s2", None, "in_store", 1, Decimal("1000.00"), Decimal("1000.00")),
        StockRow("pos", "s1", "p1", "at_pos", 3, Decimal("2500.50"), Decimal("2500.50")),
        StockRow("customer", None, None, "sold", 1, Decimal("1000.00"), Decimal("250.00")),
        StockRow("withdrawn", None, None, "withdrawn", 1, Decimal("500.50"), Decimal("500.50")),
    ]
    assert stock_report(session, seed_world(session, "other", prefix="2776").tenant_id) == []


@pytest.mark.committed
def test_two_documents_moving_one_certificate_at_once(engine: Engine) -> None:
    """Both see the certificate in the store; the row lock lets one move it, the other finds it
    gone and is refused."""
    with Session(engine) as session:
        world = seed_world(session)
        s1, *_ = _places(session, world)
        codes = _generated(session, _series(session, world), 1)
        _move(session, world, "to_store", codes, store=s1)
        session.commit()
    barrier = threading.Barrier(2)
    outcomes = [""] * 2

    def move(i: int) -> None:
        with Session(engine) as session:
            tenant = _tenant(session, world)
            store = get_store(session, tenant, "s1")
            kind, pos = (
                ("to_pos", get_pos(session, store, f"p{i + 1}")) if i else ("to_accounting", None)
            )
            barrier.wait()
            try:
                apply_document(
                    session, tenant, number=f"race-{i}", kind=kind, store=store, pos=pos,
                    codes=codes, author="t", now=NOW, may_withdraw=False,
                )  # fmt: skip
                session.commit()
                outcomes[i] = "ok"
            except ConnectorError as refused:
                session.rollback()
                outcomes[i] = refused.code

    threads = [threading.Thread(target=move, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["CERTIFICATE_WRONG_STATUS", "ok"], outcomes
    with Session(engine) as session:
        certificate = session.scalars(select(Certificate)).one()
        assert certificate.status == ("inactive" if outcomes[0] == "ok" else "at_pos")
        assert session.scalar(select(func.count()).select_from(CertificateDocument)) == 2
