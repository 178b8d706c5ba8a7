"""The goods catalog: idempotent batch uploads (groups, brands, goods with barcodes), refusals
that write nothing, and the resolution of receipt lines (one goods query, the group tree
cached), on PostgreSQL and on SQLite."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, insert, select
from sqlalchemy.orm import Session

from connector import migrate
from processing.catalog.lookup import GoodsFacts, resolve_goods
from processing.catalog.models import Brand, Goods, GoodsBarcode, GoodsGroup
from processing.catalog.service import (
    MAX_BATCH,
    UpsertReport,
    upsert_brands,
    upsert_goods,
    upsert_groups,
)
from processing.db import make_engine
from processing.errors import ConnectorError
from processing.tenants.models import Tenant
from tests import factories
from tests.factories import T0

LATER = T0 + timedelta(hours=1)


def guid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


# Groups 1 ⊃ 2 ⊃ 3, and 4 on its own; brands 50, 51.
DAIRY, CHEESE, HARD_CHEESE, BREAD = guid(1), guid(2), guid(3), guid(4)
BRAND, OTHER_BRAND = guid(50), guid(51)


def group(external_id: str, name: str, parent: str | None = None, **more: Any) -> dict[str, Any]:
    return {"external_id": external_id, "name": name, "parent": parent, **more}


TREE = [
    group(DAIRY, "Молочная продукция"),
    group(CHEESE, "Сыры", DAIRY),
    group(HARD_CHEESE, "Твёрдые сыры", CHEESE),
    group(BREAD, "Хлеб"),
]


def goods(n: int, **more: Any) -> dict[str, Any]:
    return {"external_id": guid(100 + n), "name": f"Товар {n}", **more}


@pytest.fixture(scope="module")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The embedded mode's database, built by the migrations (they seed the tariffs)."""
    path: Path = tmp_path_factory.mktemp("catalog") / "catalog.sqlite3"
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture(params=["postgresql", "sqlite"])
def db(request: pytest.FixtureRequest) -> Iterator[Session]:
    """A session inside a transaction rolled back after the test, on either database."""
    if request.param == "postgresql":
        yield request.getfixturevalue("session")
        return
    engine: Engine = request.getfixturevalue("sqlite_engine")
    with engine.connect() as connection:
        transaction = connection.begin()
        with Session(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        ) as session:
            yield session
        transaction.rollback()


@pytest.fixture
def owner(db: Session) -> Tenant:
    return factories.tenant(db)


@pytest.fixture
def stocked(db: Session, owner: Tenant) -> Tenant:
    """The tree, two brands and no goods yet."""
    upsert_groups(db, owner, TREE, now=T0)
    upsert_brands(
        db, owner, [{"external_id": BRAND, "name": "Вкуснотеево"},
                    {"external_id": OTHER_BRAND, "name": "Простоквашино"}], now=T0,
    )  # fmt: skip
    return owner


def refused(code: str, call: Any, *args: Any, **kwargs: Any) -> ConnectorError:
    with pytest.raises(ConnectorError) as error:
        call(*args, **kwargs)
    assert error.value.code == code, error.value.text
    return error.value


def count(db: Session, model: type[Any]) -> int:
    return db.scalar(select(func.count()).select_from(model)) or 0


def report(
    created: int = 0, updated: int = 0, unchanged: int = 0, deleted: int = 0
) -> UpsertReport:
    return UpsertReport(created=created, updated=updated, unchanged=unchanged, deleted=deleted)


def parents(db: Session) -> dict[str, str | None]:
    rows = db.scalars(select(GoodsGroup)).all()
    external = {row.id: row.external_id for row in rows}
    return {row.external_id: external.get(row.parent_id) if row.parent_id else None for row in rows}


def barcodes(db: Session) -> dict[str, str]:
    return dict(
        db.execute(
            select(GoodsBarcode.barcode, Goods.external_id).join(
                Goods, Goods.id == GoodsBarcode.goods_id
            )
        ).all()
    )


# Uploads


