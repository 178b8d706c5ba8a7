"""Batch uploads of the catalog from 1C: goods groups, brands, goods with their barcodes.

An upload is a batch of at most ``MAX_BATCH`` items (plain dicts, shape-checked by the face),
written in the caller's transaction. The whole batch is checked before anything is written: a
malformed item, a group or brand that is neither stored nor in the batch, or a group tree with a
cycle refuses the batch, and nothing of it is stored. Refusals name the item by its index in the
batch (``items[3]``) and its external id.

Each item is the whole record: a field left out is cleared (no brand, no barcodes, no prices).
Uploading the same batch again changes nothing (the report counts it all ``unchanged``). 1C's
deletion mark is ``"deleted": true``: the record is kept, marked; the same record uploaded
without the mark is revived. A barcode belongs to one goods item of the tenant: listing it on
another item moves it there.

Groups and brands are read in bulk and written through the unit of work, which is what clears
the per-process group trees of ``processing.catalog.lookup``; goods are checked here and merged
by the database (``goods_store``), so a 5,000-item batch costs a fixed number of statements.
Uploads of one tenant are serialised on its row: two batches in parallel could otherwise build a
cycle of groups or insert the same new record twice.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Literal, NamedTuple, TypeVar

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from processing.cache import mark_changed
from processing.catalog import goods_store
from processing.catalog.ids import parse_goods_id, parse_guid
from processing.catalog.models import (
    ARTICLE_LENGTH,
    BARCODE_LENGTH,
    EXTERNAL_ID_LENGTH,
    NAME_LENGTH,
    UNIT_LENGTH,
    Brand,
    Goods,
    GoodsBarcode,
    GoodsGroup,
    GoodsProperty,
    PriceType,
)
from processing.db import where_in
from processing.errors import ConnectorError, InvalidInput
from processing.money import is_whole_kopecks, money_text
from processing.tenants.models import Tenant
from processing.tenants.service import WAREHOUSE_ID_LENGTH, lock_tenant

MAX_BATCH = 5_000
MAX_BARCODES = 100  # per goods item
MAX_PRICE_CATEGORIES = 50  # per goods item
MAX_PRICE = Decimal("99999999.99")
_ZERO = Decimal(0)
VAT_RATES = ("none", "0", "5", "7", "10", "20", "10/110", "20/120", "5/105", "7/107")

Item = Mapping[str, Any]
Outcome = Literal["created", "updated", "unchanged", "deleted"]


class CatalogBatchTooLarge(InvalidInput):
    code = "CATALOG_BATCH_TOO_LARGE"
    message = (
        f"В одном пакете выгрузки каталога не больше {MAX_BATCH} элементов: "
        "разбейте выгрузку на части."
    )


class CatalogInvalidItem(InvalidInput):
    code = "CATALOG_INVALID_ITEM"
    message = "Элемент выгрузки каталога заполнен неверно."


class CatalogUnknownGroup(InvalidInput):
    code = "CATALOG_UNKNOWN_GROUP"
    message = "Группа товаров не найдена: выгрузите группы раньше товаров."


class CatalogUnknownBrand(InvalidInput):
    code = "CATALOG_UNKNOWN_BRAND"
    message = "Марка (бренд) не найдена: выгрузите марки раньше товаров."


class CatalogGroupCycle(InvalidInput):
    code = "CATALOG_GROUP_CYCLE"
    message = (
        "Группы товаров образуют цикл: группа не может входить в саму себя или в свою подгруппу."
    )


@dataclass(frozen=True)
class UpsertReport:
    """What a batch did, item by item: every item is counted once. ``deleted`` counts the items
    that marked a record deleted (a record first seen with the mark is stored marked); a
    revived record is ``updated``."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    refused: tuple[ConnectorError, ...] = ()  # lenient uploads: the items left out, and why


def check_batch_size(count: int) -> None:
    """Refuse a batch of more than ``MAX_BATCH`` items (before its items are even read)."""
    if count > MAX_BATCH:
        raise CatalogBatchTooLarge(details={"limit": MAX_BATCH, "count": count})


# Reading and checking items


