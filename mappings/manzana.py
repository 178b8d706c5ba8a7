"""Manzana-compatible POS processing XML ↔ plain values (shared/protocols/manzana-pos.md).

Requests are read by element name in any order and in the service namespace or none (clients
differ); answers are written in the service namespace as the default namespace, numbers as
``1532.00`` and quantities as ``2.000``. An error is an answer: a non-zero ``ReturnCode`` (the
table below, docs/pos-soap.md) and the Russian ``Message``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from lxml import etree
from marshmallow import ValidationError

from mappings.cards import card_number_from_track, normalise_card_number
from mappings.dates import parse_iso_datetime, store_time_to_utc
from mappings.fields import Quantity
from mappings.lean import MAX_LINES
from processing.engine.model import Balances
from processing.errors import ConnectorError, InvalidInput
from processing.money import money_text, proportional_share, rubles_text
from processing.receipts.inputs import Identification, IdentifyOutcome, ReturnLineInput
from processing.receipts.returns import ReturnExceedsSale

NS = "http://loyalty.manzanagroup.ru/loyalty.xsd"
KINDS = ("BalanceRequest", "ChequeRequest", "OfferRequest")
# Answers: the service's namespace as the default one (lxml's stubs type no None prefix).
DEFAULT_NS: Any = {None: NS}
MAX_TEXT = 200  # characters of any single text value read

# Our error codes as Manzana clients expect them: a stable non-zero number each (0 = success),
# never renumbered (a new code takes the next free number of its group). "Карта не найдена"
# keeps the number seen in Manzana's traffic; the rest are ours, grouped: 1xx the request and
# the protocol, 2xx authentication, the tenant, stores and POS, 3xx cards, customers and bonus,
# 4xx receipts, 5xx coupons and gift stock, 6xx gift certificates, 7xx programs, promotions and
# segments, 8xx management, exchange and uploads, 9xx the service itself. docs/pos-soap.md
# lists them (a test keeps the two equal, and every code of the service in the table).
RETURN_CODES: dict[str, int] = {
    "VALIDATION_ERROR": 100,
    "SOAP_MALFORMED_ENVELOPE": 101,
    "SOAP_XML_FORBIDDEN": 102,
    "SOAP_UNKNOWN_OPERATION": 103,
    "SOAP_TOO_LARGE": 104,
    "MALFORMED_JSON": 105,
    "METHOD_NOT_ALLOWED": 106,
    "PAYLOAD_TOO_LARGE": 107,
    "HTTP_ERROR": 108,
    "NOT_FOUND": 109,
    "POS_MISMATCH": 110,
    "ROUTE_NOT_FOUND": 111,
    "CONFLICT": 112,
    "UNKNOWN_SERVICE": 113,
    "OPERATION_REFUSED": 114,
    "TOO_MANY_REQUESTS": 115,
    "CODE_EXISTS": 116,
    "TOO_MANY_ATTEMPTS": 117,
    "JSON_TOO_DEEP": 118,
    "SOAP_INVALID_ARGUMENT": 119,
    "NOT_SUPPORTED_REQUEST": 120,
    "UNAUTHORIZED": 201,
    "FORBIDDEN": 203,
    "TENANT_NOT_FOUND": 204,
    "STORE_NOT_FOUND": 205,
    "TENANT_EXISTS": 206,
    "STORE_EXISTS": 207,
    "POS_EXISTS": 208,
    "TENANT_SUSPENDED": 209,
    "TENANT_LIMIT_INVALID": 210,
    "STORE_LIMIT_REACHED": 211,
    "POS_LIMIT_REACHED": 212,
    "PROMOTIONS_NOT_IN_TARIFF": 213,
    "BONUS_NOT_IN_TARIFF": 214,
    "TARIFF_NOT_FOUND": 215,
    "POS_NOT_FOUND": 216,
    "STORE_GROUP_NOT_FOUND": 217,
    "DISCOUNT_SERVER_NOT_IN_TARIFF": 218,
    "CARD_NOT_FOUND": 80241,
    "CARD_NUMBER_INVALID": 301,
    "INVALID_PHONE": 302,
    "CUSTOMER_NOT_FOUND": 303,
    "CARD_BLOCKED": 304,
    "CARD_NOT_ACTIVE": 305,
    "CUSTOMER_LIMIT_REACHED": 306,
    "INVALID_CUSTOMER_FIELD": 307,
    "PHONE_ALREADY_REGISTERED": 308,
    "EMAIL_ALREADY_REGISTERED": 309,
    "CARD_EXISTS": 310,
    "CARD_ALREADY_PERSONALISED": 311,
    "CARD_STATUS_TRANSITION_REFUSED": 312,
    "CARD_RANGE_EXHAUSTED": 313,
    "ACCOUNT_NOT_FOUND": 314,
    "INVALID_BONUS_AMOUNT": 315,
    "NOT_ENOUGH_BONUS": 316,
    "ACCOUNT_IN_DEBT": 317,
    "BONUS_ALREADY_SPENT": 318,
    "WRITE_OFF_NOT_ALLOWED": 319,
    "ERASURE_NOT_CONFIRMED": 320,
    "BONUS_PAYMENT_CAP_EXCEEDED": 321,
    "OFFLINE_BATCH_NOT_FOUND": 401,
    "RECEIPT_CONFLICT": 402,
    "RECEIPT_NOT_FOUND": 403,
    "RECEIPT_SUMS_MISMATCH": 404,
    "RETURN_EXCEEDS_SALE": 405,
    "ROLLBACK_NOT_ALLOWED": 406,
    "REPLACE_NOT_ALLOWED": 407,
    "SOLD_AT_IN_FUTURE": 408,
    "SOLD_AT_TOO_OLD": 409,
    "LINE_SUM_MISMATCH": 410,
    "GIFT_STOCK_SHORT": 501,
    "COUPON_SERIES_NOT_FOUND": 502,
    "COUPON_NOT_FOUND": 503,
    "COUPON_BATCH_TOO_LARGE": 504,
    "COUPON_CODE_SPACE_TOO_SMALL": 505,
    "COUPON_CODE_INVALID": 506,
    "COUPON_CODES_DUPLICATE": 507,
    "COUPON_TRANSITION_REFUSED": 508,
    "COUPON_NOT_ISSUED": 509,
    "COUPON_CANCELLED": 510,
    "COUPON_EXPIRED": 511,
    "COUPON_NOT_YET_VALID": 512,
    "COUPON_SERIES_CLOSED": 513,
    "COUPON_USED_UP": 514,
    "COUPON_CUSTOMER_REQUIRED": 515,
    "COUPON_WRONG_CUSTOMER": 516,
    "COUPON_ONE_PER_RECEIPT": 517,
    "COUPON_SAME_PROMOTION": 518,
    "COUPON_NO_PROMOTION": 519,
    "COUPON_PROMOTION_INACTIVE": 520,
    "COUPON_NOT_NEEDED": 521,
    "COUPON_NOT_APPLIED": 522,
    "CERTIFICATE_SERIES_NOT_FOUND": 601,
    "CERTIFICATE_NOT_FOUND": 602,
    "CERTIFICATE_DOCUMENT_NOT_FOUND": 603,
    "CERTIFICATE_BATCH_TOO_LARGE": 604,
    "CERTIFICATE_CODE_SPACE_TOO_SMALL": 605,
    "CERTIFICATE_SERIES_CLOSED": 606,
    "CERTIFICATE_WRONG_STATUS": 607,
    "CERTIFICATE_NOT_AT_SOURCE": 608,
    "CERTIFICATE_DOCUMENT_CONFLICT": 609,
    "CERTIFICATE_WITHDRAW_FORBIDDEN": 610,
    "CERTIFICATE_NOT_SOLD": 611,
    "CERTIFICATE_EXPIRED": 612,
    "CERTIFICATE_USED_UP": 613,
    "CERTIFICATE_OUT_OF_SCOPE": 614,
    "CERTIFICATE_NOT_AT_POS": 615,
    "CERTIFICATE_SALE_INVALID": 616,
    "CERTIFICATE_NOT_ENOUGH": 617,
    "CERTIFICATE_NOTHING_TO_PAY": 618,
    "CERTIFICATE_REPEATED": 619,
    "CERTIFICATE_ALREADY_USED": 620,
    "CERTIFICATE_CHANGED": 621,
    "CERTIFICATE_NEEDS_ONLINE": 622,
    "PROGRAM_NOT_FOUND": 701,
    "INVALID_PROGRAM_RULES": 702,
    "PROGRAM_VERSION_OVERLAP": 703,
    "SEGMENT_NOT_FOUND": 704,
    "INVALID_SEGMENT_FILTER": 705,
    "SEGMENT_IS_FILTER": 706,
    "SEGMENT_IS_STATIC": 707,
    "SEGMENT_NOT_ACTIVE": 708,
    "SEGMENT_ARCHIVED": 709,
    "SEGMENT_IN_USE": 710,
    "MASS_ACCRUAL_NOT_FOUND": 711,
    "MASS_ACCRUAL_STARTED": 712,
    "PROGRAM_ARCHIVED": 713,
    "CATALOG_BATCH_TOO_LARGE": 801,
    "CATALOG_INVALID_ITEM": 802,
    "CATALOG_UNKNOWN_GROUP": 803,
    "CATALOG_UNKNOWN_BRAND": 804,
    "EXCHANGE_FILE_NAME_UNSAFE": 805,
    "EXCHANGE_FILE_TOO_LARGE": 806,
    "EXCHANGE_BODY_TOO_LARGE": 807,
    "EXCHANGE_MODE_UNKNOWN": 808,
    "EXCHANGE_NO_SESSION": 809,
    "EXCHANGE_TOO_MANY_SESSIONS": 810,
    "EXCHANGE_ADDRESS_UNKNOWN": 811,
    "EXCHANGE_NOT_INITIALISED": 812,
    "EXCHANGE_IMPORT_FILE_MISSING": 813,
    "ACCOUNT_EMAIL_INVALID": 814,
    "ACCOUNT_PASSWORD_WEAK": 815,
    "ACCOUNT_ROLE_INVALID": 816,
    "ACCOUNT_PERMISSION_UNKNOWN": 817,
    "ACCOUNT_EXISTS": 818,
    "ACCOUNT_ROLE_FIXED": 819,
    "USER_NOT_FOUND": 820,
    "ACCOUNT_PASSWORD_WRONG": 821,
    "EXCHANGE_XML_DOCTYPE": 822,
    "EXCHANGE_ZIP_UNSAFE_NAME": 823,
    "EXCHANGE_ZIP_TOO_LARGE": 824,
    "EXCHANGE_ZIP_BOMB": 825,
    "EXCHANGE_ZIP_BROKEN": 826,
    "CATALOG_GROUP_CYCLE": 827,
    "UPLOAD_FILE_EMPTY": 828,
    "UPLOAD_FILE_UNREADABLE": 829,
    "UPLOAD_NO_HEADER": 830,
    "UPLOAD_FILE_TOO_LARGE": 831,
    "UPLOAD_NOT_FOUND": 832,
    "UPLOAD_MAPPING_INVALID": 833,
    "UPLOAD_WRONG_STATUS": 834,
    "INTERNAL_ERROR": 900,
    "SERVICE_UNAVAILABLE": 901,
    "HEALTH_CHECK_FAILED": 902,
}
OTHER = 999  # never answered while the table is complete (a test keeps it so)


class NotSupportedRequest(InvalidInput):
    code = "NOT_SUPPORTED_REQUEST"
    message = "Этот вид запроса пока не обрабатывается."


def q(name: str) -> str:
    return f"{{{NS}}}{name}"


def _local(node: etree._Element) -> str:
    return etree.QName(node).localname


def child(parent: etree._Element, name: str) -> etree._Element | None:
    """The first child element named ``name`` (any namespace: clients differ)."""
    return next(
        (node for node in parent if isinstance(node.tag, str) and _local(node) == name), None
    )


def text(parent: etree._Element | None, name: str) -> str | None:
    node = child(parent, name) if parent is not None else None
    value = ""
    if node is not None:  # a comment inside a value does not cut it: its text runs on after
        value = (
            (node.text or "")
            if len(node) == 0
            else "".join([node.text or "", *(inner.tail or "" for inner in node)])
        )
        value = value.strip()
    if len(value) > MAX_TEXT:
        raise InvalidInput(f"Поле {name} длиннее {MAX_TEXT} символов.", details={"field": name})
    return value or None


def request_of(operation: etree._Element) -> tuple[str, etree._Element]:
    """The request element inside ``ProcessRequest/request``: its kind and the element."""
    if _local(operation) != "ProcessRequest":
        raise InvalidInput(
            "Ожидается операция ProcessRequest.", details={"operation": _local(operation)}
        )
    holder = child(operation, "request")
    found = (
        next((node for node in holder if isinstance(node.tag, str)), None)
        if holder is not None
        else None
    )
    if found is None or _local(found) not in KINDS:
        raise InvalidInput(
            "В request ожидается BalanceRequest, ChequeRequest или OfferRequest.",
            details={"field": "request"},
        )
    return _local(found), found


def identification(request: etree._Element) -> Identification | None:
    """The card the request names: CardNumber, then Track2, then MobilePhone."""
    card = child(request, "Card")
    if card is None:
        return None
    number = text(card, "CardNumber")
    if number:
        return Identification(card_number=normalise_card_number(number))
    track = text(card, "Track2") or text(card, "Tracks")
    if track:
        found = card_number_from_track(track)
        if found is None:
            raise InvalidInput("Не удалось прочитать номер карты с магнитной полосы.",
                               details={"field": "Track2"})  # fmt: skip
        return Identification(card_number=found)
    phone = text(card, "MobilePhone")
    return Identification(phone=phone) if phone else None


def return_code(error: ConnectorError) -> int:
    return RETURN_CODES.get(error.code, OTHER)


def _add(parent: etree._Element, fields: Iterable[tuple[str, object]]) -> None:
    for name, value in fields:
        if value is None:
            continue
        node = etree.SubElement(parent, q(name))
        if name == "Coupons" and isinstance(value, list):
            for number, code, message in value:
                _add(etree.SubElement(node, q("Coupon")), [
                    ("Number", number), ("ApplicabilityMessage", message),
                    ("ApplicabilityCode", code),
                ])  # fmt: skip
        elif isinstance(value, list):
            _add(node, value)
        elif isinstance(value, Decimal) and name in ("Quantity", "Discount", "CardDiscount"):
            node.text = str(value.quantize(QUANTITY))
        elif isinstance(value, Decimal):
            node.text = money_text(value)
        elif isinstance(value, datetime):
            node.text = value.isoformat()
        else:
            node.text = str(value)


def response(
    kind: str,
    *,
    request_id: str | None,
    processed: datetime,
    transaction_id: int | None = None,
    error: ConnectorError | None = None,
    fields: Iterable[tuple[str, object]] = (),
    message: str = "OK",
) -> etree._Element:
    """``ProcessRequestResponse`` with the answer of ``kind`` (BalanceResponse...), the
    service namespace as the default one."""
    root = etree.Element(q("ProcessRequestResponse"), nsmap=DEFAULT_NS)
    result = etree.SubElement(root, q("ProcessRequestResult"))
    answer = etree.SubElement(result, q(kind.replace("Request", "Response")))
    _add(answer, [
        ("TransactionID", transaction_id), ("RequestID", request_id),
        ("Processed", processed), ("ReturnCode", return_code(error) if error else 0),
        ("Message", error.text if error else message),
    ])  # fmt: skip
    if error is None:
        _add(answer, fields)
    return root


def balance_fields(outcome: IdentifyOutcome) -> list[tuple[str, object]]:
    """A BalanceResponse's own fields from identify's answer."""
    level = outcome.level.level if outcome.level else None
    messages = [outcome.write_off_refusal] if outcome.write_off_refusal else []
    return [
        ("CardBalance", outcome.balance_total),
        ("CardActiveBalance", outcome.balance_active),
        ("CardDiscount", level.discount_percent if level else Decimal(0)),
        ("LevelName", level.name if level else None),
        ("CashierMessage", " ".join(messages) or None),
        ("PersonalMessage", " ".join(outcome.hints) or None),
        ("FirstName", outcome.customer_name),
    ]


# --- cheques ----------------------------------------------------------------------------------

SOFT, FISCAL = "Soft", "Fiscal"
SALE, RETURN, ROLLBACK = "Sale", "Return", "Rollback"
QUANTITY = Decimal("0.001")


@dataclass(frozen=True)
class Cheque:
    """A ChequeRequest as the receipt calls take it: the JSON API's receipt body (validated by
    the same schema) and what the Manzana face needs besides."""

    cheque_type: str  # Soft | Fiscal
    operation: str  # Sale | Return | Rollback
    body: dict[str, Any]  # the JSON receipt body
    transaction_id: int  # this face's integer id of the receipt
    request_id: str | None
    moment: datetime | None  # DateTime, aware (None: not given)


def transaction_number(store_id: int, pos_id: int, shift: str, number: str) -> int:
    """A receipt's integer transaction id on this face (POS software stores it as an integer):
    stable for its identity, so a repeated fiscal cheque gets the same one."""
    key = f"{store_id}|{pos_id}|{shift}|{number}".encode()
    return int(hashlib.sha256(key).hexdigest()[:15], 16)


def _moment(found: etree._Element, timezone: str) -> datetime | None:
    """The cheque's DateTime, aware (without an offset: the store's wall clock)."""
    raw = text(found, "DateTime")
    if not raw:
        return None
    moment = parse_iso_datetime(raw)
    try:
        if moment is not None:  # within the calendar in UTC and in the store (years 1 and 9999)
            moment = store_time_to_utc(moment, timezone)
            moment.astimezone(ZoneInfo(timezone))
    except OverflowError:
        moment = None
    if moment is None:
        raise InvalidInput("DateTime — дата и время ISO 8601.", details={"field": "DateTime"})
    return moment


def _sign_charge(raw: str | None, position: int) -> bool:
    """An Item's SignCharge (xs:integer; ``false``/``true`` tolerated): whether it earns bonus."""
    if raw is None or raw.lower() == "true":
        return True
    if raw.lower() == "false":
        return False
    if re.fullmatch(r"[+-]?[0-9]+", raw):  # at most MAX_TEXT characters
        return int(raw) != 0
    raise InvalidInput(
        f"Item {position}, SignCharge: 0 — без начисления бонусов, 1 — с начислением.",
        details={"field": "SignCharge", "position": position},
    )


