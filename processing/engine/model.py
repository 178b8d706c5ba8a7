"""Inputs and outputs of the calculation engine (plain values, English names)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from processing.programs.rules import BonusRules, Level, LevelRules
from processing.promotions.book import PromotionBook

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class ReceiptLine:
    number: int
    goods_id: str
    quantity: Decimal
    price: Decimal
    amount: Decimal  # the line sum as the POS has it, before our discounts
    no_discount: bool = False  # tobacco, minimum-price goods: no discount, no bonus payment
    group_ids: tuple[str, ...] = ()  # the goods' group and its ancestors
    barcode: str | None = None
    brand_id: str | None = None
    supplier_id: str | None = None
    no_bonus_payment: bool = False
    no_accrual: bool = False  # the POS asks for no bonus on this line (Manzana's SignCharge 0)
    known: bool = True  # the catalog knows the goods (else the line's own data is used)


@dataclass(frozen=True)
class Receipt:
    lines: tuple[ReceiptLine, ...]
    requested_bonus: Decimal = ZERO


@dataclass(frozen=True)
class Rules:
    levels: LevelRules | None = None
    bonus: BonusRules | None = None
    promotions: PromotionBook | None = None


@dataclass(frozen=True)
class PromotionFacts:
    """What promotion conditions are evaluated on besides the receipt: its local time (the
    store's zone), the payment kinds, and what the database knows about the customer."""

    local_time: datetime  # naive, the store's wall clock
    payments: frozenset[str] = frozenset()
    card_template: str | None = None
    segments: frozenset[str] = frozenset()
    birthday: date | None = None
    registered_on: date | None = None
    cumulative: Decimal | None = None  # purchases in the level window
    fields: Mapping[str, str | bool] = field(default_factory=dict)  # questionnaire, as stored
    first_purchases: Mapping[str, date] = field(default_factory=dict)  # promotion code → date
    previous_purchases: frozenset[str] = frozenset()  # promotions whose look-back is met
    # Usage limits: promotions used up (total or this customer's), and budgets left (kopecks).
    exhausted: frozenset[str] = frozenset()
    budget_left: Mapping[str, int] = field(default_factory=dict)
    stamps: Mapping[str, int] = field(default_factory=dict)  # promotion code → stamps on the card
    coupons: frozenset[str] = frozenset()  # coupon promotions a coupon on the receipt unlocks
    # Gift goods the store counts → units left (goods not here are given without limit).
    gift_stock: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Balances:
    active: Decimal = ZERO
    pending: Decimal = ZERO
    total: Decimal = ZERO  # posted balance: also counts expired unprocessed lots and any debt


@dataclass(frozen=True)
class CustomerFacts:
    """What the domain knows about the customer and card at calculation time."""

    card_active: bool
    allowance: str  # "full", "accrual_only" or "nothing" (questionnaire policy)
    level: Level | None = None
    level_discount_allowed: bool = True  # e.g. off for identification by phone
    level_discount_refusal: str | None = None  # why not, for the cashier
    write_off_allowed: bool = True
    write_off_refusal: str | None = None  # why not, for the cashier
    # A reason outside the questionnaire to accrue nothing (tariff, bonus expired at birth).
    accrual_refusal: str | None = None


@dataclass(frozen=True)
class Explanation:
    # "level_discount", "bonus_payment", "bonus_accrual"; a reward a policy withholds:
    # "level_discount_withheld", "bonus_accrual_withheld" with the amount withheld; on return
    # lines, "promotion_withheld": a set-based promotion's discount the kept units no longer earn.
    rule: str
    amount: Decimal
    text: str
    promotion: str | None = None  # the promotion's code ("promotion" rules)


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
    gift_quantity: Decimal = Decimal(0)  # units given as a gift (a part of their own)
    gift_amount: Decimal = ZERO  # what the gift units cost in all (0.00 or 0.01 each)


@dataclass(frozen=True)
class PromotionOutcome:
    """A promotion considered for the receipt: applied with its discount (or bonus), or not
    with the reason, for the cashier."""

    code: str
    name: str
    applied: bool
    discount: Decimal = ZERO
    bonus: Decimal = ZERO
    reason: str | None = None
    version_id: int = 0


@dataclass(frozen=True)
class ExtraBonus:
    """Campaign points a promotion gives besides the accrual: a lot of their own."""

    promotion: str
    amount: Decimal
    activation_delay_days: int
    lifetime_days: int | None


@dataclass(frozen=True)
class StampCard:
    """A stamps promotion on the card: ``before`` the receipt, ``added`` by its units, the free
    units it gave (``redeemed``, each worth ``every`` stamps), and what is left ``after``."""

    promotion: str
    name: str
    every: int
    before: int
    added: int
    redeemed: int
    after: int
    version_id: int = 0

    @property
    def delta(self) -> int:
        return self.after - self.before


@dataclass(frozen=True)
class Result:
    lines: tuple[LineResult, ...]
    amount: Decimal
    discount: Decimal
    bonus_payment: Decimal
    final_amount: Decimal
    accrual: Decimal
    max_bonus_payment: Decimal
    # What bounds max_bonus_payment: "program_cap" (the program's percent of the receipt),
    # "balance" (active bonus), None (nothing can be paid, see write_off_refusal).
    payment_limit: str | None
    write_off_refusal: str | None
    cashier_messages: tuple[str, ...]
    customer_messages: tuple[str, ...]
    promotions: tuple[PromotionOutcome, ...] = ()
    hints: tuple[str, ...] = ()  # "ещё 150,00 ₽ до подарка", ready to print
    extra_bonuses: tuple[ExtraBonus, ...] = ()
    stamps: tuple[StampCard, ...] = ()
    # Points written off for bonus_conversion discounts (besides bonus_payment, 1 point = 1 ₽).
    points_spent: Decimal = ZERO
    conversion: str | None = None  # the promotion that spent them

    @property
    def write_off(self) -> Decimal:
        """Points the receipt takes from the balance: the bonus payment and converted points."""
        return self.bonus_payment + self.points_spent


def result_to_json(result: Result) -> dict[str, Any]:
    """A JSON-safe form (Decimals as strings) to keep a soft result until its commit: the
    form of ``dataclasses.asdict``, built without its deep copies (every soft calculation
    stores one)."""

    def convert(value: Any) -> Any:
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, tuple | list):
            return [convert(item) for item in value]
        if isinstance(value, dict):
            return {key: convert(item) for key, item in value.items()}
        if hasattr(value, "__dataclass_fields__"):
            return {name: convert(getattr(value, name)) for name in value.__dataclass_fields__}
        return value

    return convert(result)  # type: ignore[no-any-return]


