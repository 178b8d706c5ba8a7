"""1C:Retail discount-server XML ↔ plain values (shared/protocols/retail-discount-server.md).

Dates stay the shop's wall-clock time as sent (a zone, if any, is dropped); the empty 1C date
``0001-01-01T00:00:00`` and the empty GUID mean "not given". Amounts are rounded half-up to
the kopeck and quantities to thousandths, as our columns store them. What a column cannot hold
(a longer id, an amount of a trillion, a date outside 1900-2999) is the shop's error: a client
fault ``SOAP_INVALID_ARGUMENT``, never a failure of ours.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from lxml import etree

from mappings.dates import RANGE_TEXT, in_supported_range
from mappings.fields import bounded_decimal
from processing.discount_server.models import GUID, CouponRow
from processing.discount_server.service import BalanceStep, BonusIn, CouponIn, SaleIn
from processing.errors import ConnectorError, InvalidInput

NS = "http://localhost/rt2discountservice"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
EMPTY_GUID = "00000000-0000-0000-0000-000000000000"
EMPTY_DATETIME = datetime(1, 1, 1)  # noqa: DTZ001 - 1C's empty date, never converted
# The longest value each string parameter's column holds; ids (the rest) hold GUID characters.
MAX_LENGTH = {"ТипДокумента": 100, "КодКупона": 200, "Состояние": 50}
# Amounts and quantities are stored as 64-bit kopecks and thousandths; no shop sells this much.
MAX_NUMBER = Decimal(10**12)
_SHOWN = 40  # characters of a refused value quoted back


class BadValue(InvalidInput):
    code = "SOAP_INVALID_ARGUMENT"
    message = "Неверное значение параметра операции SOAP."


def q(name: str) -> str:
    return f"{{{NS}}}{name}"


def _child(parent: etree._Element, name: str) -> etree._Element | None:
    return parent.find(q(name))


def _shown(value: str) -> str:
    return value if len(value) <= _SHOWN else f"{value[:_SHOWN]}…"


def _given(parent: etree._Element, name: str) -> str | None:
    node = _child(parent, name)
    if node is None or node.get(XSI_NIL) in ("true", "1"):
        return None
    value = (node.text or "").strip()
    return None if value in ("", EMPTY_GUID) else value


def text(parent: etree._Element, name: str) -> str | None:
    """A string parameter; absent, nil or empty (or the empty GUID) is None. Longer than its
    column (``MAX_LENGTH``, else an id's) is refused."""
    value = _given(parent, name)
    max_length = MAX_LENGTH.get(name, GUID)
    if value is not None and len(value) > max_length:
        raise BadValue(
            f"Параметр {name} длиннее {max_length} символов: «{_shown(value)}».",
            details={"parameter": name, "max_length": max_length},
        )
    return value


def required_text(parent: etree._Element, name: str) -> str:
    value = text(parent, name)
    if value is None:
        raise BadValue(f"Не указан параметр {name}.", details={"parameter": name})
    return value


def moment(parent: etree._Element, name: str) -> datetime | None:
    """A dateTime as the shop's wall clock; the empty 1C date is None (no bound)."""
    value = _given(parent, name)
    if value is None or value.startswith("0001-01-01"):
        return None
    try:
        parsed = datetime.fromisoformat(value).replace(tzinfo=None)
    except ValueError as exc:
        raise BadValue(
            f"Неверная дата в {name}: «{_shown(value)}».", details={"parameter": name}
        ) from exc
    if not in_supported_range(parsed):
        raise BadValue(
            f"Дата в {name} вне допустимых лет {RANGE_TEXT}: «{_shown(value)}».",
            details={"parameter": name},
        )
    return parsed


def required_moment(parent: etree._Element, name: str) -> datetime:
    value = moment(parent, name)
    if value is None:
        raise BadValue(f"Не указана дата {name}.", details={"parameter": name})
    return value


def number(parent: etree._Element, name: str, places: str = "0.01") -> Decimal | None:
    """A decimal parameter, rounded half-up to ``places``; under a trillion either way."""
    value = _given(parent, name)
    if value is None:
        return None
    parsed = bounded_decimal(value)
    if parsed is None or abs(parsed) >= MAX_NUMBER:
        raise BadValue(
            f"Неверное или слишком большое число в {name}: «{_shown(value)}».",
            details={"parameter": name},
        )
    return parsed.quantize(Decimal(places), rounding=ROUND_HALF_UP)


def _rows(table: etree._Element | None) -> list[etree._Element]:
    if table is None or table.get(XSI_NIL) in ("true", "1"):
        return []
    return table.findall(q("СтрокиТаблицы"))


def sales(operation: etree._Element) -> list[SaleIn]:
    return [
        SaleIn(
            period=required_moment(row, "Период"),
            card_id=text(row, "ИдентификаторКарты"),
            goods_id=text(row, "ИдентификаторНоменклатуры"),
            characteristic_id=text(row, "ИдентификаторХарактеристики"),
            amount=number(row, "Сумма"),
            quantity=number(row, "Количество", "0.001"),
        )
        for row in _rows(_child(operation, "ТаблицаТоваров"))
    ]


def bonuses(operation: etree._Element) -> list[BonusIn]:
    rows = []
    for row in _rows(_child(operation, "ТаблицаБонусов")):
        movement = number(row, "ВидДвижения", "1")
        if movement not in (Decimal(0), Decimal(1)):
            raise BadValue("ВидДвижения: 0 (приход) или 1 (расход).")
        rows.append(
            BonusIn(
                period=required_moment(row, "Период"),
                movement=int(movement),
                program_id=text(row, "ИдентификаторБонуснойПрограммы"),
                card_id=text(row, "ИдентификаторКарты"),
                accrued=number(row, "Начислено"),
                to_write_off=number(row, "КСписанию"),
            )
        )
    return rows


def coupons(operation: etree._Element) -> list[CouponIn]:
    return [
        CouponIn(
            period=required_moment(row, "Период"),
            discount_id=text(row, "ИдентификаторСкидки"),
            coupon_code=text(row, "КодКупона"),
            state=text(row, "Состояние"),
            store_id=text(row, "ИдентификаторМагазина"),
            valid_until=moment(row, "ПериодДействия"),
        )
        for row in _rows(_child(operation, "ТаблицаКупонов"))
    ]


def _value(value: Decimal | datetime | bool | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat()
    return str(value)


def _add(parent: etree._Element, name: str, value: Decimal | datetime | bool | str | None) -> None:
    node = etree.SubElement(parent, q(name))
    if value is None:
        node.set(XSI_NIL, "true")
    else:
        node.text = _value(value)


def response(operation: str) -> tuple[etree._Element, etree._Element]:
    """``<OperationResponse><return/></OperationResponse>``: the wrapper and its return."""
    wrapper = etree.Element(
        q(f"{operation}Response"),
        nsmap={"m": NS, "xsi": "http://www.w3.org/2001/XMLSchema-instance"},
    )
    return wrapper, etree.SubElement(wrapper, q("return"))


def result_rows(
    operation: str, rows: Iterable[list[tuple[str, Decimal | datetime | bool | str | None]]]
) -> etree._Element:
    wrapper, result = response(operation)
    for fields in rows:
        row = etree.SubElement(result, q("РезультатЗапроса"))
        for name, value in fields:
            _add(row, name, value)
    return wrapper


def boolean(operation: str, value: bool) -> etree._Element:
    wrapper, result = response(operation)
    result.text = _value(value)
    return wrapper


def schedule(operation: str, steps: list[BalanceStep]) -> etree._Element:
    return result_rows(
        operation,
        (
            [("ПредставлениеПериода", s.label), ("КоличествоБаллов", s.balance),
             ("Изменение", s.change), ("ТекущийОстаток", s.current)]
            for s in steps
        ),
    )  # fmt: skip


def coupon_table(operation: str, rows: list[CouponRow]) -> etree._Element:
    wrapper, result = response(operation)
    for coupon in rows:
        row = etree.SubElement(result, q("СтрокиТаблицы"))
        _add(row, "Период", coupon.period)
        _add(row, "ИдентификаторСкидки", coupon.discount_id)
        _add(row, "КодКупона", coupon.coupon_code)
        _add(row, "Состояние", coupon.state)
        _add(row, "ИдентификаторМагазина", coupon.store_id)
        _add(row, "ПериодДействия", coupon.valid_until or EMPTY_DATETIME)
    return wrapper


def error_detail(error: ConnectorError) -> etree._Element:
    node = etree.Element(q("Ошибка"), nsmap={"m": NS})
    etree.SubElement(node, q("Код")).text = error.code
    etree.SubElement(node, q("Сообщение")).text = error.text
    return node