def test_a_group_tree_uploads_once_and_the_same_upload_changes_nothing(
    db: Session, owner: Tenant
) -> None:
    # Children may come before their parent in the batch.
    assert upsert_groups(db, owner, TREE[::-1], now=T0) == report(created=4)
    assert parents(db) == {DAIRY: None, CHEESE: DAIRY, HARD_CHEESE: CHEESE, BREAD: None}
    assert upsert_groups(db, owner, TREE, now=LATER) == report(unchanged=4)
    stamps = set(db.scalars(select(GoodsGroup.updated_at)))
    assert stamps == {T0}


def test_an_update_touches_only_what_differs(db: Session, owner: Tenant) -> None:
    upsert_groups(db, owner, TREE, now=T0)
    moved = [group(DAIRY, "Молоко и сыр"), group(CHEESE, "Сыры", None), *TREE[2:]]
    assert upsert_groups(db, owner, moved, now=LATER) == report(updated=2, unchanged=2)
    assert parents(db)[CHEESE] is None
    stamps = dict(db.execute(select(GoodsGroup.external_id, GoodsGroup.updated_at)).all())
    assert stamps == {DAIRY: LATER, CHEESE: LATER, HARD_CHEESE: T0, BREAD: T0}


def test_upper_case_guids_name_the_same_records(db: Session, owner: Tenant) -> None:
    upsert_groups(db, owner, [group(DAIRY.upper(), "Молочная продукция")], now=T0)
    assert upsert_groups(db, owner, [group(DAIRY, "Молочная продукция")], now=T0).unchanged == 1
    characteristic = f"{guid(100)}#{guid(200)}"
    upsert_goods(db, owner, [{"external_id": characteristic.upper(), "name": "Сыр, 300 г"}], now=T0)
    assert db.scalars(select(Goods.external_id)).all() == [characteristic]


def test_deletion_is_a_mark_and_an_upload_without_it_revives(db: Session, stocked: Tenant) -> None:
    item = goods(1, group=HARD_CHEESE, barcodes=["4600000000011"])
    upsert_goods(db, stocked, [item], now=T0)
    assert upsert_goods(db, stocked, [{**item, "deleted": True}], now=LATER) == report(deleted=1)
    assert upsert_goods(db, stocked, [{**item, "deleted": True}], now=LATER) == report(unchanged=1)
    row = db.scalars(select(Goods)).one()
    assert row.deleted and row.group_id is not None  # kept, only marked
    assert upsert_goods(db, stocked, [item], now=LATER) == report(updated=1)
    assert not db.scalars(select(Goods)).one().deleted
    # A record first seen with the mark is stored, marked; groups and brands alike.
    assert upsert_goods(db, stocked, [goods(2, deleted=True)], now=T0) == report(deleted=1)
    assert upsert_groups(db, stocked, [{**TREE[3], "deleted": True}], now=LATER).deleted == 1
    assert upsert_groups(db, stocked, [TREE[3]], now=LATER).updated == 1
    brand = {"external_id": BRAND, "name": "Вкуснотеево", "deleted": True}
    assert upsert_brands(db, stocked, [brand], now=LATER) == report(deleted=1)
    assert db.scalars(select(Brand.deleted).where(Brand.external_id == BRAND)).one()


def test_goods_are_stored_with_every_field_and_an_item_is_the_whole_record(
    db: Session, stocked: Tenant
) -> None:
    full = goods(
        1, article="СР-45", unit="кг", group=HARD_CHEESE, brand=BRAND, supplier=guid(90),
        supplier_name="ООО «Молоко»", vat_rate="10/110", no_discount=True,
        no_bonus_payment=True, price_categories={"Розничная": "899.9", "Оптовая": 750},
        barcodes=["4600000000011", "4600000000028"],
    )  # fmt: skip
    assert upsert_goods(db, stocked, [full], now=T0) == report(created=1)
    row = db.scalars(select(Goods)).one()
    assert (row.article, row.unit, row.supplier, row.supplier_name, row.vat_rate) == (
        "СР-45", "кг", guid(90), "ООО «Молоко»", "10/110"
    )  # fmt: skip
    assert row.no_discount and row.no_bonus_payment
    assert row.price_categories == {"Розничная": "899.90", "Оптовая": "750.00"}
    assert upsert_goods(db, stocked, [full], now=LATER) == report(unchanged=1)
    # A new price is an update; fields left out are cleared.
    cheaper = goods(1, price_categories={"Розничная": "849.90"})
    assert upsert_goods(db, stocked, [cheaper], now=LATER) == report(updated=1)
    db.expire_all()
    row = db.scalars(select(Goods)).one()
    assert (row.group_id, row.brand_id, row.article, row.no_discount) == (None, None, None, False)
    assert row.price_categories == {"Розничная": "849.90"}
    assert barcodes(db) == {}