def _label(index: int, external_id: object) -> str:
    return f"Элемент items[{index}]" + (
        f" «{external_id}»" if isinstance(external_id, str) and external_id else ""
    )


def _invalid(index: int, item: Item, field: str, problem: str) -> CatalogInvalidItem:
    external_id = item.get("external_id")
    return CatalogInvalidItem(
        f"{_label(index, external_id)}: {problem}",
        details={"index": index, "external_id": external_id, "field": field},
    )


def _text(index: int, item: Item, field: str, limit: int, *, required: bool = False) -> str | None:
    """A string field, trimmed; blank is absent."""
    value = item.get(field)
    if value.__class__ is str:  # the common case first: a catalog is hundreds of thousands
        trimmed = value.strip()
        if trimmed and len(trimmed) <= limit:
            return trimmed
    if value is not None and not isinstance(value, str):
        raise _invalid(index, item, field, f"поле {field} должно быть строкой.")
    value = (value or "").strip()
    if not value:
        if required:
            raise _invalid(index, item, field, f"поле {field} обязательно.")
        return None
    if len(value) > limit:
        raise _invalid(index, item, field, f"поле {field} длиннее {limit} символов.")
    return value


def _flag(index: int, item: Item, field: str) -> bool:
    value = item.get(field, False)
    if value is True or value is False:
        return value
    if not isinstance(value, bool):
        raise _invalid(index, item, field, f"поле {field} — true или false.")
    return value


def _own_id(index: int, item: Item, parse: Callable[[str], str | None], form: str) -> str:
    raw = _text(index, item, "external_id", EXTERNAL_ID_LENGTH, required=True)
    parsed = parse(raw or "")
    if parsed is None:
        raise _invalid(index, item, "external_id", f"external_id должен быть {form}.")
    return parsed


def _reference(index: int, item: Item, field: str) -> str | None:
    """The GUID of a group or brand the item names, or None."""
    raw = _text(index, item, field, EXTERNAL_ID_LENGTH)
    if raw is None:
        return None
    parsed = parse_guid(raw)
    if parsed is None:
        raise _invalid(index, item, field, f"поле {field} должно быть GUID 1С.")
    return parsed


def _raise(error: ConnectorError) -> None:
    raise error


_Refuse = Callable[[ConnectorError], None]


def _refuse_duplicates(
    external_ids: Sequence[str | None], items: Sequence[Item], refuse: _Refuse | None = None
) -> None:
    """Refuse an item whose external id an earlier item of the batch has (None: left out)."""
    first: dict[str, int] = {}
    for index, external_id in enumerate(external_ids):
        if external_id is None:
            continue
        earlier = first.setdefault(external_id, index)
        if earlier != index:
            (refuse or _raise)(_invalid(
                index, items[index], "external_id",
                f"тот же external_id, что у items[{earlier}]: в пакете каждый объект один раз.",
            ))  # fmt: skip


def _keyed(
    index: int,
    item: Item,
    field: str,
    most: int,
    problems: tuple[str, str],
    key_limit: int,
    value: Callable[[str, Any], str],
) -> dict[str, str]:
    """A mapping field (``price_categories``, ``warehouse_stock``): at most ``most`` keys, each a
    non-blank string of at most ``key_limit`` characters, trimmed, its value as ``value`` has it
    stored. ``problems``: what is said of a field that is no mapping or has too many keys, and of
    a wrong key."""
    raw = item.get(field) or {}
    if not isinstance(raw, Mapping) or len(raw) > most:
        raise _invalid(index, item, field, problems[0])
    found = {}
    for key, given in raw.items():
        code = key.strip() if isinstance(key, str) else ""
        if not code or len(code) > key_limit:
            raise _invalid(index, item, field, problems[1])
        found[code] = value(code, given)
    return found


def _price_categories(index: int, item: Item) -> dict[str, str]:
    def price(code: str, value: Any) -> str:
        amount = _price(value)
        if amount is None:
            raise _invalid(
                index, item, f"price_categories.{code}",
                f"цена «{code}» — число от 0 до {MAX_PRICE} с точностью до копейки.",
            )  # fmt: skip
        return money_text(amount)

    return _keyed(
        index, item, "price_categories", MAX_PRICE_CATEGORIES,
        (f"ожидается объект «вид цены: цена», не больше {MAX_PRICE_CATEGORIES} видов цен.",
         f"вид цены — непустая строка до {EXTERNAL_ID_LENGTH} символов."),
        EXTERNAL_ID_LENGTH, price,
    )  # fmt: skip


