"""CommerceML (1C's "exchange with website") read as a stream of plain records.

What a file is comes from its content, never its name: a Классификатор or Каталог makes it a
catalog, a ПакетПредложений an offers package (with prices, rests, or both, as CommerceML 3 splits
them). Каталог, Товар and Предложение are found wherever they are nested; namespaces (CommerceML 2
and 3, or none) and encodings (UTF-8 with or without BOM, windows-1251 as declared) are the XML's
own business. The file is read with ``lxml.etree.iterparse`` and every record's element is cleared
with its preceding siblings once read, so memory does not grow with the file.

Which part of the file a record belongs to (the Классификатор, a Каталог, a ПакетПредложений or a
Документ, whose goods, counterparties and stores are an order's, not the catalog's) is followed
from the start and end events of those parts; a record's element is walked once, its children
dispatched by name (the reader is a fixed cost on every catalog exchange: ``bench/commerceml.py``).

The parser is the hardened one (``mappings.xml``: no DTD, no entities, no network), and a file
carrying a DOCTYPE is refused (``XmlDoctypeRefused``: 1C never writes one; its entity references
would otherwise be dropped from the text without a word). Unknown elements are skipped;
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
from processing.errors import InvalidInput


class XmlDoctypeRefused(InvalidInput):
    code = "EXCHANGE_XML_DOCTYPE"
    message = (
        "Файл обмена содержит объявление DOCTYPE (сущности, внешние ссылки): 1С таких файлов не "
        "выгружает, файл изменён или подделан. Выгрузите его из 1С заново."
    )


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
    value_type: str | None = None  # ТипЗначений: Справочник, Строка, Число...


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
    unit_code: str | None = None  # БазоваяЕдиница @Код (OKEI), beside ``unit``'s short name
    manufacturer_id: str | None = None  # Изготовитель/Ид


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
    characteristics: dict[str, str] = field(default_factory=dict)  # Наименование → Значение
    article: str | None = None


@dataclass(frozen=True)
class Organisation:
    """The seller's own company: the Владелец of the classifier, catalog or offers package, or a
    Контрагент the classifier lists (some УТ exports list the own organisations there)."""

    external_id: str
    name: str | None
    full_name: str | None  # ОфициальноеНаименование (ПолноеНаименование in some exports)
    inn: str | None
    kpp: str | None


@dataclass(frozen=True)
class Unit:
    """A unit of the classifier's ЕдиницыИзмерения (OKEI code, short and full name)."""

    code: str | None
    name: str | None  # НаименованиеКраткое
    full_name: str | None
    international: str | None  # МеждународноеСокращение


@dataclass(frozen=True)
class Malformed:
    """A record that cannot be read (no Ид): its element path, for the sync log."""

    path: str
    reason: str


Record = (
    Package
    | Group
    | Property
    | Goods
    | PriceType
    | Warehouse
    | Offer
    | Organisation
    | Unit
    | Malformed
)


# The scopes a record is read in, followed from their start and end events.
CLASSIFIER, CATALOG_TAG, PACKAGE, DOCUMENT = (
    "Классификатор",
    "Каталог",
    "ПакетПредложений",
    "Документ",
)
_SCOPES = frozenset((CLASSIFIER, CATALOG_TAG, PACKAGE, DOCUMENT))
_OWNER_SCOPES = frozenset((CLASSIFIER, CATALOG_TAG, PACKAGE))

# The elements read: libxml2 hands over only these (the rest is parsed, never seen in Python).
# Warehouses are read from their Склады box: an offer's many Склад @ИдСклада never reach Python.
_WATCHED = (*_SCOPES, "Группа", "Свойство", "Товар", "ТипЦены", "Склады", "Предложение",
            "Владелец", "Контрагент", "ЕдиницаИзмерения")  # fmt: skip
_TAGS = tuple("{*}" + name for name in _WATCHED)


class _LocalNames(dict[object, str]):
    """Tag → name without its namespace ("" for an entity reference), computed once per tag.
    Bounded: a hostile file of endless distinct tags is answered without being remembered."""

    def __missing__(self, tag: object) -> str:
        local = tag.rpartition("}")[2] if isinstance(tag, str) else ""
        if len(self) < 4096:
            self[tag] = local
        return local


_NAMES = _LocalNames()


