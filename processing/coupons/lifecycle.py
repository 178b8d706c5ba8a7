"""A coupon's life: issue, take, cancel, expiry, the check of whether it can be used now, and
its redemption on a receipt (exactly once under concurrency) given back by the receipt's
return. Every transition locks the coupon's row."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from processing.codes import normalise_code
from processing.coupons.errors import (
    CouponCancelled,
    CouponCustomerRequired,
    CouponExpired,
    CouponNotFound,
    CouponNotIssued,
    CouponNotYetValid,
    CouponOnePerReceipt,
    CouponSamePromotion,
    CouponSeriesClosed,
    CouponTransitionRefused,
    CouponUnusable,
    CouponUsedUp,
    CouponWrongCustomer,
)
from processing.coupons.models import Coupon, CouponSeries, CouponUse, SeriesStatus
from processing.customers.models import Customer
from processing.db import lock_rows
from processing.errors import InvalidInput


class CouponStatus(StrEnum):
    GENERATED = "generated"
    ISSUED = "issued"
    TAKEN = "taken"
    REDEEMED = "redeemed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


STATUS_TITLES = {
    CouponStatus.GENERATED: "Создан",
    CouponStatus.ISSUED: "Выдан",
    CouponStatus.TAKEN: "Получен покупателем",
    CouponStatus.REDEEMED: "Использован",
    CouponStatus.EXPIRED: "Истёк",
    CouponStatus.CANCELLED: "Аннулирован",
}
LIVE = (CouponStatus.GENERATED, CouponStatus.ISSUED, CouponStatus.TAKEN)
ISSUE_CHANNELS = ("promotion", "mailing", "admin")
IMPORT_CHANNEL = "import"
MAX_CHANNEL = 32
MAX_REASON = 500


@dataclass(frozen=True)
class CouponCheck:
    """A coupon's state at a moment: ``refusal`` says why it cannot be used (None: it can)."""

    coupon: Coupon
    refusal: CouponUnusable | None
    uses_left: int | None  # None: unlimited


def _by_code(session: Session, tenant_id: int, code: str) -> Coupon | None:
    return session.scalar(
        select(Coupon).where(Coupon.tenant_id == tenant_id, Coupon.code == normalise_code(code))
    )


def find_coupon(session: Session, tenant_id: int, code: str) -> Coupon:
    coupon = _by_code(session, tenant_id, code)
    if coupon is None:
        raise CouponNotFound(details={"code": code.strip()})
    return coupon


def _locked(session: Session, coupon: Coupon) -> Coupon:
    return session.scalars(
        lock_rows(select(Coupon).where(Coupon.id == coupon.id), of=Coupon).execution_options(
            populate_existing=True
        )
    ).one()


def series_refusal(series: CouponSeries, at: datetime) -> CouponUnusable | None:
    """The series no longer lets its coupons be issued, taken or used."""
    if series.status == SeriesStatus.CLOSED:
        return CouponSeriesClosed(details={"series": series.code})
    if series.valid_to is not None and at >= series.valid_to:
        return CouponExpired(details={"valid_to": series.valid_to.isoformat()})
    return None


def unusable(coupon: Coupon, at: datetime, customer_id: int | None) -> CouponUnusable | None:
    """Why the coupon cannot be used at ``at`` by the customer identified on the receipt
    (None: nobody identified); None when it can."""
    series = coupon.series
    if coupon.status == CouponStatus.CANCELLED:
        return CouponCancelled(details={"reason": coupon.cancel_reason})
    if coupon.status == CouponStatus.EXPIRED:
        return CouponExpired(
            details={"valid_to": series.valid_to.isoformat() if series.valid_to else None}
        )
    if coupon.status == CouponStatus.REDEEMED:
        return CouponUsedUp(details={"uses": coupon.uses})
    refusal = series_refusal(series, at)
    if refusal is not None:
        return refusal
    if series.valid_from is not None and at < series.valid_from:
        return CouponNotYetValid(details={"valid_from": series.valid_from.isoformat()})
    if coupon.status == CouponStatus.GENERATED:
        return CouponNotIssued()
    if series.bound and customer_id is None:
        return CouponCustomerRequired()
    if series.bound and coupon.customer_id != customer_id:
        return CouponWrongCustomer()
    return None