def _price(value: Any) -> Decimal | None:
    """A price in rubles, exact (never through float): None when it is not one."""
    if value.__class__ is Decimal:
        amount = value
    elif isinstance(value, bool | float) or not isinstance(value, Decimal | int | str):
        return None
    else:
        try:
            amount = Decimal(value) if isinstance(value, Decimal | int) else Decimal(value.strip())
        except InvalidOperation:
            return None
    if not amount.is_finite() or not _ZERO <= amount <= MAX_PRICE:
        return None
    return amount if is_whole_kopecks(amount) else None


def _barcodes(index: int, item: Item) -> tuple[str, ...]:
    raw = item.get("barcodes") or []
    if not isinstance(raw, list | tuple):
        raise _invalid(index, item, "barcodes", "ожидается список штрихкодов.")
    if len(raw) > MAX_BARCODES:
        raise _invalid(index, item, "barcodes", f"не больше {MAX_BARCODES} штрихкодов.")
    barcodes = []
    for value in raw:
        barcode = value.strip() if isinstance(value, str) else ""
        if not barcode or len(barcode) > BARCODE_LENGTH:
            raise _invalid(
                index, item, "barcodes",
                f"штрихкод — непустая строка до {BARCODE_LENGTH} символов.",
            )  # fmt: skip
        barcodes.append(barcode)
    return tuple(dict.fromkeys(barcodes))


def _outcome(before: tuple[Any, ...] | None, after: tuple[Any, ...], deleted: bool) -> Outcome:
    """``before`` and ``after`` end with the deletion mark."""
    if before is None:
        return "deleted" if deleted else "created"
    if before == after:
        return "unchanged"
    return "deleted" if deleted and not before[-1] else "updated"


def _report(outcomes: Iterable[Outcome]) -> UpsertReport:
    counts = Counter(outcomes)
    return UpsertReport(
        created=counts["created"],
        updated=counts["updated"],
        unchanged=counts["unchanged"],
        deleted=counts["deleted"],
    )


CatalogModel = TypeVar("CatalogModel", GoodsGroup, Brand, Goods, GoodsProperty, PriceType)


def _stored(
    session: Session, model: type[CatalogModel], tenant_id: int, external_ids: Iterable[str]
) -> dict[str, CatalogModel]:
    found: dict[str, CatalogModel] = {}
    for condition in where_in(session, model.external_id, external_ids):
        rows = session.scalars(select(model).where(model.tenant_id == tenant_id, condition))
        found.update((row.external_id, row) for row in rows)
    return found


# Groups


@dataclass(frozen=True)
class _GroupItem:
    external_id: str
    name: str
    parent: str | None
    deleted: bool


def _group_items(items: Sequence[Item]) -> list[_GroupItem]:
    check_batch_size(len(items))
    parsed = []
    for index, item in enumerate(items):
        external_id = _own_id(index, item, parse_guid, "GUID 1С")
        parent = _reference(index, item, "parent")
        if parent == external_id:
            raise CatalogGroupCycle(
                f"{_label(index, item.get('external_id'))}: группа указана родителем самой себя.",
                details={"index": index, "external_id": item.get("external_id"), "field": "parent"},
            )
        parsed.append(
            _GroupItem(
                external_id=external_id,
                name=_text(index, item, "name", NAME_LENGTH, required=True) or "",
                parent=parent,
                deleted=_flag(index, item, "deleted"),
            )
        )
    _refuse_duplicates([group.external_id for group in parsed], items)
    return parsed


def _refuse_unknown_parents(
    items: Sequence[Item], parsed: Sequence[_GroupItem], known: set[str]
) -> None:
    for index, group in enumerate(parsed):
        if group.parent is not None and group.parent not in known:
            raise CatalogUnknownGroup(
                f"{_label(index, items[index].get('external_id'))}: родительская группа "
                f"«{group.parent}» не выгружена и не передана в этом пакете.",
                details={"index": index, "external_id": items[index].get("external_id"),
                         "field": "parent", "group": group.parent},
            )  # fmt: skip


