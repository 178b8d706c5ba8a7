"""Gift certificates in a receipt's calculation and commit: the sale lines left out of the
engine and put back as advances, and the payments by certificates after discounts (the rules of
selling and taking them are ``processing/certificates/till.py``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from processing.certificates import till
from processing.certificates.errors import CertificateChanged, CertificateNeedsOnline
from processing.engine.model import Explanation, LinePart, LineResult, Result
from processing.engine.model import Receipt as EngineReceipt
from processing.money import from_kopecks, money_text, to_kopecks
from processing.receipts.inputs import PosContext, ReceiptInput

ZERO = Decimal("0.00")
SALE_TEXT = "Подарочный сертификат: аванс, без скидок, оплаты и начисления бонусов"


@dataclass(frozen=True)
class TillCertificates:
    """The receipt's certificate sales and the payments by certificates."""

    sold: tuple[till.Sale, ...] = ()
    paid: tuple[till.Payment, ...] = ()

    @property
    def sold_lines(self) -> frozenset[int]:
        return frozenset(sale.line_no for sale in self.sold)

    @property
    def any(self) -> bool:
        return bool(self.sold or self.paid)

    @property
    def paid_json(self) -> list[list[str | int]]:
        """What the certificates pay, as a soft result keeps it: [code, kopecks] each."""
        return [[p.code, p.amount] for p in self.paid if p.refusal is None]


def check_as_calculated(stored: Mapping[str, Any] | None, found: TillCertificates) -> None:
    """A commit of a soft result (``stored``, its kept answer) takes from certificates exactly
    what the calculation told the POS (and it printed): a certificate spent meanwhile at another
    POS refuses the commit, so the cashier recalculates."""
    if stored is None or "certificates" not in stored:
        return
    if stored["certificates"] != found.paid_json:
        raise CertificateChanged(
            details={"calculated": _rubles(stored["certificates"]),
                     "now": _rubles(found.paid_json)}
        )  # fmt: skip


def _rubles(paid: list[list[Any]]) -> dict[str, str]:
    """[code, kopecks] pairs as the API says money: code → rubles with two decimals."""
    return {str(code): money_text(from_kopecks(int(kopecks))) for code, kopecks in paid}


NO_CERTIFICATES = TillCertificates()


def certificates_possible(session: Session, ctx: PosContext, receipt: ReceiptInput) -> bool:
    """Whether the receipt may sell or take a certificate (then it takes the general path)."""
    if receipt.certificates or any(line.certificate for line in receipt.lines):
        return True
    goods = till.certificate_goods(session, ctx.caller.tenant_id)
    return bool(goods) and any(line.goods_id.lower() in goods for line in receipt.lines)


def certificate_sales(
    session: Session,
    ctx: PosContext,
    receipt: ReceiptInput,
    engine_input: EngineReceipt,
    at: datetime,
    *,
    lock: bool,
    offline: bool = False,
) -> tuple[till.Sale, ...]:
    """The receipt's certificate sales (the lines' goods as the engine matched them)."""
    requests = [
        till.SaleRequest(
            line.number, engine.goods_id,
            int(line.quantity) if line.quantity == line.quantity.to_integral_value() else None,
            to_kopecks(line.amount), line.certificate,
        )
        for line, engine in zip(receipt.lines, engine_input.lines, strict=True)
    ]  # fmt: skip
    sold = till.sales(session, ctx.caller.tenant_id, ctx.caller.pos_id, requests, at, lock=lock)
    if offline and (sold or receipt.certificates):
        raise CertificateNeedsOnline()
    return tuple(sold)


def without_sold(engine_input: EngineReceipt, sold: Sequence[till.Sale]) -> EngineReceipt:
    """The engine's receipt without the certificate sale lines."""
    if not sold:
        return engine_input
    numbers = {sale.line_no for sale in sold}
    return replace(
        engine_input, lines=tuple(line for line in engine_input.lines if line.number not in numbers)
    )


def with_sold(result: Result, engine_input: EngineReceipt, sold: Sequence[till.Sale]) -> Result:
    """The engine's result with the certificate sale lines back in their places: each at its
    own sum, with no discount, bonus payment or accrual."""
    if not sold:
        return result
    numbers = {sale.line_no for sale in sold}
    computed = {line.number: line for line in result.lines}
    lines, extra = [], ZERO
    for line in engine_input.lines:
        if line.number not in numbers:
            lines.append(computed[line.number])
            continue
        extra += line.amount
        lines.append(
            LineResult(
                number=line.number, amount=line.amount, discount=ZERO, bonus_payment=ZERO,
                final_amount=line.amount, accrual=ZERO,
                parts=(LinePart(line.quantity, line.amount, line.amount),),
                price_difference=ZERO,
                explanations=(Explanation("certificate_sale", ZERO, SALE_TEXT),),
            )
        )  # fmt: skip
    return replace(
        result, lines=tuple(lines), amount=result.amount + extra,
        final_amount=result.final_amount + extra,
    )  # fmt: skip


def certificate_payments(
    session: Session,
    ctx: PosContext,
    receipt: ReceiptInput,
    result: Result,
    sold: Sequence[till.Sale],
    at: datetime,
    *,
    lock: bool,
) -> tuple[till.Payment, ...]:
    """The presented certificates paying what the receipt's other lines cost after discounts and
    bonus payment (a certificate never pays for a certificate)."""
    if not receipt.certificates:
        return ()
    numbers = {sale.line_no for sale in sold}
    payable = sum(
        to_kopecks(line.final_amount) for line in result.lines if line.number not in numbers
    )
    requests = [
        till.PaymentRequest(code, to_kopecks(amount) if amount is not None else None)
        for code, amount in receipt.certificates
    ]
    caller = ctx.caller
    return tuple(
        till.payments(
            session, caller.tenant_id, caller.store_id, caller.pos_id, requests, payable, at,
            lock=lock,
        )
    )  # fmt: skip
