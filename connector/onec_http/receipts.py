"""POS and 1C receipt endpoints: identify, soft calculation, fiscal commit, return, rollback,
a 1C document's replacement and unposting, visits and offline batches. A cashier waits on each
call."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from flask import url_for
from flask.views import MethodView
from marshmallow import fields, validate

from connector.api import Blueprint
from connector.db import db_session
from connector.onec_http.auth import check_named_pos, pos_context
from connector.pos_tokens import pos_accessor
from mappings import pos as wire
from mappings.fields import Schema
from processing.cards.service import STATUS_TITLES, CardStatus
from processing.errors import InvalidInput, NotFound
from processing.receipts import returns, service
from processing.receipts.claims import Committed
from processing.receipts.inputs import PosContext, ReceiptInput
from processing.receipts.models import OfflineBatch
from processing.receipts.offline import (
    answered_inline,
    chunks,
    commit_offline,
    offline_job_timeout,
)
from sync.jobs import process_offline_batch
from sync.queue import enqueue

blp = Blueprint(
    "receipts",
    __name__,
    url_prefix="/api/v1",
    description="POS processing: identify, calculate, commit, return, rollback, 1C document "
    "replace and unpost, offline",
)

RECEIPT_EXAMPLE = {
    "cashier": "c-01",
    "cashier_name": "Иванова А.",
    "shift": "17",
    "number": "1042",
    "sold_at": "2026-11-23T14:05:00",
    "card_number": "2775000000018",
    "lines": [
        {"line": 1, "goods": "g-100", "qty": 1.0, "price": 199.90, "sum": 199.90},
        {"line": 2, "goods": "g-200", "qty": 0.347, "price": 459.00, "sum": 159.27},
        {"line": 3, "goods": "g-400", "qty": 2.0, "price": 89.99, "sum": 179.98,
         "no_discount": True},
    ],
    "pay_bonus": 10.00,
}  # fmt: skip


def _now() -> datetime:
    return datetime.now(UTC)


class IdentifyIn(wire.IdentificationSchema):
    expiring_days = fields.Integer(load_default=30, validate=validate.Range(min=1, max=365))


@blp.route("/identify")
class Identify(MethodView):
    @blp.arguments(IdentifyIn, example={"card_number": "2775000000018"})
    @blp.response(200, wire.IdentifyOut)
    @blp.alt_response(404, description="CARD_NOT_FOUND")
    @blp.alt_response(400, description="VALIDATION_ERROR, CARD_NUMBER_INVALID, INVALID_PHONE")
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Identify a customer by card number, magnetic track, NFC payload or phone."""
        ctx = pos_context()
        ident = wire.identification(data)
        if ident is None:
            raise InvalidInput("Укажите номер карты, дорожку, NFC или телефон.")
        outcome = service.identify(
            db_session(), ctx, ident, now=_now(), expiring_days=data["expiring_days"],
            reader=pos_accessor(ctx),
        )  # fmt: skip
        status = CardStatus(outcome.card_status)
        return {
            # null: identified by phone, the virtual card is made by the first receipt
            "card_number": outcome.card_number,
            "card_status": status.value,
            "card_status_title": STATUS_TITLES[status],
            "customer_id": outcome.customer_id,
            "customer_name": outcome.customer_name,
            "balance": {
                "total": outcome.balance_total,
                "active": outcome.balance_active,
                "pending": outcome.balance_pending,
            },
            "level": wire.level_body(outcome.level),
            "expiring": {"sum": outcome.expiring, "days": outcome.expiring_days},
            "write_off_allowed": outcome.write_off_allowed,
            "write_off_refusal": outcome.write_off_refusal,
            "questionnaire": {
                "filled": outcome.questionnaire_filled,
                "missing": outcome.questionnaire_missing,
            },
            "hints": list(outcome.hints),
            "coupons": wire.offered_coupons(outcome.coupons),
        }


def _receipt(data: dict[str, Any]) -> tuple[PosContext, ReceiptInput]:
    ctx = pos_context()
    check_named_pos(ctx, data.get("store"), data.get("pos"))
    return ctx, wire.receipt_input(data, ctx.caller.timezone)


def _answer(committed: Committed) -> dict[str, Any]:
    """A committed receipt's answer (the same on every replay)."""
    return wire.receipt_body(
        committed.receipt, committed.lines, replay=committed.replay, coupons=committed.coupons,
        certificates=committed.certificates,
    )  # fmt: skip