def cheque(
    found: etree._Element, *, pos_code: str, store_id: int, pos_id: int, timezone: str,
    now: datetime,
) -> Cheque:  # fmt: skip
    """The ChequeRequest ``found`` read by name, in any order."""
    cheque_type = found.get("ChequeType") or text(found, "ChequeType") or SOFT
    operation = text(found, "OperationType") or SALE
    if cheque_type not in (SOFT, FISCAL) or operation not in (SALE, RETURN, ROLLBACK):
        raise InvalidInput(
            "ChequeType — Soft или Fiscal, OperationType — Sale, Return или Rollback.",
            details={"field": "OperationType"},
        )
    number = text(found, "Number") or ""
    moment = _moment(found, timezone)
    # The store-local date (today when not given) is the cheque's "shift": Manzana's has none.
    shift = (moment or now).astimezone(ZoneInfo(timezone)).date().isoformat()
    items = children(found, "Item")
    if len(items) > MAX_LINES:
        raise InvalidInput(f"В чеке больше {MAX_LINES} позиций.",
                           details={"field": "Item", "limit": MAX_LINES})  # fmt: skip
    lines = []
    for position, item in enumerate(items, start=1):
        line = {
            "line": _whole(text(item, "PositionNumber")) or position,
            "goods": text(item, "Article"), "qty": _number(text(item, "Quantity")),
            "price": _number(text(item, "Price")), "sum": _number(text(item, "Summ")),
        }  # fmt: skip
        if not _sign_charge(text(item, "SignCharge"), position):
            line["no_accrual"] = True
        lines.append(line)
    body: dict[str, Any] = {
        "cashier": pos_code, "shift": shift, "number": number, "lines": lines,
        "pay_bonus": _number(text(found, "PaidByBonus") or "0"),
        "coupons": coupon_numbers(found),
        "payments": [
            {"type": payment_kind(text(p, "ID")), "sum": _number(text(p, "Value") or "0")}
            for p in children(found, "Payment")
        ],
        "transaction_id": str(transaction_number(store_id, pos_id, shift, number)),
    }  # fmt: skip
    ident = identification(found)
    if ident is not None and ident.card_number:
        body["card_number"] = ident.card_number
    elif ident is not None and ident.phone:
        body["phone"] = ident.phone
    return Cheque(
        cheque_type, operation, body, int(body["transaction_id"]), text(found, "RequestID"),
        moment,
    )  # fmt: skip


