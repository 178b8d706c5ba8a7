"""Returns (full or partial, in any number of steps) of committed receipts, and their undoing:
the POS's rollback within the tenant's window, a 1C document unposted or re-posted (its sale
reversed, its identity given up for the new version) at any time.

A returned line refunds its share of the line: bonus that paid for it is credited back as
round_half_up(line payment × returned / sold), the return that completes a line taking the exact
remainder; the money refunded is the line's share of its final sum, less what the kept units no
longer earn from a set-based promotion the return breaks (``set_returns``), and the accrual taken
back follows the money refunded. The return that completes the receipt refunds everything that
is left, so a full return in any number of steps restores the balance exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from processing.certificates.till import give_back, receipt_certificates, sold_on
from processing.certificates.till import undo as undo_certificates
from processing.coupons.lifecycle import release_coupons
from processing.db import lock_rows
from processing.errors import InvalidInput, Refused
from processing.gifts.stock import return_for_receipt
from processing.ledger.models import BonusLot, LotMovement, Posting
from processing.ledger.service import (
    PostingKind,
    ReversalRefused,
    claw_back,
    credit,
    lock_account,
    reverse,
)
from processing.levels.service import record_purchase
from processing.money import from_kopecks, proportional_share, rubles_text, to_kopecks
from processing.receipts.checks import check_sold_at
from processing.receipts.claims import (
    Committed,
    ReceiptNotFound,
    claim_identity,
    claim_values,
    find_receipt,
    free_identity,
    identity_key,
    replacement_of,
    store_pos,
    wall_clock,
)
from processing.receipts.inputs import PosContext, ReturnInput
from processing.receipts.models import Receipt, ReceiptLine
from processing.receipts.promotion_facts import ReturnedPart, release_on_return
from processing.receipts.set_returns import (
    WITHHELD,
    Kept,
    Refund,
    SetRefunds,
    accrual_for_refund,
    cumulative_final,
    excess,
    receipt_set_promotions,
    set_refunds,
)

ZERO = Decimal("0.00")


class ReturnExceedsSale(Refused):
    code = "RETURN_EXCEEDS_SALE"
    message = "Количество к возврату больше проданного (с учётом прежних возвратов)."


def _original(session: Session, ctx: PosContext, request: ReturnInput) -> Receipt:
    if request.original_transaction_id:
        original = find_receipt(session, ctx, request.original_transaction_id)
    else:
        if not (request.original_shift is not None and request.original_number):
            raise InvalidInput("Укажите исходный чек: транзакцию или смену и номер чека.")
        pos = store_pos(session, ctx, request.original_pos_code)
        key = identity_key(
            PosContext.of(ctx.tenant, ctx.store, pos),
            request.original_shift,
            request.original_number,
            request.original_sold_at,
        )
        found = session.scalar(
            select(Receipt).where(
                Receipt.tenant_id == ctx.caller.tenant_id, Receipt.identity_key == key
            )
        )
        if found is None:
            raise ReceiptNotFound(details={"number": request.original_number})
        original = found
    _locked(session, original)
    if original.kind != "sale" or original.status != "committed":
        raise ReceiptNotFound("Исходный чек продажи не найден или отменён.")
    return original


def _bad_line(position: int, field: str, message: str) -> InvalidInput:
    """A wrong return line, reported as validation errors are: ``details.fields``."""
    fields = {"json": {"lines": {str(position): {field: [message]}}}}
    return InvalidInput(message, details={"fields": fields})


def return_receipt(
    session: Session, ctx: PosContext, request: ReturnInput, *, now: datetime
) -> Committed:
    check_sold_at(ctx, request.sold_at, now)
    claimed = claim_identity(
        session, ctx,
        claim_values(
            session, ctx, kind="return", shift=request.shift, number=request.number,
            sold_at=request.sold_at, now=now, client_txn_id=request.client_txn_id,
            body_hash=request.body_hash(), cashier_code=request.cashier_code,
            cashier_name=request.cashier_name,
        ),
    )  # fmt: skip
    if isinstance(claimed, Committed):
        return claimed
    row = claimed
    original = _original(session, ctx, request)
    if original.account_id is not None:
        # Locks in the commit's order — the account, then coupons, gift stock, certificates,
        # promotion counters — so a return and a commit never wait for each other in a cycle.
        lock_account(session, original.account_id)
    sale_lines = {
        line.line_no: line
        for line in session.scalars(
            select(ReceiptLine)
            .where(ReceiptLine.receipt_id == original.id)
            .execution_options(populate_existing=True)
        )
    }
    wanted = (
        [(line.number, line.quantity) for line in request.lines]
        if request.lines
        else [
            (no, line.quantity - line.returned_quantity)
            for no, line in sorted(sale_lines.items())
            if line.quantity > line.returned_quantity
        ]
    )
    if not wanted:
        raise ReturnExceedsSale("По этому чеку всё уже возвращено.")
    withheld_before = sum(
        (cumulative_final(line, line.returned_quantity) - line.returned_final
         for line in sale_lines.values()),
        ZERO,
    )  # fmt: skip
    shares = []
    by_promotion: dict[str, Decimal] = {}  # the promotions' discounts on the returned units
    for position, (number, quantity) in enumerate(wanted):
        sale = sale_lines.get(number)
        if sale is None:
            raise _bad_line(position, "line", f"В исходном чеке нет строки {number}.")
        if quantity <= 0:
            raise _bad_line(position, "qty", "Количество к возврату должно быть больше нуля.")
        left = sale.quantity - sale.returned_quantity
        if quantity > left:
            raise ReturnExceedsSale(
                details={"line": number, "sold": str(sale.quantity), "left": str(left)}
            )
        last = quantity == left
        of_line = (quantity, sale.quantity, last)
        accrual = proportional_share(sale.accrual, sale.returned_accrual, *of_line)
        payment = proportional_share(sale.bonus_payment, sale.returned_payment, *of_line)
        amount = proportional_share(sale.amount, sale.returned_amount, *of_line)
        final = cumulative_final(sale, sale.returned_quantity + quantity) - cumulative_final(
            sale, sale.returned_quantity
        )
        sale.returned_quantity += quantity
        sale.returned_amount += amount
        sale.returned_payment += payment
        sale.returned_accrual += accrual  # corrected below when the money refunded differs
        for given in sale.explanations:
            if given.get("rule") == "promotion" and given.get("promotion"):
                code = given["promotion"]
                part = proportional_share(Decimal(given["amount"]), ZERO, *of_line)
                by_promotion[code] = by_promotion.get(code, ZERO) + part
        shares.append((sale, quantity, accrual, last, Refund(number, amount, payment, final)))
    fully_returned = all(line.returned_quantity == line.quantity for line in sale_lines.values())
    refunds = _set_refunds(session, ctx, original, sale_lines, [s[-1] for s in shares],
                           withheld_before, fully_returned)  # fmt: skip
    returned_lines = []
    totals = {"accrual": ZERO, "payment": ZERO, "final": ZERO, "amount": ZERO, "discount": ZERO}
    for (sale, quantity, share, last, refund), final, withheld in zip(
        shares, refunds.finals, refunds.withheld, strict=True
    ):
        accrual = accrual_for_refund(
            share, refund.final, final, sale.accrual - sale.returned_accrual + share, last
        )
        sale.returned_accrual += accrual - share
        sale.returned_final += final
        amount, payment = refund.amount, refund.payment
        for key, value in (("accrual", accrual), ("payment", payment), ("final", final),
                           ("amount", amount), ("discount", amount - final - payment)):  # fmt: skip
            totals[key] += value
        returned_lines.append(
            ReceiptLine(
                receipt_id=row.id,
                line_no=refund.line_no,
                goods_id=sale.goods_id,
                barcode=sale.barcode,
                quantity=quantity,
                price=sale.price,
                amount=amount,
                discount=amount - final - payment,
                bonus_payment=payment,
                final_amount=final,
                accrual=accrual,
                no_discount=sale.no_discount,
                no_accrual=sale.no_accrual,
                seller=sale.seller,
                explanations=[
                    {
                        "rule": WITHHELD,
                        "amount": str(kept),
                        "promotion": code,
                        "text": f"Скидка по акции «{title}» удержана: возврат нарушил её условие",
                    }
                    for code, title, kept in withheld
                ],
                returned_quantity=Decimal(0),
                returned_amount=ZERO,
                returned_accrual=ZERO,
                returned_payment=ZERO,
                returned_final=ZERO,
                original_line_id=sale.id,
            )
        )

    operation = f"return:{row.transaction_id}"
    account_id = original.account_id
    notes = list(refunds.notes)
    if fully_returned:
        release_coupons(session, original.id, at=now)  # still valid ones: usable again
    # gift units go back to the store's stock with the return that completes their line
    completed = [sale.line_no for sale, _, _, last, _ in shares if last]
    return_for_receipt(session, original.id, completed, now=now)
    # certificates sold on returned lines back at their POS; what certificates paid, back on them
    on_certificates = from_kopecks(
        give_back(
            session, original_id=original.id, return_id=row.id, store_id=ctx.caller.store_id,
            pos_id=ctx.caller.pos_id,
            refunds={sale.line_no: to_kopecks(final)
                     for (sale, *_), final in zip(shares, refunds.finals, strict=True)},
            whole=completed, everything=fully_returned, now=now,
        )
    )  # fmt: skip
    if on_certificates:
        back = rubles_text(on_certificates)
        notes.append(f"На подарочные сертификаты возвращено {back} ₽; остальное — деньгами.")
    # The promotions' campaign points go back with the accrual; their counters are restored.
    released = release_on_return(session, original.tenant_id, original.id, ReturnedPart(
        money={sale.line_no: final for (sale, *_), final in zip(shares, refunds.finals,
                                                                strict=True)},
        discount=by_promotion, last=fully_returned,
    ))  # fmt: skip
    campaign = released.campaign
    if account_id is not None and totals["accrual"] + campaign > ZERO:
        allow_negative = ctx.tenant.return_policy == "allow_negative"
        taken = claw_back(
            session, account_id, totals["accrual"] + campaign, allow_negative=allow_negative,
            now=now,
            operation=operation, prefer_posting_id=original.credit_posting_id,
        )  # fmt: skip
        row.debit_posting_id = taken.posting.id if taken.posting else None
        row.clawback_shortfall = taken.shortfall
        if taken.shortfall > ZERO:
            notes.append(
                f"Начисленные бонусы уже потрачены: не удержано {taken.shortfall} "
                "(политика: не уводить баланс в минус)."
            )
        elif allow_negative and taken.posting and taken.posting.balance_after < ZERO:
            notes.append(f"Баланс бонусов стал отрицательным: {taken.posting.balance_after}.")
    # Bonus that paid for the returned goods, and points a bonus conversion spent on them.
    if account_id is not None and totals["payment"] + released.points > ZERO:
        row.credit_posting_id = credit(
            session, account_id, totals["payment"] + released.points, PostingKind.RETURN_CREDIT,
            now=now,
            expires_at=_paid_lots_expiry(session, original), operation=operation,
        ).id  # fmt: skip
    if account_id is not None:  # certificates sold were advances, not purchases
        advances = from_kopecks(sold_on(session, original.id, [s.line_no for s, *_ in shares]))
        record_purchase(
            session, account_id, row.local_date, -(totals["final"] - advances),
            -1 if fully_returned else 0, operation,
        )  # fmt: skip
    row.original_id = original.id
    row.card_id, row.account_id, row.customer_id = (
        original.card_id, account_id, original.customer_id,
    )  # fmt: skip
    row.amount, row.discount = totals["amount"], totals["discount"]
    row.bonus_payment, row.final_amount, row.accrual = (
        totals["payment"], totals["final"], totals["accrual"],
    )  # fmt: skip
    row.notes = notes
    session.add_all(returned_lines)
    session.flush()
    return Committed(
        row, returned_lines, replay=False, certificates=receipt_certificates(session, row.id)
    )


def _set_refunds(
    session: Session,
    ctx: PosContext,
    original: Receipt,
    sale_lines: dict[int, ReceiptLine],
    refunds: list[Refund],
    withheld_before: Decimal,
    complete: bool,
) -> SetRefunds:
    """The money the returned lines refund once the receipt's broken sets are accounted for
    (``set_returns``). The promotions are read while some units are kept, or when a discount
    withheld before is released (for the note)."""
    lines = [line for _, line in sorted(sale_lines.items())]
    promotions = []
    if not complete or withheld_before:
        promotions = receipt_set_promotions(session, original.id, lines)
    owed = excess(
        session, ctx.caller.tenant_id, promotions,
        [Kept(line, line.quantity - line.returned_quantity,
              line.amount - line.returned_amount) for line in lines],
        wall_clock(ctx.caller.timezone, original.sold_at),
    )  # fmt: skip
    titles = {p.promotion.code: p.promotion.title for p in promotions}
    return set_refunds(refunds, withheld_before, owed, titles, complete=complete)


def _paid_lots_expiry(session: Session, original: Receipt) -> datetime | None:
    """Bonus credited back keeps the latest expiry of the lots that paid (none: no expiry)."""
    if original.debit_posting_id is None:
        return None
    expiries = session.scalars(
        select(BonusLot.expires_at)
        .join(LotMovement, LotMovement.lot_id == BonusLot.id)
        .where(LotMovement.posting_id == original.debit_posting_id)
    ).all()
    if not expiries or any(expiry is None for expiry in expiries):
        return None
    return max(expiry for expiry in expiries if expiry is not None)


class RollbackNotAllowed(Refused):
    code = "ROLLBACK_NOT_ALLOWED"
    message = "Отмена транзакции невозможна."


class ReplaceNotAllowed(Refused):
    code = "REPLACE_NOT_ALLOWED"
    message = "Изменить или отменить документ в сервисе лояльности нельзя."


@dataclass(frozen=True)
class _Refusals:
    """What undoing a receipt answers when it cannot: the POS's rollback, or a 1C document's
    replacement or unposting (texts an accountant can act on)."""

    error: type[Refused]
    of_return: str
    returned: str
    replaced: str
    spent: str | None  # None: the ledger's own text


_ROLLBACK = _Refusals(
    RollbackNotAllowed,
    of_return="Возврат нельзя отменить: оформите продажу заново.",
    returned="По чеку уже был возврат: отмена невозможна.",
    replaced="Чек заменён новой версией документа: отменять нужно её.",
    spent=None,
)
_DOCUMENT = _Refusals(
    ReplaceNotAllowed,
    of_return=(
        "Документ возврата нельзя изменить или отменить в сервисе лояльности: оформите "
        "новый документ."
    ),
    returned=(
        "По документу уже был возврат: изменить или отменить его в сервисе лояльности нельзя, "
        "оформите возврат."
    ),
    replaced="Документ уже заменён новой версией: изменять или отменять нужно её.",
    spent=(
        "Начисленные по документу бонусы уже потрачены: изменить или отменить его в сервисе "
        "лояльности нельзя, оформите возврат."
    ),
)


def lock_receipt(session: Session, ctx: PosContext, transaction_id: str) -> Receipt:
    """The tenant's receipt ``transaction_id``, locked and read afresh (``_locked``)."""
    return _locked(session, find_receipt(session, ctx, transaction_id))