@blp.route("/receipts/calculate")
class Calculate(MethodView):
    @blp.arguments(wire.ReceiptSchema, example=RECEIPT_EXAMPLE)
    @blp.response(200, wire.CalculationOut)
    @blp.alt_response(404, description="CARD_NOT_FOUND")
    @blp.alt_response(
        422, description="CERTIFICATE_NOT_AT_POS, CERTIFICATE_NOT_FOUND (a certificate sold)"
    )
    @blp.alt_response(400, description="CERTIFICATE_SALE_INVALID, VALIDATION_ERROR")
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Soft calculation: discounts, bonus payment and accrual; changes no balance."""
        ctx, receipt = _receipt(data)
        calc = service.calculate_receipt(db_session(), ctx, receipt, now=_now())
        shelf = {line.number: (line.quantity, line.price) for line in receipt.lines}
        body = wire.calculation_body(calc.result, shelf)
        return {
            **body,
            "calculation_id": calc.calculation_id,
            "card_number": calc.card_number,
            "level": wire.level_body(calc.level),
            "coupons": wire.coupon_answers(calc.coupons.answers),
            "certificates": wire.calculated_certificates(
                calc.certificates, calc.result.final_amount
            ),
        }


@blp.route("/receipts/commit")
class Commit(MethodView):
    @blp.arguments(
        wire.ReceiptSchema,
        example={**RECEIPT_EXAMPLE, "calculation_id": "6f1c…", "transaction_id": "pos7-1042"},
    )
    @blp.response(200, wire.ReceiptOut)
    @blp.alt_response(409, description="RECEIPT_CONFLICT: same identity, different body")
    @blp.alt_response(
        422,
        description="RECEIPT_SUMS_MISMATCH, NOT_ENOUGH_BONUS, WRITE_OFF_NOT_ALLOWED, "
        "CARD_BLOCKED, CARD_NOT_ACTIVE, CERTIFICATE_* (a certificate sold or taken in "
        "payment: docs/certificates.md)",
    )
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Fiscal commit of a printed receipt (idempotent by receipt identity and by
        ``transaction_id``). A receipt without card or phone is registered anonymously."""
        ctx, receipt = _receipt(data)
        committed = service.commit_receipt(db_session(), ctx, receipt, now=_now())
        return _answer(committed)


@blp.route("/receipts/return")
class Return(MethodView):
    @blp.arguments(
        wire.ReturnSchema,
        example={
            "cashier": "c-01", "shift": "18", "number": "77",
            "original_transaction_id": "0b8e6a54-…", "lines": [{"line": 1, "qty": 1}],
        },
    )  # fmt: skip
    @blp.response(200, wire.ReceiptOut)
    @blp.alt_response(404, description="RECEIPT_NOT_FOUND")
    @blp.alt_response(422, description="RETURN_EXCEEDS_SALE")
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Return by original receipt or transaction, full (no lines) or partial."""
        ctx = pos_context()
        request = wire.return_input(data, ctx.caller.timezone)
        return _answer(returns.return_receipt(db_session(), ctx, request, now=_now()))


class RollbackOut(Schema):
    transaction_id = fields.String()
    status = fields.String()


@blp.route("/transactions/<transaction_id>/rollback")
class Rollback(MethodView):
    @blp.response(200, RollbackOut, example={"transaction_id": "0b8e…", "status": "rolled_back"})
    @blp.alt_response(404, description="RECEIPT_NOT_FOUND")
    @blp.alt_response(422, description="ROLLBACK_NOT_ALLOWED")
    def post(self, transaction_id: str) -> dict[str, Any]:
        """Cancel a committed transaction within the tenant's rollback window: balances exactly
        as before (idempotent). A 1C document unposted later uses ``/unpost``."""
        receipt = returns.rollback(db_session(), pos_context(), transaction_id, now=_now())
        return {"transaction_id": receipt.transaction_id, "status": receipt.status}


@blp.route("/transactions/<transaction_id>/replace")
class Replace(MethodView):
    @blp.arguments(
        wire.ReceiptSchema,
        example={**RECEIPT_EXAMPLE, "pay_bonus": 0.00, "transaction_id": "doc-5f0a…"},
    )
    @blp.response(200, wire.ReceiptOut)
    @blp.alt_response(404, description="RECEIPT_NOT_FOUND")
    @blp.alt_response(
        409,
        description="RECEIPT_CONFLICT: the transaction was replaced by another body, or the "
        "new version's identity belongs to another receipt",
    )
    @blp.alt_response(
        422,
        description="REPLACE_NOT_ALLOWED (a return, a visit, a sale with returns against it "
        "or whose accrued bonus was spent, one already unposted or replaced), and the commit's "
        "RECEIPT_SUMS_MISMATCH, NOT_ENOUGH_BONUS, WRITE_OFF_NOT_ALLOWED, CARD_BLOCKED, "
        "CARD_NOT_ACTIVE, CERTIFICATE_*",
    )
    def post(self, data: dict[str, Any], transaction_id: str) -> dict[str, Any]:
        """A 1C document re-posted: its receipt replaced by the new version.

        The committed sale ``transaction_id`` is reversed exactly as a rollback reverses it and
        the body (as for a commit) is committed in its place, in one transaction, at any time
        (the rollback window does not apply). The answer is the new receipt, with a new
        ``transaction_id`` to keep for the next change; the old one gets ``status:
        "replaced"`` and gives its shift, number, date and client ``transaction_id`` up to the
        new version. A refused commit leaves the old receipt in force. Repeating the call with
        the same body answers the new receipt again (``"replay": true``), posting nothing.
        """
        ctx, receipt = _receipt(data)
        committed = service.replace_receipt(db_session(), ctx, transaction_id, receipt, now=_now())
        return _answer(committed)


@blp.route("/transactions/<transaction_id>/unpost")
class Unpost(MethodView):
    @blp.response(200, RollbackOut, example={"transaction_id": "0b8e…", "status": "rolled_back"})
    @blp.alt_response(404, description="RECEIPT_NOT_FOUND")
    @blp.alt_response(
        422,
        description="REPLACE_NOT_ALLOWED (a return, a sale with returns against it or whose "
        "accrued bonus was spent, one already replaced)",
    )
    def post(self, transaction_id: str) -> dict[str, Any]:
        """A 1C document unposted or deleted: its receipt cancelled (idempotent).

        The committed sale or visit is cancelled, balances exactly as before, at any time (the
        rollback window does not apply). The receipt gives up its shift, number and date: the
        document posted again is committed as a new receipt.
        """
        receipt = returns.rollback(
            db_session(), pos_context(), transaction_id, now=_now(), window=False
        )
        return {"transaction_id": receipt.transaction_id, "status": receipt.status}


class VisitIn(wire.IdentificationSchema, wire.ReceiptHeaderSchema):
    """A visit: identified like a receipt, without lines."""


@blp.route("/visits")
class Visits(MethodView):
    @blp.arguments(VisitIn, example={"cashier": "c-01", "number": "v-15", "phone": "+79160000001"})
    @blp.response(200, wire.ReceiptOut)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Register a visit without lines (visit-counting programs)."""
        ctx = pos_context()
        committed = service.register_visit(
            db_session(), ctx, ident=wire.identification(data), cashier_code=data["cashier"],
            shift=data["shift"], number=data["number"],
            sold_at=wire.store_moment(data.get("sold_at"), ctx.caller.timezone),
            client_txn_id=data.get("transaction_id"), now=_now(),
        )  # fmt: skip
        return _answer(committed)