def _refuse_cycles(
    items: Sequence[Item], parsed: Sequence[_GroupItem], parent_of: Mapping[str, str | None]
) -> None:
    """The stored tree has no cycle, so any cycle runs through a group of the batch."""
    position = {group.external_id: index for index, group in enumerate(parsed)}
    rooted: set[str] = set()  # groups whose chain of parents is known to end
    for group in parsed:
        chain: list[str] = []
        node: str | None = group.external_id
        while node is not None and node not in rooted:
            if node in chain:
                cycle = chain[chain.index(node) :]
                index = min(position[member] for member in cycle if member in position)
                raise CatalogGroupCycle(
                    f"{_label(index, items[index].get('external_id'))}: группы образуют цикл "
                    f"({' → '.join([*cycle, node])}).",
                    details={"index": index, "external_id": items[index].get("external_id"),
                             "field": "parent", "cycle": cycle},
                )  # fmt: skip
            chain.append(node)
            node = parent_of.get(node)
        rooted.update(chain)


def upsert_groups(
    session: Session, tenant: Tenant, items: Sequence[Item], *, now: datetime
) -> UpsertReport:
    """Store a batch of goods groups: ``external_id`` (GUID), ``name``, ``parent`` (the parent
    group's GUID, stored or anywhere in the batch; none: a top group), ``deleted``."""
    parsed = _group_items(items)
    lock_tenant(session, tenant)
    tree = session.execute(
        select(GoodsGroup.id, GoodsGroup.external_id, GoodsGroup.parent_id).where(
            GoodsGroup.tenant_id == tenant.id
        )
    ).all()
    external_of = {row.id: row.external_id for row in tree}
    parent_of: dict[str, str | None] = {
        row.external_id: external_of.get(row.parent_id) if row.parent_id else None for row in tree
    }
    _refuse_unknown_parents(items, parsed, set(parent_of) | {g.external_id for g in parsed})
    stored_parent = dict(parent_of)
    parent_of.update((group.external_id, group.parent) for group in parsed)
    _refuse_cycles(items, parsed, parent_of)

    stored = _stored(session, GoodsGroup, tenant.id, (group.external_id for group in parsed))
    outcomes: list[Outcome] = []
    rows: dict[str, GoodsGroup] = {}
    for group in parsed:
        row = stored.get(group.external_id)
        after = (group.name, group.parent, group.deleted)
        before = None if row is None else (row.name, stored_parent[row.external_id], row.deleted)
        outcome = _outcome(before, after, group.deleted)
        outcomes.append(outcome)
        if row is None:
            row = GoodsGroup(
                tenant_id=tenant.id, external_id=group.external_id, name=group.name,
                deleted=group.deleted, updated_at=now,
            )  # fmt: skip
            session.add(row)
        elif outcome != "unchanged":
            row.name, row.deleted, row.updated_at = group.name, group.deleted, now
        rows[group.external_id] = row
    session.flush()  # ids of the new groups, which may be parents in this batch
    group_id = {external_id: id_ for id_, external_id in external_of.items()}
    group_id.update((external_id, row.id) for external_id, row in rows.items())
    for group in parsed:
        parent_id = group_id[group.parent] if group.parent else None
        if rows[group.external_id].parent_id != parent_id:
            rows[group.external_id].parent_id = parent_id
    session.flush()
    return _report(outcomes)


# Brands