INTEGER = re.compile(r"[+-]?[0-9]{1,18}")  # xs:integer as far as an id or flag needs


def integer_id(raw: str) -> int | None:
    """A transaction id as this face's xs:integer (None: not one, e.g. a JSON client's id)."""
    return int(raw) if INTEGER.fullmatch(raw) else None


# Payment/ID → our payment kinds (what promotions' payment conditions check). No public list of
# the ids POS plugins send [U]: the kinds' names in English or Russian are read; any other id
# is "other".
PAYMENT_KINDS = {
    "cash": "cash", "наличные": "cash", "нал": "cash",
    "card": "card", "bank": "card", "bankcard": "card", "карта": "card", "безнал": "card",
    "безналичные": "card", "банковская карта": "card",
    "sbp": "sbp", "сбп": "sbp", "qr": "sbp",
    "certificate": "certificate", "gift": "certificate", "сертификат": "certificate",
}  # fmt: skip


def payment_kind(payment_id: str | None) -> str:
    return PAYMENT_KINDS.get((payment_id or "").strip().lower(), "other")


def coupon_numbers(found: etree._Element) -> list[str | None]:
    """The codes of ``Coupons/Coupon/Number``, as the POS sent them."""
    return [text(c, "Number") for c in children(child(found, "Coupons"), "Coupon")]


