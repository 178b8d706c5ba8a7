"""Inputs and outputs of the calculation engine (plain values, English names)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from processing.programs.rules import BonusRules, Level, LevelRules

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class ReceiptLine:
    number: int
    goods_id: str
    quantity: Decimal
    price: Decimal
    amount: Decimal  # the line sum as the POS has it, before our discounts
    no_discount: bool = False  # tobacco, minimum-price goods: no discount, no bonus payment
    group_ids: tuple[str, ...] = ()
    barcode: str | None = None


@dataclass(frozen=True)
class Receipt:
    lines: tuple[ReceiptLine, ...]
    requested_bonus: Decimal = ZERO


@dataclass(frozen=True)
class Rules:
    levels: LevelRules | None = None
    bonus: BonusRules | None = None


@dataclass(frozen=True)
class Balances:
    active: Decimal = ZERO
    pending: Decimal = ZERO


@dataclass(frozen=True)
class CustomerFacts:
    """What the domain knows about the customer and card at calculation time."""

    card_active: bool
    allowance: str  # "full", "accrual_only" or "nothing" (questionnaire policy)
    level: Level | None = None
    level_discount_allowed: bool = True  # e.g. off for identification by phone
    write_off_allowed: bool = True
    write_off_refusal: str | None = None  # why not, for the cashier


@dataclass(frozen=True)
class Explanation:
    rule: str  # "level_discount", "bonus_payment", "bonus_accrual"
    amount: Decimal
    text: str


@dataclass(frozen=True)
class LinePart:
    quantity: Decimal
    price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class LineResult:
    number: int
    amount: Decimal
    discount: Decimal
    bonus_payment: Decimal
    final_amount: Decimal
    accrual: Decimal
    parts: tuple[LinePart, ...]
    price_difference: Decimal  # final price × quantity − final amount (weighed goods)
    explanations: tuple[Explanation, ...] = field(default=())


@dataclass(frozen=True)
class Result:
    lines: tuple[LineResult, ...]
    amount: Decimal
    discount: Decimal
    bonus_payment: Decimal
    final_amount: Decimal
    accrual: Decimal
    max_bonus_payment: Decimal
    write_off_refusal: str | None
    cashier_messages: tuple[str, ...]
    customer_messages: tuple[str, ...]