@blp.route("/receipts/offline")
class Offline(MethodView):
    @blp.arguments(
        wire.OfflineBatchSchema,
        example={"receipts": [{**RECEIPT_EXAMPLE, "pay_bonus": 0}]},
    )
    @blp.response(200, wire.OfflineBatchOut)
    @blp.alt_response(202, schema=wire.OfflineBatchOut, description="queued: poll status_url")
    def post(self, data: dict[str, Any]) -> Any:
        """Receipts queued while offline: accrual only, rules valid at each receipt's time,
        a result per receipt. More than 100 receipts or 2,000 lines in all are processed by a
        job (202)."""
        ctx = pos_context()
        session = db_session()
        items = data["receipts"]
        prepared = wire.offline_receipts(items, ctx.caller.timezone)
        if answered_inline([receipt for receipt, _ in prepared]):
            results = []
            for chunk in chunks(prepared):
                outcomes = commit_offline(session, ctx, chunk, now=_now())
                session.commit()  # a chunk at a time: no account stays locked for the upload
                results += [wire.offline_result(outcome) for outcome in outcomes]
            return {"batch_id": None, "status": "done", "status_url": None, "results": results}
        batch = OfflineBatch(
            id=str(uuid.uuid4()), tenant_id=ctx.caller.tenant_id, pos_id=ctx.caller.pos_id,
            status="queued", receipts=wire.json_safe(items), results=[], created_at=_now(),
        )  # fmt: skip
        session.add(batch)
        session.flush()
        lines = sum(len(receipt.lines) for receipt, _ in prepared)
        enqueue(
            session, process_offline_batch, batch.id, job_id=f"offline-{batch.id}",
            timeout_s=offline_job_timeout(len(prepared), lines),
        )  # fmt: skip
        status_url = url_for("receipts.OfflineStatus", batch_id=batch.id)
        body = {"batch_id": batch.id, "status": "queued", "status_url": status_url, "results": []}
        return body, 202, {"Location": status_url}


@blp.route("/offline-batches/<batch_id>")
class OfflineStatus(MethodView):
    @blp.response(
        200,
        wire.OfflineBatchOut,
        example={
            "batch_id": "5d1f0c3e-6a8b-4f0e-8d7c-2b1a0f9e8d7c", "status": "done",
            "status_url": None,
            "results": [{"shift": "17", "number": "1042", "status": "committed",
                         "transaction_id": "0b8e6a54-8f1e-4f4e-9d57-3f2b3c1d2e10",
                         "code": None, "message": None,
                         "notes": ["Оплата бонусами в офлайн-чеке не проводится: "
                                   "только начисление."]}],
        },
    )  # fmt: skip
    @blp.alt_response(404, description="OFFLINE_BATCH_NOT_FOUND")
    def get(self, batch_id: str) -> dict[str, Any]:
        """The status and, when done, the per-receipt results of an offline batch."""
        ctx = pos_context()
        batch = db_session().get(OfflineBatch, batch_id)
        if batch is None or batch.tenant_id != ctx.caller.tenant_id:
            raise OfflineBatchNotFound(details={"batch_id": batch_id})
        return {"batch_id": batch.id, "status": batch.status, "status_url": None,
                "results": batch.results}  # fmt: skip


class OfflineBatchNotFound(NotFound):
    code = "OFFLINE_BATCH_NOT_FOUND"
    message = "Пакет офлайн-чеков не найден."