def upsert_brands(
    session: Session, tenant: Tenant, items: Sequence[Item], *, now: datetime
) -> UpsertReport:
    """Store a batch of brands: ``external_id`` (GUID), ``name``, ``deleted``."""
    check_batch_size(len(items))
    parsed = [
        (
            _own_id(index, item, parse_guid, "GUID 1С"),
            _text(index, item, "name", NAME_LENGTH, required=True) or "",
            _flag(index, item, "deleted"),
        )
        for index, item in enumerate(items)
    ]
    _refuse_duplicates([external_id for external_id, _, _ in parsed], items)
    lock_tenant(session, tenant)
    stored = _stored(session, Brand, tenant.id, (external_id for external_id, _, _ in parsed))
    outcomes: list[Outcome] = []
    for external_id, name, deleted in parsed:
        row = stored.get(external_id)
        before = None if row is None else (row.name, row.deleted)
        outcome = _outcome(before, (name, deleted), deleted)
        outcomes.append(outcome)
        if row is None:
            session.add(
                Brand(
                    tenant_id=tenant.id, external_id=external_id, name=name, deleted=deleted,
                    updated_at=now,
                )
            )  # fmt: skip
        elif outcome != "unchanged":
            row.name, row.deleted, row.updated_at = name, deleted, now
    session.flush()
    return _report(outcomes)


# Goods


class _GoodsItem(NamedTuple):  # a tuple: made once per goods item of every upload
    external_id: str
    values: dict[str, Any]  # the plain columns, as stored
    group: str | None
    brand: str | None
    barcodes: tuple[str, ...]
    deleted: bool


_GOODS_COLUMNS = (
    "name", "article", "unit", "supplier", "supplier_name", "vat_rate", "no_discount",
    "no_bonus_payment", "price_categories", "properties", "requisites", "stock", "warehouse_stock",
)  # fmt: skip
MAX_ATTRIBUTES = 200  # properties or requisites per goods item
ATTRIBUTE_LENGTH = 1_000
MAX_QUANTITY = Decimal("999999999999")
_THOUSANDTH = Decimal("0.001")


def _attributes(index: int, item: Item, field: str) -> dict[str, str]:
    """``properties`` or ``requisites``: name (or property id) → value text."""
    raw = item.get(field) or {}
    if not isinstance(raw, Mapping) or len(raw) > MAX_ATTRIBUTES:
        raise _invalid(
            index, item, field, f"ожидается объект «имя: значение», не больше {MAX_ATTRIBUTES}."
        )
    found = {}
    for name, value in raw.items():
        key = name.strip() if name.__class__ is str else ""
        if not key or value.__class__ is not str:
            raise _invalid(index, item, field, "имена и значения — строки.")
        found[key[:EXTERNAL_ID_LENGTH]] = value.strip()[:ATTRIBUTE_LENGTH]
    return found


def _quantity(index: int, item: Item, field: str) -> Decimal | None:
    value = item.get(field)
    return None if value is None else _amount(index, item, field, value)


def _amount(index: int, item: Item, field: str, value: Any) -> Decimal:
    """A quantity of ``item``'s ``field``, with 3 decimals."""
    if value.__class__ is Decimal and value.is_finite() and -MAX_QUANTITY <= value <= MAX_QUANTITY:
        return value.quantize(_THOUSANDTH, rounding=ROUND_HALF_UP)  # the common case first
    if isinstance(value, bool | float) or not isinstance(value, Decimal | int):
        raise _invalid(index, item, field, "количество — число.")
    amount = Decimal(value)
    if not amount.is_finite() or abs(amount) > MAX_QUANTITY:
        raise _invalid(index, item, field, f"количество по модулю не больше {MAX_QUANTITY}.")
    return amount.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)  # 1C keeps 3 decimals


def _warehouse_stock(index: int, item: Item) -> dict[str, str]:
    """``warehouse_stock``: 1C warehouse Ид (as ``Store.warehouse_id`` holds it) → quantity,
    stored as texts (``"12.000"``)."""
    return _keyed(
        index, item, "warehouse_stock", MAX_ATTRIBUTES,
        (f"ожидается объект «склад: количество», не больше {MAX_ATTRIBUTES}.",
         f"склад — его Ид в 1С, до {WAREHOUSE_ID_LENGTH} символов."),
        WAREHOUSE_ID_LENGTH,
        lambda _, value: str(_amount(index, item, "warehouse_stock", value)),
    )  # fmt: skip


