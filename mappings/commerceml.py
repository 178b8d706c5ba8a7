"""CommerceML (1C's "exchange with website") read as a stream of plain records.

What a file is comes from its content, never its name: a Классификатор or Каталог makes it a
catalog, a ПакетПредложений an offers package (with prices, rests, or both, as CommerceML 3 splits
them). Каталог, Товар and Предложение are found wherever they are nested; namespaces (CommerceML 2
and 3, or none) and encodings (UTF-8 with or without BOM, windows-1251 as declared) are the XML's
own business. The file is read with ``lxml.etree.iterparse`` and every record's element is cleared
with its preceding siblings once read, so memory does not grow with the file.

The parser is the hardened one (``mappings.xml``: no DTD, no entities, no network): a file
carrying a DTD or entity references is read without expanding them. Unknown elements are skipped;
a record without its Ид is reported (``Malformed``) and the rest goes on: a 1C file is never
refused for XSD violations.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import IO

from lxml import etree

from mappings.xml import SAFE_OPTIONS

CATALOG = "catalog"
OFFERS = "offers"
OTHER = "other"  # documents (orders) and anything else: nothing for the catalog


@dataclass(frozen=True)
class Package:
    """The file's header: a catalog or an offers package, and whether it holds only changes
    (``СодержитТолькоИзменения``; a full export when false)."""

    kind: str
    only_changes: bool
    schema_version: str | None


@dataclass(frozen=True)
class Group:
    external_id: str
    name: str
    parent: str | None


@dataclass(frozen=True)
class Property:
    external_id: str
    name: str
    values: dict[str, str] = field(default_factory=dict)  # ИдЗначения → Значение


@dataclass(frozen=True)
class Goods:
    external_id: str  # "GUID" or "GUID#characteristicGUID"
    name: str | None
    article: str | None
    barcodes: tuple[str, ...]
    unit: str | None
    groups: tuple[str, ...]
    manufacturer: str | None
    properties: dict[str, str]  # property Ид → value (or value Ид of a reference property)
    requisites: dict[str, str]  # ЗначениеРеквизита: Наименование → Значение
    vat_rate: str | None
    deleted: bool


@dataclass(frozen=True)
class PriceType:
    external_id: str
    name: str | None
    currency: str | None


@dataclass(frozen=True)
class Warehouse:
    external_id: str
    name: str | None


@dataclass(frozen=True)
class Offer:
    external_id: str
    name: str | None
    barcodes: tuple[str, ...]
    prices: dict[str, Decimal]  # price type Ид → price per unit
    stock: dict[str, Decimal]  # warehouse Ид → quantity
    quantity: Decimal | None  # the offer's own Количество, when given
    deleted: bool


@dataclass(frozen=True)
class Malformed:
    """A record that cannot be read (no Ид): its element path, for the sync log."""

    path: str
    reason: str


Record = Package | Group | Property | Goods | PriceType | Warehouse | Offer | Malformed


# The elements read: libxml2 hands over only these (the rest is parsed, never seen in Python).
_WATCHED = ("Классификатор", "Каталог", "ПакетПредложений", "Группа", "Свойство", "Товар",
            "ТипЦены", "Склад", "Предложение")  # fmt: skip
_TAGS = tuple("{*}" + name for name in _WATCHED)


def read(source: str | IO[bytes]) -> Iterator[Record]:
    """The records of a CommerceML file in document order. ``Package`` comes when the Каталог
    or ПакетПредложений starts (its attributes say whether it holds only changes), or last for a
    file without one (a classifier alone adds and changes, deletes nothing)."""
    announced = classifier = False
    events = etree.iterparse(source, events=("start", "end"), tag=_TAGS, **SAFE_OPTIONS)
    for event, element in events:
        name = _local(element)
        if event == "start":
            if name in ("Каталог", "ПакетПредложений") and not announced:
                announced = True
                kind = OFFERS if name == "ПакетПредложений" else CATALOG
                yield Package(kind, _only_changes(element), _root_version(element))
            classifier = classifier or name == "Классификатор"
            continue
        record = _record(name, element)
        if record is not None:
            yield record
            _forget(element)
    if not announced:
        kind = CATALOG if classifier else OTHER
        yield Package(
            kind, True, events.root.get("ВерсияСхемы") if events.root is not None else None
        )


def _record(name: str, element: etree._Element) -> Record | None:
    box = element.getparent()
    parent = _local(box) if box is not None else None
    if name == "Группа" and parent == "Группы" and _within(element, "Классификатор"):
        return _group(element)
    if name == "Свойство" and parent == "Свойства" and _within(element, "Классификатор"):
        return _property(element)
    if name == "Товар" and parent == "Товары" and _within(element, "Каталог"):
        return _goods(element)
    if name == "ТипЦены" and parent == "ТипыЦен":
        found = _id(element)
        if found is None:
            return _malformed(element)
        return PriceType(found, _text(element, "Наименование"), _text(element, "Валюта"))
    if name == "Склад" and parent == "Склады":
        found = _id(element)
        if found is None:
            return _malformed(element)
        return Warehouse(found, _text(element, "Наименование"))
    if name == "Предложение" and parent == "Предложения" and _within(element, "ПакетПредложений"):
        return _offer(element)
    return None


def _group(element: etree._Element) -> Record:
    found = _id(element)
    if found is None:
        return _malformed(element)
    box = element.getparent()  # Группы, inside the parent Группа or the Классификатор
    owner = box.getparent() if box is not None else None
    parent = _id(owner) if owner is not None and _local(owner) == "Группа" else None
    return Group(found, _text(element, "Наименование") or found, parent)


def _property(element: etree._Element) -> Record:
    found = _id(element)
    if found is None:
        return _malformed(element)
    values = _pairs(element, "ВариантыЗначений", "ИдЗначения", "Значение")
    return Property(found, _text(element, "Наименование") or found, values)


def _goods(element: etree._Element) -> Record:
    found = _id(element)
    if found is None:
        return _malformed(element)
    groups = tuple(
        text for box in _children(element, "Группы") for item in box
        if _local(item) == "Ид" and (text := _clean(item.text))
    )  # fmt: skip
    properties = _pairs(element, "ЗначенияСвойств", "Ид", "Значение")
    requisites = _pairs(element, "ЗначенияРеквизитов", "Наименование", "Значение")
    vat = None
    for box in _children(element, "СтавкиНалогов"):
        for item in box:
            if (_text(item, "Наименование") or "").upper() == "НДС":
                vat = _text(item, "Ставка")
    manufacturer = None
    for maker in _children(element, "Изготовитель"):
        manufacturer = _text(maker, "Наименование") or _text(maker, "Ид")
    unit = None
    for base in _children(element, "БазоваяЕдиница"):
        unit = _clean(base.text) or base.get("НаименованиеКраткое") or base.get("Код")
    return Goods(
        external_id=found, name=_text(element, "Наименование"),
        article=_text(element, "Артикул"), barcodes=_barcodes(element), unit=unit,
        groups=groups, manufacturer=manufacturer, properties=properties,
        requisites=requisites, vat_rate=vat, deleted=_deleted(element),
    )  # fmt: skip


def _offer(element: etree._Element) -> Record:
    found = _id(element)
    if found is None:
        return _malformed(element)
    prices = {
        kind: value
        for kind, text in _pairs(element, "Цены", "ИдТипаЦены", "ЦенаЗаЕдиницу").items()
        if (value := _number(text)) is not None
    }
    stock: dict[str, Decimal] = {}
    for store in _stores(element):
        store_id, value = store.get("ИдСклада"), _number(store.get("КоличествоНаСкладе"))
        if store_id and value is not None:
            stock[store_id.strip()] = stock.get(store_id.strip(), Decimal(0)) + value
    quantity = _number(_text(element, "Количество"))
    for rests in _children(element, "Остатки"):  # CommerceML 3: Остаток (Количество or Склад)
        for rest in rests:
            own = _number(_text(rest, "Количество"))
            if own is not None:
                quantity = own
    return Offer(
        external_id=found, name=_text(element, "Наименование"), barcodes=_barcodes(element),
        prices=prices, stock=stock, quantity=quantity, deleted=_deleted(element),
    )  # fmt: skip


def _pairs(element: etree._Element, box: str, key: str, value: str) -> dict[str, str]:
    """``<box><item><key/><value/></item>...</box>`` as a dict (items missing either skipped)."""
    found = {}
    for container in _children(element, box):
        for item in container:
            name, text = _text(item, key), _text(item, value)
            if name is not None and text is not None:
                found[name] = text
    return found


def _stores(element: etree._Element) -> Iterator[etree._Element]:
    """Склад @ИдСклада @КоличествоНаСкладе on the offer itself, or inside Остатки/Остаток."""
    for child in element:
        if _local(child) == "Склад":
            yield child
        elif _local(child) == "Остатки":
            for rest in child:
                for store in rest:
                    if _local(store) == "Склад":
                        yield store


def _forget(element: etree._Element) -> None:
    """Free a read record and what came before it: memory stays flat however long the file."""
    element.clear()
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def _local(element: etree._Element) -> str:
    """The element's name without its namespace ("" for a comment or an entity)."""
    tag = element.tag
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _children(element: etree._Element, name: str) -> Iterator[etree._Element]:
    """The children named ``name`` in any namespace (or none): libxml2 finds them."""
    return element.iterchildren("{*}" + name)


