"""The CommerceML reader on the real exports of ../shared/fixtures/commerceml/ and on the files
real senders produce besides them: what a file is comes from its content, namespaces and
encodings do not matter, a malformed record does not stop the rest, no entity is expanded, and
memory stays flat however long the file."""

from __future__ import annotations

import io
import tracemalloc
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from mappings.commerceml import (
    CATALOG,
    OFFERS,
    OTHER,
    Goods,
    Group,
    Malformed,
    Offer,
    Organisation,
    Package,
    PriceType,
    Property,
    Record,
    Unit,
    Warehouse,
    XmlDoctypeRefused,
    read,
)

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "commerceml"


def _records(name: str) -> list[Record]:
    return list(read(str(FIXTURES / name)))


def _kinds(records: list[Record]) -> dict[str, int]:
    return dict(Counter(type(record).__name__ for record in records))


@pytest.mark.parametrize(
    ("name", "package", "counts"),
    [
        ("import-2.03-official-sample.xml", Package(CATALOG, False, "2.04"),
         {"Package": 1, "Organisation": 1, "Group": 1, "Goods": 4}),
        ("import-classifier-2.07.xml", Package(CATALOG, False, "2.07"),
         {"Package": 1, "Organisation": 1, "Group": 22, "Property": 10, "Goods": 2}),
        ("offers-2.03-official-sample.xml", Package(OFFERS, False, "2.04"),
         {"Package": 1, "Organisation": 1, "PriceType": 4, "Offer": 2}),
        ("offers-characteristics-2.07.xml", Package(OFFERS, False, "2.07"),
         {"Package": 1, "Organisation": 1, "PriceType": 1, "Warehouse": 5, "Offer": 5}),
        ("prices-cml3.1.xml", Package(OFFERS, True, "3.1"), {"Package": 1, "Offer": 86}),
        # orders are documents, not the catalog: their goods and counterparties are not ours
        ("orders-2.03-official-sample.xml", Package(OTHER, True, "2.03"), {"Package": 1}),
        ("orders-query-response-2.05-cp1251.xml", Package(OTHER, True, "2.05"), {"Package": 1}),
    ],
)  # fmt: skip
def test_every_fixture_reads_as_what_its_content_says(
    name: str, package: Package, counts: dict[str, int]
) -> None:
    records = _records(name)
    assert [r for r in records if isinstance(r, Package)] == [package]
    assert _kinds(records) == counts


def test_goods_with_barcodes_groups_properties_and_requisites() -> None:
    records = _records("import-classifier-2.07.xml")
    boots = next(r for r in records if isinstance(r, Goods) and r.article == "Б-130001")
    assert boots.external_id == "bd72d910-55bc-11d9-848a-00112f43529a"
    assert boots.name == "Женские ботфорты коричневые"
    assert boots.barcodes == ("2000018987155",)
    assert boots.groups == ("e5a4c309-a659-11dd-acee-0015e9b8c48d",)
    assert boots.requisites["ВидНоменклатуры"] == "Обувь"
    assert boots.properties["444bbea0-6b18-11e0-9819-e0cb4ed5eed4"] == "ООО Рога и копыта"
    groups = {r.external_id: r for r in records if isinstance(r, Group)}
    nested = groups["f3257ce7-9c2f-11e1-a282-0011955bd175"]
    assert nested.parent == "453d6e1a-7233-11e0-8636-0011951d229d"
    assert nested.parent in groups and groups[nested.parent].parent is None
    properties = [r for r in records if isinstance(r, Property)]
    assert any(p.values for p in properties)  # reference properties keep their values


def test_goods_of_a_characteristic_with_vat_and_unit() -> None:
    table = next(r for r in _records("import-2.03-official-sample.xml") if isinstance(r, Goods))
    assert table.external_id == (
        "05e26d70-01e4-11dc-a411-00055d80a2d1#05e26d76-01e4-11dc-a411-00055d80a2d1"
    )
    assert (table.name, table.unit, table.vat_rate) == ("Стол обеденный", "шт", "18")