def test_a_barcode_listed_on_other_goods_moves_there(db: Session, stocked: Tenant) -> None:
    upsert_goods(
        db, stocked, [goods(1, barcodes=["111", "222"]), goods(2, barcodes=["333"])], now=T0
    )
    # Goods 3 takes 222 from goods 1, which is not in the batch and keeps 111.
    assert upsert_goods(db, stocked, [goods(3, barcodes=["222"])], now=LATER) == report(created=1)
    assert barcodes(db) == {"111": guid(101), "222": guid(103), "333": guid(102)}
    # In one batch: goods 2 gives 333 up and takes 111, goods 1 takes 333.
    batch = [goods(2, barcodes=["111"]), goods(1, barcodes=["333"])]
    assert upsert_goods(db, stocked, batch, now=LATER) == report(updated=2)
    assert barcodes(db) == {"111": guid(102), "222": guid(103), "333": guid(101)}
    assert upsert_goods(db, stocked, batch, now=LATER) == report(unchanged=2)
    assert count(db, GoodsBarcode) == 3


@pytest.mark.parametrize(
    ("item", "field"),
    [
        (goods(1, group=guid(999)), "group"),
        (goods(1, group=DAIRY, brand=guid(999)), "brand"),
    ],
)
def test_goods_naming_an_unknown_group_or_brand_refuse_the_batch(
    db: Session, stocked: Tenant, item: dict[str, Any], field: str
) -> None:
    batch = [goods(2, barcodes=["222"]), goods(3), item]
    code = "CATALOG_UNKNOWN_GROUP" if field == "group" else "CATALOG_UNKNOWN_BRAND"
    error = refused(code, upsert_goods, db, stocked, batch, now=T0)
    assert error.details == {
        "index": 2, "external_id": guid(101), "field": field, field: guid(999)
    }  # fmt: skip
    assert "items[2]" in error.text and guid(101) in error.text and guid(999) in error.text
    assert count(db, Goods) == count(db, GoodsBarcode) == 0


def test_a_group_naming_an_unknown_parent_refuses_the_batch(db: Session, owner: Tenant) -> None:
    batch = [*TREE, group(guid(5), "Сладости", guid(999))]
    error = refused("CATALOG_UNKNOWN_GROUP", upsert_groups, db, owner, batch, now=T0)
    assert (error.details["index"], error.details["field"]) == (4, "parent")
    assert count(db, GoodsGroup) == 0


def test_a_cycle_in_the_group_tree_is_refused(db: Session, owner: Tenant) -> None:
    upsert_groups(db, owner, TREE, now=T0)
    # Dairy under hard cheese, which is under cheese, which is under dairy.
    error = refused(
        "CATALOG_GROUP_CYCLE", upsert_groups, db, owner,
        [TREE[3], group(DAIRY, "Молочная продукция", HARD_CHEESE)], now=LATER,
    )  # fmt: skip
    assert error.details["index"] == 1
    assert set(error.details["cycle"]) == {DAIRY, CHEESE, HARD_CHEESE}
    # Within one batch, and a group under itself.
    refused(
        "CATALOG_GROUP_CYCLE", upsert_groups, db, owner,
        [group(guid(7), "А", guid(8)), group(guid(8), "Б", guid(7))], now=LATER,
    )  # fmt: skip
    refused("CATALOG_GROUP_CYCLE", upsert_groups, db, owner, [group(BREAD, "Хлеб", BREAD)], now=T0)
    assert parents(db) == {DAIRY: None, CHEESE: DAIRY, HARD_CHEESE: CHEESE, BREAD: None}


