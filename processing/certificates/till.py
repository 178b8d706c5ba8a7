"""Certificates on a receipt: sold on a line, taken as payment, given back by returns.

A certificate is money kept, not a discount (54-FZ, see docs/certificates.md):

- **Sale** — a line of the series' goods item (the tenant's certificate goods) is a sale of a
  certificate, an advance: the line gets no discount, bonus payment or accrual (the promotion
  engine never sees it). A paper certificate is named by its code on the line and must be at
  this POS; an electronic one gets its nominal from the line's sum and its code at the commit.
- **Redemption** — presented certificates pay what the receipt's other lines cost after
  discounts and bonus payment, in the order presented: the payment by the advance. With the
  remainder policy ``burn`` what a partial payment leaves is lost; a certificate spent in full
  is redeemed, or with the re-sale cycle back in the redeeming store's stock.
- **Returns** — a returned purchase gives back to its certificates what they paid (before
  money), a certificate sold and returned unused goes back to its POS; a rollback, unposting or
  replacement undoes all the receipt did.

Every change is a ``CertificateOperation`` of the receipt, under the certificate's row lock.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from processing.cache import ProcessCache
from processing.certificates.check import find_certificate, unusable
from processing.certificates.errors import (
    CertificateAlreadyUsed,
    CertificateExpired,
    CertificateNotAtPos,
    CertificateNotEnough,
    CertificateNotFound,
    CertificateNothingToPay,
    CertificateRepeated,
    CertificateSaleInvalid,
)
from processing.certificates.models import (
    Certificate,
    CertificateOperation,
    CertificateSeries,
    CertificateStatus,
    OperationKind,
    Remainder,
    SeriesKind,
    SeriesStatus,
)
from processing.codes import CodeFormat, normalise_code
from processing.db import lock_rows
from processing.errors import ConnectorError
from processing.money import kopecks_text

GOODS_TTL_S = 30.0
MAX_CODE_DRAWS = 20


# --- which lines sell certificates --------------------------------------------------------

goods_cache = ProcessCache[int, frozenset[str]](
    "certificate-goods", GOODS_TTL_S, watches=(CertificateSeries,)
)


def certificate_goods(session: Session, tenant_id: int) -> frozenset[str]:
    """The goods items (lower case) that sell the tenant's certificates (cached per process)."""
    cached = goods_cache.get(tenant_id)
    if cached is not None:
        return cached
    found = frozenset(
        goods.lower()
        for goods in session.scalars(
            select(CertificateSeries.goods_id).where(CertificateSeries.tenant_id == tenant_id)
        )
    )
    goods_cache.stage(session, tenant_id, found)
    return found


@dataclass(frozen=True)
class SaleRequest:
    """A receipt line as far as a certificate sale concerns it."""

    line_no: int
    goods_id: str  # lower case
    quantity: int | None  # None: not a whole number
    amount: int  # kopecks: the line's sum
    code: str | None  # the certificate named on the line


@dataclass(frozen=True)
class Sale:
    line_no: int
    series: CertificateSeries
    certificate: Certificate | None  # paper: the one sold; electronic: made by the commit
    nominal: int  # kopecks


def _bad_line(line_no: int, message: str) -> CertificateSaleInvalid:
    return CertificateSaleInvalid(f"Строка {line_no}: {message}", details={"line": line_no})