def _locked(session: Session, receipt: Receipt) -> Receipt:
    """Lock, then check: returns, rollbacks and replacements of one sale are serialised, and
    each sees what the previous one committed (its status, the quantities already returned)."""
    session.execute(
        lock_rows(select(Receipt.id).where(Receipt.id == receipt.id)).execution_options(
            populate_existing=True
        )
    )
    session.refresh(receipt)
    return receipt


def rollback(
    session: Session, ctx: PosContext, transaction_id: str, *, now: datetime, window: bool = True
) -> Receipt:
    """Cancel a committed sale or visit: balances exactly as before. Idempotent.

    ``window``: the POS's rollback, refused after the tenant's rollback window
    (``ROLLBACK_NOT_ALLOWED``). Without it, a 1C document unposted or deleted: at any time,
    refused with ``REPLACE_NOT_ALLOWED``, and the receipt gives up its identity, so that the
    document posted again is committed afresh."""
    receipt = lock_receipt(session, ctx, transaction_id)
    if receipt.status == "rolled_back":
        if not window:  # cancelled at the POS, now unposted: the document may be posted again
            free_identity(receipt)
            session.flush()
        return receipt
    _undo(
        session, receipt, _ROLLBACK if window else _DOCUMENT, now=now,
        operation=f"rollback:{receipt.transaction_id}",
        window_hours=ctx.tenant.rollback_window_hours if window else None,
    )  # fmt: skip
    receipt.status = "rolled_back"
    if not window:
        free_identity(receipt)
    session.flush()
    return receipt


