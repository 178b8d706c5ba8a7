"""Offline receipts: queued by the POS while it had no connection, sent later. Accrual only,
with the rules valid at each receipt's own time; each receipt commits or fails on its own.

A batch is worked through in chunks of ``CHUNK`` receipts, each chunk in a transaction of its own
(the caller commits after each), so account locks are held for one chunk, never for a whole
upload, and online receipts on the same cards wait at most for a chunk. Small uploads are answered
at once; an upload of more than ``INLINE_RECEIPTS`` receipts or ``INLINE_LINES`` lines in all goes
to a job."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy.orm import Session

from processing.errors import ConnectorError
from processing.receipts.inputs import PosContext, ReceiptInput
from processing.receipts.service import commit_receipt

T = TypeVar("T")
INLINE_RECEIPTS = 100
INLINE_LINES = 2_000
CHUNK = 10


@dataclass(frozen=True)
class OfflineOutcome:
    shift: str
    number: str
    status: str  # committed, replay, error
    transaction_id: str | None = None
    code: str | None = None
    message: str | None = None
    notes: tuple[str, ...] = ()


def answered_inline(receipts: Sequence[ReceiptInput]) -> bool:
    """Whether an upload is small enough to answer in the request (else: a job)."""
    lines = sum(len(receipt.lines) for receipt in receipts)
    return len(receipts) <= INLINE_RECEIPTS and lines <= INLINE_LINES


def offline_job_timeout(receipts: int, lines: int) -> int:
    """Seconds a job may take for an upload: generous per receipt and per line."""
    return 300 + receipts // 2 + lines // 20


def chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    """The slices of a batch that are committed one transaction each."""
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def commit_offline(
    session: Session,
    ctx: PosContext,
    receipts: Sequence[tuple[ReceiptInput, list[str]]],
    *,
    now: datetime,
) -> list[OfflineOutcome]:
    """Commit each receipt of a chunk in its own savepoint, in the session's transaction (the
    caller commits it); ``notes`` are refusals found at the edge (coupons, certificates)
    reported with the receipt."""
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