def _clean(text: str | None) -> str | None:
    text = (text or "").strip()
    return text or None


def _text(element: etree._Element, name: str) -> str | None:
    for child in _children(element, name):
        return _clean(child.text)
    return None


def _id(element: etree._Element) -> str | None:
    return _text(element, "Ид")


def _barcodes(element: etree._Element) -> tuple[str, ...]:
    found = []
    for child in _children(element, "Штрихкод"):
        code = _clean(child.text)
        if code and code not in found:
            found.append(code)
    return tuple(found)


def _deleted(element: etree._Element) -> bool:
    if (element.get("Статус") or "").strip().lower() == "удален":
        return True
    return (_text(element, "ПометкаУдаления") or "").lower() == "true"


def _number(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        value = Decimal(text.replace(" ", "").replace("\u00a0", "").replace(",", "."))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _only_changes(element: etree._Element) -> bool:
    return (element.get("СодержитТолькоИзменения") or "").strip().lower() == "true"


def _root_version(element: etree._Element) -> str | None:
    root = element.getroottree().getroot()
    return root.get("ВерсияСхемы")


def _within(element: etree._Element, name: str) -> bool:
    return any(_local(ancestor) == name for ancestor in element.iterancestors())


def _malformed(element: etree._Element) -> Malformed:
    names = [_local(ancestor) for ancestor in element.iterancestors()]
    return Malformed("/".join([*reversed(names), _local(element)]), "нет Ид")