def withdraw_replaced(session: Session, receipt: Receipt, *, now: datetime) -> None:
    """Reverse the locked sale of a 1C document re-posted, whose new version is committed next
    in the same transaction: status ``replaced``, its identity free for the new version."""
    if receipt.status == "rolled_back":
        raise ReplaceNotAllowed(
            "Документ уже отменён в сервисе лояльности: проведите его заново, он будет "
            "зарегистрирован как новый.",
            details={"transaction_id": receipt.transaction_id},
        )
    if receipt.kind == "visit":
        raise ReplaceNotAllowed(
            "Визит без строк нельзя заменить документом продажи: отмените его и проведите "
            "документ как новый.",
            details={"transaction_id": receipt.transaction_id},
        )
    _undo(
        session, receipt, _DOCUMENT, now=now, operation=f"replace:{receipt.transaction_id}",
        replacing=True,
    )  # fmt: skip
    receipt.status = "replaced"
    free_identity(receipt)
    session.flush()


def _undo(
    session: Session,
    receipt: Receipt,
    refusals: _Refusals,
    *,
    now: datetime,
    operation: str,
    window_hours: int | None = None,
    replacing: bool = False,
) -> None:
    """Reverse everything a committed sale or visit posted — campaign points, accrual,
    write-off, purchase stats, promotion usage and stamps — or refuse: a return, a receipt
    already replaced, one with returns against it, accrued bonus spent, and with
    ``window_hours`` one older than that."""
    if receipt.status == "replaced":
        replacement = replacement_of(session, receipt)
        raise refusals.error(
            refusals.replaced,
            details={"replaced_by": replacement.transaction_id if replacement else None},
        )
    if receipt.kind == "return":
        raise refusals.error(refusals.of_return)
    if window_hours is not None and now - receipt.created_at > timedelta(hours=window_hours):
        raise RollbackNotAllowed(
            f"Отмена возможна в течение {window_hours} ч после чека.",
            details={"window_hours": window_hours},
        )
    returned = session.scalar(select(Receipt.id).where(Receipt.original_id == receipt.id).limit(1))
    if returned is not None:
        raise refusals.error(refusals.returned)
    if receipt.account_id is not None:
        lock_account(session, receipt.account_id)  # first, as a commit takes its locks
    campaigns = (
        session.scalars(
            select(Posting.id).where(
                Posting.account_id == receipt.account_id,
                Posting.kind == PostingKind.CAMPAIGN,
                Posting.operation == f"receipt:{receipt.transaction_id}",
            )
        ).all()
        if receipt.account_id is not None
        else []
    )
    try:
        for posting_id in campaigns:  # a promotion's campaign points
            reverse(session, posting_id, now=now, operation=operation)
        if receipt.credit_posting_id is not None:
            reverse(session, receipt.credit_posting_id, now=now, operation=operation)
        if receipt.debit_posting_id is not None:
            reverse(session, receipt.debit_posting_id, now=now, operation=operation)
    except ReversalRefused as error:
        # The posting id is internal: the POS knows the transaction.
        raise refusals.error(
            refusals.spent or error.text, details={"transaction_id": receipt.transaction_id}
        ) from error
    if receipt.account_id is not None and receipt.kind == "sale":
        advances = from_kopecks(sold_on(session, receipt.id))  # certificates: not purchases
        record_purchase(
            session, receipt.account_id, receipt.local_date,
            -(receipt.final_amount - advances), -1, operation,
        )  # fmt: skip
    release_coupons(session, receipt.id, at=now)
    return_for_receipt(session, receipt.id, None, now=now)
    undo_certificates(session, receipt.id, now=now, replacing=replacing)
    release_on_return(  # usage counters and stamps restored
        session, receipt.tenant_id, receipt.id, ReturnedPart.everything()
    )
