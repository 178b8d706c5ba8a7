"""The JSON bodies the extension's common module builds are accepted by a live service: the
body builders of ``лк_ЛояльностьСервер`` (``ТелоЧека`` and the return in ``Вернуть``) are
evaluated from their BSL text for a sample document (``fixtures/sample_document.json``, the
«Чек» structure the adapters fill), and the result is posted through the app like the
extension does: calculate, commit with the document's final sums, replace after an edit (re-
posting), unpost, commit again and return.

The evaluator knows the expressions the builders use (``Чек.Поле``, ``СтрокаЧека.Поле``,
``Строка(…)``, ``СокрЛП(…)``, ``Формат(Дата, "ДФ=…")``, ``Истина``, a variable holding an array of
objects); a field written under a condition is sent when its value is filled, which is what the
builders' ``Если ЗначениеЗаполнено(…)`` conditions say; the others always. An expression it does
not know fails the test: teach it, don't bypass it."""

from __future__ import annotations

import copy
import json
import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from tests.connector.onec_http.world import World
from tests.epf.bsl import EPF, routines

MODULE = (
    EPF / "ЛояльностьКоннектор" / "CommonModules" / "лк_ЛояльностьСервер" / "Ext" / "Module.bsl"
)
SAMPLE = Path(__file__).parent / "fixtures" / "sample_document.json"


def _routine(name: str) -> str:
    return next(r.text for r in routines(MODULE) if r.name == name)


def _format(value: str, pattern: str) -> str:
    """``Формат(Дата, "ДФ=yyyy-MM-ddTHH:mm:ss")``."""
    spec = pattern.removeprefix("ДФ=")
    python = spec.replace("yyyy", "%Y").replace("MM", "%m").replace("dd", "%d")
    python = python.replace("HH", "%H").replace("mm", "%M").replace("ss", "%S")
    return datetime.fromisoformat(value).strftime(python)


def _value(expression: str, scope: dict[str, Any]) -> Any:
    expression = expression.strip()
    if expression == "Истина":
        return True
    if re.fullmatch(r"-?\d+(\.\d+)?", expression):
        return Decimal(expression)
    if match := re.fullmatch(r'"([^"]*)"', expression):
        return match.group(1)
    if match := re.fullmatch(r"(.+?)\s*=\s*Истина", expression):
        return _value(match.group(1), scope) is True
    if match := re.fullmatch(r"(?:Строка|СокрЛП)\((.+)\)", expression):
        return str(_value(match.group(1), scope)).strip()
    if match := re.fullmatch(r'Формат\((.+),\s*"([^"]+)"\)', expression):
        return _format(_value(match.group(1), scope), match.group(2))
    if match := re.fullmatch(r"(\w+)\.(\w+)", expression):
        return scope[match.group(1)][match.group(2)]
    if re.fullmatch(r"\w+", expression) and expression in scope:
        return scope[expression]
    raise AssertionError(f"the evaluator does not know this BSL expression: {expression}")


def _filled(value: Any) -> bool:
    return value not in ("", None, False, 0) and value != []


def _inserts(text: str, variable: str) -> list[tuple[str, str, bool]]:
    """``variable.Вставить("field", expression)`` in order, and whether it is written under a
    condition (inside «Если … КонецЕсли»)."""
    found = []
    for match in re.finditer(rf'\b{variable}\.Вставить\("(\w+)",\s*(.+?)\);', text):
        before = text[: match.start()]
        depth = len(re.findall(r"\bЕсли\b", before)) - len(re.findall(r"\bКонецЕсли\b", before))
        found.append((match.group(1), match.group(2), depth > 0))
    return found


def _sent(value: Any, conditional: bool) -> bool:
    return _filled(value) or not conditional


def build(routine: str, body: str, scope: dict[str, Any]) -> dict[str, Any]:
    """The object ``body`` that ``routine`` builds for ``scope``: arrays of objects are built
    from the ``Для Каждого <item> Из <collection> Цикл`` loop that fills them."""
    text = _routine(routine)
    built: dict[str, Any] = {}
    value: Any
    for name, expression, conditional in _inserts(text, body):
        if expression in scope:  # given by the test: what the routine reads back from its queue
            value = scope[expression]
        elif re.fullmatch(r"\w+", expression) and re.search(rf"\b{expression}\.Вставить\(", text):
            value = build_item(text, expression, scope)  # a nested object
        elif re.fullmatch(r"\w+", expression) and re.search(rf"\b{expression}\.Добавить\(", text):
            item = re.search(rf"\b{expression}\.Добавить\((\w+)\)", text)
            loop = re.search(r"Для\s+Каждого\s+(\w+)\s+Из\s+(\w+)\.?(\w*)\s+Цикл", text)
            assert item and loop, (routine, expression)
            element, source, field = loop.groups()
            collection = scope[source][field] if field else scope[source]
            value = [build_item(text, item.group(1), {**scope, element: row}) for row in collection]
        else:
            value = _value(expression, scope)
        if _sent(value, conditional):
            built[name] = value
    return built


def build_item(text: str, variable: str, scope: dict[str, Any]) -> dict[str, Any]:
    return {
        name: value
        for name, expression, conditional in _inserts(text, variable)
        if _sent(value := _value(expression, scope), conditional)
    }


def _document(world: World) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SAMPLE.read_text("utf-8"), parse_float=Decimal)
    data["НомерКарты"] = world.card
    return data


