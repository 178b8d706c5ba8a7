"""What the catalog knows of a receipt's goods: their groups with all ancestors, brand, supplier
and the no-discount and no-bonus-payment marks.

``resolve_goods`` reads the receipt's goods in one statement (``IN`` lists, by external id and
by barcode); the group tree comes from a per-process cache (``groups_cache``, per tenant), so no
line costs a query of its own. The tree is cleared when this process changes a group and
expires after ``GROUPS_TTL_S`` elsewhere; a goods item naming a group the cached tree does not
hold yet (added by another process) has the tree read again.

Deleted goods are unknown. Deleted groups and brands are kept as they are: goods that still
point at them carry them (a deleted group stays in the ancestors), so a condition on a group
keeps covering its goods until 1C moves them elsewhere.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Row, Select, String, cast, null, select, union_all
from sqlalchemy.orm import InstrumentedAttribute, Session

from processing.cache import ProcessCache
from processing.catalog.ids import parse_goods_id
from processing.catalog.models import Brand, Goods, GoodsBarcode, GoodsGroup

GROUPS_TTL_S = 30.0

# A receipt line's reference to its goods: (goods external id, barcode), either may be None.
GoodsRef = tuple[str | None, str | None]


@dataclass(frozen=True)
class GoodsFacts:
    """A receipt line's goods as the catalog knows them. ``known=False``: the catalog has no
    such goods (or only deleted ones), ``external_id`` is the line's own and the caller uses
    the line's data (its groups, its no-discount mark)."""

    external_id: str | None
    known: bool
    group_ids: tuple[str, ...] = ()  # the goods' group, then its ancestors (external ids)
    brand_id: str | None = None
    supplier_id: str | None = None
    no_discount: bool = False
    no_bonus_payment: bool = False
    name: str | None = None


@dataclass(frozen=True)
class _GroupTree:
    chains: Mapping[int, tuple[str, ...]]  # group id → its external id, then its ancestors'


groups_cache = ProcessCache[int, _GroupTree]("goods-groups", GROUPS_TTL_S, watches=(GoodsGroup,))


def _chains(rows: Sequence[Row[int, str, int | None]]) -> dict[int, tuple[str, ...]]:
    external = {id_: external_id for id_, external_id, _ in rows}
    parent = {id_: parent_id for id_, _, parent_id in rows}
    chains: dict[int, tuple[str, ...]] = {}
    for start in external:
        path: list[int] = []
        node: int | None = start
        # Uploads refuse cycles; the guard on ``path`` only keeps a broken row from looping.
        while node is not None and node not in chains and node in external and node not in path:
            path.append(node)
            node = parent.get(node)
        tail = chains.get(node, ()) if node is not None else ()
        for id_ in reversed(path):
            tail = (external[id_], *tail)
            chains[id_] = tail
    return chains


def _read_tree(session: Session, tenant_id: int) -> _GroupTree:
    rows = session.execute(
        select(GoodsGroup.id, GoodsGroup.external_id, GoodsGroup.parent_id).where(
            GoodsGroup.tenant_id == tenant_id
        )
    ).all()
    tree = _GroupTree(_chains(rows))
    groups_cache.stage(session, tenant_id, tree)
    return tree


def _group_tree(session: Session, tenant_id: int, needed: Collection[int]) -> _GroupTree:
    cached = groups_cache.get(tenant_id)
    if cached is not None and all(group_id in cached.chains for group_id in needed):
        return cached
    return _read_tree(session, tenant_id)


# external id, group id, brand, supplier, no discount, no bonus payment, name, barcode
_GoodsSelect = Select[str, int | None, str, str | None, bool, bool, str, str]
_GoodsRow = Row[str, int | None, str, str | None, bool, bool, str, str]


def _select(barcode: ColumnElement[str] | InstrumentedAttribute[str]) -> _GoodsSelect:
    return select(
        Goods.external_id,
        Goods.group_id,
        Brand.external_id.label("brand"),
        Goods.supplier,
        Goods.no_discount,
        Goods.no_bonus_payment,
        Goods.name,
        barcode.label("barcode"),
    )


def _goods_rows(
    session: Session, tenant_id: int, external_ids: Collection[str], barcodes: Collection[str]
) -> list[_GoodsRow]:
    """The live goods named by external id or barcode, in one statement; ``barcode`` is set on
    the rows found by barcode."""
    parts = []
    if external_ids:
        parts.append(
            _select(cast(null(), String))
            .select_from(Goods)
            .outerjoin(Brand, Brand.id == Goods.brand_id)
            .where(
                Goods.tenant_id == tenant_id,
                Goods.external_id.in_(sorted(external_ids)),
                Goods.deleted.is_(False),
            )
        )
    if barcodes:
        parts.append(
            _select(GoodsBarcode.barcode)
            .select_from(GoodsBarcode)
            .join(Goods, Goods.id == GoodsBarcode.goods_id)
            .outerjoin(Brand, Brand.id == Goods.brand_id)
            .where(
                GoodsBarcode.tenant_id == tenant_id,
                GoodsBarcode.barcode.in_(sorted(barcodes)),
                Goods.deleted.is_(False),
            )
        )
    if not parts:
        return []
    statement = parts[0] if len(parts) == 1 else union_all(*parts)
    return list(session.execute(statement).all())


def resolve_goods(session: Session, tenant_id: int, refs: Sequence[GoodsRef]) -> list[GoodsFacts]:
    """The catalog's facts for each reference, in order: found by external id first (``GUID``
    or ``GUID#characteristicGUID``, any case), then by barcode. One statement for the goods;
    the group tree is cached per tenant."""
    keys = [
        (parse_goods_id(goods_id) if goods_id else None, barcode.strip() if barcode else None)
        for goods_id, barcode in refs
    ]
    rows = _goods_rows(
        session,
        tenant_id,
        {goods_id for goods_id, _ in keys if goods_id},
        {barcode for _, barcode in keys if barcode},
    )
    by_id = {row.external_id: row for row in rows if row.barcode is None}
    by_barcode = {row.barcode: row for row in rows if row.barcode is not None}
    found = [
        (by_id.get(goods_id) if goods_id else None)
        or (by_barcode.get(barcode) if barcode else None)
        for goods_id, barcode in keys
    ]
    groups = {row.group_id for row in found if row is not None and row.group_id is not None}
    tree = _group_tree(session, tenant_id, groups) if groups else None
    facts = []
    for row, (given, _) in zip(found, refs, strict=True):
        if row is None:
            facts.append(GoodsFacts(external_id=given, known=False))
            continue
        facts.append(
            GoodsFacts(
                external_id=row.external_id,
                known=True,
                group_ids=tree.chains.get(row.group_id, ()) if tree and row.group_id else (),
                brand_id=row.brand,
                supplier_id=row.supplier,
                no_discount=row.no_discount,
                no_bonus_payment=row.no_bonus_payment,
                name=row.name,
            )
        )
    return facts


# Whether a tenant keeps a catalog at all: receipts of a tenant without one never query it.
catalog_cache = ProcessCache[int, bool]("catalog-in-use", GROUPS_TTL_S, watches=(Goods,))


def catalog_in_use(session: Session, tenant_id: int) -> bool:
    """Whether the tenant has uploaded any goods (cached per process)."""
    cached = catalog_cache.get(tenant_id)
    if cached is not None:
        return cached
    found = session.scalar(select(Goods.id).where(Goods.tenant_id == tenant_id).limit(1))
    catalog_cache.stage(session, tenant_id, found is not None)
    return found is not None
