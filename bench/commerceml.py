"""bench/commerceml: realistic 1C exchange files and how fast and lean they are read.

A generator of exports as 1C:УТ 11 writes them (``generate``): N goods in a three-level group tree
with properties (a reference property, a string one), one or two barcodes each, a unit, an article
and requisites; an offers package with 2 price types, 3 warehouses and, for every fifth goods, two
characteristics (``товар#характеристика``) with their own prices and stock. UTF-8 with BOM and
the CommerceML 2.08 namespace.

Today (issue "Nomenclature and stores from 1C over CommerceML", first step) it times our streaming
reader (``mappings.commerceml.read``) against the parse-only pass the issue defines — one
``lxml.etree.iterparse(path, events=("end",), tag=("{*}Товар", "{*}Предложение"))`` per file that
clears each element and its preceding siblings and does nothing else — and the reader's peak RSS
in a process of its own. The import through the job a real exchange enqueues takes the reader's
place once the job exists. Prints, per size:
``commerceml goods=N read_s=X parse_only_s=X ratio=X peak_rss_mb=N``.
Run from the repository root: ``.venv/bin/python bench/commerceml.py [--goods 100000 1000000]``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mappings.commerceml import read

NS = "urn:1C.ru:commerceml_2"
PRICE_TYPES = ("b1e2c3d4-0000-4000-8000-000000000001", "b1e2c3d4-0000-4000-8000-000000000002")
WAREHOUSES = tuple(f"c1e2c3d4-0000-4000-8000-00000000000{i}" for i in (1, 2, 3))
BRAND_PROPERTY = "d1e2c3d4-0000-4000-8000-000000000001"
COLOUR_PROPERTY = "d1e2c3d4-0000-4000-8000-000000000002"
BRANDS = tuple(f"e1e2c3d4-0000-4000-8000-{i:012d}" for i in range(40))


def _guid(kind: int, number: int) -> str:
    """A GUID shaped as 1C writes them, unique per (kind, number)."""
    high, middle, low = number >> 32 & 0xFFFF, number >> 16 & 0xFFF, number & 0xFFF
    return f"{kind:08x}-{high:04x}-4{middle:03x}-8{low:03x}-{number:012x}"


def _write(out: IO[bytes], text: str) -> None:
    out.write(text.encode("utf-8"))


def _head(out: IO[bytes]) -> None:
    out.write(b"\xef\xbb\xbf")
    _write(
        out,
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<КоммерческаяИнформация xmlns="{NS}" ВерсияСхемы="2.08" '
        'ДатаФормирования="2026-12-03T10:00:00">',
    )


def _leaves() -> list[str]:
    return [
        _guid(0x6A, top * 100 + mid * 10 + leaf)
        for top in range(10)
        for mid in range(5)
        for leaf in range(4)
    ]


def _classifier(out: IO[bytes]) -> None:
    _write(
        out,
        "<Классификатор><Ид>a1e2c3d4-0000-4000-8000-000000000001</Ид>"
        "<Наименование>Классификатор (Основной каталог товаров)</Наименование><Группы>",
    )
    for top in range(10):
        _write(
            out,
            f"<Группа><Ид>{_guid(0x6A, top * 100 + 99)}</Ид>"
            f"<Наименование>Раздел {top}</Наименование><Группы>",
        )
        for mid in range(5):
            _write(
                out,
                f"<Группа><Ид>{_guid(0x6A, top * 100 + mid * 10 + 9)}</Ид>"
                f"<Наименование>Подраздел {top}.{mid}</Наименование><Группы>",
            )
            for leaf in range(4):
                _write(
                    out,
                    f"<Группа><Ид>{_guid(0x6A, top * 100 + mid * 10 + leaf)}</Ид>"
                    f"<Наименование>Группа {top}.{mid}.{leaf}</Наименование></Группа>",
                )
            _write(out, "</Группы></Группа>")
        _write(out, "</Группы></Группа>")
    _write(out, "</Группы><Свойства>")
    _write(
        out,
        f"<Свойство><Ид>{BRAND_PROPERTY}</Ид><Наименование>Производитель</Наименование>"
        "<ТипЗначений>Справочник</ТипЗначений><ВариантыЗначений>",
    )
    for i, brand in enumerate(BRANDS):
        _write(
            out,
            f"<Справочник><ИдЗначения>{brand}</ИдЗначения>"
            f"<Значение>Бренд {i}</Значение></Справочник>",
        )
    _write(out, "</ВариантыЗначений></Свойство>")
    _write(
        out,
        f"<Свойство><Ид>{COLOUR_PROPERTY}</Ид><Наименование>Цвет</Наименование>"
        "<ТипЗначений>Строка</ТипЗначений></Свойство></Свойства></Классификатор>",
    )


def _goods(count: int, rng: random.Random) -> Iterator[str]:
    leaves = _leaves()
    for n in range(count):
        barcodes = "".join(
            f"<Штрихкод>46{n * 2 + k:011d}</Штрихкод>" for k in range(1 + (n % 3 == 0))
        )
        yield (
            f"<Товар><Ид>{_guid(0x60, n)}</Ид>{barcodes}<Артикул>А-{n:07d}</Артикул>"
            f"<Наименование>Товар {n} «{rng.choice(('Вкусный', 'Свежий', 'Домашний'))}»"
            "</Наименование>"
            '<БазоваяЕдиница Код="796" НаименованиеПолное="Штука" '
            'МеждународноеСокращение="PCE">шт</БазоваяЕдиница>'
            f"<Группы><Ид>{rng.choice(leaves)}</Ид></Группы>"
            "<ЗначенияСвойств>"
            f"<ЗначенияСвойства><Ид>{BRAND_PROPERTY}</Ид><Значение>{rng.choice(BRANDS)}</Значение>"
            "</ЗначенияСвойства>"
            f"<ЗначенияСвойства><Ид>{COLOUR_PROPERTY}</Ид><Значение>"
            f"{rng.choice(('красный', 'синий', 'белый'))}</Значение></ЗначенияСвойства>"
            "</ЗначенияСвойств>"
            "<СтавкиНалогов><СтавкаНалога><Наименование>НДС</Наименование><Ставка>20</Ставка>"
            "</СтавкаНалога></СтавкиНалогов>"
            "<ЗначенияРеквизитов>"
            "<ЗначениеРеквизита><Наименование>ВидНоменклатуры</Наименование>"
            "<Значение>Товар</Значение></ЗначениеРеквизита>"
            "<ЗначениеРеквизита><Наименование>ТипНоменклатуры</Наименование>"
            "<Значение>Товар</Значение></ЗначениеРеквизита>"
            "</ЗначенияРеквизитов></Товар>"
        )


def _rubles(kopecks: int) -> str:
    """Kopecks as 1C writes a price: rubles with two decimals (no float on the way)."""
    return f"{kopecks // 100}.{kopecks % 100:02d}"


def _offer(offer_id: str, name: str, rng: random.Random) -> str:
    base = rng.randrange(1_000, 500_000)  # kopecks
    rubles = [_rubles(base + k * base // 10) for k in range(len(PRICE_TYPES))]
    prices = "".join(
        f"<Цена><Представление>{price} RUB за шт</Представление>"
        f"<ИдТипаЦены>{kind}</ИдТипаЦены><ЦенаЗаЕдиницу>{price}"
        "</ЦенаЗаЕдиницу><Валюта>RUB</Валюта><Единица>шт</Единица><Коэффициент>1</Коэффициент>"
        "</Цена>"
        for kind, price in zip(PRICE_TYPES, rubles, strict=True)
    )
    stock = [rng.randrange(0, 200) for _ in WAREHOUSES]
    stores = "".join(
        f'<Склад ИдСклада="{w}" КоличествоНаСкладе="{q}"/>'
        for w, q in zip(WAREHOUSES, stock, strict=True)
    )
    return (
        f"<Предложение><Ид>{offer_id}</Ид><Наименование>{name}</Наименование>"
        f"<Цены>{prices}</Цены><Количество>{sum(stock)}</Количество>{stores}</Предложение>"
    )


def generate(directory: Path, count: int, seed: int = 2027) -> tuple[Path, Path]:
    """import.xml and offers.xml of ``count`` goods in ``directory``."""
    rng = random.Random(seed)  # noqa: S311 - a fixed seed, not a secret
    catalog, offers = directory / "import0_1.xml", directory / "offers0_1.xml"
    with catalog.open("wb") as out:
        _head(out)
        _classifier(out)
        _write(
            out,
            '<Каталог СодержитТолькоИзменения="false">'
            "<Ид>a1e2c3d4-0000-4000-8000-000000000001</Ид>"
            "<ИдКлассификатора>a1e2c3d4-0000-4000-8000-000000000001</ИдКлассификатора>"
            "<Наименование>Основной каталог товаров</Наименование><Товары>",
        )
        for goods in _goods(count, rng):
            _write(out, goods)
        _write(out, "</Товары></Каталог></КоммерческаяИнформация>")
    with offers.open("wb") as out:
        _head(out)
        _write(
            out,
            '<ПакетПредложений СодержитТолькоИзменения="false">'
            "<Ид>a1e2c3d4-0000-4000-8000-000000000001#</Ид><ТипыЦен>",
        )
        for kind, name in zip(PRICE_TYPES, ("Розничная", "Оптовая"), strict=True):
            _write(
                out,
                f"<ТипЦены><Ид>{kind}</Ид><Наименование>{name}</Наименование>"
                "<Валюта>RUB</Валюта></ТипЦены>",
            )
        _write(out, "</ТипыЦен><Склады>")
        for i, warehouse in enumerate(WAREHOUSES):
            _write(
                out,
                f"<Склад><Ид>{warehouse}</Ид><Наименование>Склад {i + 1}</Наименование></Склад>",
            )
        _write(out, "</Склады><Предложения>")
        for n in range(count):
            goods_id = _guid(0x60, n)
            if n % 5 == 0:
                for k in range(2):
                    _write(
                        out, _offer(f"{goods_id}#{_guid(0x61, n * 2 + k)}", f"Товар {n} ({k})", rng)
                    )
            else:
                _write(out, _offer(goods_id, f"Товар {n}", rng))
        _write(out, "</Предложения></ПакетПредложений></КоммерческаяИнформация>")
    return catalog, offers


def parse_only(path: Path) -> None:
    """The issue's parse-only pass: iterparse of the goods and offers, each cleared with its
    preceding siblings, nothing else."""
    for _, element in etree.iterparse(
        str(path), events=("end",), tag=("{*}Товар", "{*}Предложение")
    ):
        element.clear()
        parent = element.getparent()
        if parent is not None:
            while element.getprevious() is not None:
                del parent[0]


def _read_all(paths: list[Path], answer: multiprocessing.SimpleQueue[tuple[float, int]]) -> None:
    started = time.perf_counter()
    records = 0
    for path in paths:
        for _ in read(str(path)):
            records += 1
    elapsed = time.perf_counter() - started
    answer.put((elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--goods", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")  # a fresh process: its own peak RSS
    with tempfile.TemporaryDirectory(prefix="commerceml-bench-") as folder:
        for count in args.goods:
            paths = list(generate(Path(folder), count))
            started = time.perf_counter()
            for path in paths:
                parse_only(path)
            parse_s = time.perf_counter() - started
            answer: multiprocessing.SimpleQueue[tuple[float, int]] = context.SimpleQueue()
            process = context.Process(target=_read_all, args=(paths, answer))
            process.start()
            read_s, peak_mb = answer.get()
            process.join()
            size_mb = sum(p.stat().st_size for p in paths) / 2**20
            print(
                f"commerceml goods={count} read_s={read_s:.2f} parse_only_s={parse_s:.2f} "
                f"ratio={read_s / parse_s:.2f} peak_rss_mb={peak_mb} files_mb={size_mb:.0f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
