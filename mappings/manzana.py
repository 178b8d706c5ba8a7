"""Manzana-compatible POS processing XML ↔ plain values (shared/protocols/manzana-pos.md).

Requests are read by element name in any order and in the service namespace or none (clients
differ); answers are written in the service namespace as the default namespace, numbers as
``1532.00`` and quantities as ``2.000``. An error is an answer: a non-zero ``ReturnCode`` (the
table below, docs/pos-soap.md) and the Russian ``Message``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from lxml import etree

from mappings.cards import card_number_from_track, normalise_card_number
from processing.errors import ConnectorError, InvalidInput
from processing.receipts.inputs import Identification, IdentifyOutcome

NS = "http://loyalty.manzanagroup.ru/loyalty.xsd"
KINDS = ("BalanceRequest", "ChequeRequest", "OfferRequest")
# Answers: the service's namespace as the default one (lxml's stubs type no None prefix).
DEFAULT_NS: Any = {None: NS}
MAX_TEXT = 200  # characters of any single text value read

# Our error codes as Manzana clients expect them: a stable non-zero number each (0 = success).
# "Карта не найдена" keeps the number seen in Manzana's traffic; the rest are ours, grouped:
# 1xx request and protocol, 2xx authentication, 3xx cards and customers, 4xx receipts,
# 5xx coupons and certificates, 9xx the service itself.
RETURN_CODES: dict[str, int] = {
    "VALIDATION_ERROR": 100,
    "SOAP_MALFORMED_ENVELOPE": 101,
    "SOAP_XML_FORBIDDEN": 102,
    "SOAP_UNKNOWN_OPERATION": 103,
    "SOAP_TOO_LARGE": 104,
    "POS_MISMATCH": 110,
    "NOT_SUPPORTED_REQUEST": 120,
    "UNAUTHORIZED": 201,
    "FORBIDDEN": 203,
    "CARD_NOT_FOUND": 80241,
    "CARD_NUMBER_INVALID": 301,
    "INVALID_PHONE": 302,
    "CUSTOMER_NOT_FOUND": 303,
    "CARD_BLOCKED": 304,
    "CARD_NOT_ACTIVE": 305,
    "INTERNAL_ERROR": 900,
    "SERVICE_UNAVAILABLE": 901,
}
OTHER = 999  # a code the table does not name yet


class NotSupportedRequest(InvalidInput):
    code = "NOT_SUPPORTED_REQUEST"
    message = "Этот вид запроса пока не обрабатывается: поддерживается BalanceRequest."


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
    value = (node.text or "").strip() if node is not None else ""
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


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'))}"


def _add(parent: etree._Element, fields: Iterable[tuple[str, object]]) -> None:
    for name, value in fields:
        if value is None:
            continue
        node = etree.SubElement(parent, q(name))
        if isinstance(value, Decimal):
            node.text = _money(value)
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
) -> etree._Element:
    """``ProcessRequestResponse`` with the answer of ``kind`` (BalanceResponse...), the
    service namespace as the default one."""
    root = etree.Element(q("ProcessRequestResponse"), nsmap=DEFAULT_NS)
    result = etree.SubElement(root, q("ProcessRequestResult"))
    answer = etree.SubElement(result, q(kind.replace("Request", "Response")))
    _add(answer, [
        ("TransactionID", transaction_id), ("RequestID", request_id),
        ("Processed", processed), ("ReturnCode", return_code(error) if error else 0),
        ("Message", error.text if error else "OK"),
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