def sales(
    session: Session,
    tenant_id: int,
    pos_id: int,
    lines: Sequence[SaleRequest],
    at: datetime,
    *,
    lock: bool,
) -> list[Sale]:
    """The certificate sales of a receipt's lines (a line of certificate goods, or naming a
    certificate); refused when one cannot be sold here at ``at`` as it stands."""
    goods = certificate_goods(session, tenant_id)
    found: list[Sale] = []
    named: set[str] = set()
    for line in lines:
        if line.code is None and line.goods_id not in goods:
            continue
        if line.code is not None:
            code = normalise_code(line.code)
            if code in named:
                raise _bad_line(line.line_no, f"сертификат {code} уже продаётся другой строкой.")
            named.add(code)
        if line.quantity != 1:
            raise _bad_line(line.line_no, "сертификат продаётся строкой с количеством 1.")
        if line.code is not None:
            certificate = _certificate(session, tenant_id, line.code, lock=lock)
            series = certificate.series
            if series.goods_id.lower() != line.goods_id:
                raise _bad_line(line.line_no, f"сертификат {certificate.code} продаётся товаром "
                                              f"«{series.goods_id}».")  # fmt: skip
            if certificate.status != CertificateStatus.AT_POS or certificate.pos_id != pos_id:
                raise CertificateNotAtPos(
                    details={"line": line.line_no, "code": certificate.code,
                             "status": certificate.status},
                )  # fmt: skip
            if series.valid_until is not None and at >= series.valid_until:
                raise CertificateExpired(
                    "Срок действия сертификата истёк: продать его нельзя.",
                    details={"line": line.line_no, "expires_at": series.valid_until.isoformat()},
                )
            nominal = certificate.nominal or 0
            if series.kind == SeriesKind.ELECTRONIC:
                nominal = line.amount
                _check_nominal(series, line)
            elif line.amount != nominal:
                raise _bad_line(line.line_no, f"сумма строки должна равняться номиналу "
                                              f"{kopecks_text(nominal)} ₽.")  # fmt: skip
            found.append(Sale(line.line_no, series, certificate, nominal))
            continue
        series = _electronic_series(session, tenant_id, line)
        _check_nominal(series, line)
        # an electronic certificate kept at this POS (its sale's document replaced) is sold
        # again with its code; otherwise the commit makes one
        kept = _kept_electronic(session, series, pos_id, [s.certificate for s in found], lock=lock)
        found.append(Sale(line.line_no, series, kept, line.amount))
    return found


def _kept_electronic(
    session: Session,
    series: CertificateSeries,
    pos_id: int,
    taken: Sequence[Certificate | None],
    *,
    lock: bool,
) -> Certificate | None:
    """An electronic certificate of the series at this POS, not yet on this receipt."""
    query = select(Certificate.id).where(
        Certificate.series_id == series.id,
        Certificate.status == CertificateStatus.AT_POS,
        Certificate.pos_id == pos_id,
        Certificate.id.not_in([c.id for c in taken if c is not None]),
    )
    found = session.scalar(query.order_by(Certificate.id.desc()).limit(1))
    if found is None:
        return None
    return _locked(session, found) if lock else session.get(Certificate, found)


def _electronic_series(session: Session, tenant_id: int, line: SaleRequest) -> CertificateSeries:
    candidates = [
        series
        for series in session.scalars(
            select(CertificateSeries).where(CertificateSeries.tenant_id == tenant_id)
        )
        if series.goods_id.lower() == line.goods_id and series.kind == SeriesKind.ELECTRONIC
    ]
    electronic = [s for s in candidates if s.status == SeriesStatus.ACTIVE]
    if len(electronic) == 1:
        return electronic[0]
    if candidates and not electronic:
        raise _bad_line(line.line_no, "серия электронных сертификатов закрыта: новые сертификаты "
                                      "не продаются.")  # fmt: skip
    if not electronic:
        raise _bad_line(line.line_no, "это продажа бумажного сертификата: укажите его код "
                                      "(certificate).")  # fmt: skip
    raise _bad_line(line.line_no, "товаром продаются сертификаты нескольких серий: укажите код "
                                  "сертификата.")  # fmt: skip


def _check_nominal(series: CertificateSeries, line: SaleRequest) -> None:
    low, high = series.min_nominal or 0, series.max_nominal or 0
    if not low <= line.amount <= high:
        raise _bad_line(
            line.line_no,
            f"номинал электронного сертификата — от {kopecks_text(low)} до {kopecks_text(high)} ₽.",
        )


def _certificate(session: Session, tenant_id: int, code: str, *, lock: bool) -> Certificate:
    certificate = find_certificate(session, tenant_id, code)
    if lock:
        return _locked(session, certificate.id)
    return certificate


def _locked(session: Session, certificate_id: int) -> Certificate:
    return session.scalars(
        lock_rows(
            select(Certificate).where(Certificate.id == certificate_id), of=Certificate
        ).execution_options(populate_existing=True)
    ).one()


# --- payments -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentRequest:
    code: str
    amount: int | None  # kopecks; None: as much as it covers


@dataclass(frozen=True)
class Payment:
    code: str
    certificate: Certificate | None
    amount: int  # kopecks taken from it (0 when refused)
    balance_before: int | None
    refusal: ConnectorError | None

    @property
    def balance_after(self) -> int | None:
        return None if self.balance_before is None else self.balance_before - self.amount