def result_from_json(data: dict[str, Any]) -> Result:
    def line(item: dict[str, Any]) -> LineResult:
        return LineResult(
            number=item["number"],
            amount=Decimal(item["amount"]),
            discount=Decimal(item["discount"]),
            bonus_payment=Decimal(item["bonus_payment"]),
            final_amount=Decimal(item["final_amount"]),
            accrual=Decimal(item["accrual"]),
            parts=tuple(
                LinePart(Decimal(p["quantity"]), Decimal(p["price"]), Decimal(p["amount"]))
                for p in item["parts"]
            ),
            price_difference=Decimal(item["price_difference"]),
            explanations=tuple(
                Explanation(e["rule"], Decimal(e["amount"]), e["text"], e.get("promotion"))
                for e in item["explanations"]
            ),
            gift_quantity=Decimal(item.get("gift_quantity", "0")),
            gift_amount=Decimal(item.get("gift_amount", "0")),
        )

    return Result(
        lines=tuple(line(item) for item in data["lines"]),
        amount=Decimal(data["amount"]),
        discount=Decimal(data["discount"]),
        bonus_payment=Decimal(data["bonus_payment"]),
        final_amount=Decimal(data["final_amount"]),
        accrual=Decimal(data["accrual"]),
        max_bonus_payment=Decimal(data["max_bonus_payment"]),
        payment_limit=data.get("payment_limit"),
        write_off_refusal=data["write_off_refusal"],
        cashier_messages=tuple(data["cashier_messages"]),
        customer_messages=tuple(data["customer_messages"]),
        promotions=tuple(
            PromotionOutcome(
                p["code"],
                p["name"],
                p["applied"],
                Decimal(p["discount"]),
                Decimal(p["bonus"]),
                p["reason"],
                p.get("version_id", 0),
            )
            for p in data.get("promotions", ())
        ),
        hints=tuple(data.get("hints", ())),
        extra_bonuses=tuple(
            ExtraBonus(
                e["promotion"], Decimal(e["amount"]), e["activation_delay_days"], e["lifetime_days"]
            )
            for e in data.get("extra_bonuses", ())
        ),
        stamps=tuple(
            StampCard(
                s["promotion"],
                s["name"],
                s["every"],
                s["before"],
                s["added"],
                s["redeemed"],
                s["after"],
            )
            for s in data.get("stamps", ())
        ),
        points_spent=Decimal(data.get("points_spent", "0.00")),
        conversion=data.get("conversion"),
    )
