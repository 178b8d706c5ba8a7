"""POS processing over SOAP, Manzana-compatible: ``ProcessRequest`` at
``/soap/<tenant>/pos-processing`` and ``/soap/<tenant>/POSProcessing.asmx`` (``?wsdl`` on
either), SOAP 1.1 and 1.2. A POS that speaks Manzana's protocol connects by changing its URL
(docs/pos-soap.md).

The same domain calls as the JSON POS API answer, so one receipt gives the same figures on both
faces. Authentication is the POS token (``Authorization: Bearer <token>``, or HTTP Basic with
the token as the password); ``Organization``, ``BusinessUnit`` and ``POS`` in a request, when
given, must be the token's tenant, store and POS. An error is an answer with a non-zero
``ReturnCode`` and a Russian ``Message``; a SOAP fault only for an envelope that cannot be read.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, request
from lxml import etree
from marshmallow import Schema, ValidationError
from sqlalchemy.orm import Session

from connector.db import db_session, rollback_request_session
from connector.errors import error_for_exception
from connector.pos_tokens import PosMismatch, context_for_token, pos_accessor
from connector.soap import envelope
from mappings import manzana as wire
from mappings import pos as pos_wire
from processing.errors import ConnectorError, InvalidInput, NotAuthenticated
from processing.receipts import returns, service
from processing.receipts.checks import check_sold_at
from processing.receipts.claims import (
    ReceiptConflict,
    ReceiptNotFound,
    find_by_client_txn,
    receipt_lines,
    sale_by_number,
)
from processing.receipts.inputs import PosContext

WSDL_FILE = Path(__file__).parent / "wsdl" / "pos_processing.wsdl"

blp = Blueprint("pos_processing", __name__, url_prefix="/soap")


class TokenRequired(NotAuthenticated):
    message = (
        "Нужен токен кассы: заголовок Authorization: Bearer <токен> или HTTP Basic с токеном "
        "в качестве пароля."
    )


def _now() -> datetime:
    return datetime.now(UTC)


def _token() -> str | None:
    """The POS token: ``Authorization: Bearer <token>``, or HTTP Basic's password."""
    auth = request.authorization
    if auth is None:
        return None
    if auth.type == "bearer":
        return auth.token or None
    return auth.password or None if auth.type == "basic" else None


def _caller(tenant_code: str) -> PosContext:
    token = _token()
    context = context_for_token(db_session(), token) if token else None
    if context is None or context.tenant.code != tenant_code:
        raise TokenRequired("Токен кассы не найден, отозван или выдан другой сети.")
    return context


def _check_names(ctx: PosContext, found: etree._Element) -> None:
    """Organization, BusinessUnit and POS, when the request names them, are the token's."""
    named = {
        "Organization": (wire.text(found, "Organization"), ctx.tenant.code),
        "BusinessUnit": (wire.text(found, "BusinessUnit"), ctx.caller.store_code),
        "POS": (wire.text(found, "POS"), ctx.caller.pos_code),
    }
    wrong = [name for name, (given, own) in named.items() if given and given != own]
    if wrong:
        raise PosMismatch(
            "Организация, магазин или касса в запросе не совпадают с токеном кассы.",
            details={"fields": wrong},
        )


def _balance(ctx: PosContext, found: etree._Element, now: datetime) -> etree._Element:
    ident = wire.identification(found)
    if ident is None:
        raise InvalidInput("Укажите карту: CardNumber, Track2 или MobilePhone.",
                           details={"field": "Card"})  # fmt: skip
    outcome = service.identify(db_session(), ctx, ident, now=now, reader=pos_accessor(ctx))
    return wire.response(
        "BalanceRequest", request_id=wire.text(found, "RequestID"), processed=now,
        fields=wire.balance_fields(outcome),
    )  # fmt: skip


def _loaded(schema: Schema, body: dict[str, Any]) -> dict[str, Any]:
    """The cheque's body judged by the JSON API's own schema, its complaint in this face's
    field names."""
    try:
        data: dict[str, Any] = schema.load(body)
    except ValidationError as error:
        messages: dict[str, Any] = (
            error.messages if isinstance(error.messages, dict) else {"": error.messages}
        )
        raise InvalidInput(
            f"Неверные данные чека: {wire.first_problem(messages)}", details={"fields": messages}
        ) from error
    return data