def payments(
    session: Session,
    tenant_id: int,
    store_id: int,
    pos_id: int,
    presented: Sequence[PaymentRequest],
    payable: int,
    at: datetime,
    *,
    lock: bool,
) -> list[Payment]:
    """Each presented certificate in turn pays what is left of ``payable`` (kopecks), as much as
    asked and its balance allow; the ones that cannot pay say why. ``lock`` (a commit): their
    rows locked until it ends, in id order."""
    codes = [normalise_code(p.code) for p in presented]
    rows = {
        c.code: c
        for c in session.scalars(
            select(Certificate).where(
                Certificate.tenant_id == tenant_id, Certificate.code.in_(codes)
            )
        )
    }
    if lock:
        rows = {
            code: _locked(session, c.id) for code, c in sorted(rows.items(), key=lambda i: i[1].id)
        }
    left, seen, found = payable, set(), []
    for request, code in zip(presented, codes, strict=True):
        certificate = rows.get(code)
        refusal: ConnectorError | None = None
        if certificate is None:
            refusal = CertificateNotFound(details={"code": code})
        elif code in seen:
            refusal = CertificateRepeated()
        else:
            refusal = unusable(certificate, store_id, pos_id, at)
        balance = certificate.balance if certificate is not None else None
        amount = 0
        if refusal is None and certificate is not None:
            wanted = request.amount if request.amount is not None else certificate.balance or 0
            if wanted > (certificate.balance or 0):
                refusal = CertificateNotEnough(details={"balance": kopecks_text(balance or 0)})
            elif left <= 0:
                refusal = CertificateNothingToPay()
            elif request.amount is not None and request.amount > left:
                refusal = CertificateNothingToPay(
                    f"К оплате сертификатом указано больше, чем осталось оплатить: "
                    f"{kopecks_text(left)} ₽.",
                    details={"left": kopecks_text(left)},
                )
            else:
                amount = min(wanted, left)
        seen.add(code)
        left -= amount
        found.append(Payment(code, certificate, amount, balance, refusal))
    return found


# --- the commit -----------------------------------------------------------------------------


@dataclass
class _Writer:
    session: Session
    tenant_id: int
    receipt_id: int
    store_id: int
    pos_id: int
    now: datetime

    def record(self, certificate: Certificate, kind: OperationKind, amount: int,
               line_no: int | None = None, origin_id: int | None = None) -> None:  # fmt: skip
        self.session.add(
            CertificateOperation(
                tenant_id=self.tenant_id, certificate_id=certificate.id,
                receipt_id=self.receipt_id, origin_id=origin_id, line_no=line_no,
                kind=kind.value, amount=amount, expires_at=certificate.expires_at,
                balance_after=certificate.balance or 0, status_after=certificate.status,
                store_id=self.store_id, pos_id=self.pos_id, created_at=self.now,
            )
        )  # fmt: skip


def commit(
    session: Session,
    *,
    tenant_id: int,
    receipt_id: int,
    store_id: int,
    pos_id: int,
    sold: Sequence[Sale],
    paid: Sequence[Payment],
    at: datetime,
    now: datetime,
) -> None:
    """Write a committed receipt's certificate sales and payments (their rows are locked by
    ``sales`` and ``payments``; a refused payment refuses the commit)."""
    for payment in paid:
        if payment.refusal is not None:
            raise payment.refusal
    writer = _Writer(session, tenant_id, receipt_id, store_id, pos_id, now)
    for sale in sold:
        certificate = sale.certificate or _new_electronic(session, sale.series)
        series = certificate.series
        certificate.status = CertificateStatus.SOLD
        certificate.nominal = sale.nominal
        certificate.balance = sale.nominal
        certificate.sold_at = at
        certificate.expires_at = (
            at + timedelta(days=series.valid_days) if series.valid_days else series.valid_until
        )
        certificate.sold_store_id, certificate.sold_pos_id = store_id, pos_id
        certificate.store_id = certificate.pos_id = None
        session.flush()
        writer.record(certificate, OperationKind.SALE, sale.nominal, sale.line_no)
    for payment in paid:
        if not payment.amount or payment.certificate is None:
            continue
        certificate = payment.certificate
        certificate.balance = (certificate.balance or 0) - payment.amount
        writer.record(certificate, OperationKind.REDEMPTION, -payment.amount)
        if certificate.balance and certificate.series.remainder == Remainder.BURN:
            burnt = certificate.balance
            certificate.balance = 0
            writer.record(certificate, OperationKind.BURN, -burnt)
        if not certificate.balance:
            _spent(certificate, store_id, writer)
    session.flush()


