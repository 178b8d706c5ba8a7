"""The lean loading of a receipt body: what ``ReceiptSchema().load`` returns, for the common
shape, without marshmallow's per-field machinery (a POS waits on every receipt).

It accepts only what it can judge exactly: known fields with the JSON types a POS sends and
values that pass every rule of the schema. Anything else — an unknown value type, a null, a
coupon, an invalid value — returns None, and marshmallow loads the body or refuses it with its
own messages. A property test checks that both agree wherever the lean loader answers.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from mappings.dates import parse_iso_datetime
from mappings.fields import MAX_QUANTITY, MAX_SUM, THOUSANDTH
from processing.money import is_whole_kopecks

MAX_LINES = 1000
Check = Callable[[Any], Any]
_INVALID = object()


def _text(low: int, high: int) -> Check:
    def check(value: Any) -> Any:
        return value if type(value) is str and low <= len(value) <= high else _INVALID

    return check


def _receipt_sum(value: Any) -> Any:
    if type(value) not in (int, Decimal):
        return _INVALID
    amount = Decimal(str(value))
    if not amount.is_finite() or not is_whole_kopecks(amount) or not 0 <= amount <= MAX_SUM:
        return _INVALID
    return amount


def _quantity(value: Any) -> Any:
    if type(value) not in (int, Decimal):
        return _INVALID
    quantity = Decimal(str(value))
    if not quantity.is_finite() or not 0 < quantity <= MAX_QUANTITY:
        return _INVALID
    return quantity if quantity == quantity.quantize(THOUSANDTH) else _INVALID


def _line_number(value: Any) -> Any:
    return value if type(value) is int and 1 <= value <= 9999 else _INVALID


def _flag(value: Any) -> Any:
    return value if type(value) is bool else _INVALID


def _moment(value: Any) -> Any:
    moment = parse_iso_datetime(value) if type(value) is str else None
    return _INVALID if moment is None else moment


def _codes(value: Any) -> Any:
    # Coupons and certificates: only an empty list is judged here.
    return [] if type(value) is list and not value else _INVALID


CODE = _text(1, 64)
GOODS = _text(1, 80)  # a 1C goods GUID, or GUID#characteristic GUID (73 characters)
_LINE: dict[str, Check] = {
    "line": _line_number, "goods": GOODS, "barcode": _text(0, 64), "qty": _quantity,
    "price": _receipt_sum, "sum": _receipt_sum, "no_discount": _flag, "seller": _text(0, 64),
    "final_sum": _receipt_sum, "no_accrual": _flag,
}  # fmt: skip
_LINE_REQUIRED = ("goods", "qty", "price", "sum")
_RECEIPT: dict[str, Check] = {
    "card_number": _text(1, 64), "card_track": _text(1, 200), "card_nfc": _text(1, 500),
    "phone": _text(5, 32), "cashier": CODE, "cashier_name": _text(0, 255),
    "shift": _text(0, 32), "number": CODE, "sold_at": _moment, "transaction_id": CODE,
    "currency": lambda value: value if value == "RUB" else _INVALID, "store": CODE, "pos": CODE,
    "pay_bonus": _receipt_sum, "coupons": _codes, "certificates": _codes, "payments": _codes,
    "calculation_id": _text(0, 36),
}  # fmt: skip
_RECEIPT_REQUIRED = ("cashier", "number", "lines")


def _fields(
    data: dict[str, Any], checks: dict[str, Check], extra: frozenset[str], strict: bool
) -> dict[str, Any] | None:
    loaded = {}
    for name, value in data.items():
        check = checks.get(name)
        if check is None:
            if name in extra:
                continue
            if strict:
                return None  # an unknown field: the caller's policy decides
            continue
        result = check(value)
        if result is _INVALID:
            return None
        loaded[name] = result
    return loaded


def _line(data: Any) -> dict[str, Any] | None:
    # Lines refuse unknown fields whatever the body's policy (marshmallow's nested default).
    if type(data) is not dict or any(name not in data for name in _LINE_REQUIRED):
        return None
    if "groups" in data:
        return None
    line = _fields(data, _LINE, frozenset(), strict=True)
    if line is None:
        return None
    line.setdefault("no_discount", False)
    line.setdefault("no_accrual", False)
    return line


def load_receipt(data: Any, *, unknown_allowed: bool) -> dict[str, Any] | None:
    """``ReceiptSchema().load(data)`` for the common shape; None: let marshmallow judge it.
    ``unknown_allowed``: unknown fields are dropped (webargs' policy for JSON bodies)."""
    if type(data) is not dict or any(name not in data for name in _RECEIPT_REQUIRED):
        return None
    loaded = _fields(data, _RECEIPT, frozenset({"lines"}), strict=not unknown_allowed)
    raw_lines = data["lines"]
    if loaded is None or type(raw_lines) is not list or not 1 <= len(raw_lines) <= MAX_LINES:
        return None
    lines = []
    for raw in raw_lines:
        line = _line(raw)
        if line is None:
            return None
        lines.append(line)
    numbers = [line["line"] for line in lines if line.get("line")]
    if len(numbers) != len(set(numbers)):
        return None
    loaded["lines"] = lines
    loaded.setdefault("shift", "")
    loaded.setdefault("currency", "RUB")
    loaded.setdefault("pay_bonus", Decimal("0.00"))
    for name in ("coupons", "certificates", "payments"):
        loaded.setdefault(name, [])
    return loaded