def test_offers_with_price_types_warehouses_prices_and_stock() -> None:
    records = _records("offers-characteristics-2.07.xml")
    offer = next(r for r in records if isinstance(r, Offer))
    assert offer.external_id.endswith("#90c55447-d3a8-11e4-9423-e0cb4ed5eed4")
    assert offer.prices == {"bb14a3a4-6b17-11e0-9819-e0cb4ed5eed4": Decimal("1719")}
    assert offer.stock == {"b6112590-41ba-11dd-ac9d-0015e9b8c48d": Decimal("20")}
    assert offer.quantity == Decimal("20")
    warehouses = [r for r in records if isinstance(r, Warehouse)]
    assert len({w.external_id for w in warehouses}) == len(warehouses) == 5
    official = _records("offers-2.03-official-sample.xml")
    retail = next(r for r in official if isinstance(r, PriceType) and r.name == "Розничная")
    first = next(r for r in official if isinstance(r, Offer))
    assert first.prices[retail.external_id] == Decimal("7")
    cml3 = next(r for r in _records("prices-cml3.1.xml") if isinstance(r, Offer))
    assert cml3.prices == {"aef2c177-1862-11de-9d9d-001a4d4b12d9": Decimal("2042.66")}


def test_the_owner_organisation_once_per_file_whichever_parts_name_it() -> None:
    # the official sample names its owner in the Классификатор and again in the Каталог
    records = _records("import-2.03-official-sample.xml")
    assert [r for r in records if isinstance(r, Organisation)] == [
        Organisation(
            "bd72d900-55bc-11d9-848a-00112f43529a", 'Торговый дом "Комплексный"',
            'ЗАО "Торговый дом Комплексный"', "0056123412", "567892222",
        )
    ]  # fmt: skip
    # УТ 11 writes ПолноеНаименование and no ИНН; the offers package repeats its classifier's owner
    [owner] = [
        r for r in _records("offers-characteristics-2.07.xml") if isinstance(r, Organisation)
    ]
    assert owner == Organisation(
        "ef8f948c-8403-11da-9ae9-000d884f5d77", "Cтройснаб", "Cтройснаб", None, "772301001"
    )


def test_property_value_types_goods_unit_codes_and_offer_characteristics() -> None:
    properties = {
        r.external_id: r for r in _records("import-classifier-2.07.xml") if isinstance(r, Property)
    }
    assert properties["bb14a4b8-6b17-11e0-9819-e0cb4ed5eed4"].value_type == "Справочник"
    supplier = properties["444bbea0-6b18-11e0-9819-e0cb4ed5eed4"]
    assert (supplier.name, supplier.value_type, supplier.values) == (
        "Основной поставщик", "Строка", {},
    )  # fmt: skip
    table = next(r for r in _records("import-2.03-official-sample.xml") if isinstance(r, Goods))
    assert (table.unit, table.unit_code) == ("шт", "796")
    boots = next(r for r in _records("offers-characteristics-2.07.xml") if isinstance(r, Offer))
    assert boots.article == "Б-130001"
    assert boots.characteristics == {
        "Размер": "40", "Тип кожи": "натуральная кожа", "Цвет": "Коричневый",
    }  # fmt: skip
    plain = next(r for r in _records("offers-2.03-official-sample.xml") if isinstance(r, Offer))
    assert (plain.article, plain.characteristics) == (None, {})


def _file(
    body: str, *, namespace: bool = True, encoding: str = "utf-8", bom: bool = False
) -> bytes:
    xmlns = ' xmlns="urn:1C.ru:commerceml_2"' if namespace else ""
    root = f'<КоммерческаяИнформация{xmlns} ВерсияСхемы="2.08">'
    text = f'<?xml version="1.0" encoding="{encoding}"?>\n{root}{body}</КоммерческаяИнформация>'
    data = text.encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


CATALOG_BODY = (
    '<Каталог СодержитТолькоИзменения="true"><Ид>c</Ид><Товары>'
    "<Товар><Ид>g-1</Ид><Наименование>Сыр «Гауда»</Наименование>"
    "<Штрихкод>4607001234574</Штрихкод><Штрихкод>4607001234574</Штрихкод></Товар>"
    "<Товар><Наименование>без Ид</Наименование></Товар>"
    '<Товар Статус="Удален"><Ид>g-2</Ид></Товар>'
    "<Товар><Ид>g-3</Ид><ПометкаУдаления>true</ПометкаУдаления><Неизвестное>x</Неизвестное></Товар>"
    "</Товары></Каталог>"
)


