"""Certificate series: creation, closing, and the generation of a batch of inactive paper
certificates with random codes, none equal to another certificate code of the tenant."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from processing.certificates.errors import (
    CertificateBatchTooLarge,
    CertificateCodeSpaceTooSmall,
    CertificateSeriesClosed,
    CertificateSeriesNotFound,
)
from processing.certificates.models import (
    Certificate,
    CertificateSeries,
    CertificateStatus,
    Remainder,
    Scope,
    SeriesKind,
    SeriesStatus,
)
from processing.codes import CodeFormat, code_format, store_new_codes
from processing.db import lock_rows
from processing.errors import InvalidInput
from processing.money import to_kopecks
from processing.tenants.models import Tenant
from processing.tenants.service import CodeExists, check_code

log = logging.getLogger(__name__)

MAX_BATCH = 100_000
MAX_NOMINAL_KOPECKS = 100_000_000  # 1,000,000.00 ₽: far above any gift certificate sold
MAX_VALID_DAYS = 3_650
MAX_GOODS_ID = 80  # catalog.EXTERNAL_ID_LENGTH: a 1C GUID, or GUID#GUID


def _kopecks(field: str, amount: Decimal | None) -> int | None:
    if amount is None:
        return None
    try:
        kopecks = to_kopecks(amount)
    except (TypeError, ValueError):
        kopecks = 0
    if not 0 < kopecks <= MAX_NOMINAL_KOPECKS:
        raise InvalidInput(
            "Сумма — больше нуля и не больше 1 000 000 ₽, в рублях с точностью до копейки.",
            details={"field": field},
        )
    return kopecks


def _nominals(
    kind: str, nominal: Decimal | None, min_nominal: Decimal | None, max_nominal: Decimal | None
) -> tuple[int | None, int | None, int | None]:
    """A paper series has its nominal; an electronic one the limits of the nominal chosen at
    sale."""
    fixed = _kopecks("nominal", nominal)
    low, high = _kopecks("min_nominal", min_nominal), _kopecks("max_nominal", max_nominal)
    if kind == SeriesKind.PAPER:
        if fixed is None:
            raise InvalidInput("Укажите номинал сертификата.", details={"field": "nominal"})
        if low is not None or high is not None:
            raise InvalidInput(
                "Пределы номинала задаются только для электронных сертификатов.",
                details={"field": "min_nominal"},
            )
        return fixed, None, None
    if fixed is not None:
        raise InvalidInput(
            "Номинал электронного сертификата выбирают при продаже: задайте пределы "
            "min_nominal и max_nominal.",
            details={"field": "nominal"},
        )
    if low is None or high is None or low > high:
        raise InvalidInput(
            "Укажите пределы номинала: min_nominal не больше max_nominal.",
            details={"field": "max_nominal"},
        )
    return None, low, high


def _check_choice(field: str, value: str, choices: type[SeriesKind | Scope | Remainder]) -> None:
    allowed = [str(choice) for choice in choices]
    if value not in allowed:
        raise InvalidInput(f"Допустимые значения: {', '.join(allowed)}.", details={"field": field})


def add_series(
    session: Session,
    tenant: Tenant,
    *,
    code: str,
    title: str,
    kind: str,
    nominal: Decimal | None = None,
    min_nominal: Decimal | None = None,
    max_nominal: Decimal | None = None,
    valid_days: int | None = None,
    valid_until: datetime | None = None,
    goods_id: str,
    scope: str = Scope.TENANT,
    resale: bool = False,
    remainder: str = Remainder.KEEP,
    code_format_kind: str,
    code_length: int | None,
    prefix: str = "",
    author: str,
    now: datetime,
) -> CertificateSeries:
    code = check_code("code", code)
    _check_choice("kind", kind, SeriesKind)
    _check_choice("scope", scope, Scope)
    _check_choice("remainder", remainder, Remainder)
    fixed, low, high = _nominals(kind, nominal, min_nominal, max_nominal)
    if (valid_days is None) == (valid_until is None):
        raise InvalidInput(
            "Срок действия: либо число дней после продажи (valid_days), либо дата (valid_until).",
            details={"field": "valid_days"},
        )
    if valid_days is not None and not 1 <= valid_days <= MAX_VALID_DAYS:
        raise InvalidInput(
            f"Срок действия — от 1 до {MAX_VALID_DAYS} дней.", details={"field": "valid_days"}
        )
    if valid_until is not None and valid_until <= now:
        raise InvalidInput("Дата окончания срока уже прошла.", details={"field": "valid_until"})
    goods_id = goods_id.strip()
    if not 1 <= len(goods_id) <= MAX_GOODS_ID:
        raise InvalidInput(
            "Укажите товар 1С, которым продаётся сертификат.", details={"field": "goods_id"}
        )
    fmt = code_format(code_format_kind, code_length, prefix)
    exists = select(CertificateSeries.id).where(
        CertificateSeries.tenant_id == tenant.id, CertificateSeries.code == code
    )
    if session.scalar(exists) is not None:
        raise CodeExists(f"Серия сертификатов с кодом «{code}» уже есть.", details={"series": code})
    series = CertificateSeries(
        tenant_id=tenant.id, code=code, title=title.strip() or code, kind=kind, nominal=fixed,
        min_nominal=low, max_nominal=high, valid_days=valid_days, valid_until=valid_until,
        goods_id=goods_id, scope=scope, resale=resale, remainder=remainder,
        code_format=fmt.kind, code_length=fmt.length, prefix=fmt.prefix,
        status=SeriesStatus.ACTIVE, created_at=now, author=author,
    )  # fmt: skip
    session.add(series)
    session.flush()
    return series


def get_series(session: Session, tenant: Tenant, code: str) -> CertificateSeries:
    series = session.scalar(
        select(CertificateSeries).where(
            CertificateSeries.tenant_id == tenant.id, CertificateSeries.code == code
        )
    )
    if series is None:
        raise CertificateSeriesNotFound(details={"series": code})
    return series


def tenant_series(session: Session, tenant: Tenant) -> Sequence[CertificateSeries]:
    return session.scalars(
        select(CertificateSeries)
        .where(CertificateSeries.tenant_id == tenant.id)
        .order_by(CertificateSeries.code)
    ).all()


def series_counts(session: Session, series: CertificateSeries) -> dict[str, int]:
    """How many certificates of the series are in each status."""
    rows = session.execute(
        select(Certificate.status, func.count())
        .where(Certificate.series_id == series.id)
        .group_by(Certificate.status)
    ).all()
    return {status: count for status, count in rows}


def close_series(session: Session, series: CertificateSeries) -> None:
    """A closed series gets no new certificates and none is issued to a store any more; those
    already in stores may still go back or be withdrawn. Closing is final."""
    series.status = SeriesStatus.CLOSED
    session.flush()


def series_closed(series: CertificateSeries) -> CertificateSeriesClosed:
    return CertificateSeriesClosed(details={"series": series.code})


def generate_certificates(
    session: Session, series: CertificateSeries, count: int, *, author: str, now: datetime
) -> int:
    """``count`` new paper certificates, inactive (in accounting), with the series' nominal as
    their balance; returns how many (always ``count``). Electronic certificates are made one
    at a time at sale."""
    if series.kind != SeriesKind.PAPER:
        raise InvalidInput(
            "Электронные сертификаты создаются при продаже, а не партией.",
            details={"field": "series"},
        )
    if count < 1:
        raise InvalidInput("Укажите, сколько сертификатов создать.", details={"field": "count"})
    if count > MAX_BATCH:
        raise CertificateBatchTooLarge(
            f"За один раз можно создать не больше {MAX_BATCH:,} сертификатов.".replace(",", " "),
            details={"limit": MAX_BATCH, "count": count},
        )
    series = session.scalars(
        lock_rows(select(CertificateSeries).where(CertificateSeries.id == series.id))
        .execution_options(populate_existing=True)
    ).one()  # fmt: skip
    if series.status != SeriesStatus.ACTIVE:
        raise series_closed(series)
    fmt = CodeFormat(series.code_format, series.code_length, series.prefix)
    fixed = {
        "tenant_id": series.tenant_id, "series_id": series.id,
        "status": str(CertificateStatus.INACTIVE), "nominal": series.nominal,
        "balance": series.nominal, "expires_at": series.valid_until,
    }  # fmt: skip
    store_new_codes(session, Certificate, fixed, fmt, count, CertificateCodeSpaceTooSmall)
    log.info(
        "certificates generated",
        extra={"series": series.code, "count": count, "author": author, "at": now.isoformat()},
    )
    return count
