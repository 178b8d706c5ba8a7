"""A receipt's identity: claiming it before anything is posted (``INSERT ... ON CONFLICT DO
NOTHING``), answering a repeat or a concurrent twin with the stored receipt, or a conflict
when the body differs, and giving it up when a 1C document is re-posted or unposted."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from processing.certificates.till import ReceiptCertificates, receipt_certificates
from processing.coupons.receipt import used_on_receipt
from processing.db import insert_ignore_returning
from processing.engine.model import Balances
from processing.errors import (
    Conflict,
    ConnectorError,
    NotFound,
)
from processing.receipts.inputs import (
    AnsweredLine,
    AnsweredReceipt,
    PosContext,
    ReceiptInput,
)
from processing.receipts.models import Receipt, ReceiptLine, ReceiptReplacement
from processing.tenants.models import Pos
from processing.tenants.service import cashier_id

ZERO = Decimal("0.00")


class ReceiptConflict(Conflict):
    code = "RECEIPT_CONFLICT"
    message = "Чек с такими реквизитами уже проведён с другим содержимым."


class ReceiptNotFound(NotFound):
    code = "RECEIPT_NOT_FOUND"
    message = "Чек не найден."


@dataclass(frozen=True)
class Committed:
    receipt: Receipt | AnsweredReceipt
    lines: Sequence[ReceiptLine | AnsweredLine]
    replay: bool  # True: this identity was committed before, nothing was posted now
    coupons: tuple[str, ...] = ()  # the codes of the coupons the receipt used
    certificates: ReceiptCertificates = field(default_factory=ReceiptCertificates)
    # The card's bonus once this commit posted (None: a replay, or no card's account).
    balances: Balances | None = None


def wall_clock(timezone: str, at: datetime) -> datetime:
    """``at`` as the store's clock shows it (naive), for period rules and the local date."""
    return at.astimezone(ZoneInfo(timezone)).replace(tzinfo=None)


def local_date(ctx: PosContext, at: datetime) -> date:
    return wall_clock(ctx.caller.timezone, at).date()


def identity_key(ctx: PosContext, shift: str, number: str, sold_at: datetime | None) -> str:
    when = sold_at.astimezone(UTC).isoformat() if sold_at else "-"
    return f"{ctx.caller.store_id}|{ctx.caller.pos_id}|{shift}|{number}|{when}"


def _existing(
    session: Session, ctx: PosContext, key: str, client_txn_id: str | None
) -> Receipt | None:
    # One lookup per unique index: an OR of both makes a plan that walks the tenant's receipts.
    tenant = Receipt.tenant_id == ctx.caller.tenant_id
    found = session.scalar(select(Receipt).where(tenant, Receipt.identity_key == key))
    if found is None and client_txn_id:
        found = _by_client_txn(session, ctx, client_txn_id)
    return found


def _by_client_txn(session: Session, ctx: PosContext, client_txn_id: str) -> Receipt | None:
    # A POS numbers its own transactions: the id is unique per POS.
    return session.scalar(
        select(Receipt).where(
            Receipt.pos_id == ctx.caller.pos_id, Receipt.client_txn_id == client_txn_id
        )
    )


def receipt_lines(session: Session, receipt: Receipt) -> list[ReceiptLine]:
    return list(
        session.scalars(
            select(ReceiptLine)
            .where(ReceiptLine.receipt_id == receipt.id)
            .order_by(ReceiptLine.line_no)
        )
    )


def claim_values(
    session: Session,
    ctx: PosContext,
    *,
    kind: str,
    shift: str,
    number: str,
    sold_at: datetime | None,
    now: datetime,
    client_txn_id: str | None,
    body_hash: str,
    cashier_code: str,
    cashier_name: str | None,
) -> dict[str, Any]:
    """The row that claims a receipt's identity, before any balance is touched."""
    at = sold_at or now
    return {
        "transaction_id": str(uuid.uuid4()),
        "tenant_id": ctx.caller.tenant_id,
        "store_id": ctx.caller.store_id,
        "pos_id": ctx.caller.pos_id,
        "cashier_id": cashier_id(session, ctx.caller.tenant_id, cashier_code, cashier_name),
        "kind": kind,
        "identity_key": identity_key(ctx, shift, number, sold_at),
        "client_txn_id": client_txn_id,
        "body_hash": body_hash,
        "shift": shift,
        "number": number,
        "sold_at": at,
        "local_date": local_date(ctx, at),
        "status": "committed",
        "offline": False,
        "amount": ZERO,
        "discount": ZERO,
        "bonus_payment": ZERO,
        "final_amount": ZERO,
        "accrual": ZERO,
        "clawback_shortfall": ZERO,
        "notes": [],
        "created_at": now,
    }


def sale_claim(
    session: Session, ctx: PosContext, receipt: ReceiptInput, now: datetime
) -> dict[str, Any]:
    return claim_values(
        session, ctx, kind="sale", shift=receipt.shift, number=receipt.number,
        sold_at=receipt.sold_at, now=now, client_txn_id=receipt.client_txn_id,
        body_hash=receipt.body_hash(), cashier_code=receipt.cashier_code,
        cashier_name=receipt.cashier_name,
    )  # fmt: skip