# The receipt schema's names, as this face's fields are called.
FIELD_NAMES = {"lines": "Item", "goods": "Article", "qty": "Quantity", "price": "Price",
               "sum": "Summ", "line": "PositionNumber", "pay_bonus": "PaidByBonus",
               "coupons": "Coupons", "number": "Number", "card_number": "CardNumber",
               "phone": "MobilePhone", "payments": "Payment",
               "no_accrual": "SignCharge"}  # fmt: skip
# Inside a field, where its parts are named otherwise.
NESTED_NAMES = {"payments": {"type": "ID", "sum": "Value"}}


def first_problem(messages: Any, path: str = "", names: dict[str, str] = FIELD_NAMES) -> str:
    """The first of the receipt schema's messages, named as this face names the field (items
    counted from 1): «Item 2, Price: Ожидается число.»"""
    if isinstance(messages, dict) and messages:
        key, value = next(iter(messages.items()))
        if isinstance(key, int):  # an item, counted from 1
            return first_problem(value, f"{path} {key + 1}", names)
        name = names.get(str(key), str(key))
        inner = NESTED_NAMES.get(str(key), FIELD_NAMES)
        return first_problem(value, f"{path}, {name}" if path else name, inner)
    if isinstance(messages, list) and messages:
        return first_problem(messages[0], path, names)
    return f"{path}: {messages}" if path else str(messages)


