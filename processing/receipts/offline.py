"""Offline receipts: queued by the POS while it had no connection, sent later. Accrual only,
with the rules valid at each receipt's own time; each receipt commits or fails on its own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from processing.errors import ConnectorError
from processing.receipts.inputs import PosContext, ReceiptInput
from processing.receipts.service import commit_receipt

BATCH_INLINE_LIMIT = 100


@dataclass(frozen=True)
class OfflineOutcome:
    shift: str
    number: str
    status: str  # committed, replay, error
    transaction_id: str | None = None
    code: str | None = None
    message: str | None = None
    notes: tuple[str, ...] = ()


def commit_offline(
    session: Session,
    ctx: PosContext,
    receipts: list[tuple[ReceiptInput, list[str]]],
    *,
    now: datetime,
) -> list[OfflineOutcome]:
    """Commit each receipt in its own savepoint; ``notes`` are refusals found at the edge
    (coupons, certificates) reported with the receipt."""
    outcomes = []
    for receipt, edge_notes in receipts:
        savepoint = session.begin_nested()
        try:
            committed = commit_receipt(session, ctx, receipt, now=now, offline=True)
        except ConnectorError as error:
            savepoint.rollback()
            outcomes.append(
                OfflineOutcome(receipt.shift, receipt.number, "error", code=error.code,
                               message=error.text, notes=tuple(edge_notes))
            )  # fmt: skip
            continue
        savepoint.commit()
        outcomes.append(
            OfflineOutcome(
                receipt.shift,
                receipt.number,
                "replay" if committed.replay else "committed",
                transaction_id=committed.receipt.transaction_id,
                notes=tuple(edge_notes) + tuple(committed.receipt.notes or ()),
            )
        )
    return outcomes
