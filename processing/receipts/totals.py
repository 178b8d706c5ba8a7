"""A tenant's receipts of one day (the stores' local date): how many sales and returns, their
sums, the bonus accrued and paid. Rolled-back receipts count for nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from processing.receipts.models import Receipt
from processing.receipts.service import ZERO
from processing.types import Money


@dataclass(frozen=True)
class DayTotals:
    sales: int = 0
    returns: int = 0
    sales_amount: Decimal = ZERO  # after discounts, what the customers paid
    returns_amount: Decimal = ZERO
    discount: Decimal = ZERO
    accrued: Decimal = ZERO  # bonus accrued by sales
    paid_with_bonus: Decimal = ZERO  # bonus written off as payment


def _sum(column: Any) -> Any:
    """A sum of a money column, read back as ``Decimal`` roubles (stored as kopecks)."""
    return func.coalesce(func.sum(column), 0, type_=Money())


def day_totals(session: Session, tenant_id: int, day: date) -> DayTotals:
    rows = session.execute(
        select(
            Receipt.kind,
            func.count(),
            _sum(Receipt.final_amount),
            _sum(Receipt.discount),
            _sum(Receipt.accrual),
            _sum(Receipt.bonus_payment),
        )
        .where(
            Receipt.tenant_id == tenant_id,
            Receipt.local_date == day,
            Receipt.status == "committed",
            Receipt.kind.in_(("sale", "return")),
        )
        .group_by(Receipt.kind)
    ).all()
    by_kind = {row[0]: row for row in rows}
    sale, back = by_kind.get("sale"), by_kind.get("return")
    return DayTotals(
        sales=sale[1] if sale else 0,
        returns=back[1] if back else 0,
        sales_amount=sale[2] if sale else ZERO,
        returns_amount=back[2] if back else ZERO,
        discount=sale[3] if sale else ZERO,
        accrued=sale[4] if sale else ZERO,
        paid_with_bonus=sale[5] if sale else ZERO,
    )