def _number(raw: str | None) -> Decimal | str | None:
    """A number as the POS writes it (``1532.0``) as a Decimal for the receipt schema; what is
    not a finite number stays text, for the schema to refuse by name."""
    if raw is None:
        return None
    try:
        value = Decimal(raw)
    except ArithmeticError:
        return raw
    return value if value.is_finite() else raw


def _whole(raw: str | None) -> int | str | None:
    return int(raw) if raw is not None and re.fullmatch(r"[0-9]{1,4}", raw) else raw


def children(parent: etree._Element | None, name: str) -> list[etree._Element]:
    if parent is None:
        return []
    return [node for node in parent if isinstance(node.tag, str) and _local(node) == name]


def _percent(part: Decimal, whole: Decimal) -> Decimal:
    return (part * 100 / whole).quantize(QUANTITY) if whole else Decimal("0.000")


def bonus_message(*moves: tuple[str, Decimal]) -> str:
    """A cheque's Message as recorded: «OK. Начислено: 45,96» for a sale, «OK. Списано: 45,96»
    for a return; each of ``moves`` (label, sum) that is not zero, in order."""
    return ". ".join(["OK", *(f"{label}: {rubles_text(value)}" for label, value in moves if value)])


def cheque_fields(
    *,
    balance: Balances | None,
    amount: Decimal,
    discount: Decimal,
    final: Decimal,
    accrual: Decimal,
    bonus_payment: Decimal,
    available: Decimal | None,
    lines: Iterable[tuple[int, str, Decimal, Decimal, Decimal, Decimal, Decimal, Decimal,
                          Decimal]],
    cashier: Iterable[str],
    cheque_messages: Iterable[str],
    personal: Iterable[str],
    coupons: Iterable[tuple[str, int, str]],
) -> list[tuple[str, object]]:  # fmt: skip
    """A ChequeResponse's own fields, in the WSDL's order (strict clients check it).
    ``balance``: the card's after the cheque; ``lines``: (number, article, price, quantity,
    sum, discount, final sum, bonus payment, accrual); ``coupons``: (number, code, message)."""
    fields: list[tuple[str, object]] = [
        ("CardBalance", balance.total if balance else None),
        ("CardActiveBalance", balance.active if balance else None),
        ("Summ", amount), ("Discount", _percent(discount, amount)), ("SummDiscounted", final),
        ("ChargedBonus", accrual), ("AvailablePayment", available),
        ("WriteoffBonus", bonus_payment), ("CashierMessage", " ".join(cashier) or None),
        ("ChequeMessage", " ".join(cheque_messages) or None),
        ("PersonalMessage", " ".join(personal) or None),
    ]  # fmt: skip
    found = list(coupons)
    if found:
        fields.append(("Coupons", found))
    for (
        number,
        article,
        price,
        quantity,
        line_sum,
        line_discount,
        line_final,
        paid,
        accrued,
    ) in lines:
        fields.append(("Item", [
            ("PositionNumber", number), ("Article", article), ("Price", price),
            ("Quantity", quantity.quantize(QUANTITY)), ("Summ", line_sum),
            ("Discount", _percent(line_discount, line_sum)), ("SummDiscounted", line_final),
            ("ChargedBonus", accrued), ("WriteoffBonus", paid),
        ]))  # fmt: skip
    return fields


