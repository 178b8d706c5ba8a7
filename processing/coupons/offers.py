"""Coupons issued to many customers at once — a list of customers or a segment — which is how a
**personal offer** is made: a promotion with ``coupon: true`` (a discount on a goods list), a
series that is bound, auto and single use with its ``valid_to``, and one coupon per customer.
At the till the customer's coupon applies when they are identified (auto mode) and identify
lists it for the cashier (``processing/coupons/receipt.py``)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from processing.coupons.errors import CouponBatchTooLarge
from processing.coupons.lifecycle import ISSUE_CHANNELS, CouponStatus, series_refusal
from processing.coupons.models import Coupon, CouponSeries
from processing.coupons.series import generate_coupons, locked_active
from processing.customers.models import Customer
from processing.db import lock_rows, where_in
from processing.errors import InvalidInput
from processing.promotions.models import Segment, SegmentMember
from processing.promotions.segments import lock_usable

log = logging.getLogger(__name__)

MAX_CUSTOMERS = 100_000  # issued to in one call
NAMED = 20  # unknown customer ids named in a refusal


@dataclass(frozen=True)
class Issued:
    issued: int  # coupons handed out now
    skipped: int  # customers who already had a coupon of the series (not a cancelled one)


def issue_to_customers(
    session: Session,
    series: CouponSeries,
    *,
    customer_ids: Sequence[int] | None = None,
    segment: Segment | None = None,
    via: str,
    author: str,
    now: datetime,
) -> Issued:
    """One coupon of ``series`` to each customer of the list or the segment who has had none of
    it yet (used, expired or not; a cancelled one does not count): a repeated call issues
    nothing twice and a one-time offer stays one-time. The series' generated coupons first, new
    ones made for the rest. All or nothing."""
    if via not in ISSUE_CHANNELS:
        raise InvalidInput(f"Канал выдачи: {', '.join(ISSUE_CHANNELS)}.", details={"field": "via"})
    if (customer_ids is None) == (segment is None):
        raise InvalidInput(
            "Укажите либо список покупателей, либо сегмент.", details={"field": "customers"}
        )
    series = locked_active(session, series)
    refusal = series_refusal(series, now)
    if refusal is not None:
        raise refusal
    if segment is not None:
        lock_usable(session, segment)
        targets = list(
            session.scalars(
                select(SegmentMember.customer_id)
                .where(SegmentMember.segment_id == segment.id)
                .order_by(SegmentMember.customer_id)
            )
        )
    else:
        targets = sorted(set(customer_ids or ()))
        known = {
            found
            for condition in where_in(session, Customer.id, targets)
            for found in session.scalars(
                select(Customer.id).where(Customer.tenant_id == series.tenant_id, condition)
            )
        }
        unknown = [customer for customer in targets if customer not in known]
        if unknown:
            raise InvalidInput(
                f"Покупатели не найдены: {', '.join(map(str, unknown[:5]))}"
                + (f" и ещё {len(unknown) - 5}." if len(unknown) > 5 else "."),
                details={"field": "customers", "unknown": unknown[:NAMED]},
            )
    if len(targets) > MAX_CUSTOMERS:
        raise CouponBatchTooLarge(
            f"За один раз можно выдать купоны не больше чем {MAX_CUSTOMERS:,} покупателям."
            .replace(",", " "),
            details={"limit": MAX_CUSTOMERS, "count": len(targets)},
        )  # fmt: skip
    holding = {  # a coupon of the series, used or not (a one-time offer stays one-time)
        found
        for condition in where_in(session, Coupon.customer_id, targets)
        for found in session.scalars(
            select(Coupon.customer_id).where(
                Coupon.series_id == series.id,
                Coupon.status != CouponStatus.CANCELLED.value,
                condition,
            )
        )
    }
    wanted = [customer for customer in targets if customer not in holding]
    if not wanted:
        return Issued(0, len(targets))
    free = _generated(session, series, len(wanted))
    if len(free) < len(wanted):
        generate_coupons(session, series, len(wanted) - len(free), author=author, now=now)
        free = _generated(session, series, len(wanted))
    session.execute(
        update(Coupon),
        [
            {"id": coupon_id, "customer_id": customer, "status": CouponStatus.ISSUED.value,
             "issued_at": now, "issued_via": via}
            for coupon_id, customer in zip(free, wanted, strict=True)
        ],
    )  # fmt: skip
    session.expire_all()
    log.info(
        "coupons issued to customers",
        extra={"series": series.code, "count": len(wanted), "author": author, "via": via},
    )
    return Issued(len(wanted), len(targets) - len(wanted))


def _generated(session: Session, series: CouponSeries, count: int) -> list[int]:
    """Up to ``count`` generated coupons of the series, locked (lowest ids first)."""
    return list(
        session.scalars(
            lock_rows(
                select(Coupon.id)
                .where(Coupon.series_id == series.id, Coupon.status == CouponStatus.GENERATED)
                .order_by(Coupon.id)
                .limit(count)
            )
        )
    )