def _cheque(ctx: PosContext, found: etree._Element, now: datetime) -> etree._Element:
    caller = ctx.caller
    cheque = wire.cheque(
        found, pos_code=caller.pos_code, store_id=caller.store_id, pos_id=caller.pos_id,
        timezone=caller.timezone, now=now,
    )  # fmt: skip
    session = db_session()
    if cheque.operation != wire.ROLLBACK:
        check_sold_at(ctx, cheque.moment, now)  # only the shift's date, but the JSON API's bounds
    if cheque.operation == wire.ROLLBACK:
        reference = wire.text(wire.child(found, "TransactionReference"), "TransactionID")
        if not reference:
            raise InvalidInput("Укажите TransactionReference/TransactionID отменяемого чека.",
                               details={"field": "TransactionReference"})  # fmt: skip
        cancelled = find_by_client_txn(session, ctx, reference)
        if cheque.cheque_type == wire.FISCAL:  # a soft rollback is accepted, posting nothing
            returns.rollback(session, ctx, cancelled.transaction_id, now=now)
        return wire.response("ChequeRequest", request_id=cheque.request_id, processed=now,
                             transaction_id=wire.integer_id(reference))  # fmt: skip
    if cheque.operation == wire.RETURN:
        return _return(ctx, found, cheque, now)
    receipt = pos_wire.receipt_input(
        _loaded(pos_wire.ReceiptSchema(), cheque.body), ctx.caller.timezone
    )
    sent = dict(zip(receipt.coupons, wire.coupon_numbers(found), strict=True))  # code: as sent
    shelf = {line.number: (line.goods_id, line.price, line.quantity) for line in receipt.lines}
    if cheque.cheque_type == wire.SOFT:
        calc = service.calculate_receipt(session, ctx, receipt, now=now)
        result = calc.result
        after = service.balances_preview(calc)
        fields = wire.cheque_fields(
            balance=after, amount=result.amount, discount=result.discount,
            final=result.final_amount, accrual=result.accrual,
            bonus_payment=result.bonus_payment, available=result.max_bonus_payment,
            lines=[(line.number, *shelf[line.number], line.amount, line.discount,
                    line.final_amount, line.bonus_payment, line.accrual)
                   for line in result.lines],
            cashier=result.cashier_messages, cheque_messages=result.customer_messages,
            personal=result.hints,
            coupons=[(sent.get(a.code) or a.code,
                      0 if a.applied else wire.RETURN_CODES.get(a.reason_code or "", wire.OTHER),
                      a.reason or "Купон применён") for a in calc.coupons.answers],
        )  # fmt: skip
        accrual, write_off = result.accrual, result.bonus_payment
    else:
        committed = service.commit_receipt(session, ctx, receipt, now=now)
        row = committed.receipt
        if committed.replay and row.status != "committed":
            raise ReceiptConflict(
                "Чек с этим номером уже проведён и отменён: проведите его под новым номером.",
                details={"status": row.status},
            )
        used = set(committed.coupons)
        after = committed.balances or service.card_balance(  # a replay reads it, now
            session, ctx, receipt.identification, _now()
        )
        fields = wire.cheque_fields(
            balance=after, amount=row.amount, discount=row.discount, final=row.final_amount,
            accrual=row.accrual, bonus_payment=row.bonus_payment, available=None,
            lines=[(line.line_no, *shelf[line.line_no], line.amount, line.discount,
                    line.final_amount, line.bonus_payment, line.accrual)
                   for line in committed.lines],
            cashier=list(row.notes or []), cheque_messages=(), personal=(),
            coupons=[(sent.get(code) or code, 0, "Купон применён") if code in used
                     else (sent.get(code) or code, wire.RETURN_CODES["COUPON_NOT_APPLIED"],
                           "Купон не применён к чеку.")
                     for code in dict.fromkeys(receipt.coupons)],  # each once, as calculated
        )  # fmt: skip
        accrual, write_off = row.accrual, row.bonus_payment
    return wire.response(
        "ChequeRequest", request_id=cheque.request_id, processed=now,
        transaction_id=cheque.transaction_id, fields=fields,
        message=wire.bonus_message(("Начислено", accrual), ("Списано", write_off)),
    )  # fmt: skip


