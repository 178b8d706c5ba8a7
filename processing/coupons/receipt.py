"""Coupons on a receipt: which coupons take part — those the cashier presented and, in auto
mode, the best of the customer's own — what each unlocks, why one cannot be used, and what the
commit redeems.

A coupon unlocks its series' promotion (a promotion with ``coupon: true``) for the receipt,
once: a second coupon of the same promotion is refused. A coupon of a series with
``per_receipt`` 1 shares the receipt with no other coupon. Presented coupons are taken in the
order presented; then, when the customer is identified, the customer's usable coupons of auto
series are tried one at a time and the one that gives the receipt most is added (none when none
adds anything). A coupon is used (redeemed on commit) only when its promotion applied.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from processing.codes import normalise_code
from processing.coupons.errors import (
    CouponNoPromotion,
    CouponNotApplied,
    CouponNotFound,
    CouponNotNeeded,
    CouponPromotionInactive,
)
from processing.coupons.lifecycle import (
    LIVE,
    combination_refusal,
    redeem_coupon,
    unusable,
    uses_left,
)
from processing.coupons.models import Coupon, CouponSeries, CouponUse, SeriesStatus
from processing.db import lock_rows
from processing.engine.model import Result
from processing.errors import ConnectorError
from processing.programs.models import Program
from processing.promotions.book import PromotionBook

MAX_COUPONS = 20  # presented on one receipt
MAX_AUTO = 10  # of the customer's auto coupons, tried on one receipt (soonest to expire first)


@dataclass(frozen=True)
class Candidate:
    """A coupon that may take part: ``refusal`` says why it cannot (before the engine)."""

    code: str
    auto: bool
    coupon: Coupon | None
    promotion: str | None  # the promotion it unlocks
    refusal: ConnectorError | None


@dataclass(frozen=True)
class CouponAnswer:
    """What the cashier is told of one coupon: used (its promotion applied) or why not."""

    code: str
    auto: bool
    applied: bool
    promotion: str | None
    promotion_name: str | None
    reason_code: str | None
    reason: str | None


@dataclass(frozen=True)
class CouponsOutcome:
    answers: tuple[CouponAnswer, ...] = ()
    used: tuple[str, ...] = ()  # the codes a commit redeems

    def notes(self) -> list[str]:
        """The coupons not used, for the receipt's notes (a replayed commit answers them)."""
        return [
            f"Купон {answer.code} не применён: {answer.reason}"
            for answer in self.answers
            if not answer.applied
        ]


NO_COUPONS = CouponsOutcome()


def _customers_own(tenant_id: int, customer_id: int, promotions: frozenset[str]) -> Select[Any]:
    """The customer's coupons not used up, of open series of ``promotions``, soonest to expire
    first (whether each can be used now is ``unusable``'s to say)."""
    return (
        select(Coupon)
        .join(CouponSeries, CouponSeries.id == Coupon.series_id)
        .join(Program, Program.id == CouponSeries.promotion_id)
        .where(
            Coupon.tenant_id == tenant_id,
            Coupon.customer_id == customer_id,
            Coupon.status.in_([s.value for s in LIVE]),
            CouponSeries.status == SeriesStatus.ACTIVE,
            Program.code.in_(sorted(promotions)),
        )
        .order_by(CouponSeries.valid_to.asc().nulls_last(), Coupon.id)
    )


def candidates(
    session: Session,
    tenant_id: int,
    codes: Sequence[str],
    *,
    customer_id: int | None,
    at: datetime,
    book: PromotionBook | None,
    lock: bool,
) -> list[Candidate]:
    """The presented ``codes`` (normalised, each once) and then the customer's auto coupons of
    promotions in ``book``, each with its refusal; ``lock`` (a commit): their rows locked in id
    order, read afresh."""
    wanted = list(dict.fromkeys(normalise_code(code) for code in codes))
    found: dict[str, Coupon] = {}
    if wanted:
        found = {
            c.code: c
            for c in session.scalars(
                select(Coupon).where(Coupon.tenant_id == tenant_id, Coupon.code.in_(wanted))
            )
        }
    coupon_promotions = book.coupon_promotions if book is not None else frozenset()
    auto: list[Coupon] = []
    if customer_id is not None and coupon_promotions:
        auto = list(
            session.scalars(
                _customers_own(tenant_id, customer_id, coupon_promotions)
                .where(CouponSeries.auto.is_(True), Coupon.code.not_in(wanted))
                .limit(MAX_AUTO)
            )
        )
    if lock:
        ids = sorted({c.id for c in found.values()} | {c.id for c in auto})
        if ids:
            session.scalars(
                lock_rows(
                    select(Coupon).where(Coupon.id.in_(ids)).order_by(Coupon.id), of=Coupon
                ).execution_options(populate_existing=True)
            ).all()
    in_force = {p.code for p in book.promotions} if book is not None else set()
    chosen: list[CouponSeries] = []
    result = []
    for code, coupon, is_auto in [
        *((code, found.get(code), False) for code in wanted),
        *((c.code, c, True) for c in auto),
    ]:
        if coupon is None:
            result.append(Candidate(code, False, None, None, CouponNotFound()))
            continue
        series = coupon.series
        promotion = series.promotion.code if series.promotion is not None else None
        refusal: ConnectorError | None = unusable(coupon, at, customer_id)
        if refusal is None and promotion is None:
            refusal = CouponNoPromotion()
        elif refusal is None and promotion not in in_force:
            refusal = CouponPromotionInactive()
        elif refusal is None and promotion not in coupon_promotions:
            refusal = CouponNotNeeded()
        if refusal is None and not is_auto:
            refusal = combination_refusal(series, chosen)
            if refusal is None:
                chosen.append(series)
        if is_auto and refusal is not None:
            continue  # an auto coupon that cannot be used is not mentioned
        result.append(Candidate(code, is_auto, coupon, promotion, refusal))
    return result