def _spent(certificate: Certificate, store_id: int, writer: _Writer) -> None:
    """A certificate with nothing left: redeemed, or back in the redeeming store's stock when
    its series sells certificates again."""
    if not certificate.series.resale:
        certificate.status = CertificateStatus.REDEEMED
        return
    certificate.status = CertificateStatus.IN_STORE
    certificate.store_id, certificate.pos_id = store_id, None
    # the sale's place and dates stay until the next sale (an undone payment needs them)
    electronic = certificate.series.kind == SeriesKind.ELECTRONIC
    certificate.balance = None if electronic else certificate.series.nominal
    writer.record(certificate, OperationKind.RESTOCK, 0)


def _in_stock(certificate: Certificate) -> None:
    """A certificate not sold: a paper one holds its nominal, an electronic one nothing until
    its next sale sets it."""
    electronic = certificate.series.kind == SeriesKind.ELECTRONIC
    certificate.balance = None if electronic else certificate.series.nominal
    certificate.sold_at, certificate.expires_at = None, certificate.series.valid_until
    certificate.sold_store_id = certificate.sold_pos_id = None


def _new_electronic(session: Session, series: CertificateSeries) -> Certificate:
    """An electronic certificate made at its sale, with a new random code of the series."""
    fmt = CodeFormat(series.code_format, series.code_length, series.prefix)
    for _ in range(MAX_CODE_DRAWS):
        code = fmt.random_code()
        taken = select(Certificate.id).where(
            Certificate.tenant_id == series.tenant_id, Certificate.code == code
        )
        if session.scalar(exists(taken).select()):
            continue
        certificate = Certificate(
            tenant_id=series.tenant_id, series_id=series.id, code=code,
            status=CertificateStatus.AT_POS,
        )  # fmt: skip
        try:
            with session.begin_nested():
                session.add(certificate)
                session.flush()
        except IntegrityError:  # a concurrent sale drew the same code: draw again
            continue
        session.refresh(certificate)
        return certificate
    raise CertificateSaleInvalid(
        "Формат кода электронной серии заполнен: увеличьте длину кода серии.",
        details={"series": series.code},
    )


# --- what a receipt did, returns and undoing -------------------------------------------------


@dataclass(frozen=True)
class SoldAnswer:
    line_no: int
    code: str
    nominal: int
    expires_at: datetime | None


@dataclass(frozen=True)
class PaidAnswer:
    code: str
    amount: int
    balance_after: int
    burnt: int


@dataclass(frozen=True)
class ReceiptCertificates:
    sold: tuple[SoldAnswer, ...] = ()
    paid: tuple[PaidAnswer, ...] = ()
    refunded: tuple[PaidAnswer, ...] = field(default=())  # a return: back on certificates

    @property
    def total_paid(self) -> int:
        return sum(p.amount for p in self.paid)


def _operations(session: Session, receipt_id: int) -> list[CertificateOperation]:
    return list(
        session.scalars(
            select(CertificateOperation)
            .where(CertificateOperation.receipt_id == receipt_id)
            .order_by(CertificateOperation.id)
        )
    )


def receipt_certificates(session: Session, receipt_id: int) -> ReceiptCertificates:
    """What the receipt did with certificates, as its answer says it (also on a replay)."""
    ops = _operations(session, receipt_id)
    if not ops:
        return ReceiptCertificates()
    codes = {
        certificate_id: code
        for certificate_id, code in session.execute(
            select(Certificate.id, Certificate.code).where(
                Certificate.id.in_({op.certificate_id for op in ops})
            )
        )
    }
    sold, paid, refunded = [], [], []
    burnt = {op.certificate_id: -op.amount for op in ops if op.kind == OperationKind.BURN}
    for op in ops:
        code = codes[op.certificate_id]
        if op.kind == OperationKind.SALE:
            sold.append(SoldAnswer(op.line_no or 0, code, op.amount, op.expires_at))
        elif op.kind == OperationKind.REDEMPTION:
            burn = burnt.get(op.certificate_id, 0)
            paid.append(PaidAnswer(code, -op.amount, op.balance_after - burn, burn))
        elif op.kind == OperationKind.REFUND:
            refunded.append(PaidAnswer(code, op.amount, op.balance_after, 0))
    return ReceiptCertificates(tuple(sold), tuple(paid), tuple(refunded))