def _return(
    ctx: PosContext, found: etree._Element, cheque: wire.Cheque, now: datetime
) -> etree._Element:
    """A return by ``ChequeReference`` (the original's POS and number; its time a hint) of the
    items (or everything). A soft one answers the same figures and posts nothing."""
    session = db_session()
    pos_code, number, near = wire.reference(found)
    original = sale_by_number(session, ctx, pos_code, number, near)
    sale_lines = receipt_lines(session, original)
    sold = [(line.line_no, line.goods_id, line.quantity, line.returned_quantity)
            for line in sale_lines]  # fmt: skip
    header = {name: cheque.body[name] for name in ("cashier", "shift", "number", "transaction_id")}
    data = _loaded(pos_wire.ReturnSchema(), header)  # the JSON API's checks of a return's own
    returned = wire.returned_lines(found, sold, _taken_before(session, ctx, cheque, original.id))
    request = replace(
        pos_wire.return_input(data, ctx.caller.timezone),
        original_transaction_id=original.transaction_id, lines=returned.lines,
    )  # fmt: skip
    committed = returns.return_receipt(session, ctx, request, now=now)
    row = committed.receipt
    # the accrual taken back, the bonus that paid credited back
    message = wire.bonus_message(("Списано", row.accrual), ("Начислено", row.bonus_payment))
    fields = wire.cheque_fields(
        # read now: a request that waited for its twin's commit sees the twin's lots as active
        balance=service.account_balances(session, original.account_id, _now()),
        amount=row.amount, discount=row.discount, final=row.final_amount,
        accrual=row.bonus_payment, bonus_payment=row.accrual, available=None,
        lines=wire.return_items(returned.items, sale_lines, committed.lines),
        cashier=list(row.notes or []), cheque_messages=(), personal=(), coupons=(),
    )  # fmt: skip
    answer = wire.response(
        "ChequeRequest", request_id=cheque.request_id, processed=now,
        transaction_id=cheque.transaction_id, fields=fields, message=message,
    )  # fmt: skip
    if cheque.cheque_type == wire.SOFT:  # the figures of the same return, then undone
        rollback_request_session()
    return answer


def _taken_before(
    session: Session, ctx: PosContext, cheque: wire.Cheque, original_id: int
) -> dict[int, Decimal]:
    """What this return (its integer id) took of the sale's lines if it was committed before:
    sent again, its items must come out as the first time to be answered the same."""
    try:
        earlier = find_by_client_txn(session, ctx, str(cheque.transaction_id))
    except ReceiptNotFound:
        return {}
    if earlier.kind != "return" or earlier.original_id != original_id:
        return {}
    return {line.line_no: line.quantity for line in receipt_lines(session, earlier)}


@blp.get("/<tenant_code>/pos-processing")
@blp.get("/<tenant_code>/POSProcessing.asmx")
def wsdl(tenant_code: str) -> Response:
    """The WSDL (public: it says nothing of the tenant), its address this tenant's endpoint."""
    return envelope.wsdl_response(WSDL_FILE, request, tenant_code, request.path.rsplit("/", 1)[-1])


@blp.post("/<tenant_code>/pos-processing")
@blp.post("/<tenant_code>/POSProcessing.asmx")
def endpoint(tenant_code: str) -> Response:
    version = envelope.requested_version(request)
    try:
        parsed = envelope.parse(envelope.body(request))
        version = parsed.version
        kind, found = wire.request_of(parsed.operation)
    except ConnectorError as error:
        return envelope.fault(version, error, _detail, 400 if isinstance(error, InvalidInput)
                              else 500)  # fmt: skip
    now = _now()
    try:
        ctx = _caller(tenant_code)
        _check_names(ctx, found)
        if kind == "BalanceRequest":
            payload = _balance(ctx, found, now)
        elif kind == "ChequeRequest":
            payload = _cheque(ctx, found, now)
        else:
            raise wire.NotSupportedRequest(details={"request": kind})
    except ConnectorError as error:
        rollback_request_session()  # an answer with an error is HTTP 200: nothing may stay
        payload = _error(kind, found, error, now)
    except Exception as exc:  # a database outage answers SERVICE_UNAVAILABLE, else INTERNAL_ERROR
        rollback_request_session()
        payload = _error(kind, found, error_for_exception(exc), now)
    return envelope.answer(version, payload)


def _error(
    kind: str, found: etree._Element, error: ConnectorError, now: datetime
) -> etree._Element:
    request_id = None
    with contextlib.suppress(ConnectorError):  # a RequestID too long to read: not echoed
        request_id = wire.text(found, "RequestID")
    return wire.response(kind, request_id=request_id, processed=now, error=error)


def _detail(error: ConnectorError) -> etree._Element:
    node = etree.Element(wire.q("Error"), nsmap=wire.DEFAULT_NS)
    etree.SubElement(node, wire.q("Code")).text = error.code
    etree.SubElement(node, wire.q("ReturnCode")).text = str(wire.return_code(error))
    etree.SubElement(node, wire.q("Message")).text = error.text
    return node