@pytest.mark.parametrize(
    ("namespace", "encoding", "bom"),
    [(True, "utf-8", True), (False, "utf-8", False), (True, "windows-1251", False)],
)
def test_namespaces_encodings_deletions_and_a_malformed_goods(
    namespace: bool, encoding: str, bom: bool
) -> None:
    data = _file(CATALOG_BODY, namespace=namespace, encoding=encoding, bom=bom)
    records = list(read(io.BytesIO(data)))
    assert records[0] == Package(CATALOG, True, "2.08")
    goods = [r for r in records if isinstance(r, Goods)]
    assert [(g.external_id, g.deleted) for g in goods] == [
        ("g-1", False), ("g-2", True), ("g-3", True),
    ]  # fmt: skip
    assert goods[0].name == "Сыр «Гауда»" and goods[0].barcodes == ("4607001234574",)
    [malformed] = [r for r in records if isinstance(r, Malformed)]
    assert malformed.path.endswith("Каталог/Товары/Товар") and malformed.reason == "нет Ид"


def test_a_catalog_nested_in_the_classifier_and_cml3_rests_are_found() -> None:
    nested = _file("<Классификатор><Ид>k</Ид><Каталог><Ид>c</Ид><Товары>"
                   "<Товар><Ид>g-9</Ид></Товар></Товары></Каталог></Классификатор>")  # fmt: skip
    assert [r.external_id for r in read(io.BytesIO(nested)) if isinstance(r, Goods)] == ["g-9"]
    rests = _file(
        '<ПакетПредложений СодержитТолькоИзменения="true"><Предложения><Предложение>'
        "<Ид>g-9</Ид><Остатки><Остаток><Склад><Ид>w-1</Ид></Склад></Остаток>"
        '<Остаток><Склад ИдСклада="w-2" КоличествоНаСкладе="3,5"/></Остаток></Остатки>'
        "</Предложение></Предложения></ПакетПредложений>"
    )
    [offer] = [r for r in read(io.BytesIO(rests)) if isinstance(r, Offer)]
    assert offer.stock == {"w-2": Decimal("3.5")}


def test_units_warehouses_and_organisations_of_the_classifier_not_of_documents() -> None:
    data = _file(
        "<Классификатор><Ид>k</Ид>"
        "<Владелец><Контрагент><Ид>org-1</Ид><Наименование>Ромашка</Наименование>"
        "<ОфициальноеНаименование>ООО «Ромашка»</ОфициальноеНаименование><ИНН>7701000001</ИНН>"
        "<КПП>770101001</КПП></Контрагент></Владелец>"
        "<Контрагенты><Контрагент><Ид>org-2</Ид><Наименование>ИП Лютиков</Наименование>"
        "<ИНН>770200000002</ИНН></Контрагент>"
        "<Контрагент><Ид>org-1</Ид><Наименование>Ромашка</Наименование></Контрагент>"
        "<Контрагент><Наименование>без Ид</Наименование></Контрагент></Контрагенты>"
        "<ЕдиницыИзмерения><ЕдиницаИзмерения><Код>796</Код><НаименованиеКраткое>шт"
        "</НаименованиеКраткое><НаименованиеПолное>Штука</НаименованиеПолное>"
        "<МеждународноеСокращение>PCE</МеждународноеСокращение></ЕдиницаИзмерения>"
        "<ЕдиницаИзмерения><Код>166</Код></ЕдиницаИзмерения>"
        "<ЕдиницаИзмерения><НаименованиеПолное>без кода</НаименованиеПолное></ЕдиницаИзмерения>"
        "</ЕдиницыИзмерения>"
        "<Склады><Склад><Ид>w-1</Ид><Наименование>Магазин на Ленина</Наименование></Склад>"
        "</Склады></Классификатор>"
        "<Документ><Ид>36</Ид><Контрагенты><Контрагент><Ид>buyer</Ид>"
        "<Склад><Ид>w-buyer</Ид></Склад></Контрагент></Контрагенты>"
        "<Склады><Склад><Ид>w-doc</Ид></Склад></Склады></Документ>"
    )
    records = list(read(io.BytesIO(data)))
    assert [r for r in records if isinstance(r, Organisation)] == [
        Organisation("org-1", "Ромашка", "ООО «Ромашка»", "7701000001", "770101001"),
        Organisation("org-2", "ИП Лютиков", None, "770200000002", None),
    ]
    assert [r for r in records if isinstance(r, Unit)] == [
        Unit("796", "шт", "Штука", "PCE"), Unit("166", None, None, None),
    ]  # fmt: skip
    assert [r for r in records if isinstance(r, Warehouse)] == [
        Warehouse("w-1", "Магазин на Ленина")
    ]
    [malformed] = [r for r in records if isinstance(r, Malformed)]
    assert malformed.path.endswith("Классификатор/Контрагенты/Контрагент")