def read(source: str | IO[bytes]) -> Iterator[Record]:
    """The records of a CommerceML file in document order. ``Package`` comes when the Каталог
    or ПакетПредложений starts (its attributes say whether it holds only changes), or last for a
    file without one (a classifier alone adds and changes, deletes nothing). Each owner
    organisation comes once per file, however many parts of the file name it."""
    announced = classifier = checked = False
    scopes: list[str] = []  # the open Классификатор, Каталог, ПакетПредложений, Документ
    organisations: set[str] = set()
    events = etree.iterparse(source, events=("start", "end"), tag=_TAGS, **SAFE_OPTIONS)
    for event, element in events:
        name = _NAMES[element.tag]
        if not checked:  # the document's head is parsed by the first element handed over
            _refuse_doctype(element)
            checked = True
        if event == "start":
            if name in _SCOPES:
                scopes.append(name)
                if name in (CATALOG_TAG, PACKAGE) and not announced:
                    announced = True
                    kind = OFFERS if name == PACKAGE else CATALOG
                    yield Package(kind, _only_changes(element), _root_version(element))
                classifier = classifier or name == CLASSIFIER
            continue
        if name in _SCOPES:
            scopes.pop()
            continue
        box = element.getparent()
        if box is None:
            continue
        scope = scopes[-1] if scopes else None
        if name == "Склады":
            if _NAMES[box.tag] in _OWNER_SCOPES:
                yield from _warehouses(element)
                _forget(element, box)
            continue
        record = _record(name, element, _NAMES[box.tag], scope)
        if record is None:
            continue
        if isinstance(record, Organisation):
            if record.external_id in organisations:
                _forget(element, box)
                continue
            organisations.add(record.external_id)
        yield record
        _forget(element, box)
    if not announced:
        kind = CATALOG if classifier else OTHER
        yield Package(
            kind, True, events.root.get("ВерсияСхемы") if events.root is not None else None
        )


def _refuse_doctype(element: etree._Element) -> None:
    """1C never writes a DOCTYPE: a file with one (entities, external references) is refused
    whole instead of being read with its entity references silently left out."""
    info = element.getroottree().docinfo
    if getattr(info, "doctype", "") or info.internalDTD is not None:
        raise XmlDoctypeRefused()


def _record(name: str, element: etree._Element, box: str, scope: str | None) -> Record | None:
    """The record of a watched element that has ended, or None where it is not one (a Товар of
    an order, a Контрагент of a document, a Владелец's Контрагент read with its Владелец)."""
    if name == "Товар":
        return _goods(element) if box == "Товары" and scope == CATALOG_TAG else None
    if name == "Предложение":
        return _offer(element) if box == "Предложения" and scope == PACKAGE else None
    if name == "Группа":
        return _group(element) if box == "Группы" and scope == CLASSIFIER else None
    if name == "Свойство":
        return _property(element) if box == "Свойства" and scope == CLASSIFIER else None
    if name == "ТипЦены":
        return _price_type(element) if box == "ТипыЦен" and scope != DOCUMENT else None
    if name == "Владелец":
        return _organisation(element) if box in _OWNER_SCOPES else None
    if name == "Контрагент":
        return _organisation(element) if box == "Контрагенты" and scope == CLASSIFIER else None
    if name == "ЕдиницаИзмерения" and box == "ЕдиницыИзмерения" and scope == CLASSIFIER:
        return _unit(element)
    return None


def _group(element: etree._Element) -> Record:
    fields = _fields(element)
    found = fields.get("Ид")
    if found is None:
        return _malformed(element)
    box = element.getparent()  # Группы, inside the parent Группа or the Классификатор
    owner = box.getparent() if box is not None else None
    parent = (
        _fields(owner).get("Ид") if owner is not None and _NAMES[owner.tag] == "Группа" else None
    )
    return Group(found, fields.get("Наименование") or found, parent)


def _property(element: etree._Element) -> Record:
    fields = _fields(element)
    found = fields.get("Ид")
    if found is None:
        return _malformed(element)
    values: dict[str, str] = {}
    for box in element:
        if _NAMES[box.tag] == "ВариантыЗначений":
            _collect(box, "ИдЗначения", "Значение", values)
    name = fields.get("Наименование") or found
    return Property(found, name, values, fields.get("ТипЗначений"))


def _price_type(element: etree._Element) -> Record:
    fields = _fields(element)
    found = fields.get("Ид")
    if found is None:
        return _malformed(element)
    return PriceType(found, fields.get("Наименование"), fields.get("Валюта"))