@dataclass(frozen=True)
class ReturnedItem:
    """A return cheque's item as the POS sent it, and what it takes of the sale's lines."""

    position: int  # its PositionNumber (or place)
    article: str
    quantity: Decimal
    draws: tuple[tuple[int, Decimal], ...]  # (sale line number, quantity), in line order


@dataclass(frozen=True)
class Returned:
    lines: tuple[ReturnLineInput, ...]  # per sale line, by number (none: everything left)
    items: tuple[ReturnedItem, ...]


_QUANTITY = Quantity()


def returned_lines(
    found: etree._Element,
    sold: Iterable[tuple[int, str, Decimal, Decimal]],
    mine: Mapping[int, Decimal] | None = None,
) -> Returned:
    """A return cheque's items (renumbered from 1 by the POS) as lines of the sale ``sold``
    ((line number, goods, quantity, quantity returned so far) each): each item takes what is
    left of the sale's lines of the same goods, in line order (an item may span lines of the
    same goods). ``mine``: what this very return took already (it is being sent again), so the
    lines come out as the first time. No items: the whole receipt."""
    mine = mine or {}
    left = {number: (goods.lower(), quantity - returned + mine.get(number, Decimal(0)))
            for number, goods, quantity, returned in sold}  # fmt: skip
    taken: dict[int, Decimal] = {}
    items = []
    for place, item in enumerate(children(found, "Item"), start=1):
        position = _whole(text(item, "PositionNumber"))
        position = position if isinstance(position, int) else place
        goods = text(item, "Article") or ""
        try:  # the JSON API's quantity rules
            quantity: Decimal = _QUANTITY.deserialize(text(item, "Quantity") or "0")
        except ValidationError as error:
            raise InvalidInput(
                f"Item {place}, Quantity: {first_problem(error.messages)}",
                details={"field": "Quantity", "position": place},
            ) from error
        wanted = quantity
        draws: list[tuple[int, Decimal]] = []
        for number, (article, rest) in left.items():
            free = rest - taken.get(number, Decimal(0))
            if article == goods.lower() and free > 0 and wanted > 0:
                # in thousandths however written (1 or 1.000): a return sent again hashes alike
                draws.append((number, min(free, wanted).quantize(QUANTITY)))
                wanted -= min(free, wanted)
        if not any(article == goods.lower() for article, _ in left.values()):
            raise InvalidInput(f"Item {place}: в исходном чеке нет товара {goods}.",
                               details={"field": "Article", "position": place})  # fmt: skip
        if wanted > 0:
            raise ReturnExceedsSale(
                f"Item {place}: товара {goods} в исходном чеке осталось меньше, чем "
                f"возвращается ({(quantity - wanted).normalize():f} из {quantity.normalize():f}).",
                details={"position": place, "goods": goods},
            )
        for number, part in draws:
            taken[number] = taken.get(number, Decimal(0)) + part
        items.append(ReturnedItem(position, goods, quantity, tuple(draws)))
    return Returned(
        tuple(ReturnLineInput(number, quantity) for number, quantity in sorted(taken.items())),
        tuple(items),
    )