def _post(client: FlaskClient, world: World, path: str, body: Any) -> Any:
    # ЗаписатьJSON writes numbers as JSON numbers and the text as UTF-8 without BOM.
    text = json.dumps(
        body, ensure_ascii=False, default=lambda d: float(d) if isinstance(d, Decimal) else str(d)
    )
    response = client.post(
        f"/api/v1/{path}",
        data=text.encode(),
        headers={**world.auth, "Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200, (path, response.get_json())
    return response.get_json()


def test_the_receipt_body_is_what_the_builder_writes(world: World) -> None:
    body = build("ТелоЧека", "Тело", {"Чек": _document(world)})
    assert body["card_number"] == world.card and "phone" not in body
    assert body["sold_at"] == "2026-05-01T12:00:00"
    assert [line["line"] for line in body["lines"]] == [1, 2, 3]
    assert body["lines"][1]["pos_discount"] == Decimal("50")
    assert body["lines"][2]["no_discount"] is True
    assert "final_sum" not in body["lines"][0]  # not yet calculated: the document has none


def test_the_service_accepts_what_the_extension_sends(client: FlaskClient, world: World) -> None:
    document = _document(world)
    calculated = _post(
        client, world, "receipts/calculate", build("ТелоЧека", "Тело", {"Чек": document})
    )
    assert calculated["totals"]["sum"] == 300 + 868 + Decimal("179.98")

    # «Применить» wrote the discounts into the document: posting sends its final sums.
    for row, line in zip(document["Строки"], calculated["lines"], strict=True):
        row["СуммаИтог"] = Decimal(str(line["final_sum"]))
    committed = _post(
        client, world, "receipts/commit", build("ТелоЧека", "Тело", {"Чек": document})
    )
    assert committed["status"] == "committed" and committed["totals"] == calculated["totals"]

    # Re-posting after an edit: the second line's quantity changed, recalculated and replaced.
    edited = copy.deepcopy(document)
    edited["Строки"][1].update({"Количество": 1, "Сумма": 409, "СуммаИтог": 0})
    edited["ИдентификаторТранзакции"] = edited["ИдентификаторТранзакции"][:-16] + "0" * 16
    again = _post(client, world, "receipts/calculate", build("ТелоЧека", "Тело", {"Чек": edited}))
    for row, line in zip(edited["Строки"], again["lines"], strict=True):
        row["СуммаИтог"] = Decimal(str(line["final_sum"]))
    replaced = _post(
        client, world, f"transactions/{committed['transaction_id']}/replace",
        build("ТелоЧека", "Тело", {"Чек": edited}),
    )  # fmt: skip
    assert replaced["transaction_id"] != committed["transaction_id"]
    assert replaced["totals"] == again["totals"]

    unposted = _post(client, world, f"transactions/{replaced['transaction_id']}/unpost", None)
    assert unposted["status"] == "rolled_back"

    # Posted again, then a return document for one unit of the first line.
    document["ИдентификаторТранзакции"] = document["ИдентификаторТранзакции"][:-16] + "1" * 16
    document["Номер"] = "ТД00-000124"
    sale = _post(client, world, "receipts/commit", build("ТелоЧека", "Тело", {"Чек": document}))
    returned = _post(
        client, world, "receipts/return",
        build("Вернуть", "Тело", {
            "Кассир": "5b0e3c2a-8f41-4d7e-b1a9-2c6d0e7f8a13", "Номер": "ТД00-000007",
            "ИсходнаяТранзакция": sale["transaction_id"],
            "ИдентификаторТранзакции": "9d2c0e1a-0000-4000-8000-000000000007",
            "Строки": [{"НомерСтроки": 1, "Количество": 1}],
        }),
    )  # fmt: skip
    assert returned["kind"] == "return" and returned["totals"]["sum"] == 100


def test_a_customer_registered_from_1c_is_accepted(client: FlaskClient, world: World) -> None:
    questionnaire = {
        "Фамилия": "Смирнова", "Имя": "Анна", "Отчество": "", "Телефон": "+7 916 555-12-34",
        "ЭлектроннаяПочта": "anna@example.ru", "ДатаРождения": "1991-03-08T00:00:00",
        "Пол": "female", "СогласиеНаОбработку": True, "СогласиеНаРассылки": False,
        "НомерКарты": "", "Автор": "5b0e3c2a-8f41-4d7e-b1a9-2c6d0e7f8a13",
    }  # fmt: skip
    body = build("ЗарегистрироватьПокупателя", "Тело", {"Анкета": questionnaire})
    assert body["consents"] == {"processing": True, "advertising": False}
    assert "middle_name" not in body and "card_number" not in body  # empty: not sent
    assert body["birth_date"] == "1991-03-08" and body["source"] == "1c"
    response = client.post("/api/v1/customers", json=body, headers=world.auth)
    assert response.status_code == 201, response.get_json()
    customer = response.get_json()
    assert customer["consents"]["processing"]["given"] is True
    assert customer["consents"]["advertising"]["given"] is False
    assert [card["virtual"] for card in customer["cards"]] == [True]


def test_the_offline_queue_is_sent_as_the_service_expects(
    client: FlaskClient, world: World
) -> None:
    """Queued receipts (ТекстТелаЧека, without bonus payment) go as one offline batch."""
    document = _document(world)
    document["ОплатаБонусами"] = 0
    queued = build("ТелоЧека", "Тело", {"Чек": document})
    batch = build("ОтправитьОфлайн", "Пакет", {"Чеки": [queued]})
    assert list(batch) == ["receipts"]
    answer = _post(client, world, "receipts/offline", batch)
    assert [result["status"] for result in answer["results"]] == ["committed"]
    assert answer["results"][0]["number"] == document["Номер"]