def _goods_item(index: int, item: Item, merge: bool = False) -> _GoodsItem:
    external_id = _own_id(index, item, parse_goods_id, "GUID 1С или GUID#GUID характеристики")
    vat_rate = _text(index, item, "vat_rate", 8)
    if vat_rate is not None and vat_rate not in VAT_RATES:
        raise _invalid(index, item, "vat_rate", f"ставка НДС — одна из: {', '.join(VAT_RATES)}.")
    values = {
        "name": _text(index, item, "name", NAME_LENGTH, required=not merge or "name" in item),
        "article": _text(index, item, "article", ARTICLE_LENGTH),
        "unit": _text(index, item, "unit", UNIT_LENGTH),
        "supplier": _text(index, item, "supplier", EXTERNAL_ID_LENGTH),
        "supplier_name": _text(index, item, "supplier_name", NAME_LENGTH),
        "vat_rate": vat_rate,
        "no_discount": _flag(index, item, "no_discount"),
        "no_bonus_payment": _flag(index, item, "no_bonus_payment"),
        "price_categories": _price_categories(index, item),
        "properties": _attributes(index, item, "properties"),
        "requisites": _attributes(index, item, "requisites"),
        "stock": _quantity(index, item, "stock"),
        "warehouse_stock": _warehouse_stock(index, item),
    }
    return _GoodsItem(
        external_id=external_id,
        values=values,
        group=_reference(index, item, "group"),
        brand=_reference(index, item, "brand"),
        barcodes=_barcodes(index, item),
        deleted=_flag(index, item, "deleted"),
    )


def _refuse_shared_barcodes(
    items: Sequence[Item], parsed: Sequence[_GoodsItem | None], refuse: _Refuse
) -> None:
    owner: dict[str, int] = {}
    for index, goods in enumerate(parsed):
        if goods is None:
            continue
        for barcode in goods.barcodes:
            earlier = owner.setdefault(barcode, index)
            if earlier != index:
                refuse(_invalid(
                    index, items[index], "barcodes",
                    f"штрихкод {barcode} уже указан у items[{earlier}] (у штрихкода один товар).",
                ))  # fmt: skip
                break


def _refuse_unresolved(
    session: Session, items: Sequence[Item], parsed: list[_GoodsItem | None], refuse: _Refuse
) -> None:
    """Refuse the staged items naming a group or brand not stored, then the new ones without a
    name (a merged upload may leave it out of stored goods only)."""
    problems = goods_store.unresolved(session)
    drop = _dropping(parsed, refuse)
    for row in problems:
        external_id = items[row.idx].get("external_id")
        if row.group_ref is not None and row.group_id is None:
            drop(CatalogUnknownGroup(
                f"{_label(row.idx, external_id)}: группа «{row.group_ref}» не выгружена.",
                details={"index": row.idx, "external_id": external_id, "field": "group",
                         "group": row.group_ref},
            ))  # fmt: skip
        elif row.brand_ref is not None and row.brand_id is None:
            drop(CatalogUnknownBrand(
                f"{_label(row.idx, external_id)}: марка «{row.brand_ref}» не выгружена.",
                details={"index": row.idx, "external_id": external_id, "field": "brand",
                         "brand": row.brand_ref},
            ))  # fmt: skip
    for row in problems:
        if parsed[row.idx] is not None and row.name is None:
            drop(_invalid(
                row.idx, items[row.idx], "name",
                "товара нет в каталоге, а новому товару нужно name: выгрузите сначала каталог.",
            ))  # fmt: skip
    goods_store.discard(session, [row.idx for row in problems if parsed[row.idx] is None])


def _given(item: Item, merge: bool) -> int:
    """The fields an item gives (``goods_store.FIELDS``): all of them unless merged."""
    if not merge:
        return goods_store.ALL_GIVEN
    mask = 0
    for name in item:
        mask |= goods_store.BITS.get(name, 0)
    return mask