_ITEM_MONEY = ("amount", "discount", "final_amount", "accrual", "bonus_payment")
ItemRow = tuple[int, str, Decimal, Decimal, Decimal, Decimal, Decimal, Decimal, Decimal]


def return_items(
    items: Iterable[ReturnedItem], sale_lines: Iterable[Any], returned: Iterable[Any]
) -> list[ItemRow]:
    """A return's answer items, the POS's own (its PositionNumber, Article, Quantity) each with
    its share of the figures of the return lines it drew from — by quantity, the last share the
    rest, so the items add up to the return to the kopeck. No items sent: the return's lines.
    A row: (number, article, price, quantity, sum, discount, final sum, accrual taken back,
    bonus credited back)."""
    price = {line.line_no: (line.goods_id, line.price) for line in sale_lines}
    lines = {line.line_no: line for line in returned}
    items = list(items)
    if not items:
        return [(number, *price[number], line.quantity, line.amount, line.discount,
                 line.final_amount, line.accrual, line.bonus_payment)
                for number, line in sorted(lines.items())]  # fmt: skip
    draws_left = {number: 0 for number in lines}
    for item in items:
        for number, _ in item.draws:
            draws_left[number] += 1
    taken = {number: dict.fromkeys(_ITEM_MONEY, Decimal(0)) for number in lines}
    rows: list[ItemRow] = []
    for item in items:
        sums = dict.fromkeys(_ITEM_MONEY, Decimal(0))
        for number, quantity in item.draws:
            line = lines[number]
            draws_left[number] -= 1
            for name in _ITEM_MONEY:
                share = proportional_share(getattr(line, name), taken[number][name], quantity,
                                           line.quantity, last=draws_left[number] == 0)  # fmt: skip
                taken[number][name] += share
                sums[name] += share
        first = item.draws[0][0]
        rows.append((item.position, item.article, price[first][1], item.quantity,
                     sums["amount"], sums["discount"], sums["final_amount"], sums["accrual"],
                     sums["bonus_payment"]))  # fmt: skip
    return rows


def reference(found: etree._Element) -> tuple[str | None, str, datetime | None]:
    """The original cheque a return names: its POS, number and (a hint) time."""
    ref = child(found, "ChequeReference")
    number = text(ref, "Number") if ref is not None else None
    if not number:
        raise InvalidInput("Укажите ChequeReference/Number исходного чека.",
                           details={"field": "ChequeReference"})  # fmt: skip
    raw = text(ref, "DateTime")
    return text(ref, "POS"), number, parse_iso_datetime(raw) if raw else None
