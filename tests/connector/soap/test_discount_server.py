"""The 1C:Retail discount-server drop-in, called as the shop calls it: zeep loads our WSDL
from the running app with Basic auth and calls every operation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import requests
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from zeep import Client

from mappings.models import ExternalId
from processing.coupons.lifecycle import cancel_coupon, issue_coupon
from processing.coupons.models import Coupon
from processing.coupons.series import add_series, generate_coupons
from processing.discount_server.models import SaleRow
from processing.tenants.models import Tenant
from sync.models import SyncLogEntry
from tests.connector.soap.conftest import Shop, serve, zeep_client

pytestmark = pytest.mark.committed

D = Decimal
EMPTY = datetime(1, 1, 1)
NO_CHARACTERISTIC = "00000000-0000-0000-0000-000000000000"


def op(client: Client, name: str) -> Callable[..., Any]:
    return getattr(client.service, name)  # type: ignore[no-any-return]


def sales_table(client: Client, *rows: tuple[datetime, str, str, str, str]) -> Any:
    row_type = client.get_type("ns0:СтрокаТаблицыПродаж")
    table = client.get_type("ns0:ТаблицаПродаж")
    return table(
        СтрокиТаблицы=[
            row_type(Период=at, ИдентификаторКарты=card, ИдентификаторНоменклатуры=goods,
                     ИдентификаторХарактеристики=NO_CHARACTERISTIC, Сумма=D(amount),
                     Количество=D(qty))
            for at, card, goods, amount, qty in rows
        ]
    )  # fmt: skip


def post_sales(client: Client, doc: str, *rows: tuple[datetime, str, str, str, str]) -> Any:
    return op(client, "ОбновитьДанныеОПродажах")("ЧекККМ", doc, sales_table(client, *rows))


def accumulated(client: Client, card: str, start: datetime = EMPTY, end: datetime = EMPTY,
                segment: str = "", excluded: str = "") -> tuple[Decimal, Decimal]:  # fmt: skip
    [row] = op(client, "ПолучитьСуммуНакопления")(card, start, end, segment, excluded)
    return row["СуммаНакопления"], row["КоличествоНакопления"]


@pytest.fixture
def shop_a(server: str, shops: dict[str, Shop]) -> Client:
    return zeep_client(server, shops["a"])


def test_sale_then_accumulation_with_bounds_and_exclusion(shop_a: Client) -> None:
    first = datetime(2026, 11, 1, 10)
    assert post_sales(shop_a, "doc-1", (first, "card-1", "g1", "100.00", "1"),
                      (first, "card-1", "g2", "50.25", "2.5")) is True  # fmt: skip
    post_sales(shop_a, "doc-2", (datetime(2026, 11, 5, 18, 30), "card-1", "g1", "200.00", "2"))
    post_sales(shop_a, "doc-3", (datetime(2026, 11, 5, 9), "card-2", "g1", "999.00", "1"))
    assert accumulated(shop_a, "card-1") == (D("350.25"), D("5.5"))
    # Bounds are inclusive on both ends.
    last = datetime(2026, 11, 5, 18, 30)
    assert accumulated(shop_a, "card-1", first, last) == (D("350.25"), D("5.5"))
    assert accumulated(shop_a, "card-1", datetime(2026, 11, 1, 10, 0, 1)) == (D("200.00"), D("2"))
    assert accumulated(shop_a, "card-1", EMPTY, datetime(2026, 11, 5, 18, 29)) == (
        D("150.25"), D("3.5"),
    )  # fmt: skip
    # The document being posted is excluded from its own accumulation.
    assert accumulated(shop_a, "card-1", excluded="doc-2") == (D("150.25"), D("3.5"))


def test_reposting_replaces_resend_is_idempotent_returns_subtract_empty_unposts(
    shop_a: Client, engine: Engine
) -> None:
    sale = (datetime(2026, 11, 1, 10), "card-1", "g1", "100.00", "1")
    post_sales(shop_a, "doc-1", sale)
    post_sales(shop_a, "doc-1", sale)  # resend
    assert accumulated(shop_a, "card-1") == (D("100.00"), D("1"))
    post_sales(shop_a, "doc-1", (datetime(2026, 11, 1, 10), "card-1", "g1", "80.00", "1"))
    assert accumulated(shop_a, "card-1") == (D("80.00"), D("1"))  # re-posted: replaced
    op(shop_a, "ОбновитьДанныеОПродажах")(
        "ВозвратТоваровОтПокупателя", "ret-1",
        sales_table(shop_a, (datetime(2026, 11, 2, 12), "card-1", "g1", "-30.00", "-0.5")),
    )  # fmt: skip
    assert accumulated(shop_a, "card-1") == (D("50.00"), D("0.5"))
    table = shop_a.get_type("ns0:ТаблицаПродаж")
    assert op(shop_a, "ОбновитьДанныеОПродажах")("ЧекККМ", "doc-1", table(СтрокиТаблицы=[])) is True
    assert accumulated(shop_a, "card-1") == (D("-30.00"), D("-0.5"))
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(SaleRow)) == 1
        kinds = set(session.scalars(select(ExternalId.kind)))
        assert {"card", "goods", "document"} <= kinds


def test_last_purchase(shop_a: Client) -> None:
    post_sales(shop_a, "doc-1", (datetime(2026, 11, 1, 10), "card-1", "g1", "100.00", "1"))
    post_sales(shop_a, "doc-2", (datetime(2026, 11, 3, 10), "card-1", "g1", "40.00", "2"),
               (datetime(2026, 11, 3, 10), "card-1", "g2", "10.00", "1"))  # fmt: skip
    post_sales(shop_a, "ret-1", (datetime(2026, 11, 4, 10), "card-1", "g1", "-40.00", "-1"))
    last = op(shop_a, "ПолучитьДанныеПоследнейПокупки")
    [row] = last("card-1", datetime(2026, 12, 1), "", "")
    # The return (negative sum) is not a purchase; the latest sale document is doc-2.
    assert (row["ДатаПокупки"], row["СуммаНакопления"], row["КоличествоНакопления"]) == (
        datetime(2026, 11, 3, 10), D("50.00"), D("3"),
    )  # fmt: skip
    [row] = last("card-1", datetime(2026, 12, 1), "", "doc-2")
    assert row["ДатаПокупки"] == datetime(2026, 11, 1, 10)
    [row] = last("card-1", datetime(2026, 11, 3, 10), "", "")  # strictly before
    assert row["СуммаНакопления"] == D("100.00")
    [row] = last("nobody", EMPTY, "", "")
    assert (row["ДатаПокупки"], row["СуммаНакопления"]) == (EMPTY, 0)


def bonus_table(client: Client, *rows: tuple[datetime, int, str, str | None, str | None]) -> Any:
    row_type = client.get_type("ns0:СтрокаТаблицыБонусов")
    table = client.get_type("ns0:ТаблицаБонусов")
    return table(
        СтрокиТаблицы=[
            row_type(Период=at, ВидДвижения=D(kind), ИдентификаторБонуснойПрограммы="prog-1",
                     ИдентификаторКарты=card, Начислено=D(acc) if acc else None,
                     КСписанию=D(wo) if wo else None)
            for at, kind, card, acc, wo in rows
        ]
    )  # fmt: skip


def test_bonus_accrual_write_off_future_rows_and_extended_balance(shop_a: Client) -> None:
    update = op(shop_a, "ОбновитьДанныеОБонусах")
    assert update("ЧекККМ", "doc-1", bonus_table(
        shop_a,
        (datetime(2026, 11, 1, 10), 0, "card-1", "100.00", None),  # accrued
        (datetime(2026, 11, 1, 10), 0, "card-1", None, "0"),
    )) is True  # fmt: skip
    update("ЧекККМ", "doc-2", bonus_table(
        shop_a,
        (datetime(2026, 11, 2, 10), 0, "card-1", None, "30.00"),  # to write off
        (datetime(2026, 12, 15, 0), 0, "card-1", "50.00", None),  # delayed activation
        (datetime(2027, 1, 1, 0), 0, "card-1", None, "20.00"),  # scheduled burning
    ))  # fmt: skip
    balance = op(shop_a, "ПолучитьОстатокБонусов")
    [row] = balance("card-1", datetime(2026, 11, 20))
    assert (row["ДатаОперации"], row["КоличествоБаллов"]) == (datetime(2026, 11, 20), D("70.00"))
    [row] = balance("card-1", datetime(2026, 11, 1, 10))  # the moment itself is excluded
    assert row["КоличествоБаллов"] == 0
    [row] = balance("card-1", datetime(2026, 12, 16))
    assert row["КоличествоБаллов"] == D("120.00")
    rows = op(shop_a, "ПолучитьОстатокБонусовРасширенный")("card-1", datetime(2026, 11, 20))
    assert [(r["ПредставлениеПериода"], r["КоличествоБаллов"], r["Изменение"],
             r["ТекущийОстаток"]) for r in rows] == [
        ("Сейчас", D("70.00"), 0, True),
        ("с 15.12.2026", D("120.00"), D("50.00"), False),
        ("с 01.01.2027", D("100.00"), D("-20.00"), False),
    ]  # fmt: skip
    # The stock client's default, the empty date: the current balance, future rows excluded.
    [row] = balance("card-1", EMPTY)
    assert row["КоличествоБаллов"] == D("70.00") and row["ДатаОперации"] > datetime(2026, 11, 2)
    [row] = balance("unknown-card", EMPTY)
    assert row["КоличествоБаллов"] == 0


def coupon_table(client: Client, *rows: tuple[datetime, str, str, str, datetime]) -> Any:
    row_type = client.get_type("ns0:СтрокаТаблицыКупонов")
    table = client.get_type("ns0:ТаблицаКупонов")
    return table(
        СтрокиТаблицы=[
            row_type(Период=at, ИдентификаторСкидки=discount, КодКупона=code, Состояние=state,
                     ИдентификаторМагазина="store-1", ПериодДействия=until)
            for at, discount, code, state, until in rows
        ]
    )  # fmt: skip


def test_coupon_issue_state_change_and_state_as_of_a_date(shop_a: Client) -> None:
    update = op(shop_a, "ОбновитьДанныеОКупонах")
    query = op(shop_a, "ПолучитьСкидкиПоКупону")
    update("ЧекККМ", "doc-1", coupon_table(
        shop_a,
        (datetime(2026, 11, 1), "disc-1", "C-777", "Активна", EMPTY),
        (datetime(2026, 11, 1), "disc-2", "C-777", "Активна", datetime(2026, 11, 10)),
    ))  # fmt: skip
    update("ЧекККМ", "doc-2", coupon_table(
        shop_a, (datetime(2026, 11, 5), "disc-1", "C-777", "Применена", EMPTY),
    ))  # fmt: skip

    def discounts(at: datetime) -> list[str]:
        return sorted(row["ИдентификаторСкидки"] for row in query("C-777", at) or [])

    assert discounts(datetime(2026, 11, 3)) == ["disc-1", "disc-2"]
    assert discounts(datetime(2026, 11, 6)) == ["disc-2"]  # disc-1 applied on the 5th
    assert discounts(datetime(2026, 11, 11)) == []  # disc-2 expired on the 10th
    # Unposting the document that applied it makes it active again; nil table is accepted.
    assert update("ЧекККМ", "doc-2", None) is True
    assert discounts(datetime(2026, 11, 6)) == ["disc-1", "disc-2"]
    assert discounts(datetime(2026, 10, 1)) == []


def test_the_coupon_registry_wins_where_a_code_is_in_both(shop_a: Client, engine: Engine) -> None:
    """A code of the coupon registry that cannot be used now is not answered active, whatever
    Розница's rows say; Розница's own codes and usable registry coupons are answered as stored."""
    now = datetime.now(UTC)
    with Session(engine) as session:
        tenant = session.scalars(select(Tenant).where(Tenant.code == "shop-a")).one()
        series = add_series(
            session, tenant, code="s", title="Купон", promotion=None, code_format_kind="numeric",
            code_length=8, author="t", now=now,
        )  # fmt: skip
        generate_coupons(session, series, 2, author="t", now=now)
        held, fresh = session.scalars(select(Coupon).order_by(Coupon.id)).all()
        issue_coupon(session, held, via="admin", customer=None, now=now)
        codes = (held.code, fresh.code)
        session.commit()
    update = op(shop_a, "ОбновитьДанныеОКупонах")
    rows = [(datetime(2026, 11, 1), "disc-1", code, "Активна", EMPTY) for code in (*codes, "R-1")]
    assert update("ЧекККМ", "doc-1", coupon_table(shop_a, *rows)) is True

    def active(code: str) -> bool:
        return bool(op(shop_a, "ПолучитьСкидкиПоКупону")(code, EMPTY))

    assert (active(codes[0]), active(codes[1]), active("R-1")) == (True, False, True)
    with Session(engine) as session:
        coupon = session.scalars(select(Coupon).where(Coupon.code == codes[0])).one()
        cancel_coupon(session, coupon, reason="Утерян", now=now)
        session.commit()
    assert active(codes[0]) is False


def test_rows_survive_an_app_restart(database_url: str, shops: dict[str, Shop]) -> None:
    with serve(database_url) as first:
        client = zeep_client(first, shops["a"])
        post_sales(client, "doc-1", (datetime(2026, 11, 1, 10), "card-1", "g1", "10.00", "1"))
    with serve(database_url) as second:
        assert accumulated(zeep_client(second, shops["a"]), "card-1") == (D("10.00"), D("1"))


def test_soap_12_port(server: str, shops: dict[str, Shop]) -> None:
    client = zeep_client(server, shops["a"])
    soap12 = zeep_client(server, shops["a"], port="ДисконтныйСерверSoap12")
    post_sales(client, "doc-1", (datetime(2026, 11, 1, 10), "card-1", "g1", "10.00", "1"))
    [row] = soap12.ПолучитьСуммуНакопления("card-1", EMPTY, EMPTY, "", "")
    assert row["СуммаНакопления"] == D("10.00")


def test_tenants_are_isolated(server: str, shops: dict[str, Shop]) -> None:
    a, b = zeep_client(server, shops["a"]), zeep_client(server, shops["b"])
    post_sales(a, "doc-1", (datetime(2026, 11, 1, 10), "card-1", "g1", "10.00", "1"))
    assert accumulated(b, "card-1") == (0, 0)
    post_sales(b, "doc-1", (datetime(2026, 11, 1, 10), "card-1", "g1", "7.00", "1"))
    assert accumulated(a, "card-1") == (D("10.00"), D("1"))
    assert accumulated(b, "card-1") == (D("7.00"), D("1"))


def test_segment_requests_are_logged_once_and_updates_are_logged(
    shop_a: Client, engine: Engine
) -> None:
    post_sales(shop_a, "doc-1", (datetime(2026, 11, 1, 10), "card-1", "g1", "10.00", "1"))
    accumulated(shop_a, "card-1", segment="seg-1")
    accumulated(shop_a, "card-1", segment="seg-1")
    with Session(engine) as session:
        entries = session.scalars(select(SyncLogEntry).order_by(SyncLogEntry.id)).all()
    assert [(e.operation, e.level, e.document_id) for e in entries] == [
        ("ОбновитьДанныеОПродажах", "info", "doc-1"), ("segment", "warning", "seg-1"),
    ]  # fmt: skip
    assert entries[0].counts == {"rows": 1} and entries[0].document_type == "ЧекККМ"


def test_tariff_without_bonus_answers_empty_bonus_results(
    server: str, shops: dict[str, Shop], engine: Engine
) -> None:
    with Session(engine) as session:
        tenant = session.scalars(select(Tenant).where(Tenant.code == shops["a"].tenant)).one()
        tenant.features = ["discount_server"]
        session.commit()
    client = zeep_client(server, shops["a"])
    assert not op(client, "ПолучитьОстатокБонусов")("card-1", EMPTY)
    assert not op(client, "ПолучитьОстатокБонусовРасширенный")("card-1", EMPTY)
    assert accumulated(client, "card-1") == (0, 0)  # sums still work
    with Session(engine) as session:
        tenant = session.scalars(select(Tenant).where(Tenant.code == shops["a"].tenant)).one()
        tenant.features = ["bonus"]
        session.commit()
    response = requests.get(
        f"{server}/soap/{shops['a'].tenant}/discount-server?wsdl",
        auth=(shops["a"].user, shops["a"].password),
    )
    assert response.status_code == 403 and b"DISCOUNT_SERVER_NOT_IN_TARIFF" in response.content