def upsert_goods(
    session: Session,
    tenant: Tenant,
    items: Sequence[Item],
    *,
    now: datetime,
    merge: bool = False,
    lenient: bool = False,
) -> UpsertReport:
    """Store a batch of goods: ``external_id`` (``GUID`` or ``GUID#characteristicGUID``),
    ``name``, ``article``, ``unit``, ``group`` and ``brand`` (GUIDs of stored ones),
    ``supplier``, ``supplier_name``, ``vat_rate`` (``VAT_RATES``), ``no_discount``,
    ``no_bonus_payment``, ``price_categories`` (price type → rubles), ``properties`` and
    ``requisites`` (name → text), ``stock`` (quantity in all warehouses), ``warehouse_stock``
    (1C warehouse Ид → quantity; merged, warehouses not named keep theirs), ``barcodes``,
    ``deleted``.

    With ``merge`` a field the item leaves out keeps its stored value (an exchange sends the
    catalog and the prices in separate files); a new record still needs its ``name``. With
    ``lenient`` an item the batch would be refused for is left out and reported in
    ``refused``, and the rest is stored (an exchange file is never refused as a whole).

    The items are checked (``prepare_goods``, no database needed), then merged into the stored
    catalog by the database (``store_goods``, ``goods_store``)."""
    prepared = prepare_goods(items, merge=merge, lenient=lenient)
    return store_goods(session, tenant, prepared, now=now)


@dataclass(frozen=True)
class PreparedGoods:
    """A batch of goods checked on its own, ready for ``store_goods``."""

    items: Sequence[Item]
    parsed: list[_GoodsItem | None]
    rows: goods_store.Rows
    refusals: list[ConnectorError]
    merge: bool
    lenient: bool


def prepare_goods(
    items: Sequence[Item], *, merge: bool = False, lenient: bool = False
) -> PreparedGoods:
    """Check a batch of goods as ``upsert_goods`` does before it needs the stored catalog."""
    check_batch_size(len(items))
    refusals: list[ConnectorError] = []
    refuse = refusals.append if lenient else _raise
    parsed: list[_GoodsItem | None] = []
    for index, item in enumerate(items):
        try:
            parsed.append(_goods_item(index, item, merge))
        except CatalogInvalidItem as error:
            refuse(error)
            parsed.append(None)
    _refuse_duplicates(
        [goods.external_id if goods else None for goods in parsed], items,
        _dropping(parsed, refuse),
    )  # fmt: skip
    _refuse_shared_barcodes(items, parsed, _dropping(parsed, refuse))
    rows = goods_store.rows(
        (index, goods.external_id, _given(items[index], merge), goods.values, goods.group,
         goods.brand, goods.barcodes, goods.deleted)
        for index, goods in enumerate(parsed) if goods is not None
    )  # fmt: skip
    return PreparedGoods(items, parsed, rows, refusals, merge, lenient)


def store_goods(
    session: Session, tenant: Tenant, prepared: PreparedGoods, *, now: datetime
) -> UpsertReport:
    """Merge a prepared batch into the stored catalog (see ``upsert_goods``)."""
    refusals = list(prepared.refusals)
    refuse = refusals.append if prepared.lenient else _raise
    parsed = list(prepared.parsed)
    lock_tenant(session, tenant)
    try:
        goods_store.stage(session, tenant.id, prepared.rows)
        _refuse_unresolved(session, prepared.items, parsed, refuse)
        outcomes = goods_store.write(session, tenant.id, merge=prepared.merge, now=now)
    finally:
        with contextlib.suppress(SQLAlchemyError):  # a failed transaction is rolled back
            goods_store.clear(session)
    if outcomes["created"] or outcomes["updated"] or outcomes["deleted"]:
        mark_changed(session, Goods)
        _expire_loaded(session, (Goods, GoodsBarcode))
    return UpsertReport(
        created=outcomes["created"], updated=outcomes["updated"],
        unchanged=outcomes["unchanged"], deleted=outcomes["deleted"], refused=tuple(refusals),
    )  # fmt: skip


def _dropping(parsed: list[_GoodsItem | None], refuse: _Refuse) -> _Refuse:
    """``refuse``, and the refused item (``details.index``) left out of the batch."""

    def drop(error: ConnectorError) -> None:
        refuse(error)
        index = (error.details or {}).get("index")
        if isinstance(index, int):
            parsed[index] = None

    return drop


