"""What a receipt must satisfy: before anything is calculated (its time, its line sums, the
tariff) and before it is posted (the bonus it paid and its printed sums are exactly ours)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from processing.engine.calculate import PROGRAM_CAP
from processing.engine.model import (
    Result,
)
from processing.errors import (
    Forbidden,
    InvalidInput,
    Refused,
)
from processing.ledger.service import (
    NotEnoughBonus,
)
from processing.money import money_text, round_money
from processing.receipts.inputs import (
    PosContext,
    ReceiptInput,
)

ZERO = Decimal("0.00")


class ReceiptSumsMismatch(Refused):
    code = "RECEIPT_SUMS_MISMATCH"
    message = "Суммы чека на кассе не совпадают с расчётом скидок. Пересчитайте чек."


class WriteOffNotAllowed(Refused):
    code = "WRITE_OFF_NOT_ALLOWED"
    message = "Оплата бонусами для этого чека недоступна."


class BonusPaymentCapExceeded(Refused):
    code = "BONUS_PAYMENT_CAP_EXCEEDED"
    message = "Оплата бонусами больше, чем разрешает программа для этого чека."


class BonusNotInTariff(Forbidden):
    code = "BONUS_NOT_IN_TARIFF"
    message = (
        "Бонусная программа не входит в тариф: оплата бонусами недоступна. Проведите чек без "
        "оплаты бонусами."
    )


class SoldAtInFuture(InvalidInput):
    code = "SOLD_AT_IN_FUTURE"
    message = "Время чека впереди часов сервера: проверьте дату и время на кассе."


class SoldAtTooOld(InvalidInput):
    code = "SOLD_AT_TOO_OLD"
    message = "Чек старше срока приёма офлайн-чеков: такой чек не обрабатывается."


class LineSumMismatch(InvalidInput):
    code = "LINE_SUM_MISMATCH"
    message = (
        "Сумма строки не равна количеству × цене (с учётом скидки кассы): проверьте строки "
        "чека, указанные в details."
    )


def check_sold_at(
    ctx: PosContext, sold_at: datetime | None, now: datetime, *, since: datetime | None = None
) -> None:
    """A receipt's time may run ahead of the server's clock by the tenant's tolerance, and be
    at most the offline window old, or as old as ``since`` (a 1C document's new version may keep
    the date of the receipt it replaces, however old: accounting documents are re-posted
    months later)."""
    if sold_at is None:
        return
    ahead = timedelta(minutes=ctx.caller.sold_at_ahead_minutes)
    if sold_at > now + ahead:
        raise SoldAtInFuture(
            details={"sold_at": sold_at.isoformat(), "server_time": now.isoformat(),
                     "tolerance_minutes": ctx.caller.sold_at_ahead_minutes},
        )  # fmt: skip
    oldest = now - timedelta(days=ctx.caller.offline_window_days)
    if since is not None:
        oldest = min(oldest, since)
    if sold_at < oldest:
        raise SoldAtTooOld(
            f"Чек старше {ctx.caller.offline_window_days} дн.: такой чек не обрабатывается.",
            details={"sold_at": sold_at.isoformat(),
                     "offline_window_days": ctx.caller.offline_window_days},
        )  # fmt: skip


def check_line_sums(ctx: PosContext, receipt: ReceiptInput) -> None:
    """Each line's sum is round(qty × price) less the POS's own discount, within the tenant's
    tolerance per line (weighed goods round half-up to the kopeck)."""
    tolerance = ctx.caller.line_sum_tolerance
    wrong = {}
    for position, line in enumerate(receipt.lines):
        expected = round_money(line.quantity * line.price) - line.pos_discount
        if abs(line.amount - expected) > tolerance:
            wrong[str(position)] = {
                "sum": [f"Строка {line.number}: сумма {money_text(line.amount)}, а "
                        f"{line.quantity} × {money_text(line.price)}"
                        + (f" − {money_text(line.pos_discount)}" if line.pos_discount else "")
                        + f" = {money_text(expected)}."]
            }  # fmt: skip
    if wrong:
        raise LineSumMismatch(details={"fields": {"json": {"lines": wrong}}})


def check_receipt(
    ctx: PosContext, receipt: ReceiptInput, now: datetime, *, since: datetime | None = None
) -> None:
    """What a receipt must satisfy before anything is calculated or stored (``since``: see
    ``check_sold_at``)."""
    check_sold_at(ctx, receipt.sold_at, now, since=since)
    check_line_sums(ctx, receipt)
    if receipt.requested_bonus > ZERO and "bonus" not in ctx.caller.features:
        raise BonusNotInTariff()


def _check_printed_sums(ctx: PosContext, receipt: ReceiptInput, result: Result) -> None:
    tolerance = ctx.caller.sums_tolerance
    ours = {line.number: line.final_amount for line in result.lines}
    differences = {
        str(line.number): {
            "pos": money_text(line.final_amount),
            "ours": money_text(ours[line.number]),
        }
        for line in receipt.lines
        if line.final_amount is not None and abs(line.final_amount - ours[line.number]) > tolerance
    }
    if differences:
        raise ReceiptSumsMismatch(details={"lines": differences})


def check_payable(ctx: PosContext, receipt: ReceiptInput, result: Result) -> None:
    """The printed receipt must be exactly what we post: the bonus it paid and its sums. A
    bonus conversion spends the points asked for at its rate and step: the discount it gave is
    what the printed sums are checked against."""
    if result.bonus_payment < receipt.requested_bonus and not result.points_spent:
        if result.write_off_refusal:
            raise WriteOffNotAllowed(result.write_off_refusal)
        if result.payment_limit == PROGRAM_CAP:
            allowed = money_text(result.max_bonus_payment)
            raise BonusPaymentCapExceeded(
                f"Оплата бонусами ограничена программой: для этого чека не более {allowed}.",
                details={"available": allowed, "requested": money_text(receipt.requested_bonus),
                         "limit": "program_cap"},
            )  # fmt: skip
        raise NotEnoughBonus(
            details={"available": money_text(result.max_bonus_payment),
                     "requested": money_text(receipt.requested_bonus)}
        )  # fmt: skip
    _check_printed_sums(ctx, receipt, result)
