"""Storing a checked batch of goods in a few set-based statements.

``service.upsert_goods`` checks the items (shape, lengths, duplicates within the batch) and hands
the checked ones here. They go into a scratch table of the transaction (``COPY`` on PostgreSQL),
and the database does the rest, whatever the batch's size, in a fixed number of statements:
resolve the stored goods, groups and brands (``stage``), report what cannot be resolved
(``unresolved``) so the service refuses it (``discard``), then decide each item's outcome and
write (``write``). This is the only place the merge of an upload into the stored catalog is
spelt: the JSON API and the exchange with 1C both come through it.

An item carries a bit mask of the fields it gives (``FIELDS``): a field it leaves out keeps its
stored value (``merge``; a full record gives them all). A goods item that gives ``barcodes`` owns
exactly those: its others are removed, and one another goods item held moves to it.
``warehouse_stock`` is merged into the stored one (warehouses not named keep theirs).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from typing import cast as cast_

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    not_,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateTable
from sqlalchemy.sql.elements import ColumnElement

from processing.catalog.models import Brand, Goods, GoodsBarcode, GoodsGroup
from processing.db import copy_rows, is_postgresql
from processing.types import to_thousandths

TEXTS = ("name", "article", "unit", "supplier", "supplier_name", "vat_rate")
FLAGS = ("no_discount", "no_bonus_payment")
JSONS = ("price_categories", "properties", "requisites", "warehouse_stock")
COLUMNS = (*TEXTS, *FLAGS, *JSONS, "stock")  # the goods columns an item carries as they are
FIELDS = (*COLUMNS, "group", "brand", "barcodes", "deleted")  # what an item may give
ALL_GIVEN = (1 << len(FIELDS)) - 1


def cast_table(model: type[Any]) -> Table:
    return cast_(Table, model.__table__)


BITS = {field: 1 << position for position, field in enumerate(FIELDS)}


def bit(field: str) -> int:
    return BITS[field]


_scratch = MetaData()


def _scratch_table(name: str, *columns: Column[Any]) -> Table:
    """A temporary table of the connection, emptied at each commit."""
    return Table(
        name, _scratch, *columns, prefixes=["TEMPORARY"], postgresql_on_commit="DELETE ROWS"
    )


GOODS_IN = _scratch_table(  # the items as checked, written once
    "catalog_goods_in",
    Column("idx", Integer, primary_key=True),
    Column("external_id", String),
    Column("given", Integer),
    *(Column(name, Text) for name in TEXTS),
    *(Column(name, Boolean) for name in FLAGS),
    *(Column(name, Text) for name in JSONS),  # json.dumps, as the JSON columns store them
    Column("stock", BigInteger),  # thousandths, as ``types.Quantity`` stores them
    Column("group_ref", String),
    Column("brand_ref", String),
    Column("deleted", Boolean),
)
BARCODES_IN = _scratch_table(
    "catalog_barcodes_in",
    Column("idx", Integer, primary_key=True),
    Column("barcode", String, primary_key=True),
)
REFS = _scratch_table(  # what each item names, resolved: its stored goods (None: new), group, brand
    "catalog_refs",
    Column("idx", Integer, primary_key=True),
    Column("existed", Boolean),
    Column("goods_id", Integer),
    Column("group_id", Integer),
    Column("brand_id", Integer),
)
_SCRATCH = (GOODS_IN, BARCODES_IN, REFS)
_GOODS = cast_table(Goods)
_GROUPS = cast_table(GoodsGroup)
_BRANDS = cast_table(Brand)
_BARCODES = cast_table(GoodsBarcode)

Staged = tuple[int, str, int, Mapping[str, Any], str | None, str | None, Sequence[str], bool]
"""(index, external id, given mask, the ``COLUMNS`` values, group GUID, brand GUID, barcodes,
deleted)"""


@dataclass(frozen=True)
class Rows:
    """Checked items as the scratch tables' rows (made before the transaction needs them)."""

    goods: list[tuple[Any, ...]]
    barcodes: list[tuple[int, str]]


def rows(items: Iterable[Staged]) -> Rows:
    goods: list[tuple[Any, ...]] = []
    barcodes: list[tuple[int, str]] = []
    for index, external_id, given, values, group, brand, codes, deleted in items:
        stock = values["stock"]
        goods.append((
            index, external_id, given, *(values[name] for name in TEXTS),
            *(values[name] for name in FLAGS),
            *(json.dumps(values[name]) if values[name] else "{}" for name in JSONS),
            None if stock is None else to_thousandths(stock), group, brand, deleted,
        ))  # fmt: skip
        barcodes.extend((index, code) for code in codes)
    return Rows(goods, barcodes)