def give_back(
    session: Session,
    *,
    original_id: int,
    return_id: int,
    store_id: int,
    pos_id: int,
    refunds: Mapping[int, int],
    whole: Collection[int],
    everything: bool,
    now: datetime,
) -> int:
    """A return of (part of) the receipt ``original_id``; ``refunds``: the money refunded by
    returned line (kopecks), ``whole``: the lines this return completes, ``everything``: it
    completes the receipt.

    Certificates sold on returned lines go back to their POS — whole lines only, and unused
    (else refused). Of the money refunded on the other lines, what the receipt's certificates
    paid and was not given back yet goes back on them, last paid first, while each is still the
    customer's: not expired, not back in stock or sold again since (then it is money); the
    return that completes the receipt restores a burnt remainder as well. Answers the kopecks
    given back on certificates (the rest is refunded in money)."""
    ops = _operations(session, original_id)
    if not ops:
        return 0
    writer = _Writer(session, _tenant(ops), return_id, store_id, pos_id, now)
    _lock_all(session, ops)
    sale_lines = set()
    for op in ops:
        if op.kind == OperationKind.SALE and op.line_no in refunds:
            if op.line_no not in whole:
                raise CertificateSaleInvalid(
                    f"Строка {op.line_no}: подарочный сертификат возвращается только целиком.",
                    details={"line": op.line_no},
                )
            sale_lines.add(op.line_no)
            _unsell(session.get_one(Certificate, op.certificate_id), op, writer)
    refund = sum(amount for line, amount in refunds.items() if line not in sale_lines)
    owed: dict[int, int] = {}
    burnt: dict[int, int] = {}
    paid_last: dict[int, int] = {}  # the id of each certificate's last operation here
    for op in ops:
        if op.kind == OperationKind.REDEMPTION:
            owed[op.certificate_id] = owed.get(op.certificate_id, 0) - op.amount
        if op.kind == OperationKind.BURN:
            burnt[op.certificate_id] = burnt.get(op.certificate_id, 0) - op.amount
        paid_last[op.certificate_id] = op.id
    for op in session.scalars(
        select(CertificateOperation).where(
            CertificateOperation.kind.in_([OperationKind.REFUND, OperationKind.REVERSAL]),
            CertificateOperation.origin_id == original_id,  # earlier returns of this sale
        )
    ):
        if op.kind == OperationKind.REFUND:
            owed[op.certificate_id] -= op.amount
        else:
            burnt[op.certificate_id] -= op.amount
    back = 0
    for certificate_id in reversed(list(owed)):
        amount = min(owed[certificate_id], refund - back)
        restore = burnt.get(certificate_id, 0) if everything else 0
        if amount <= 0 and restore <= 0:
            continue
        certificate = session.get_one(Certificate, certificate_id)
        if not _still_customers(session, certificate, paid_last[certificate_id], now):
            continue  # refunded in money
        certificate.status = CertificateStatus.SOLD
        if amount > 0:
            certificate.balance = (certificate.balance or 0) + amount
            writer.record(certificate, OperationKind.REFUND, amount, origin_id=original_id)
            back += amount
        if restore > 0:
            certificate.balance = (certificate.balance or 0) + restore
            writer.record(certificate, OperationKind.REVERSAL, restore, origin_id=original_id)
    session.flush()
    return back


def _still_customers(
    session: Session, certificate: Certificate, since_op: int, now: datetime
) -> bool:
    """Whether money may go back on the certificate: the customer's still (sold or spent, not
    back in stock or sold again after ``since_op``) and not expired."""
    if certificate.status not in (CertificateStatus.SOLD, CertificateStatus.REDEEMED):
        return False
    if certificate.expires_at is not None and now >= certificate.expires_at:
        return False
    moved = _later_operation(
        session, certificate.id, since_op, OperationKind.RESTOCK, OperationKind.SALE
    )
    return moved is None


