"""1C's "exchange with website" over HTTP: the protocol's answers, sessions, uploads and the
import of every CommerceML fixture into the catalog (embedded: the job runs inside
``mode=import``)."""

from __future__ import annotations

import base64
import io
import zipfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from processing.catalog.models import Brand, Goods, GoodsBarcode, GoodsGroup, PriceType
from processing.catalog.service import upsert_goods
from processing.tenants.credentials import set_credentials
from processing.tenants.models import LegalEntity, Store, Tenant
from sync.models import ExchangeChunk, ExchangeFile, SyncLogEntry, SyncRun
from tests.connector.onec_http.world import World

FIXTURES = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures" / "commerceml"
USER, PASSWORD = "site-exchange", "Exch-pass-1"
BASE = "/exchange/acme/1c"


def basic(user: str = USER, password: str = PASSWORD) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
def exchange_login(session: Session, world: World) -> Tenant:
    tenant = session.get_one(Tenant, world.tenant_id)
    set_credentials(session, tenant, "exchange", USER, PASSWORD, now=datetime.now(UTC))
    session.commit()
    return tenant


def call(
    client: FlaskClient, query: str, *, body: bytes | None = None, base: str = BASE, **kw: object
) -> list[str]:
    method = client.post if body is not None else client.get
    response = method(f"{base}?{query}", data=body, **kw)  # type: ignore[arg-type]
    assert response.status_code == 200, response.data
    assert response.mimetype == "text/plain"
    return response.get_data(as_text=True).split("\n")