def combination_refusal(
    series: CouponSeries, others: Sequence[CouponSeries]
) -> CouponUnusable | None:
    """Whether a coupon of ``series`` may join a receipt's coupons of the series ``others``: one
    coupon per promotion (a promotion applies once), and a series with ``per_receipt`` 1 shares
    the receipt with no other coupon."""
    if series.promotion_id is not None and any(
        other.promotion_id == series.promotion_id for other in others
    ):
        return CouponSamePromotion()
    if others and (series.per_receipt == 1 or any(other.per_receipt == 1 for other in others)):
        return CouponOnePerReceipt()
    return None


def uses_left(coupon: Coupon) -> int | None:
    limit = coupon.series.uses_per_coupon
    return None if limit is None else max(limit - coupon.uses, 0)


def check_coupon(
    session: Session, tenant_id: int, code: str, at: datetime, customer_id: int | None = None
) -> CouponCheck:
    return coupon_state(find_coupon(session, tenant_id, code), at, customer_id)


def registry_state(session: Session, tenant_id: int, code: str, at: datetime) -> CouponCheck | None:
    """The registry's state of a code at ``at`` (nobody identified), or None when the registry
    does not hold it (codes of 1C:Розница's own coupons)."""
    coupon = _by_code(session, tenant_id, code)
    return None if coupon is None else coupon_state(coupon, at)


def coupon_state(coupon: Coupon, at: datetime, customer_id: int | None = None) -> CouponCheck:
    return CouponCheck(coupon, unusable(coupon, at, customer_id), uses_left(coupon))


def _refuse_transition(coupon: Coupon, to: CouponStatus, message: str) -> CouponTransitionRefused:
    return CouponTransitionRefused(
        f"Купон {STATUS_TITLES[CouponStatus(coupon.status)].lower()}: {message}",
        details={"from": coupon.status, "to": to},
    )


def _refuse_foreign(coupon: Coupon, customer: Customer | None) -> None:
    if customer is not None and customer.tenant_id != coupon.tenant_id:
        raise InvalidInput("Покупатель не найден.", details={"field": "customer_id"})


def issue_coupon(
    session: Session, coupon: Coupon, *, via: str, customer: Customer | None, now: datetime
) -> Coupon:
    """Hand a generated coupon out, to a customer or as a bearer coupon; a coupon of a bound
    series needs its customer."""
    if via not in ISSUE_CHANNELS:
        raise InvalidInput(f"Канал выдачи: {', '.join(ISSUE_CHANNELS)}.", details={"field": "via"})
    _refuse_foreign(coupon, customer)
    coupon = _locked(session, coupon)
    if coupon.status != CouponStatus.GENERATED:
        raise _refuse_transition(coupon, CouponStatus.ISSUED, "выдать можно только новый купон.")
    refusal = series_refusal(coupon.series, now)
    if refusal is not None:
        raise refusal
    if coupon.series.bound and customer is None:
        raise CouponCustomerRequired("Купон серии именной: укажите покупателя, которому он выдан.")
    coupon.status = CouponStatus.ISSUED
    coupon.issued_at, coupon.issued_via = now, via
    coupon.customer_id = customer.id if customer is not None else None
    session.flush()
    return coupon


def take_coupon(
    session: Session, coupon: Coupon, *, customer: Customer, channel: str, now: datetime
) -> Coupon:
    """The customer claims the coupon in a channel (an app, a site): an issued coupon, or a new
    bearer one straight from the series; a bound coupon only by its own customer."""
    channel = channel.strip()
    if not 1 <= len(channel) <= MAX_CHANNEL:
        raise InvalidInput(f"Канал — от 1 до {MAX_CHANNEL} символов.", details={"field": "channel"})
    _refuse_foreign(coupon, customer)
    coupon = _locked(session, coupon)
    series = coupon.series
    takeable = (
        {CouponStatus.ISSUED} if series.bound else {CouponStatus.GENERATED, CouponStatus.ISSUED}
    )
    if coupon.status not in takeable:
        raise _refuse_transition(
            coupon, CouponStatus.TAKEN, "получить можно только выданный и ещё не полученный купон."
        )
    refusal = series_refusal(series, now)
    if refusal is not None:
        raise refusal
    if series.bound and coupon.customer_id != customer.id:
        raise CouponWrongCustomer()
    coupon.status = CouponStatus.TAKEN
    coupon.taken_at, coupon.taken_via = now, channel
    coupon.customer_id = customer.id
    session.flush()
    return coupon


