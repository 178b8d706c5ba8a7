"""Coupon series: creation, closing, and their codes — generated at random in large batches
with no collision within the tenant, or imported from a list."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from processing.codes import CodeFormat, code_format, normalise_code, store_new_codes
from processing.coupons.errors import (
    CouponBatchTooLarge,
    CouponCodeInvalid,
    CouponCodesDuplicate,
    CouponCodeSpaceTooSmall,
    CouponSeriesClosed,
    CouponSeriesNotFound,
)
from processing.coupons.lifecycle import IMPORT_CHANNEL, CouponStatus
from processing.coupons.models import Coupon, CouponSeries, SeriesStatus
from processing.db import insert_ignore, lock_rows, where_in
from processing.errors import InvalidInput
from processing.programs.models import Program
from processing.tenants.models import Tenant
from processing.tenants.service import CodeExists, check_code

log = logging.getLogger(__name__)

PROMOTION_KIND = "promotion"
MAX_BATCH = 1_000_000
MAX_IMPORT = 100_000
MAX_USES = 1_000_000
# Rows per INSERT of an import: at most 6 values a row stays within SQLite's 32,766 bound
# parameters.
CHUNK = 5_000
NAMED = 100  # codes named in a refusal's details


def add_series(
    session: Session,
    tenant: Tenant,
    *,
    code: str,
    title: str,
    promotion: Program | None,
    code_format_kind: str,
    code_length: int | None,
    prefix: str = "",
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
    uses_per_coupon: int | None = 1,
    per_receipt: int | None = 1,
    bound: bool = False,
    auto: bool = False,
    author: str,
    now: datetime,
) -> CouponSeries:
    code = check_code("code", code)
    fmt = code_format(code_format_kind, code_length, prefix)
    if promotion is not None and (
        promotion.tenant_id != tenant.id or promotion.kind != PROMOTION_KIND
    ):
        raise InvalidInput(
            f"«{promotion.code}» — не акция: серию купонов можно привязать только к акции.",
            details={"field": "promotion"},
        )
    if valid_from is not None and valid_to is not None and valid_from >= valid_to:
        raise InvalidInput(
            "Начало срока действия должно быть раньше его окончания.",
            details={"field": "valid_to"},
        )
    if uses_per_coupon is not None and not 1 <= uses_per_coupon <= MAX_USES:
        raise InvalidInput(
            f"Число использований купона — от 1 до {MAX_USES} или без ограничения (null).",
            details={"field": "uses_per_coupon"},
        )
    if per_receipt not in (1, None):
        raise InvalidInput(
            "Купонов серии на чек: 1 или без ограничения (null).",
            details={"field": "per_receipt"},
        )
    if auto and not bound:
        raise InvalidInput(
            "Автоматически применяются только именные купоны: покупатель их не предъявляет.",
            details={"field": "auto"},
        )
    exists = select(CouponSeries.id).where(
        CouponSeries.tenant_id == tenant.id, CouponSeries.code == code
    )
    if session.scalar(exists) is not None:
        raise CodeExists(f"Серия купонов с кодом «{code}» уже есть.", details={"series": code})
    series = CouponSeries(
        tenant_id=tenant.id,
        code=code,
        title=title.strip() or code,
        promotion_id=promotion.id if promotion is not None else None,
        code_format=fmt.kind,
        code_length=fmt.length,
        prefix=fmt.prefix,
        valid_from=valid_from,
        valid_to=valid_to,
        uses_per_coupon=uses_per_coupon,
        per_receipt=per_receipt,
        bound=bound,
        auto=auto,
        status=SeriesStatus.ACTIVE,
        created_at=now,
        author=author,
    )
    session.add(series)
    session.flush()
    return series


def series_format(series: CouponSeries) -> CodeFormat:
    return CodeFormat(series.code_format, series.code_length, series.prefix)


def get_series(session: Session, tenant: Tenant, code: str) -> CouponSeries:
    series = session.scalar(
        select(CouponSeries).where(CouponSeries.tenant_id == tenant.id, CouponSeries.code == code)
    )
    if series is None:
        raise CouponSeriesNotFound(details={"series": code})
    return series


def tenant_series(session: Session, tenant: Tenant) -> Sequence[CouponSeries]:
    return session.scalars(
        select(CouponSeries).where(CouponSeries.tenant_id == tenant.id).order_by(CouponSeries.code)
    ).all()


def series_counts(session: Session, series: CouponSeries) -> dict[str, int]:
    """How many coupons of the series are in each status."""
    rows = session.execute(
        select(Coupon.status, func.count())
        .where(Coupon.series_id == series.id)
        .group_by(Coupon.status)
    ).all()
    return {status: count for status, count in rows}


def close_series(session: Session, series: CouponSeries) -> None:
    """No coupon of a closed series is issued, taken or used any more; closing is final."""
    series.status = SeriesStatus.CLOSED
    session.flush()


def locked_active(session: Session, series: CouponSeries) -> CouponSeries:
    locked = session.scalars(
        lock_rows(select(CouponSeries).where(CouponSeries.id == series.id)).execution_options(
            populate_existing=True
        )
    ).one()
    if locked.status != SeriesStatus.ACTIVE:
        raise CouponSeriesClosed(
            "Серия купонов закрыта: новые купоны в неё не добавляются.",
            details={"series": locked.code},
        )
    return locked


def generate_coupons(
    session: Session, series: CouponSeries, count: int, *, author: str, now: datetime
) -> int:
    """``count`` new coupons (status generated) with random codes of the series' format, none
    equal to another code of the tenant; returns how many (always ``count``)."""
    if count < 1:
        raise InvalidInput("Укажите, сколько купонов создать.", details={"field": "count"})
    if count > MAX_BATCH:
        raise CouponBatchTooLarge(
            f"За один раз можно создать не больше {MAX_BATCH:,} купонов.".replace(",", " "),
            details={"limit": MAX_BATCH, "count": count},
        )
    series = locked_active(session, series)
    fixed = {"tenant_id": series.tenant_id, "series_id": series.id,
             "status": str(CouponStatus.GENERATED)}  # fmt: skip
    store_new_codes(session, Coupon, fixed, series_format(series), count, CouponCodeSpaceTooSmall)
    log.info(
        "coupons generated",
        extra={"series": series.code, "count": count, "author": author, "at": now.isoformat()},
    )
    return count


def import_coupons(
    session: Session, series: CouponSeries, codes: Sequence[str], *, author: str, now: datetime
) -> int:
    """Coupons with the given codes, issued (``issued_via`` import: they were handed out
    elsewhere); all or none. Every code must fit the series' format and be new to the tenant."""
    if not codes:
        raise InvalidInput("Список кодов пуст.", details={"field": "codes"})
    if len(codes) > MAX_IMPORT:
        raise CouponBatchTooLarge(
            f"За один раз можно загрузить не больше {MAX_IMPORT:,} кодов.".replace(",", " "),
            details={"limit": MAX_IMPORT, "count": len(codes)},
        )
    series = locked_active(session, series)
    fmt = series_format(series)
    normalised = [normalise_code(code) for code in codes]
    invalid = [code for code in normalised if not fmt.matches(code)]
    if invalid:
        raise CouponCodeInvalid(
            f"Коды не соответствуют формату серии «{series.code}»: {', '.join(invalid[:5])}"
            + (f" и ещё {len(invalid) - 5}." if len(invalid) > 5 else "."),
            details={"codes": invalid[:NAMED], "count": len(invalid)},
        )
    repeated = sorted(code for code, seen in Counter(normalised).items() if seen > 1)
    existing = sorted(
        code
        for condition in where_in(session, Coupon.code, normalised)
        for code in session.scalars(
            select(Coupon.code).where(Coupon.tenant_id == series.tenant_id, condition)
        )
    )
    if repeated or existing:
        named = (repeated + existing)[:5]
        raise CouponCodesDuplicate(
            f"Коды повторяются в списке или уже есть в сети: {', '.join(named)}"
            + (
                f" и ещё {len(repeated) + len(existing) - 5}."
                if len(repeated) + len(existing) > 5
                else "."
            ),
            details={"repeated": repeated[:NAMED], "existing": existing[:NAMED]},
        )
    for start in range(0, len(normalised), CHUNK):
        rows = [
            {"tenant_id": series.tenant_id, "series_id": series.id, "code": code,
             "status": CouponStatus.ISSUED, "issued_at": now, "issued_via": IMPORT_CHANNEL}
            for code in normalised[start : start + CHUNK]
        ]  # fmt: skip
        if insert_ignore(session, Coupon, rows, ["tenant_id", "code"]) != len(rows):
            # Another request stored some of these codes meanwhile: the caller rolls back.
            raise CouponCodesDuplicate(details={"series": series.code})
    log.info(
        "coupons imported",
        extra={"series": series.code, "count": len(normalised), "author": author},
    )
    return len(normalised)
