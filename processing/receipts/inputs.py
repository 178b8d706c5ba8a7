"""Inputs of the receipt operations, and outcomes that are not stored rows."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cached_property

from processing.coupons.receipt import OfferedCoupon
from processing.levels.compute import LevelDecision
from processing.tenants.callers import PosCaller
from processing.tenants.models import Pos, Store, Tenant

ZERO = Decimal("0.00")


class PosContext:
    """Who is calling: the ``caller`` values at once, the tenant, store and POS rows of the
    request's session loaded on first use (the hot paths never need them)."""

    def __init__(self, caller: PosCaller, rows: Callable[[], tuple[Tenant, Store, Pos]]) -> None:
        self.caller = caller
        self._load_rows = rows

    @classmethod
    def of(cls, tenant: Tenant, store: Store, pos: Pos) -> PosContext:
        return cls(PosCaller.of(tenant, store, pos), lambda: (tenant, store, pos))

    @cached_property
    def _rows(self) -> tuple[Tenant, Store, Pos]:
        return self._load_rows()

    @property
    def tenant(self) -> Tenant:
        return self._rows[0]

    @property
    def store(self) -> Store:
        return self._rows[1]

    @property
    def pos(self) -> Pos:
        return self._rows[2]


@dataclass(frozen=True)
class Identification:
    card_number: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class LineInput:
    number: int
    goods_id: str
    quantity: Decimal
    price: Decimal
    amount: Decimal  # before our discounts
    no_discount: bool = False
    barcode: str | None = None
    group_ids: tuple[str, ...] = ()
    seller: str | None = None
    final_amount: Decimal | None = None  # as printed (commit): compared with ours
    pos_discount: Decimal = ZERO  # taken off by the POS itself: amount = qty × price − this
    certificate: str | None = None  # a certificate sold on this line, by its code
    no_accrual: bool = False  # no bonus accrued on this line (the POS says so)


@dataclass(frozen=True)
class ReceiptInput:
    cashier_code: str
    shift: str
    number: str
    lines: tuple[LineInput, ...]
    sold_at: datetime | None = None  # aware; None: now (identity then has no time)
    cashier_name: str | None = None
    identification: Identification | None = None
    requested_bonus: Decimal = ZERO
    calculation_id: str | None = None
    client_txn_id: str | None = None
    payments: frozenset[str] = frozenset()  # payment kinds: cash, card, sbp... (conditions)
    coupons: tuple[str, ...] = ()  # codes presented, as the POS sent them
    # certificates presented in payment: (code, the sum to take or None: as much as it covers)
    certificates: tuple[tuple[str, Decimal | None], ...] = ()

    def calculation_hash(self) -> str:
        """What a soft result depends on: lines, requested bonus and the card."""
        lines = [
            (line.number, line.goods_id, str(line.quantity), str(line.price), str(line.amount),
             line.no_discount, line.group_ids)
            for line in self.lines
        ]  # fmt: skip
        key: tuple[object, ...] = (lines, str(self.requested_bonus), self.identification)
        if self.payments:  # left out when empty: hashes stored before the field still match
            key += (sorted(self.payments),)
        if self.coupons:  # the same
            key += (("coupons", self.coupons),)
        if any(line.no_accrual for line in self.lines):  # the same
            key += (("no_accrual", [line.no_accrual for line in self.lines]),)
        if self.certificates or any(line.certificate for line in self.lines):
            key += (("certificates", self.certificates, [line.certificate for line in self.lines]),)
        return digest(repr(key))

    def body_hash(self) -> str:
        """Everything the POS sent except the soft result's id: a retry must match it.

        The text hashed is that of ``dataclasses.asdict`` (stored hashes stay valid), built
        without its deep copies: this runs on every commit."""
        data = dict(vars(self))
        data["lines"] = tuple(_hashed_line(line) for line in self.lines)
        if self.identification is not None:
            data["identification"] = dict(vars(self.identification))
        data.pop("calculation_id")
        if self.payments:
            data["payments"] = sorted(self.payments)
        else:  # left out when empty: hashes stored before the field existed still match
            del data["payments"]
        if not self.coupons:  # the same
            del data["coupons"]
        if not self.certificates:  # the same
            del data["certificates"]
        return digest(repr(sorted(data.items())))


def _hashed_line(line: LineInput) -> dict[str, object]:
    """A line's fields; a zero POS discount, no certificate and an allowed accrual are left
    out, so hashes stored before those fields existed still match their retries."""
    fields = dict(vars(line))
    if not line.pos_discount:
        del fields["pos_discount"]
    if line.certificate is None:
        del fields["certificate"]
    if not line.no_accrual:
        del fields["no_accrual"]
    return fields


@dataclass(frozen=True)
class ReturnLineInput:
    number: int  # the sale line's number
    quantity: Decimal


@dataclass(frozen=True)
class ReturnInput:
    cashier_code: str
    shift: str
    number: str  # the return receipt's own number
    original_transaction_id: str | None = None
    original_shift: str | None = None
    original_number: str | None = None
    original_sold_at: datetime | None = None
    original_pos_code: str | None = None  # another POS of the same store
    lines: tuple[ReturnLineInput, ...] = ()  # empty: everything not yet returned
    sold_at: datetime | None = None
    cashier_name: str | None = None
    client_txn_id: str | None = None

    def body_hash(self) -> str:
        return digest(repr(sorted(asdict(self).items())))


@dataclass(frozen=True)
class AnsweredLine:
    """A receipt line as just written: the answer is built from it, never re-read."""

    line_no: int
    quantity: Decimal
    price: Decimal
    amount: Decimal
    discount: Decimal
    bonus_payment: Decimal
    final_amount: Decimal
    accrual: Decimal
    explanations: list[dict[str, str]]
    gift_quantity: Decimal = Decimal(0)
    gift_amount: Decimal = ZERO


@dataclass(frozen=True)
class AnsweredReceipt:
    """A receipt as just written by the hot path (the stored row has the same values)."""

    transaction_id: str
    kind: str
    status: str
    shift: str
    number: str
    sold_at: datetime
    level_code: str | None
    amount: Decimal
    discount: Decimal
    bonus_payment: Decimal
    final_amount: Decimal
    accrual: Decimal
    clawback_shortfall: Decimal
    notes: list[str]


@dataclass(frozen=True)
class IdentifyOutcome:
    card_number: str | None  # None: identified by phone, the virtual card is not made yet
    card_status: str  # as it answers: a card past its validity answers "finished"
    customer_id: int | None
    customer_name: str | None  # masked: "Иван П."
    balance_total: Decimal
    balance_active: Decimal
    balance_pending: Decimal
    level: LevelDecision | None
    expiring: Decimal
    expiring_days: int
    write_off_allowed: bool
    write_off_refusal: str | None
    questionnaire_filled: bool
    questionnaire_missing: list[str] = field(default_factory=list)
    hints: tuple[str, ...] = ()  # promotions the customer is close to, ready to print
    coupons: tuple[OfferedCoupon, ...] = ()  # the customer's coupons and personal offers


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