def test_an_offers_own_stores_are_stock_not_warehouses() -> None:
    data = _file(
        "<ПакетПредложений><Склады><Склад><Ид>w-1</Ид><Наименование>Склад 1</Наименование>"
        "</Склад><Склад><Наименование>без Ид</Наименование></Склад></Склады><Предложения>"
        '<Предложение><Ид>g-1</Ид><Склад ИдСклада="w-1" КоличествоНаСкладе="2"/>'
        '<Склады ИдСклада="w-2" КоличествоНаСкладе="1 000,5"/>'
        '<Склад ИдСклада="w-1" КоличествоНаСкладе="3"/></Предложение>'
        "</Предложения></ПакетПредложений>"
    )
    records = list(read(io.BytesIO(data)))
    assert [r for r in records if isinstance(r, Warehouse)] == [Warehouse("w-1", "Склад 1")]
    [malformed] = [r for r in records if isinstance(r, Malformed)]
    assert malformed.path.endswith("ПакетПредложений/Склады/Склад")
    [offer] = [r for r in records if isinstance(r, Offer)]
    assert offer.stock == {"w-1": Decimal("5"), "w-2": Decimal("1000.5")}


def test_a_file_with_a_doctype_is_refused_before_anything_is_read() -> None:
    """1C never writes a DOCTYPE: entities are neither expanded nor silently dropped from the
    text, the file is refused."""
    hostile = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">'
        '<!ENTITY a "AAAAAAAAAA">]>'
        "<КоммерческаяИнформация><Каталог><Товары><Товар><Ид>g-1</Ид>"
        "<Наименование>&xxe;&a;</Наименование></Товар></Товары></Каталог>"
        "</КоммерческаяИнформация>"
    ).encode()
    records = read(io.BytesIO(hostile))
    with pytest.raises(XmlDoctypeRefused):
        next(records)


def test_a_quantity_that_is_not_a_number_is_kept_as_nan() -> None:
    data = _file(
        "<ПакетПредложений><Предложения><Предложение><Ид>g-1</Ид>"
        "<Количество>много</Количество>"
        '<Склад ИдСклада="w-1" КоличествоНаСкладе="Infinity"/></Предложение>'
        "</Предложения></ПакетПредложений>"
    )
    [offer] = [r for r in read(io.BytesIO(data)) if isinstance(r, Offer)]
    assert offer.quantity is not None and offer.quantity.is_nan()
    assert offer.stock["w-1"].is_nan()


def test_memory_stays_flat_however_many_goods() -> None:
    def export(count: int) -> bytes:
        goods = "".join(
            f"<Товар><Ид>g-{i}</Ид><Наименование>Товар номер {i} с длинным названием</Наименование>"
            f"<Штрихкод>46{i:011d}</Штрихкод><Группы><Ид>grp</Ид></Группы></Товар>"
            for i in range(count)
        )
        return _file(f"<Каталог><Товары>{goods}</Товары></Каталог>")

    peaks = []
    for count in (1_000, 10_000):
        data = export(count)
        tracemalloc.start()
        read_goods = sum(1 for r in read(io.BytesIO(data)) if isinstance(r, Goods))
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert read_goods == count
    # ten times the goods, nowhere near ten times the memory (the records are not kept)
    assert peaks[1] < peaks[0] * 3, peaks