def test_a_batch_over_the_limit_is_refused(db: Session, owner: Tenant) -> None:
    batch = [group(guid(n), f"Группа {n}") for n in range(MAX_BATCH + 1)]
    error = refused("CATALOG_BATCH_TOO_LARGE", upsert_groups, db, owner, batch, now=T0)
    assert error.details == {"limit": MAX_BATCH, "count": MAX_BATCH + 1}
    assert "5000" in error.text
    for upsert in (upsert_brands, upsert_goods):
        refused("CATALOG_BATCH_TOO_LARGE", upsert, db, owner, [{}] * (MAX_BATCH + 1), now=T0)
    assert count(db, GoodsGroup) == 0


@pytest.mark.parametrize(
    ("batch", "index", "field"),
    [
        ([goods(1), {"external_id": "не-guid", "name": "Товар"}], 1, "external_id"),
        ([goods(1, external_id=f"{guid(1)}#")], 0, "external_id"),
        ([goods(1, name="  ")], 0, "name"),
        ([goods(1, vat_rate="18")], 0, "vat_rate"),
        ([goods(1, price_categories={"Розничная": "10.005"})], 0, "price_categories.Розничная"),
        ([goods(1, price_categories={"Розничная": -1})], 0, "price_categories.Розничная"),
        ([goods(1, price_categories={"Розничная": 1.5})], 0, "price_categories.Розничная"),
        ([goods(1, no_discount="да")], 0, "no_discount"),
        ([goods(1), goods(2), goods(1)], 2, "external_id"),
        ([goods(1, barcodes=["111"]), goods(2, barcodes=["111"])], 1, "barcodes"),
        ([goods(1, group="группа")], 0, "group"),
    ],
)
def test_a_malformed_item_refuses_the_batch(
    db: Session, owner: Tenant, batch: list[dict[str, Any]], index: int, field: str
) -> None:
    error = refused("CATALOG_INVALID_ITEM", upsert_goods, db, owner, batch, now=T0)
    assert (error.details["index"], error.details["field"]) == (index, field)
    assert error.text.startswith(f"Элемент items[{index}]")
    assert count(db, Goods) == 0


def test_catalogs_are_per_tenant(db: Session, stocked: Tenant) -> None:
    other = factories.tenant(db, "other")
    error = refused(
        "CATALOG_UNKNOWN_GROUP", upsert_goods, db, other, [goods(1, group=DAIRY)], now=T0
    )
    assert error.details["group"] == DAIRY
    upsert_goods(db, stocked, [goods(1, barcodes=["111"])], now=T0)
    assert upsert_goods(db, other, [goods(1, barcodes=["111"])], now=T0) == report(created=1)
    assert count(db, GoodsBarcode) == 2
    [facts] = resolve_goods(db, other.id, [(None, "111")])
    assert facts.known and facts.group_ids == ()


# Resolution for receipts


@contextmanager
def statements(db: Session) -> Iterator[list[str]]:
    """The statements the session sends meanwhile (not the savepoints of the test harness)."""
    sent: list[str] = []

    def record(*args: Any) -> None:
        if not args[2].lstrip().upper().startswith(("SAVEPOINT", "RELEASE")):
            sent.append(args[2])

    engine = db.get_bind().engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_goods_resolve_by_id_then_by_barcode_with_their_group_ancestors(
    db: Session, stocked: Tenant
) -> None:
    upsert_goods(
        db, stocked, [
            goods(1, group=HARD_CHEESE, brand=BRAND, supplier=guid(90), no_bonus_payment=True,
                  barcodes=["111"]),
            goods(2, group=BREAD, no_discount=True, barcodes=["222"]),
        ], now=T0,
    )  # fmt: skip
    by_id, by_barcode, upper, unknown, nothing, first = resolve_goods(
        db, stocked.id, [
            (guid(101), None), (None, "222"), (guid(101).upper(), "222"), ("g-100", "999"),
            (None, None), (guid(101), "222"),
        ],
    )  # fmt: skip
    assert by_id == GoodsFacts(
        external_id=guid(101), known=True, group_ids=(HARD_CHEESE, CHEESE, DAIRY),
        brand_id=BRAND, supplier_id=guid(90), no_discount=False, no_bonus_payment=True,
        name="Товар 1",
    )  # fmt: skip
    assert (by_barcode.external_id, by_barcode.group_ids) == (guid(102), (BREAD,))
    assert by_barcode.no_discount and not by_barcode.no_bonus_payment
    assert upper == by_id  # an id found wins over the barcode
    assert first == by_id
    assert unknown == GoodsFacts(external_id="g-100", known=False)
    assert nothing == GoodsFacts(external_id=None, known=False)
    # An unknown id falls back to the barcode.
    [fallback] = resolve_goods(db, stocked.id, [(guid(999), "111")])
    assert fallback == by_id