def _expire_loaded(session: Session, models: tuple[type, ...]) -> None:
    """Rows written in bulk bypass the session: objects of these models it already holds are
    reloaded on their next use instead of showing what they were."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, models):
            session.expire(obj)


# Properties, price types, stock: what an exchange with 1C adds beside the goods


def upsert_properties(
    session: Session, tenant: Tenant, items: Sequence[Item], *, now: datetime
) -> UpsertReport:
    """Store goods properties: ``external_id`` (1C Ид), ``name``, ``value_type`` and
    ``values`` (value Ид → text, for a reference property)."""
    check_batch_size(len(items))
    parsed = []
    for index, item in enumerate(items):
        external_id = _text(index, item, "external_id", EXTERNAL_ID_LENGTH, required=True) or ""
        values = _attributes(index, {"values": item.get("values") or {}}, "values")
        parsed.append((
            external_id, _text(index, item, "name", NAME_LENGTH, required=True) or "",
            (_text(index, item, "value_type", 200) or "")[:32] or None, values,
        ))  # fmt: skip
    _refuse_duplicates([external_id for external_id, *_ in parsed], items)
    return _upsert_plain(
        session, tenant, GoodsProperty,
        [(external_id, {"name": name, "value_type": value_type, "values": values})
         for external_id, name, value_type, values in parsed],
        now,
    )  # fmt: skip


def _upsert_plain(
    session: Session,
    tenant: Tenant,
    model: type[GoodsProperty] | type[PriceType],
    rows: Sequence[tuple[str, dict[str, Any]]],
    now: datetime,
) -> UpsertReport:
    """Create or update reference records by external id (their fields as given)."""
    stored: dict[str, Any] = _stored(
        session, model, tenant.id, (external_id for external_id, _ in rows)
    )
    outcomes: list[Outcome] = []
    for external_id, given in rows:
        found = stored.get(external_id)
        before = None if found is None else (*(getattr(found, n) for n in given), False)
        outcome = _outcome(before, (*given.values(), False), False)
        outcomes.append(outcome)
        target = found or model(tenant_id=tenant.id, external_id=external_id)
        if found is None:
            session.add(target)
        if outcome != "unchanged":
            for name, value in given.items():
                setattr(target, name, value)
            target.updated_at = now
    session.flush()
    return _report(outcomes)


def property_values(session: Session, tenant_id: int) -> dict[str, dict[str, str]]:
    """Each stored property's values (value Ид → text), to resolve a reference property."""
    return {
        external_id: dict(values)
        for external_id, values in session.execute(
            select(GoodsProperty.external_id, GoodsProperty.values).where(
                GoodsProperty.tenant_id == tenant_id
            )
        )
        if values
    }


def upsert_price_types(
    session: Session, tenant: Tenant, items: Sequence[Item], *, now: datetime
) -> UpsertReport:
    """Store price types: ``external_id`` (a GUID or 1C's code), ``name``, ``currency``."""
    check_batch_size(len(items))
    parsed = [
        (
            _text(index, item, "external_id", EXTERNAL_ID_LENGTH, required=True) or "",
            _text(index, item, "name", NAME_LENGTH) or str(item.get("external_id")),
            (_text(index, item, "currency", 100) or "")[:16] or None,
        )
        for index, item in enumerate(items)
    ]
    _refuse_duplicates([external_id for external_id, _, _ in parsed], items)
    return _upsert_plain(
        session, tenant, PriceType,
        [(external_id, {"name": name, "currency": currency})
         for external_id, name, currency in parsed],
        now,
    )  # fmt: skip


def delete_missing_goods(
    session: Session, tenant: Tenant, present: Callable[[str], bool], *, now: datetime
) -> int:
    """A full export lists every goods item: mark deleted each stored, not yet deleted one it
    did not list (``present(external_id)`` false). Returns how many were marked."""
    lock_tenant(session, tenant)
    stored = session.connection().execute(
        select(Goods.id, Goods.external_id)
        .where(Goods.tenant_id == tenant.id, Goods.deleted.is_(False))
        .execution_options(yield_per=10_000)  # streamed: a catalog may hold millions
    )
    missing = [goods_id for goods_id, external_id in stored if not present(external_id)]
    for condition in where_in(session, Goods.id, missing):
        session.execute(update(Goods).where(condition).values(deleted=True, updated_at=now))
    return len(missing)