def _warehouses(box: etree._Element) -> Iterator[Record]:
    for store in box:
        if _NAMES[store.tag] != "Склад":
            continue
        fields = _fields(store)
        found = fields.get("Ид")
        yield _malformed(store) if found is None else Warehouse(found, fields.get("Наименование"))


def _organisation(element: etree._Element) -> Record:
    """A Контрагент's requisites; a Владелец may hold them itself or in a Контрагент of its own."""
    fields = _fields(element)
    for child in element:
        if _NAMES[child.tag] == "Контрагент":
            fields = {**_fields(child), **fields}
    found = fields.get("Ид")
    if found is None:
        return _malformed(element)
    full_name = fields.get("ОфициальноеНаименование") or fields.get("ПолноеНаименование")
    return Organisation(
        found, fields.get("Наименование") or full_name, full_name, fields.get("ИНН"),
        fields.get("КПП"),
    )  # fmt: skip


def _unit(element: etree._Element) -> Unit | None:
    fields = _fields(element)
    code, name = fields.get("Код"), fields.get("НаименованиеКраткое")
    if code is None and name is None:
        return None
    return Unit(code, name, fields.get("НаименованиеПолное"), fields.get("МеждународноеСокращение"))


def _goods(element: etree._Element) -> Record:
    """A Товар read in one walk over its children (the hot path of a catalog)."""
    found = name = article = unit = unit_code = manufacturer = maker_id = vat = None
    barcodes: list[str] = []
    groups: list[str] = []
    properties: dict[str, str] = {}
    requisites: dict[str, str] = {}
    deleted = _status_deleted(element)
    for child in element:
        local = _NAMES[child.tag]
        if local == "Ид":
            found = found or _clean(child.text)
        elif local == "Наименование":
            name = name or _clean(child.text)
        elif local == "Штрихкод":
            _add_barcode(barcodes, child)
        elif local == "Артикул":
            article = article or _clean(child.text)
        elif local == "БазоваяЕдиница":
            unit = _clean(child.text) or child.get("НаименованиеКраткое") or child.get("Код")
            unit_code = _clean(child.get("Код"))
        elif local == "Группы":
            groups.extend(
                text for item in child if _NAMES[item.tag] == "Ид" and (text := _clean(item.text))
            )
        elif local == "ЗначенияСвойств":
            _collect(child, "Ид", "Значение", properties)
        elif local == "ЗначенияРеквизитов":
            _collect(child, "Наименование", "Значение", requisites)
        elif local == "СтавкиНалогов":
            for item in child:
                tax, rate = _pair(item, "Наименование", "Ставка")
                if (tax or "").upper() == "НДС":
                    vat = rate
        elif local == "Изготовитель":
            maker = _fields(child)
            manufacturer = maker.get("Наименование") or maker.get("Ид")
            maker_id = maker.get("Ид")
        elif local == "ПометкаУдаления":
            deleted = deleted or _marked(child)
    if found is None:
        return _malformed(element)
    return Goods(
        external_id=found, name=name, article=article, barcodes=tuple(barcodes), unit=unit,
        groups=tuple(groups), manufacturer=manufacturer, properties=properties,
        requisites=requisites, vat_rate=vat, deleted=deleted, unit_code=unit_code,
        manufacturer_id=maker_id,
    )  # fmt: skip


def _offer(element: etree._Element) -> Record:
    """A Предложение read in one walk over its children (the hot path of an offers package).
    Stock comes from Склад @ИдСклада @КоличествоНаСкладе on the offer, from Склады carrying the
    same attributes (2.10), or from Остатки/Остаток (CommerceML 3), whose Количество, when given,
    is the offer's quantity."""
    found = name = article = own_quantity = rest_quantity = None
    barcodes: list[str] = []
    prices: dict[str, Decimal] = {}
    stock: dict[str, Decimal] = {}
    characteristics: dict[str, str] = {}
    deleted = _status_deleted(element)
    for child in element:
        local = _NAMES[child.tag]
        if local == "Ид":
            found = found or _clean(child.text)
        elif local == "Цены":
            for price in child:
                kind, text = _pair(price, "ИдТипаЦены", "ЦенаЗаЕдиницу")
                if kind is not None and text is not None:
                    # A price that is not a number stays NaN: the catalog refuses it, logged
                    # with the offer's Ид, instead of the offer silently keeping its old price.
                    value = _number(text)
                    prices[kind] = Decimal("NaN") if value is None else value
        elif local == "Склад" or local == "Склады":
            _add_stock(stock, child)
        elif local == "Наименование":
            name = name or _clean(child.text)
        elif local == "Количество":
            own_quantity = own_quantity or _clean(child.text)
        elif local == "Штрихкод":
            _add_barcode(barcodes, child)
        elif local == "Артикул":
            article = article or _clean(child.text)
        elif local == "ХарактеристикиТовара":
            _collect(child, "Наименование", "Значение", characteristics)
        elif local == "Остатки":
            for rest in child:
                for item in rest:
                    part = _NAMES[item.tag]
                    if part == "Склад":
                        _add_stock(stock, item)
                    elif part == "Количество" and (value := _amount(item.text)) is not None:
                        rest_quantity = value
        elif local == "ПометкаУдаления":
            deleted = deleted or _marked(child)
    if found is None:
        return _malformed(element)
    quantity = rest_quantity if rest_quantity is not None else _amount(own_quantity)
    return Offer(
        external_id=found, name=name, barcodes=tuple(barcodes), prices=prices, stock=stock,
        quantity=quantity, deleted=deleted, characteristics=characteristics, article=article,
    )  # fmt: skip