def _lock_all(session: Session, ops: Sequence[CertificateOperation]) -> None:
    """Lock the certificates of ``ops`` in id order (as a commit locks them) and read them
    afresh."""
    ids = sorted({op.certificate_id for op in ops})
    session.scalars(
        lock_rows(select(Certificate).where(Certificate.id.in_(ids)).order_by(Certificate.id),
                  of=Certificate).execution_options(populate_existing=True)
    ).all()  # fmt: skip


def sold_on(session: Session, receipt_id: int, lines: Collection[int] | None = None) -> int:
    """Kopecks of the certificates the receipt sold (on ``lines``; None: all): advances, not
    purchases."""
    query = select(CertificateOperation.amount).where(
        CertificateOperation.receipt_id == receipt_id,
        CertificateOperation.kind == OperationKind.SALE,
    )
    if lines is not None:
        query = query.where(CertificateOperation.line_no.in_(sorted(lines)))
    return sum(session.scalars(query))


def _tenant(ops: Sequence[CertificateOperation]) -> int:
    return ops[0].tenant_id


def _unsell(
    certificate: Certificate, sale: CertificateOperation, writer: _Writer, *, keep: bool = False
) -> None:
    """A certificate sold and returned (or its sale undone): back at the POS that sold it, or
    withdrawn for an electronic one (its code was given to the customer) unless ``keep``;
    refused once it has paid for anything."""
    if certificate.status != CertificateStatus.SOLD or certificate.balance != sale.amount:
        raise CertificateAlreadyUsed(details={"code": certificate.code})
    used = _later_operation(writer.session, certificate.id, sale.id, OperationKind.REDEMPTION)
    if used is not None:
        raise CertificateAlreadyUsed(details={"code": certificate.code})
    electronic = certificate.series.kind == SeriesKind.ELECTRONIC and not keep
    certificate.status = CertificateStatus.WITHDRAWN if electronic else CertificateStatus.AT_POS
    certificate.store_id, certificate.pos_id = sale.store_id, sale.pos_id
    _in_stock(certificate)
    writer.record(certificate, OperationKind.SALE_RETURN, -sale.amount, sale.line_no)


def undo(session: Session, receipt_id: int, *, now: datetime, replacing: bool = False) -> None:
    """A receipt rolled back, unposted or replaced: its certificate sales and payments undone
    (refused when a certificate it sold has been used since, or one it spent was sold again).
    ``replacing``: the document's new version follows, and an electronic certificate it sold
    stays at the POS for it, so the customer's code stays valid."""
    ops = _operations(session, receipt_id)
    if not ops:
        return
    first = ops[0]
    writer = _Writer(session, first.tenant_id, receipt_id, first.store_id, first.pos_id, now)
    _lock_all(session, ops)
    for op in reversed(ops):
        if op.kind in (OperationKind.REVERSAL, OperationKind.SALE_RETURN):
            continue
        certificate = session.get_one(Certificate, op.certificate_id)
        if op.kind == OperationKind.SALE:
            _unsell(certificate, op, writer, keep=replacing)
            continue
        if op.kind == OperationKind.RESTOCK:
            later = _later_operation(session, certificate.id, op.id, OperationKind.SALE)
            if later is not None or certificate.status != CertificateStatus.IN_STORE:
                raise CertificateAlreadyUsed(
                    "Сертификат, которым оплачен чек, уже продан снова: отменить чек нельзя.",
                    details={"code": certificate.code},
                )
            certificate.status = CertificateStatus.SOLD
            certificate.store_id = None
            certificate.balance = 0
            continue
        if op.kind in (OperationKind.REDEMPTION, OperationKind.BURN):
            certificate.balance = (certificate.balance or 0) - op.amount
            certificate.status = CertificateStatus.SOLD
            writer.record(certificate, OperationKind.REVERSAL, -op.amount)
    session.flush()


def _later_operation(
    session: Session, certificate_id: int, after_id: int, *kinds: OperationKind
) -> int | None:
    """The id of an operation of one of ``kinds`` on the certificate after ``after_id``."""
    return session.scalar(
        select(CertificateOperation.id)
        .where(
            CertificateOperation.certificate_id == certificate_id,
            CertificateOperation.id > after_id,
            CertificateOperation.kind.in_(kinds),
        )
        .limit(1)
    )