def cancel_coupon(session: Session, coupon: Coupon, *, reason: str, now: datetime) -> Coupon:
    """Withdraw a coupon not yet used up; a redeemed, expired or cancelled one stays as it is."""
    reason = reason.strip()
    if not 1 <= len(reason) <= MAX_REASON:
        raise InvalidInput(
            f"Укажите причину аннулирования (до {MAX_REASON} символов).",
            details={"field": "reason"},
        )
    coupon = _locked(session, coupon)
    if coupon.status not in LIVE:
        raise _refuse_transition(
            coupon, CouponStatus.CANCELLED, "аннулировать можно только действующий купон."
        )
    coupon.status = CouponStatus.CANCELLED
    coupon.cancelled_at, coupon.cancel_reason = now, reason
    session.flush()
    return coupon


def expire_coupons(session: Session, now: datetime, batch: int = 1_000) -> int:
    """Mark up to ``batch`` unused coupons past their series' end as expired; returns how many
    (0: none left). For the periodic job, a batch per transaction."""
    ids = session.scalars(
        lock_rows(
            select(Coupon.id)
            .join(CouponSeries, CouponSeries.id == Coupon.series_id)
            .where(Coupon.status.in_(LIVE), CouponSeries.valid_to <= now)
            .order_by(Coupon.id)
            .limit(batch),
            of=Coupon,
        )
    ).all()
    if ids:
        session.execute(
            update(Coupon)
            .where(Coupon.id.in_(ids))
            .values(status=CouponStatus.EXPIRED)
            .execution_options(synchronize_session=False)
        )
    return len(ids)


def redeem_coupon(
    session: Session,
    tenant_id: int,
    code: str,
    *,
    receipt_id: int,
    customer_id: int | None,
    at: datetime,
) -> CouponUse:
    """Use the coupon on a committed receipt, under the coupon's row lock: of concurrent
    callers only as many as the coupon has uses succeed. Presenting it again for the same
    receipt answers the same use."""
    coupon = _locked(session, find_coupon(session, tenant_id, code))
    earlier = session.scalar(
        select(CouponUse).where(
            CouponUse.coupon_id == coupon.id, CouponUse.receipt_id == receipt_id
        )
    )
    if earlier is not None and earlier.returned_at is None:
        return earlier
    if earlier is not None:
        raise _refuse_transition(
            coupon, CouponStatus.REDEEMED, "чек, на котором он применялся, уже возвращён."
        )
    refusal = unusable(coupon, at, customer_id)
    if refusal is not None:
        raise refusal
    series = coupon.series
    others = session.scalars(
        select(Coupon)
        .join(CouponUse, CouponUse.coupon_id == Coupon.id)
        .where(CouponUse.receipt_id == receipt_id, CouponUse.returned_at.is_(None))
    ).all()
    refusal = combination_refusal(series, [other.series for other in others])
    if refusal is not None:
        raise refusal
    use = CouponUse(coupon_id=coupon.id, receipt_id=receipt_id, used_at=at)
    session.add(use)
    coupon.uses += 1
    if series.uses_per_coupon is not None and coupon.uses >= series.uses_per_coupon:
        coupon.status = CouponStatus.REDEEMED
        coupon.redeemed_at = at
    session.flush()
    return use


def release_coupons(session: Session, receipt_id: int, *, at: datetime) -> list[Coupon]:
    """The return of a receipt gives back the uses its coupons had on it, for the coupons still
    valid at ``at`` (a used-up one is issued or taken again); returns the coupons given back."""
    released = []
    uses = session.scalars(
        select(CouponUse)
        .where(CouponUse.receipt_id == receipt_id, CouponUse.returned_at.is_(None))
        .order_by(CouponUse.coupon_id)
    ).all()
    for use in uses:
        coupon = _locked(session, session.get_one(Coupon, use.coupon_id))
        if coupon.status in (CouponStatus.CANCELLED, CouponStatus.EXPIRED):
            continue
        if series_refusal(coupon.series, at) is not None:
            continue
        use.returned_at = at
        coupon.uses -= 1
        if coupon.status == CouponStatus.REDEEMED:
            coupon.status = CouponStatus.TAKEN if coupon.taken_at else CouponStatus.ISSUED
            coupon.redeemed_at = None
        released.append(coupon)
    session.flush()
    return released