def stage(session: Session, tenant_id: int, staged: Rows) -> None:
    """Put the rows in the scratch tables and resolve the stored goods, groups and brands they
    name."""
    _create(session)
    copy_rows(session, GOODS_IN, [column.name for column in GOODS_IN.columns], staged.goods)
    copy_rows(session, BARCODES_IN, ["idx", "barcode"], staged.barcodes)
    _current_statistics(session)
    own = GOODS_IN.c
    groups = _id_of(_GROUPS, tenant_id, own.group_ref)
    brands = _id_of(_BRANDS, tenant_id, own.brand_ref)
    if is_postgresql(session):
        # One lookup per item (a lateral join always probes the unique index); a new item gets
        # its id from the sequence at once, so nothing is looked up again after the insert.
        found = (
            select(_GOODS.c.id)
            .where(_GOODS.c.tenant_id == tenant_id, _GOODS.c.external_id == own.external_id)
            .lateral("found")
        )
        new_id = func.nextval(func.pg_get_serial_sequence("goods", "id"))
        source = select(
            own.idx, found.c.id.is_not(None), func.coalesce(found.c.id, new_id), groups, brands
        ).select_from(GOODS_IN.outerjoin(found, true()))
    else:  # new items get their ids from the insert (``write``)
        goods_id = _id_of(_GOODS, tenant_id, own.external_id)
        source = select(own.idx, goods_id.is_not(None), goods_id, groups, brands)
    session.execute(
        insert(REFS).from_select(["idx", "existed", "goods_id", "group_id", "brand_id"], source)
    )


_STALE = 0.5  # the share of a catalog table changed since its last ANALYZE that makes it stale


def _current_statistics(session: Session) -> None:
    """Plan the batch's statements on PostgreSQL as they are best run: ANALYZE the goods and
    their barcodes when half of them changed since it last ran (an import grows them faster than
    autovacuum looks, and with statistics of a small table the planner joins a batch to the
    catalog by scanning all of it: quadratic over an import), and no JIT for the transaction
    (the statements' estimated cost, thousands of rows, passes ``jit_above_cost``, and
    compiling them takes longer than running them)."""
    if not is_postgresql(session):
        return
    session.execute(text("SET LOCAL jit = off"))
    stale = session.scalars(
        text(
            "SELECT relname FROM pg_stat_user_tables WHERE relname IN ('goods', 'goods_barcodes')"
            " AND n_mod_since_analyze > 5000 + :share * n_live_tup"
        ),
        {"share": _STALE},
    ).all()
    if stale:
        session.execute(text(f"ANALYZE {', '.join(sorted(stale))}"))


def unresolved(session: Session) -> list[Any]:
    """Items naming a group or brand that is not stored, and new items without a name (a merged
    upload may leave the name out of goods already stored only): rows of ``idx``,
    ``group_ref``, ``group_id``, ``brand_ref``, ``brand_id``, ``name``."""
    own, refs = GOODS_IN.c, REFS.c
    return list(
        session.execute(
            select(own.idx, own.group_ref, refs.group_id, own.brand_ref, refs.brand_id, own.name)
            .where(refs.idx == own.idx, or_(
                and_(own.group_ref.is_not(None), refs.group_id.is_(None)),
                and_(own.brand_ref.is_not(None), refs.brand_id.is_(None)),
                and_(own.name.is_(None), not_(refs.existed)),
            ))
            .order_by(own.idx)
        )
    )  # fmt: skip


def discard(session: Session, indexes: Sequence[int]) -> None:
    """Leave these items out of the batch."""
    for start in range(0, len(indexes), 500):
        chunk = list(indexes[start : start + 500])
        for table in _SCRATCH:
            session.execute(delete(table).where(table.c.idx.in_(chunk)))