def claim_identity(
    session: Session, ctx: PosContext, values: dict[str, Any]
) -> Receipt | Committed:
    """Claim a receipt's identity with the row of ``claim_values``; a stored twin is returned
    as ``Committed`` (replay)."""
    created = insert_ignore_returning(session, Receipt, values)
    if created is not None:
        return created
    return stored_twin(session, ctx, values)


def stored_twin(session: Session, ctx: PosContext, values: dict[str, Any]) -> Committed:
    """The receipt that already holds this identity (committed earlier, or by a concurrent
    request we waited for): the same answer again, or a conflict when the body differs."""
    key = values["identity_key"]
    stored = _existing(session, ctx, key, values["client_txn_id"])
    if stored is None:
        raise ConnectorError(details={"receipt": key})
    if stored.body_hash != values["body_hash"] or stored.kind != values["kind"]:
        raise ReceiptConflict(details={"transaction_id": stored.transaction_id})
    return _answered_again(session, stored)


def _answered_again(session: Session, stored: Receipt) -> Committed:
    coupons = tuple(used_on_receipt(session, stored.id)) if stored.kind == "sale" else ()
    return Committed(
        stored, receipt_lines(session, stored), replay=True, coupons=coupons,
        certificates=receipt_certificates(session, stored.id),
    )  # fmt: skip


def find_by_client_txn(session: Session, ctx: PosContext, client_txn_id: str) -> Receipt:
    """The calling POS's receipt that it numbered ``client_txn_id``."""
    receipt = _by_client_txn(session, ctx, client_txn_id)
    if receipt is None:
        raise ReceiptNotFound(details={"transaction_id": client_txn_id})
    return receipt


def store_pos(session: Session, ctx: PosContext, pos_code: str | None) -> Pos:
    """The POS ``pos_code`` of the caller's store (the caller's own when None)."""
    if not pos_code or pos_code == ctx.caller.pos_code:
        return ctx.pos
    found = session.scalar(
        select(Pos).where(Pos.store_id == ctx.caller.store_id, Pos.code == pos_code)
    )
    if found is None:
        raise ReceiptNotFound(details={"pos": pos_code})
    return found


def sale_by_number(
    session: Session, ctx: PosContext, pos_code: str | None, number: str, near: datetime | None
) -> Receipt:
    """The committed sale numbered ``number`` at the POS ``pos_code`` of the caller's store (the
    caller's own when None); of several (numbers repeat over days) the one sold nearest
    ``near``, else the latest."""
    pos_id = store_pos(session, ctx, pos_code).id
    found = session.scalars(
        select(Receipt)
        .where(
            Receipt.tenant_id == ctx.caller.tenant_id, Receipt.pos_id == pos_id,
            Receipt.number == number, Receipt.kind == "sale", Receipt.status == "committed",
        )
        .order_by(Receipt.sold_at.desc())
        .limit(50)
    ).all()  # fmt: skip
    if not found:
        raise ReceiptNotFound("Исходный чек продажи не найден.", details={"number": number})
    if near is None:
        return found[0]
    moment = near if near.tzinfo is not None else near.replace(tzinfo=UTC)
    return min(found, key=lambda receipt: abs(receipt.sold_at - moment))


def find_receipt(session: Session, ctx: PosContext, transaction_id: str) -> Receipt:
    receipt = session.scalar(
        select(Receipt).where(
            Receipt.tenant_id == ctx.caller.tenant_id, Receipt.transaction_id == transaction_id
        )
    )
    if receipt is None:
        raise ReceiptNotFound(details={"transaction_id": transaction_id})
    return receipt


def free_identity(receipt: Receipt) -> None:
    """Give up a receipt's identity (its 1C document re-posted or unposted): the document's next
    version, with the same shift, number and date, claims it. The key keeps its text with the
    transaction id appended, so it stays unique and under 300 characters (about 210 at most);
    the POS's own transaction id has no room for a suffix and is dropped. Given up once: a
    receipt cancelled by the POS's rollback and then unposted by its document frees it then."""
    suffix = f"~{receipt.transaction_id}"
    if not receipt.identity_key.endswith(suffix):
        receipt.identity_key = f"{receipt.identity_key}{suffix}"
    receipt.client_txn_id = None


def replacement_of(session: Session, receipt: Receipt) -> Receipt | None:
    """The receipt of the new version of ``receipt``'s 1C document, if it was re-posted."""
    link = session.get(ReceiptReplacement, receipt.id)
    return None if link is None else session.get_one(Receipt, link.replaced_by_id)


def stored_replacement(session: Session, replacement: Receipt, body_hash: str) -> Committed:
    """A replacement repeated: its new receipt ``replacement`` answered again when the body is
    the same; another body is a conflict."""
    if replacement.body_hash != body_hash:
        raise ReceiptConflict(
            "Документ уже заменён другой версией: изменять нужно её.",
            details={"transaction_id": replacement.transaction_id},
        )
    return _answered_again(session, replacement)