class Exchange:
    """1C's side: checkauth, then the cookie on every call."""

    def __init__(self, client: FlaskClient, kind: str = "catalog", base: str = BASE) -> None:
        self.client, self.kind, self.base = client, kind, base
        lines = call(client, f"type={kind}&mode=checkauth", headers=basic(), base=base)
        assert lines[0] == "success"
        self.cookie = lines[2]
        client.set_cookie(lines[1], lines[2])

    def __call__(self, mode: str, extra: str = "", body: bytes | None = None) -> list[str]:
        return call(self.client, f"type={self.kind}&mode={mode}{extra}", body=body, base=self.base)

    def upload(self, name: str, data: bytes, pieces: int = 1) -> None:
        step = max(1, -(-len(data) // pieces))
        for start in range(0, len(data), step):
            assert self("file", f"&filename={name}", data[start : start + step]) == ["success"]


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_checkauth_init_answer_the_protocol(client: FlaskClient, exchange_login: Tenant) -> None:
    lines = call(client, "type=catalog&mode=checkauth", headers=basic())
    assert lines[:2] == ["success", "loyalty_exchange"]
    assert len(lines[2]) >= 40 and lines[3] == f"sessid={lines[2]}"
    client.set_cookie("loyalty_exchange", lines[2])
    init = call(client, "type=catalog&mode=init")
    assert init[0] == "zip=yes" and init[1].startswith("file_limit=")
    assert int(init[1].split("=")[1]) > 0


def test_the_official_sample_imports_into_the_catalog(
    client: FlaskClient, exchange_login: Tenant, session: Session
) -> None:
    one_c = Exchange(client)
    one_c("init")
    one_c.upload("import.xml", fixture("import-2.03-official-sample.xml"), pieces=3)
    one_c.upload("offers.xml", fixture("offers-2.03-official-sample.xml"))
    assert one_c("import", "&filename=import.xml") == ["success"]
    assert one_c("import", "&filename=offers.xml") == ["success"]
    assert one_c("complete") == ["success"]
    tenant = exchange_login
    session.expire_all()
    goods = goods_of(session, tenant)
    assert len(goods) == 4
    table = goods["05e26d70-01e4-11dc-a411-00055d80a2d1#05e26d76-01e4-11dc-a411-00055d80a2d1"]
    assert (table.name, table.unit) == ("Стол обеденный", "шт")
    assert table.requisites["ВидНоменклатуры"] == "Товар"
    assert table.price_categories["bd72d8fc-55bc-11d9-848a-00112f43529a"] == "4.00"
    runs = session.scalars(select(SyncRun).order_by(SyncRun.id)).all()
    assert [(run.status, run.progress, run.kind) for run in runs] == [
        ("done", 100, "catalog"),
        ("done", 100, "offers"),
    ]
    assert runs[0].counts.get("created", 0) > 0
    prices = session.scalars(select(PriceType).where(PriceType.tenant_id == tenant.id)).all()
    assert prices
    assert sum(1 for g in goods.values() if g.price_categories) == 2
    groups = session.scalar(
        select(func.count()).select_from(GoodsGroup).where(GoodsGroup.tenant_id == tenant.id)
    )
    assert groups


def test_a_zip_upload_is_imported_by_its_members_names(
    client: FlaskClient, exchange_login: Tenant, session: Session
) -> None:
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("import.xml", fixture("import-2.03-official-sample.xml"))
        archive.writestr("offers.xml", fixture("offers-2.03-official-sample.xml"))
        archive.writestr("import_files/ab/picture.jpg", b"\xff\xd8\xff" + b"0" * 100)
    one_c = Exchange(client)
    one_c("init")
    one_c.upload("import.zip", packed.getvalue(), pieces=3)
    assert one_c("import", "&filename=import.xml") == ["success"]
    assert one_c("import", "&filename=offers.xml") == ["success"]
    assert session.scalar(select(func.count()).select_from(Goods)) == 4


def test_wrong_password_is_a_failure_and_stores_nothing(
    client: FlaskClient, exchange_login: Tenant, session: Session
) -> None:
    lines = call(client, "type=catalog&mode=checkauth", headers=basic(password="wrong-pass"))
    assert lines[0] == "failure" and "логин или пароль" in lines[1]
    response = client.get(f"{BASE}?type=catalog&mode=checkauth")
    assert response.status_code == 401
    assert response.get_data(as_text=True).startswith("failure\n")
    assert session.scalar(select(func.count()).select_from(ExchangeFile)) == 0


def test_a_file_without_init_or_session_is_refused(
    client: FlaskClient, exchange_login: Tenant, session: Session
) -> None:
    one_c = Exchange(client)
    lines = one_c("file", "&filename=import.xml", b"<x/>")
    assert lines[0] == "failure" and "init" in lines[1]
    client.delete_cookie("loyalty_exchange")
    response = client.post(f"{BASE}?type=catalog&mode=file&filename=import.xml", data=b"<x/>")
    assert response.status_code == 401
    assert response.get_data(as_text=True).startswith("failure\n")
    lines = call(client, "type=catalog&mode=file&filename=import.xml&sessid=forged", body=b"<x/>")
    assert lines[0] == "failure"
    assert session.scalar(select(func.count()).select_from(ExchangeChunk)) == 0


@pytest.mark.parametrize("name", ["../etc/passwd.xml", "/abs.xml", "C:\\x.xml", "a/../../b.xml"])
def test_unsafe_file_names_are_refused(
    client: FlaskClient, exchange_login: Tenant, session: Session, name: str
) -> None:
    one_c = Exchange(client)
    one_c("init")
    lines = one_c("file", f"&filename={name}", b"<x/>")
    assert lines[0] == "failure"
    assert session.scalar(select(func.count()).select_from(ExchangeFile)) == 0


def test_sale_answers_keep_1c_exchange_going(client: FlaskClient, exchange_login: Tenant) -> None:
    one_c = Exchange(client, "sale")
    assert one_c("init")[0] == "zip=yes"
    response = client.get(f"{BASE}?type=sale&mode=query")
    assert response.status_code == 200
    assert b"\xd0\x9a\xd0\xbe\xd0\xbc" in response.data  # КоммерческаяИнформация, UTF-8
    assert one_c("success") == ["success"]
    assert one_c("file", "&filename=orders.xml", b"<x/>") == ["success"]


def test_answers_in_windows_1251_when_asked(client: FlaskClient, exchange_login: Tenant) -> None:
    headers = {**basic("x", "y"), "Accept-Charset": "windows-1251"}
    response = client.get(f"{BASE}?type=catalog&mode=checkauth", headers=headers)
    assert response.mimetype_params["charset"] == "windows-1251"
    assert response.data.decode("cp1251").startswith("failure\nНеверный")


BOOTS = "bd72d910-55bc-11d9-848a-00112f43529a"
BOOTS_38 = f"{BOOTS}#90c55447-d3a8-11e4-9423-e0cb4ed5eed4"
SHOES = "e5a4c309-a659-11dd-acee-0015e9b8c48d"
RETAIL = "bb14a3a4-6b17-11e0-9819-e0cb4ed5eed4"
SHOE_SHOP = "b6112590-41ba-11dd-ac9d-0015e9b8c48d"


def goods_of(session: Session, tenant: Tenant) -> dict[str, Goods]:
    rows = session.scalars(select(Goods).where(Goods.tenant_id == tenant.id))
    return {row.external_id: row for row in rows}


def test_classifier_then_offers_with_characteristics_and_warehouses(
    client: FlaskClient, exchange_login: Tenant, session: Session
) -> None:
    tenant = exchange_login
    one_c = Exchange(client)
    one_c("init")
    one_c.upload("import0_1.xml", fixture("import-classifier-2.07.xml"))
    one_c.upload("offers0_1.xml", fixture("offers-characteristics-2.07.xml"), pieces=2)
    assert one_c("import", "&filename=import0_1.xml") == ["success"]
    assert one_c("import", "&filename=offers0_1.xml") == ["success"]
    session.expire_all()
    groups = session.scalars(select(GoodsGroup).where(GoodsGroup.tenant_id == tenant.id)).all()
    assert len(groups) == 22
    goods = goods_of(session, tenant)
    boots = goods[BOOTS]
    assert boots.name == "Женские ботфорты коричневые" and boots.article == "Б-130001"
    assert {g.id: g.external_id for g in groups}[boots.group_id] == SHOES
    barcodes = select(GoodsBarcode.barcode).where(GoodsBarcode.goods_id == boots.id)
    assert list(session.scalars(barcodes)) == ["2000018987155"]
    # A reference property is stored by its value's text; requisites by their names.
    assert boots.properties["bb14a4b8-6b17-11e0-9819-e0cb4ed5eed4"] == "Обувной комбинат"
    assert boots.requisites["ВидНоменклатуры"] == "Обувь"
    # Five characteristics, each a goods item of its own, grouped as its goods.
    sizes = {key: row for key, row in goods.items() if "#" in key}
    assert len(sizes) == 5 and len(goods) == 7
    size_38 = sizes[BOOTS_38]
    assert size_38.name == "Женские ботфорты коричневые (38)"
    assert size_38.group_id == boots.group_id
    assert size_38.price_categories == {RETAIL: "1719.00"}
    assert size_38.stock == Decimal("20.000")
    store = session.scalars(select(Store).where(Store.warehouse_id == SHOE_SHOP)).one()
    assert store.name == 'Магазин "Обувь"' and store.active
    assert size_38.warehouse_stock == {SHOE_SHOP: "20.000"}
    price_types = select(PriceType.name).where(PriceType.tenant_id == tenant.id)
    assert session.scalars(price_types).all() == ["Розничная"]
    entity = session.scalars(select(LegalEntity).where(LegalEntity.tenant_id == tenant.id)).one()
    assert (entity.name, entity.kpp) == ("Cтройснаб", "772301001")
    runs = session.scalars(select(SyncRun).order_by(SyncRun.id)).all()
    assert [r.status for r in runs] == ["done", "done"]
    assert runs[0].counts["created"] == 22 + 2  # groups and goods
    assert runs[1].counts["created"] == 5


def test_the_same_package_twice_leaves_the_same_rows(
    client: FlaskClient, exchange_login: Tenant, session: Session
) -> None:
    def snapshot() -> list[tuple[object, ...]]:
        session.expire_all()
        return sorted(
            (g.external_id, g.name, g.group_id, tuple(sorted(g.price_categories.items())), g.stock,
             g.deleted)
            for g in goods_of(session, exchange_login).values()
        )  # fmt: skip

    rounds = []
    for _ in range(2):
        one_c = Exchange(client)
        one_c("init")
        one_c.upload("import.xml", fixture("import-classifier-2.07.xml"))
        one_c.upload("offers.xml", fixture("offers-characteristics-2.07.xml"))
        assert one_c("import", "&filename=import.xml") == ["success"]
        assert one_c("import", "&filename=offers.xml") == ["success"]
        rounds.append(snapshot())
    assert rounds[0] == rounds[1] and len(rounds[0]) == 7
    runs = session.scalars(select(SyncRun).order_by(SyncRun.id)).all()
    assert runs[2].counts.get("created", 0) == 0 and runs[2].counts["unchanged"] == 24


def test_a_full_export_marks_missing_goods_deleted(
    client: FlaskClient, exchange_login: Tenant, session: Session
) -> None:
    one_c = Exchange(client)
    one_c("init")
    one_c.upload("import.xml", fixture("import-classifier-2.07.xml"))
    one_c.upload("offers.xml", fixture("offers-characteristics-2.07.xml"))
    assert one_c("import", "&filename=import.xml") == ["success"]
    assert one_c("import", "&filename=offers.xml") == ["success"]
    # The official sample is a full export (СодержитТолькоИзменения="false") of other goods.
    one_c.upload("import.xml", fixture("import-2.03-official-sample.xml"))
    assert one_c("import", "&filename=import.xml") == ["success"]
    session.expire_all()
    goods = goods_of(session, exchange_login)
    assert goods[BOOTS].deleted and goods[BOOTS_38].deleted
    official = [row for key, row in goods.items() if key.startswith("05e26d")]
    assert official and not any(row.deleted for row in official)


def test_prices_for_goods_never_uploaded_are_logged_and_skipped(
    client: FlaskClient, exchange_login: Tenant, session: Session
) -> None:
    one_c = Exchange(client)
    one_c("init")
    one_c.upload("prices0_1.xml", fixture("prices-cml3.1.xml"))
    assert one_c("import", "&filename=prices0_1.xml") == ["success"]
    run = session.scalars(select(SyncRun)).one()
    assert run.kind == "offers" and run.counts["skipped"] == 86
    assert run.error_count == 86 and len(run.errors) == 86
    assert run.errors[0]["path"] == "Предложение" and "#" in run.errors[0]["id"]
    assert session.scalar(select(func.count()).select_from(Goods)) == 0


@pytest.mark.parametrize(
    "name", ["orders-2.03-official-sample.xml", "orders-query-response-2.05-cp1251.xml"]
)
def test_orders_documents_import_as_nothing(
    client: FlaskClient, exchange_login: Tenant, session: Session, name: str
) -> None:
    one_c = Exchange(client)
    one_c("init")
    one_c.upload("orders.xml", fixture(name))
    assert one_c("import", "&filename=orders.xml") == ["success"]
    run = session.scalars(select(SyncRun)).one()
    assert (run.status, run.kind, run.error_count) == ("done", "other", 0)
    assert session.scalar(select(func.count()).select_from(Goods)) == 0


def test_warehouses_over_the_store_limit_become_inactive_stores(
    client: FlaskClient, exchange_login: Tenant, session: Session
) -> None:
    tenant = exchange_login
    active = session.scalar(
        select(func.count()).select_from(Store).where(Store.tenant_id == tenant.id)
    )
    tenant.max_stores = active + 2
    session.commit()
    one_c = Exchange(client)
    one_c("init")
    one_c.upload("offers.xml", fixture("offers-characteristics-2.07.xml"))
    assert one_c("import", "&filename=offers.xml") == ["success"]
    session.expire_all()
    mirrored = session.scalars(
        select(Store).where(Store.tenant_id == tenant.id, Store.warehouse_id.is_not(None))
    ).all()
    assert len(mirrored) == 5
    assert sorted(store.active for store in mirrored) == [False, False, False, True, True]
    run = session.scalars(select(SyncRun)).one()
    assert len([w for w in run.warnings if "неактивным" in w]) == 3
    # The same warehouses again: nothing new, the inactive ones stay inactive.
    one_c.upload("offers.xml", fixture("offers-characteristics-2.07.xml"))
    assert one_c("import", "&filename=offers.xml") == ["success"]
    count = select(func.count()).select_from(Store).where(Store.tenant_id == tenant.id)
    assert session.scalar(count) == active + 5


def test_an_identical_reupload_in_the_session_is_skipped_the_next_exchange_is_not(
    client: FlaskClient, exchange_login: Tenant, session: Session
) -> None:
    one_c = Exchange(client)
    one_c("init")
    for _ in range(2):
        one_c.upload("import.xml", fixture("import-classifier-2.07.xml"))
        assert one_c("import", "&filename=import.xml") == ["success"]
    again = Exchange(client)
    again("init")
    again.upload("import.xml", fixture("import-classifier-2.07.xml"))
    assert again("import", "&filename=import.xml") == ["success"]
    runs = session.scalars(select(SyncRun).order_by(SyncRun.id)).all()
    assert [run.counts.get("skipped", 0) for run in runs] == [0, 1, 0]
    assert "уже загружен" in runs[1].warnings[0]
    assert runs[2].counts["unchanged"] == 24
    assert len({run.sha256 for run in runs}) == 1


def test_an_interrupted_upload_never_leaks_into_the_next_exchange(
    client: FlaskClient, exchange_login: Tenant, session: Session
) -> None:
    data = fixture("import-classifier-2.07.xml")
    broken = Exchange(client)
    broken("init")
    broken.upload("import.xml", data[: len(data) // 3])  # the connection dropped here
    one_c = Exchange(client)
    one_c("init")
    one_c.upload("import.xml", data, pieces=3)
    assert one_c("import", "&filename=import.xml") == ["success"]
    run = session.scalars(select(SyncRun)).one()
    assert (run.status, run.counts["created"]) == ("done", 24)


def test_another_tenants_session_cookie_reaches_nothing(
    client: FlaskClient, exchange_login: Tenant, session: Session, other: World
) -> None:
    other_tenant = session.get_one(Tenant, other.tenant_id)
    set_credentials(
        session, other_tenant, "exchange", "other-site", "Other-pass-1", now=datetime.now(UTC)
    )
    session.commit()
    theirs = call(
        client, "type=catalog&mode=checkauth", headers=basic("other-site", "Other-pass-1")
    )
    # Wrong tenant in the URL for those credentials: refused.
    assert theirs[0] == "failure"
    response = client.get(
        f"/exchange/{other_tenant.code}/1c?type=catalog&mode=checkauth",
        headers=basic("other-site", "Other-pass-1"),
    )
    cookie = response.get_data(as_text=True).split("\n")[2]
    client.set_cookie("loyalty_exchange", cookie)
    assert call(client, "type=catalog&mode=init")[0] == "failure"  # acme's URL, their cookie
    lines = call(
        client, f"type=catalog&mode=file&filename=import.xml&sessid={cookie}", body=b"<x/>"
    )
    assert lines[0] == "failure"
    assert session.scalar(select(func.count()).select_from(ExchangeChunk)) == 0


def test_a_killed_import_resumes_from_its_checkpoint(
    client: FlaskClient,
    exchange_login: Tenant,
    session: Session,
    other: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The job dies after its first batch; the next poll after the lease ran out starts it
    again, and the catalog ends equal to an uninterrupted import's (into another tenant)."""
    from sync import commerceml

    monkeypatch.setattr(commerceml, "BATCH", 3)
    real_flush = commerceml._flush
    flushes = []

    def dying_flush(*args: object, **kwargs: object) -> None:
        flushes.append(1)
        if len(flushes) == 2:
            raise KeyboardInterrupt  # not an Exception: like SIGKILL, nothing is recorded
        real_flush(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(commerceml, "_flush", dying_flush)
    one_c = Exchange(client)
    one_c("init")
    one_c.upload("import.xml", fixture("import-classifier-2.07.xml"))
    with pytest.raises(KeyboardInterrupt):
        one_c("import", "&filename=import.xml")
    run = session.scalars(select(SyncRun)).one()
    session.refresh(run)
    assert run.status == "running" and run.checkpoint > 0
    assert one_c("import", "&filename=import.xml")[0] == "progress"  # the lease still holds
    run.lease_until = datetime.now(UTC)
    session.commit()
    assert one_c("import", "&filename=import.xml") == ["success"]
    monkeypatch.setattr(commerceml, "_flush", real_flush)
    other_tenant = session.get_one(Tenant, other.tenant_id)
    set_credentials(session, other_tenant, "exchange", USER, PASSWORD, now=datetime.now(UTC))
    session.commit()
    clean = Exchange(client, base=f"/exchange/{other_tenant.code}/1c")
    clean("init")
    clean.upload("import.xml", fixture("import-classifier-2.07.xml"))
    assert clean("import", "&filename=import.xml") == ["success"]

    def catalog(tenant_id: int) -> list[tuple[object, ...]]:
        session.expire_all()
        rows = session.execute(
            select(Goods.external_id, Goods.name, Goods.properties, GoodsGroup.external_id)
            .outerjoin(GoodsGroup, GoodsGroup.id == Goods.group_id)
            .where(Goods.tenant_id == tenant_id)
        )
        groups = session.execute(
            select(GoodsGroup.external_id, GoodsGroup.name).where(GoodsGroup.tenant_id == tenant_id)
        )
        return sorted(map(tuple, rows)) + sorted(map(tuple, groups))

    assert catalog(exchange_login.id) == catalog(other.tenant_id)
    runs = session.scalars(select(SyncRun).order_by(SyncRun.id)).all()
    assert runs[0].counts == runs[1].counts


XXE = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">
<!ENTITY lol "lollollollollollollollollollollollollollollollollollol">
<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_2" ВерсияСхемы="2.08">
<Каталог СодержитТолькоИзменения="true"><Ид>c</Ид><Товары>
<Товар><Ид>9e8f7a6b-0b7d-11ef-9a3c-00155d012b01</Ид>
<Наименование>Сыр &secret;&lol2;</Наименование></Товар>
</Товары></Каталог></КоммерческаяИнформация>""".encode()


def test_a_file_with_entities_fails_the_import_and_changes_nothing(
    client: FlaskClient, exchange_login: Tenant, session: Session
) -> None:
    one_c = Exchange(client)
    one_c("init")
    one_c.upload("import.xml", XXE)
    lines = one_c("import", "&filename=import.xml")
    assert lines[0] == "failure" and "DOCTYPE" in lines[1]
    assert session.scalar(select(func.count()).select_from(Goods)) == 0
    run = session.scalars(select(SyncRun)).one()
    assert run.status == "failed" and run.message == lines[1]


NAN_STOCK = """<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_2" ВерсияСхемы="2.08">
<ПакетПредложений СодержитТолькоИзменения="true"><Ид>p</Ид><Предложения>
<Предложение><Ид>9e8f7a6b-0b7d-11ef-9a3c-00155d012b01</Ид>
<Цены><Цена><ИдТипаЦены>r</ИдТипаЦены><ЦенаЗаЕдиницу>10</ЦенаЗаЕдиницу></Цена></Цены>
<Количество>NaN</Количество></Предложение>
</Предложения></ПакетПредложений></КоммерческаяИнформация>""".encode()


def test_a_quantity_that_is_not_a_number_is_logged_and_the_offer_left_out(
    client: FlaskClient, exchange_login: Tenant, session: Session
) -> None:
    upsert_goods(
        session, exchange_login,
        [{"external_id": "9e8f7a6b-0b7d-11ef-9a3c-00155d012b01", "name": "Сыр", "stock": 3}],
        now=datetime.now(UTC),
    )  # fmt: skip
    session.commit()
    one_c = Exchange(client)
    one_c("init")
    one_c.upload("offers.xml", NAN_STOCK)
    assert one_c("import", "&filename=offers.xml") == ["success"]
    run = session.scalars(select(SyncRun)).one()
    assert run.error_count == 1 and run.errors[0]["id"] == "9e8f7a6b-0b7d-11ef-9a3c-00155d012b01"
    assert "количество" in run.errors[0]["message"]
    session.expire_all()
    goods = session.scalars(select(Goods)).one()
    assert (goods.stock, goods.price_categories) == (Decimal("3.000"), {})


def test_a_zip_bomb_fails_the_import_and_changes_nothing(
    client: FlaskClient, exchange_login: Tenant, session: Session
) -> None:
    packed = io.BytesIO()
    with (
        zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("import.xml", "w", force_zip64=True) as member,
    ):
        member.write(b"<?xml version='1.0'?><x>")
        for _ in range(64):
            member.write(b" " * (1024 * 1024))
    one_c = Exchange(client)
    one_c("init")
    one_c.upload("import.zip", packed.getvalue())
    lines = one_c("import", "&filename=import.xml")
    assert lines[0] == "failure" and "Архив" in lines[1]
    assert session.scalar(select(func.count()).select_from(Goods)) == 0
    run = session.scalars(select(SyncRun)).one()  # support sees the refusal in the sync log
    assert (run.status, run.file_name, run.message) == ("failed", "import.xml", lines[1])


def test_an_upload_over_the_file_limit_is_refused(
    client: FlaskClient, exchange_login: Tenant, session: Session, runtime: object
) -> None:
    from dataclasses import replace

    settings = runtime.settings  # type: ignore[attr-defined]
    runtime.settings = replace(settings, exchange_max_file_bytes=4096)  # type: ignore[attr-defined]
    one_c = Exchange(client)
    one_c("init")
    one_c.upload("import.xml", b"<a>" + b" " * 2000)
    lines = one_c("file", "&filename=import.xml", b" " * 3000)
    assert lines[0] == "failure" and "больше допустимого" in lines[1]
    stored = session.scalars(select(ExchangeFile)).one()
    assert stored.size == 2003  # the refused part left nothing behind
    assert session.scalar(select(func.count()).select_from(ExchangeChunk)) == 1


def test_each_import_ends_with_a_line_in_the_sync_log(
    client: FlaskClient, exchange_login: Tenant, session: Session
) -> None:
    one_c = Exchange(client)
    one_c("init")
    one_c.upload("prices.xml", fixture("prices-cml3.1.xml"))
    one_c("import", "&filename=prices.xml")
    run = session.scalars(select(SyncRun)).one()
    entry = session.scalars(select(SyncLogEntry).where(SyncLogEntry.run_id == run.id)).one()
    assert (entry.exchange, entry.level, entry.document_type) == ("commerceml", "warning", "offers")
    assert entry.message.startswith("Файл prices.xml загружен") and "errors 86" in entry.message


def zipped(name: str, data: bytes) -> bytes:
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return packed.getvalue()


def test_each_zip_of_a_session_is_imported_by_basic_alone(
    client: FlaskClient, exchange_login: Tenant, session: Session
) -> None:
    """A sender that never keeps the cookie: Basic on every call, the session continued."""
    for source in ("import-2.03-official-sample.xml", "import-classifier-2.07.xml"):
        init = call(client, "type=catalog&mode=init", headers=basic())
        assert init[0] == "zip=yes"
        client.delete_cookie("loyalty_exchange")
        body = zipped("import.xml", fixture(source))
        assert call(
            client, "type=catalog&mode=file&filename=import.zip", body=body, headers=basic()
        ) == ["success"]
        assert call(client, "type=catalog&mode=import&filename=import.xml", headers=basic()) == [
            "success"
        ]
    runs = session.scalars(select(SyncRun).order_by(SyncRun.id)).all()
    assert [(run.status, run.counts.get("created", 0) > 0) for run in runs] == [
        ("done", True), ("done", True),
    ]  # fmt: skip
    assert len({run.session_id for run in runs}) == 1 and runs[0].file_id != runs[1].file_id
    assert goods_of(session, exchange_login)[BOOTS].name == "Женские ботфорты коричневые"


MAKER = """<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_2" ВерсияСхемы="2.10">
<Каталог СодержитТолькоИзменения="true"><Ид>c</Ид><Товары>
<Товар><Ид>9e8f7a6b-0b7d-11ef-9a3c-00155d012b01</Ид><Наименование>Сыр Российский</Наименование>
<Изготовитель><Ид>7c41d2b0-0b7d-11ef-9a3c-00155d012a10</Ид>
<Наименование>Молочный комбинат</Наименование></Изготовитель></Товар>
<Товар><Ид>9e8f7a6b-0b7d-11ef-9a3c-00155d012b02</Ид><Наименование>Сыр без Ид</Наименование>
<Изготовитель><Наименование>Ферма</Наименование></Изготовитель></Товар>
<Товар><Наименование>Товар без Ид</Наименование></Товар>
</Товары></Каталог></КоммерческаяИнформация>""".encode()


def test_makers_become_brands_and_a_goods_without_id_is_logged(
    client: FlaskClient, exchange_login: Tenant, session: Session
) -> None:
    one_c = Exchange(client)
    one_c("init")
    one_c.upload("import.xml", MAKER)
    assert one_c("import", "&filename=import.xml") == ["success"]
    goods = goods_of(session, exchange_login)
    cheese = goods["9e8f7a6b-0b7d-11ef-9a3c-00155d012b01"]
    brand = session.get_one(Brand, cheese.brand_id)
    assert (brand.external_id, brand.name) == (
        "7c41d2b0-0b7d-11ef-9a3c-00155d012a10", "Молочный комбинат",
    )  # fmt: skip
    farm = goods["9e8f7a6b-0b7d-11ef-9a3c-00155d012b02"]
    assert farm.brand_id is None and farm.requisites["Изготовитель"] == "Ферма"
    run = session.scalars(select(SyncRun)).one()
    assert run.status == "done" and run.error_count == 1
    assert run.errors[0]["path"].endswith("Товары/Товар") and run.errors[0]["id"] == ""


def test_a_zip_slip_archive_is_refused_and_changes_nothing(
    client: FlaskClient, exchange_login: Tenant, session: Session
) -> None:
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as archive:
        archive.writestr("import.xml", fixture("import-classifier-2.07.xml"))
        archive.writestr("../../etc/cron.d/evil.xml", b"<x/>")
    one_c = Exchange(client)
    one_c("init")
    one_c.upload("import.zip", packed.getvalue())
    lines = one_c("import", "&filename=import.xml")
    assert lines[0] == "failure" and "недопустимое имя" in lines[1]
    assert session.scalar(select(func.count()).select_from(Goods)) == 0


def test_prices_of_characteristics_apply_to_the_goods_uploaded_before(
    client: FlaskClient, exchange_login: Tenant, session: Session
) -> None:
    """CommerceML 3.1's prices file alone: characteristics of goods the catalog holds become
    goods of their own with their prices; the others are logged."""
    upsert_goods(
        session, exchange_login,
        [{"external_id": "235ccc6d-ab81-11e4-944a-00155d020201", "name": "Куртка"}],
        now=datetime.now(UTC),
    )  # fmt: skip
    session.commit()
    one_c = Exchange(client)
    one_c("init")
    one_c.upload("prices0_1.xml", fixture("prices-cml3.1.xml"))
    assert one_c("import", "&filename=prices0_1.xml") == ["success"]
    goods = goods_of(session, exchange_login)
    size = goods["235ccc6d-ab81-11e4-944a-00155d020201#a5abd77f-93f6-11e5-9468-00155d020201"]
    assert size.name == "Куртка"
    assert size.price_categories == {"aef2c177-1862-11de-9d9d-001a4d4b12d9": "2042.66"}
    run = session.scalars(select(SyncRun)).one()
    created = run.counts["created"]
    assert created == len(goods) - 1 and created + run.counts["skipped"] == 86


PLAIN_OFFER = """<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_2" ВерсияСхемы="2.08">
<ПакетПредложений СодержитТолькоИзменения="true"><Ид>p</Ид><Предложения>
<Предложение><Ид>9e8f7a6b-0b7d-11ef-9a3c-00155d012b09</Ид>
<Цены><Цена><ИдТипаЦены>r</ИдТипаЦены><ЦенаЗаЕдиницу>10</ЦенаЗаЕдиницу></Цена></Цены>
</Предложение></Предложения></ПакетПредложений></КоммерческаяИнформация>""".encode()


def test_an_offer_of_goods_never_uploaded_is_logged(
    client: FlaskClient, exchange_login: Tenant, session: Session
) -> None:
    one_c = Exchange(client)
    one_c("init")
    one_c.upload("offers.xml", PLAIN_OFFER)
    assert one_c("import", "&filename=offers.xml") == ["success"]
    run = session.scalars(select(SyncRun)).one()
    assert run.error_count == 1 and run.errors[0]["id"] == "9e8f7a6b-0b7d-11ef-9a3c-00155d012b09"
    assert "выгрузите сначала каталог" in run.errors[0]["message"]
    assert session.scalar(select(func.count()).select_from(Goods)) == 0


def test_a_run_whose_job_keeps_dying_fails_with_a_reason(
    client: FlaskClient,
    exchange_login: Tenant,
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sync import commerceml

    def lost(run_id: int, file_id: int, worker: str | None = None) -> None:
        """A job that never reports back (its worker is killed every time)."""

    monkeypatch.setattr(commerceml, "import_run", lost)
    one_c = Exchange(client)
    one_c("init")
    one_c.upload("import.xml", fixture("import-classifier-2.07.xml"))
    assert one_c("import", "&filename=import.xml")[0] == "progress"
    run = session.scalars(select(SyncRun)).one()
    for attempt in range(commerceml.MAX_RESTARTS + 1):
        run.lease_until = datetime.now(UTC)  # the lease ran out: the job is lost
        session.commit()
        lines = one_c("import", "&filename=import.xml")
        session.refresh(run)
        if attempt < commerceml.MAX_RESTARTS:
            assert (lines[0], run.restarts) == ("progress", attempt + 1)
    assert lines[0] == "failure" and "прерывалась" in lines[1]
    assert run.status == "failed" and run.message == lines[1]


def test_a_file_that_is_not_xml_fails_at_once_with_where(
    client: FlaskClient, exchange_login: Tenant, session: Session
) -> None:
    data = fixture("import-classifier-2.07.xml")
    one_c = Exchange(client)
    one_c("init")
    one_c.upload("import.xml", data[:-60])  # cut off: not well-formed
    lines = one_c("import", "&filename=import.xml")
    assert lines[0] == "failure" and "не является корректным XML (строка" in lines[1]
    run = session.scalars(select(SyncRun)).one()
    assert (run.status, run.message) == ("failed", lines[1])


NOT_A_PRICE = """<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_2" ВерсияСхемы="2.08">
<ПакетПредложений СодержитТолькоИзменения="true"><Ид>p</Ид><Предложения>
<Предложение><Ид>bd72d910-55bc-11d9-848a-00112f43529a</Ид>
<Цены><Цена><ИдТипаЦены>r</ИдТипаЦены><ЦенаЗаЕдиницу>NaN</ЦенаЗаЕдиницу></Цена></Цены>
</Предложение></Предложения></ПакетПредложений></КоммерческаяИнформация>""".encode()


def test_a_price_that_is_not_a_number_is_logged_not_dropped(
    client: FlaskClient, exchange_login: Tenant, session: Session
) -> None:
    one_c = Exchange(client)
    one_c("init")
    one_c.upload("import.xml", fixture("import-classifier-2.07.xml"))
    one_c.upload("offers.xml", NOT_A_PRICE)
    assert one_c("import", "&filename=import.xml") == ["success"]
    assert one_c("import", "&filename=offers.xml") == ["success"]
    run = session.scalars(select(SyncRun).order_by(SyncRun.id.desc())).first()
    assert run is not None and run.error_count == 1
    assert run.errors[0]["id"] == BOOTS and "цена" in run.errors[0]["message"]
    assert goods_of(session, exchange_login)[BOOTS].price_categories == {}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/exchange/acme/1c?type=catalog%00&mode=checkauth"),
        ("GET", "/exchange/acme/1c?type=catalog&mode=import&filename=import.xml%00.jpg"),
        ("PUT", "/exchange/acme/1c?type=catalog&mode=checkauth"),
        ("GET", "/exchange/acme/1c/x?type=catalog&mode=checkauth"),
        ("GET", "/exchange/"),
        ("GET", "/exchange/ac%00me/1c?type=catalog&mode=checkauth"),
    ],
)
def test_every_refusal_under_exchange_is_the_protocols_text(
    client: FlaskClient, exchange_login: Tenant, session: Session, method: str, path: str
) -> None:
    response = client.open(path, method=method, headers=basic())
    assert response.mimetype == "text/plain", response.data
    assert response.get_data(as_text=True).startswith("failure\n")
    assert session.scalar(select(func.count()).select_from(SyncRun)) == 0


def test_a_refused_file_name_leaves_no_run(
    client: FlaskClient, exchange_login: Tenant, session: Session
) -> None:
    one_c = Exchange(client)
    one_c("init")
    for name in ("", "..", "/etc/passwd", "missing.xml"):
        assert one_c("import", f"&filename={name}")[0] == "failure"
    assert session.scalar(select(func.count()).select_from(SyncRun)) == 0


def test_a_session_serves_its_own_type_until_it_completes(
    client: FlaskClient, exchange_login: Tenant, session: Session
) -> None:
    Exchange(client, "sale")  # its cookie is now the client's
    assert call(client, "type=catalog&mode=init")[0] == "failure"
    one_c = Exchange(client)
    one_c("init")
    assert one_c("complete") == ["success"]
    assert one_c("file", "&filename=import.xml", b"<x/>")[0] == "failure"
    assert session.scalar(select(func.count()).select_from(ExchangeFile)) == 0
    response = client.get(
        f"{BASE}?type=catalog&mode=checkauth",
        headers={**basic(), "Accept-Charset": "utf-8, windows-1251;q=0"},
    )
    assert response.mimetype_params["charset"] == "utf-8"


def test_checkauth_storms_are_capped(
    client: FlaskClient,
    exchange_login: Tenant,
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sync import exchange

    monkeypatch.setattr(exchange, "MAX_SESSIONS_PER_HOUR", 3)
    answers = [call(client, "type=catalog&mode=checkauth", headers=basic())[0] for _ in range(5)]
    assert answers == ["success", "success", "success", "failure", "failure"]


CATALOG_AND_OFFERS = """<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_2" ВерсияСхемы="2.10">
<Каталог СодержитТолькоИзменения="true"><Ид>c</Ид><Товары>
<Товар><Ид>9e8f7a6b-0b7d-11ef-9a3c-00155d012b01</Ид><Наименование>Куртка</Наименование>
<БазоваяЕдиница Код="796">шт</БазоваяЕдиница></Товар>
</Товары></Каталог>
<ПакетПредложений СодержитТолькоИзменения="true"><Ид>p</Ид><Предложения>
<Предложение><Ид>9e8f7a6b-0b7d-11ef-9a3c-00155d012b01#a5abd77f-93f6-11e5-9468-00155d020201</Ид>
<ХарактеристикиТовара><ХарактеристикаТовара><Наименование>Размер</Наименование>
<Значение>48</Значение></ХарактеристикаТовара></ХарактеристикиТовара>
<Цены><Цена><ИдТипаЦены>r</ИдТипаЦены><ЦенаЗаЕдиницу>1990</ЦенаЗаЕдиницу></Цена></Цены>
<Склад ИдСклада="w1" КоличествоНаСкладе="3"/>
</Предложение></Предложения></ПакетПредложений></КоммерческаяИнформация>""".encode()


def test_one_file_with_goods_and_then_offers_of_their_characteristics(
    client: FlaskClient, exchange_login: Tenant, session: Session
) -> None:
    """The offers of a file are looked at once its goods are written: a characteristic of goods
    the same file brought is named after them."""
    one_c = Exchange(client)
    one_c("init")
    one_c.upload("import.xml", CATALOG_AND_OFFERS)
    assert one_c("import", "&filename=import.xml") == ["success"]
    goods = goods_of(session, exchange_login)
    size = goods["9e8f7a6b-0b7d-11ef-9a3c-00155d012b01#a5abd77f-93f6-11e5-9468-00155d020201"]
    assert (size.name, size.unit) == ("Куртка (48)", "шт")
    assert size.price_categories == {"r": "1990.00"} and size.warehouse_stock == {"w1": "3.000"}
    run = session.scalars(select(SyncRun)).one()
    assert run.counts == {"created": 2} and run.error_count == 0