def test_deleted_goods_are_unknown_but_deleted_groups_stay_ancestors(
    db: Session, stocked: Tenant
) -> None:
    upsert_goods(
        db, stocked, [goods(1, group=HARD_CHEESE, barcodes=["111"]), goods(2, group=CHEESE)],
        now=T0,
    )  # fmt: skip
    upsert_goods(db, stocked, [goods(1, group=HARD_CHEESE, barcodes=["111"], deleted=True)], now=T0)
    upsert_groups(db, stocked, [{**TREE[1], "deleted": True}], now=T0)
    gone, by_barcode, kept = resolve_goods(
        db, stocked.id, [(guid(101), None), (None, "111"), (guid(102), None)]
    )
    assert (gone.known, gone.external_id, by_barcode.known) == (False, guid(101), False)
    assert kept.known and kept.group_ids == (CHEESE, DAIRY)


def test_a_receipt_costs_one_goods_query_and_the_group_tree_is_cached(
    db: Session, stocked: Tenant
) -> None:
    upsert_goods(
        db, stocked,
        [goods(n, group=(HARD_CHEESE, BREAD)[n % 2], barcodes=[f"46{n:011d}"]) for n in range(40)],
        now=T0,
    )  # fmt: skip
    db.commit()
    refs = [(guid(100 + n), None) for n in range(20)] + [
        (None, f"46{n:011d}") for n in range(20, 40)
    ]
    with statements(db) as first:
        facts = resolve_goods(db, stocked.id, [*refs, ("g-unknown", None)])
    assert [f.known for f in facts] == [True] * 40 + [False]
    assert facts[0].group_ids == (HARD_CHEESE, CHEESE, DAIRY)
    assert facts[21].group_ids == (BREAD,)
    goods_queries = [sql for sql in first if re.search(r"\b(FROM|JOIN) goods\b", sql)]
    assert len(goods_queries) == 1
    assert len(first) == 2  # the goods, and the group tree read once
    db.commit()  # the tree read in a committed transaction is cached
    with statements(db) as second:
        assert resolve_goods(db, stocked.id, refs) == facts[:40]
    assert len(second) == 1


def test_a_changed_group_tree_is_read_again(db: Session, stocked: Tenant) -> None:
    upsert_goods(db, stocked, [goods(1, group=HARD_CHEESE)], now=T0)
    db.commit()
    resolve_goods(db, stocked.id, [(guid(101), None)])
    db.commit()
    # This process moves a group: its cached tree is dropped at once.
    upsert_groups(db, stocked, [group(CHEESE, "Сыры", BREAD)], now=LATER)
    db.commit()
    [facts] = resolve_goods(db, stocked.id, [(guid(101), None)])
    assert facts.group_ids == (HARD_CHEESE, CHEESE, BREAD)


def test_goods_of_a_group_another_process_added_have_the_tree_read_again(
    db: Session, stocked: Tenant
) -> None:
    upsert_goods(db, stocked, [goods(1, group=BREAD)], now=T0)
    db.commit()
    resolve_goods(db, stocked.id, [(guid(101), None)])
    db.commit()
    # Another process adds a group (this process's cache does not hear of it) and goods in it.
    db.execute(
        insert(GoodsGroup).values(
            tenant_id=stocked.id, external_id=guid(6), name="Выпечка", deleted=False,
            parent_id=db.scalar(select(GoodsGroup.id).where(GoodsGroup.external_id == BREAD)),
            updated_at=T0,
        )
    )  # fmt: skip
    upsert_goods(db, stocked, [goods(2, group=guid(6))], now=T0)
    db.commit()
    bread, pastry = resolve_goods(db, stocked.id, [(guid(101), None), (guid(102), None)])
    assert (bread.group_ids, pastry.group_ids) == ((BREAD,), (guid(6), BREAD))