def _fields(element: etree._Element) -> dict[str, str]:
    """The non-empty texts of an element's children by name (the first of each name)."""
    found: dict[str, str] = {}
    for child in element:
        text = _clean(child.text)
        if text is not None:
            found.setdefault(_NAMES[child.tag], text)
    return found


def _pair(item: etree._Element, key: str, value: str) -> tuple[str | None, str | None]:
    """The texts of an item's ``key`` and ``value`` children (the first non-empty of each);
    the children after both are not looked at (a Цена's Валюта, Единица, Коэффициент)."""
    found_key = found_value = None
    for child in item:
        local = _NAMES[child.tag]
        if local == key:
            found_key = found_key or _clean(child.text)
        elif local == value:
            found_value = found_value or _clean(child.text)
        else:
            continue
        if found_key is not None and found_value is not None:
            break
    return found_key, found_value


def _collect(box: etree._Element, key: str, value: str, into: dict[str, str]) -> None:
    """``<box><item><key/><value/></item>...</box>`` into a dict (items missing either skipped)."""
    for item in box:
        name, text = _pair(item, key, value)
        if name is not None and text is not None:
            into[name] = text


def _add_stock(stock: dict[str, Decimal], store: etree._Element) -> None:
    store_id, value = _clean(store.get("ИдСклада")), _amount(store.get("КоличествоНаСкладе"))
    if store_id is not None and value is not None:
        stock[store_id] = stock[store_id] + value if store_id in stock else value


def _add_barcode(barcodes: list[str], element: etree._Element) -> None:
    code = _clean(element.text)
    if code and code not in barcodes:
        barcodes.append(code)


def _forget(element: etree._Element, parent: etree._Element) -> None:
    """Free a read record and what came before it: memory stays flat however long the file."""
    element.clear()
    while element.getprevious() is not None:
        del parent[0]


def _clean(text: str | None) -> str | None:
    return (text.strip() or None) if text else None


def _status_deleted(element: etree._Element) -> bool:
    status = element.get("Статус")
    return status is not None and status.strip().lower() == "удален"


def _marked(element: etree._Element) -> bool:
    """``<ПометкаУдаления>true</ПометкаУдаления>``."""
    return (_clean(element.text) or "").lower() == "true"


def _number(text: str | None) -> Decimal | None:
    """A quantity or price as Decimal; 1C's "1 234,5" (spaces, a comma) read too."""
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        try:
            value = Decimal(text.replace(" ", "").replace("\u00a0", "").replace(",", "."))
        except InvalidOperation:
            return None
    return value if value.is_finite() else None


def _amount(text: str | None) -> Decimal | None:
    """A quantity as ``_number`` reads it; one given but not a number stays NaN, so the catalog
    refuses the offer, logged with its Ид, instead of the old stock silently staying (as with
    prices)."""
    text = _clean(text)
    if text is None:
        return None
    value = _number(text)
    return Decimal("NaN") if value is None else value


def _only_changes(element: etree._Element) -> bool:
    return (element.get("СодержитТолькоИзменения") or "").strip().lower() == "true"


def _root_version(element: etree._Element) -> str | None:
    root = element.getroottree().getroot()
    return root.get("ВерсияСхемы")


def _malformed(element: etree._Element) -> Malformed:
    names = [_NAMES[ancestor.tag] for ancestor in element.iterancestors()]
    return Malformed("/".join([*reversed(names), _NAMES[element.tag]]), "нет Ид")