def write(session: Session, tenant_id: int, *, merge: bool, now: datetime) -> Counter[str]:
    """Count each staged item's outcome (created, updated, unchanged, deleted), then write the
    goods and their barcodes."""
    pg = is_postgresql(session)
    goods, barcodes = _GOODS, _BARCODES
    own, listed, refs = GOODS_IN.c, BARCODES_IN.c, REFS.c
    new_values = _new_values(pg, merge)
    deleted = new_values["deleted"]
    barcodes_changed = and_(_given("barcodes"), or_(
        exists()
        .where(
            barcodes.c.goods_id == refs.goods_id,
            ~exists()
            .where(listed.idx == own.idx, listed.barcode == barcodes.c.barcode)
            .correlate_except(BARCODES_IN),
        )
        .correlate_except(barcodes),
        exists()
        .where(
            listed.idx == own.idx,
            ~exists()
            .where(
                barcodes.c.tenant_id == tenant_id, barcodes.c.barcode == listed.barcode,
                barcodes.c.goods_id == refs.goods_id,
            )
            .correlate_except(barcodes),
        )
        .correlate_except(BARCODES_IN),
    ))  # fmt: skip
    changed = or_(
        barcodes_changed,
        deleted != goods.c.deleted,
        *(
            _distinct(pg, name, new_values[name], goods.c[name])
            for name in (*COLUMNS, "group_id", "brand_id")
        ),
    )
    outcome = case(
        (goods.c.id.is_(None), case((own.deleted, "deleted"), else_="created")),
        (not_(changed), "unchanged"),
        (and_(deleted, not_(goods.c.deleted)), "deleted"),
        else_="updated",
    ).label("outcome")
    counts = session.execute(
        select(outcome, func.count())
        .select_from(
            GOODS_IN.join(REFS, refs.idx == own.idx).outerjoin(goods, goods.c.id == refs.goods_id)
        )
        .group_by(outcome)
    ).all()
    names = [*COLUMNS, "group_id", "brand_id", "deleted"]
    stored = {"group_id": refs.group_id, "brand_id": refs.brand_id}
    ids = ["id"] if pg else []  # PostgreSQL: taken from the sequence in ``stage``
    session.execute(
        insert(goods).from_select(
            [*ids, "tenant_id", "external_id", *names, "updated_at"],
            select(
                *([refs.goods_id] if pg else []), literal(tenant_id), own.external_id,
                *(stored[name] if name in stored else
                  _json_in(pg, own[name]) if name in JSONS else own[name] for name in names),
                literal(now, goods.c.updated_at.type),
            )
            .where(refs.idx == own.idx, not_(refs.existed))
            .order_by(own.idx),
        )
    )  # fmt: skip
    session.execute(
        update(goods)
        .where(goods.c.id == refs.goods_id, refs.idx == own.idx, refs.existed, changed)
        .values({**new_values, "updated_at": now})
    )
    if not pg:
        session.execute(
            update(REFS)
            .where(not_(refs.existed))
            .values(goods_id=select(goods.c.id).where(
                goods.c.tenant_id == tenant_id, goods.c.external_id == own.external_id,
                own.idx == refs.idx,
            ).correlate_except(goods, GOODS_IN).scalar_subquery())
        )  # fmt: skip
    # Barcodes: an item that gives them owns exactly those.
    giving = GOODS_IN.join(REFS, refs.idx == own.idx)
    session.execute(
        delete(barcodes).where(
            barcodes.c.tenant_id == tenant_id,
            barcodes.c.goods_id.in_(select(refs.goods_id).select_from(giving).where(
                _given("barcodes"))),
            ~exists()
            .select_from(BARCODES_IN.join(REFS, refs.idx == listed.idx))
            .where(refs.goods_id == barcodes.c.goods_id, listed.barcode == barcodes.c.barcode),
        )
    )  # fmt: skip
    upsert = (postgresql if pg else sqlite).insert(barcodes)
    upsert = upsert.from_select(
        ["tenant_id", "barcode", "goods_id"],
        select(literal(tenant_id), listed.barcode, refs.goods_id)
        .select_from(BARCODES_IN.join(giving, own.idx == listed.idx))
        .where(_given("barcodes")),
    )
    session.execute(
        upsert.on_conflict_do_update(
            index_elements=["tenant_id", "barcode"],
            set_={"goods_id": upsert.excluded.goods_id},
            where=barcodes.c.goods_id != upsert.excluded.goods_id,
        )
    )
    return Counter(dict(counts))


def clear(session: Session) -> None:
    for table in _SCRATCH:
        session.execute(delete(table))


def _create(session: Session) -> None:
    for table in _SCRATCH:
        session.execute(CreateTable(table, if_not_exists=True))
    clear(session)


def _id_of(table: Any, tenant_id: int, external_id: Any) -> Any:
    return (
        select(table.c.id)
        .where(table.c.tenant_id == tenant_id, table.c.external_id == external_id)
        .scalar_subquery()
    )


def _given(field: str) -> ColumnElement[bool]:
    return GOODS_IN.c.given.op("&")(bit(field)) != 0


def _json_in(pg: bool, column: Any) -> Any:
    """A staged JSON text as the JSON column takes it."""
    return cast(column, JSON) if pg else column


def _new_values(pg: bool, merge: bool) -> dict[str, Any]:
    """Each goods column as the update leaves it: the staged value where the item gives it,
    the stored one where it does not."""
    goods, own = _GOODS, GOODS_IN.c
    values: dict[str, Any] = {}
    for name in COLUMNS:
        staged: Any = _json_in(pg, own[name]) if name in JSONS else own[name]
        if name == "warehouse_stock" and merge:
            staged = (
                cast(cast(goods.c[name], JSONB).op("||")(cast(own[name], JSONB)), JSON)
                if pg
                else func.json_patch(goods.c[name], own[name])
            )
        values[name] = case((_given(name), staged), else_=goods.c[name])
    values["group_id"] = case((_given("group"), REFS.c.group_id), else_=goods.c.group_id)
    values["brand_id"] = case((_given("brand"), REFS.c.brand_id), else_=goods.c.brand_id)
    values["deleted"] = case((_given("deleted"), own.deleted), else_=goods.c.deleted)
    return values


def _distinct(pg: bool, name: str, new: Any, stored: Any) -> Any:
    """The new value of a column differs from the stored one (JSON compared as JSON)."""
    if name in JSONS:
        if pg:
            return cast(new, JSONB).is_distinct_from(cast(stored, JSONB))
        return func.json_canon(new).is_distinct_from(func.json_canon(stored))  # processing.db
    return new.is_distinct_from(stored)