WAREHOUSE_A, WAREHOUSE_B = "c1e2c3d4-0000-4000-8000-00000000000a", "Склад-Б"


def stored_goods(db: Session, n: int) -> Goods:
    db.expire_all()
    return db.scalars(select(Goods).where(Goods.external_id == guid(100 + n))).one()


def test_a_merged_upload_changes_only_the_fields_it_gives(db: Session, stocked: Tenant) -> None:
    full = goods(
        1, article="A-1", group=CHEESE, brand=BRAND, barcodes=["111"],
        properties={"Цвет": "белый"}, warehouse_stock={WAREHOUSE_A: 5, WAREHOUSE_B: 7},
    )  # fmt: skip
    assert upsert_goods(db, stocked, [full], now=T0) == report(created=1)
    prices = {"external_id": guid(101), "price_categories": {"Розничная": "99.90"}}
    assert upsert_goods(db, stocked, [prices], now=LATER, merge=True) == report(updated=1)
    assert upsert_goods(db, stocked, [prices], now=LATER, merge=True) == report(unchanged=1)
    kept = stored_goods(db, 1)
    assert (kept.name, kept.article, kept.properties) == ("Товар 1", "A-1", {"Цвет": "белый"})
    assert kept.group_id is not None and kept.brand_id is not None
    assert kept.price_categories == {"Розничная": "99.90"} and barcodes(db) == {"111": guid(101)}
    # Stock of one warehouse: the other keeps its own; the same figure again changes nothing.
    stock = {"external_id": guid(101), "warehouse_stock": {WAREHOUSE_A: Decimal("2.5")}}
    assert upsert_goods(db, stocked, [stock], now=LATER, merge=True) == report(updated=1)
    assert upsert_goods(db, stocked, [stock], now=LATER, merge=True) == report(unchanged=1)
    assert stored_goods(db, 1).warehouse_stock == {WAREHOUSE_A: "2.500", WAREHOUSE_B: "7.000"}
    # A whole record replaces what it does not give: no barcodes, no stock, no brand.
    assert upsert_goods(db, stocked, [goods(1)], now=LATER) == report(updated=1)
    cleared = stored_goods(db, 1)
    assert cleared.warehouse_stock == {} and cleared.brand_id is None and barcodes(db) == {}


def test_a_lenient_merge_leaves_out_what_it_cannot_store(db: Session, stocked: Tenant) -> None:
    batch = [
        {"external_id": guid(101), "price_categories": {"Розничная": "10.00"}},  # not stored
        goods(2, group=guid(99)),  # a group never uploaded
        goods(3, warehouse_stock={"": 1}),  # a warehouse without an Ид
        goods(4, barcodes=["444"]),
    ]
    result = upsert_goods(db, stocked, batch, now=T0, merge=True, lenient=True)
    assert (result.created, result.updated) == (1, 0)
    refused = {(error.details or {}).get("index"): error for error in result.refused}
    assert sorted(refused) == [0, 1, 2]
    assert "выгрузите сначала каталог" in refused[0].text
    assert refused[1].code == "CATALOG_UNKNOWN_GROUP" and "склад" in refused[2].text
    assert barcodes(db) == {"444": guid(104)}


def test_the_same_maps_in_another_key_order_change_nothing(db: Session, stocked: Tenant) -> None:
    first = goods(
        1, price_categories={"a": "1.00", "b": "2.00"}, properties={"x": "1", "y": "2"},
        warehouse_stock={"w1": 1, "w2": 2},
    )  # fmt: skip
    again = goods(
        1, price_categories={"b": "2.00", "a": "1.00"}, properties={"y": "2", "x": "1"},
        warehouse_stock={"w2": 2, "w1": 1},
    )  # fmt: skip
    assert upsert_goods(db, stocked, [first], now=T0) == report(created=1)
    assert upsert_goods(db, stocked, [again], now=LATER) == report(unchanged=1)
    assert upsert_goods(db, stocked, [again], now=LATER, merge=True) == report(unchanged=1)
    assert stored_goods(db, 1).updated_at == T0