def choose(
    found: Sequence[Candidate], calculate: Callable[[frozenset[str]], Result]
) -> tuple[Result, CouponsOutcome]:
    """The receipt's result with the presented coupons that can be used, and with the one auto
    coupon that adds most to it (``calculate``: the engine's result when the given coupon
    promotions are unlocked), and what to tell of each coupon."""
    presented = [c for c in found if not c.auto]
    usable = [c for c in presented if c.refusal is None]
    unlocked = frozenset(str(c.promotion) for c in usable)
    result = calculate(unlocked)
    if not found:
        return result, NO_COUPONS
    best: Candidate | None = None
    most = _benefit(result)
    chosen = [c.coupon.series for c in usable if c.coupon is not None]
    for candidate in found:
        if not candidate.auto or candidate.coupon is None:
            continue
        if combination_refusal(candidate.coupon.series, chosen):
            continue
        tried = calculate(unlocked | {str(candidate.promotion)})
        if _benefit(tried) > most:
            best, result, most = candidate, tried, _benefit(tried)
    outcomes = {o.code: o for o in result.promotions}
    answers = []
    used = []
    for candidate in [*presented, *([best] if best is not None else [])]:
        outcome = outcomes.get(str(candidate.promotion))
        refusal = candidate.refusal
        if refusal is None and (outcome is None or not outcome.applied):
            refusal = CouponNotApplied(
                f"Акция купона не применена: {outcome.reason}"
                if outcome is not None and outcome.reason
                else CouponNotApplied.message
            )
        if refusal is None:
            used.append(candidate.code)
        answers.append(
            CouponAnswer(
                code=candidate.code, auto=candidate.auto, applied=refusal is None,
                promotion=candidate.promotion,
                promotion_name=outcome.name if outcome is not None else None,
                reason_code=refusal.code if refusal is not None else None,
                reason=refusal.text if refusal is not None else None,
            )
        )  # fmt: skip
    return result, CouponsOutcome(tuple(answers), tuple(used))


def _benefit(result: Result) -> Decimal:
    """What a result gives the customer: the discount and the promotions' campaign points."""
    return result.discount + sum((o.bonus for o in result.promotions if o.applied), Decimal(0))


@dataclass(frozen=True)
class OfferedCoupon:
    """One of the customer's coupons usable here now, for the cashier (identify): auto ones are
    the customer's personal offers, applied without being presented."""

    code: str
    title: str
    promotion: str
    promotion_name: str
    valid_to: datetime | None
    auto: bool
    uses_left: int | None


MAX_LISTED = 20


def customer_coupons(
    session: Session, tenant_id: int, customer_id: int, *, at: datetime, book: PromotionBook
) -> list[OfferedCoupon]:
    """The customer's coupons that can be used at ``at`` for coupon promotions of ``book`` (in
    force at this store), soonest to expire first."""
    if not book.coupon_promotions:
        return []
    titles = {p.code: p.title for p in book.promotions if p.coupon}
    rows = session.execute(
        _customers_own(tenant_id, customer_id, book.coupon_promotions)
        .add_columns(Program.code)
        .limit(MAX_LISTED * 2)
    ).all()
    offered = []
    for coupon, promotion in rows:
        if unusable(coupon, at, customer_id) is not None:
            continue
        series = coupon.series
        offered.append(
            OfferedCoupon(
                code=coupon.code, title=series.title, promotion=promotion,
                promotion_name=titles[promotion], valid_to=series.valid_to, auto=series.auto,
                uses_left=uses_left(coupon),
            )
        )  # fmt: skip
    return offered[:MAX_LISTED]


def redeem(
    session: Session,
    tenant_id: int,
    outcome: CouponsOutcome,
    *,
    receipt_id: int,
    customer_id: int | None,
    at: datetime,
) -> None:
    """Redeem the coupons a committed receipt used (their rows are locked by ``candidates``)."""
    for code in outcome.used:
        redeem_coupon(
            session, tenant_id, code, receipt_id=receipt_id, customer_id=customer_id, at=at
        )


def used_on_receipt(session: Session, receipt_id: int) -> list[str]:
    """The codes of the coupons a receipt used (a replayed commit answers them)."""
    return list(
        session.scalars(
            select(Coupon.code)
            .join(CouponUse, CouponUse.coupon_id == Coupon.id)
            .where(CouponUse.receipt_id == receipt_id)
            .order_by(CouponUse.id)
        )
    )
