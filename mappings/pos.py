"""The POS / 1C JSON wire format: request schemas, their mapping to domain inputs, and the
mapping of domain results to response bodies. Field names are short, flat and ASCII so BSL
code reads them easily; money is a JSON number with two decimals."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from marshmallow import EXCLUDE, ValidationError, fields, validate, validates_schema

from mappings.cards import card_number_from_nfc, card_number_from_track, normalise_card_number
from mappings.dates import is_empty_1c_date, store_time_to_utc
from mappings.fields import Money, Quantity, ReceiptSum, Schema, StoreDateTime
from mappings.lean import MAX_LINES, load_receipt
from processing.certificates.till import ReceiptCertificates
from processing.codes import normalise_code
from processing.coupons.receipt import MAX_COUPONS, CouponAnswer, OfferedCoupon
from processing.engine.kopecks import printed_parts
from processing.engine.model import LineResult, Result
from processing.errors import InvalidInput
from processing.levels.compute import LevelDecision
from processing.money import from_kopecks, to_kopecks
from processing.promotions.rules import PAYMENT_KINDS
from processing.receipts.certificates import TillCertificates
from processing.receipts.inputs import (
    AnsweredLine,
    AnsweredReceipt,
    Identification,
    LineInput,
    ReceiptInput,
    ReturnInput,
    ReturnLineInput,
)
from processing.receipts.models import Receipt, ReceiptLine

CODE = validate.Length(min=1, max=64)
GOODS = validate.Length(min=1, max=80)  # a 1C goods GUID, or GUID#characteristic GUID
ZERO = Decimal("0.00")
MAX_CERTIFICATES = 10  # presented in payment of one receipt


class IdentificationSchema(Schema):
    card_number = fields.String(validate=validate.Length(min=1, max=64))
    card_track = fields.String(validate=validate.Length(min=1, max=200))
    card_nfc = fields.String(validate=validate.Length(min=1, max=500))
    phone = fields.String(validate=validate.Length(min=5, max=32))


class LineSchema(Schema):
    line = fields.Integer(validate=validate.Range(min=1, max=9999))
    goods = fields.String(required=True, validate=GOODS)
    barcode = fields.String(validate=validate.Length(max=64))
    groups = fields.List(fields.String(validate=CODE), validate=validate.Length(max=50))
    qty = Quantity(required=True)
    price = ReceiptSum(required=True)
    sum = ReceiptSum(required=True)
    no_discount = fields.Boolean(load_default=False)
    no_accrual = fields.Boolean(
        load_default=False, metadata={"description": "no bonus accrued on this line"}
    )
    seller = fields.String(validate=validate.Length(max=64))
    final_sum = ReceiptSum()
    pos_discount = ReceiptSum(
        metadata={"description": "a discount the POS itself gave: sum = qty × price − this"}
    )
    certificate = fields.String(
        validate=CODE,
        metadata={"description": "the code of the paper gift certificate this line sells (its "
                  "series' goods item, qty 1, sum = nominal); an electronic one's line has none"},
    )  # fmt: skip


class CertificatePaymentSchema(Schema):
    code = fields.String(required=True, validate=CODE)
    sum = ReceiptSum(
        validate=validate.Range(min=Decimal("0.01"), error="Сумма больше нуля."),
        metadata={"description": "the sum to take from it, as printed; default: as much as it "
                  "covers (send the calculation's sum at the commit)"},
    )  # fmt: skip


class PaymentSchema(Schema):
    type = fields.String(required=True, validate=validate.OneOf(PAYMENT_KINDS))
    sum = ReceiptSum(required=True)


class ReceiptHeaderSchema(Schema):
    """What identifies a receipt at its POS, and who rang it up."""

    cashier = fields.String(required=True, validate=CODE)
    cashier_name = fields.String(validate=validate.Length(max=255))
    shift = fields.String(load_default="", validate=validate.Length(max=32))
    number = fields.String(required=True, validate=CODE)
    sold_at = StoreDateTime()
    transaction_id = fields.String(validate=validate.Length(min=1, max=64))


class ReceiptSchema(IdentificationSchema, ReceiptHeaderSchema):
    currency = fields.String(load_default="RUB", validate=validate.OneOf(["RUB"]))
    store = fields.String(validate=CODE)
    pos = fields.String(validate=CODE)
    lines = fields.List(
        fields.Nested(LineSchema), required=True, validate=validate.Length(min=1, max=MAX_LINES)
    )
    pay_bonus = ReceiptSum(load_default=Decimal("0.00"))
    coupons = fields.List(
        fields.String(validate=CODE),
        load_default=list,
        validate=validate.Length(max=MAX_COUPONS),
        metadata={"description": "coupon codes presented (scanned or typed)"},
    )
    certificates = fields.List(
        fields.Nested(CertificatePaymentSchema),
        load_default=list,
        validate=validate.Length(max=MAX_CERTIFICATES),
        metadata={"description": "gift certificates presented in payment, in order"},
    )
    payments = fields.List(fields.Nested(PaymentSchema), load_default=list)
    calculation_id = fields.String(validate=validate.Length(max=36))

    def load(  # type: ignore[override]
        self,
        data: Any,
        *,
        many: bool | None = None,
        partial: bool | None = None,
        unknown: Literal["exclude", "include", "raise"] | None = None,
    ) -> Any:
        """The lean loader's result for the common shape (the same, a test compares them);
        marshmallow for everything else, errors included."""
        if not (many or partial or self.many or self.partial) and type(self) is ReceiptSchema:
            loaded = load_receipt(data, unknown_allowed=(unknown or self.unknown) == EXCLUDE)
            if loaded is not None:
                return loaded
        return super().load(data, many=many, partial=partial, unknown=unknown)

    @validates_schema
    def _unique_line_numbers(self, data: dict[str, Any], **_: Any) -> None:
        numbers = [line.get("line") for line in data.get("lines", []) if line.get("line")]
        if len(numbers) != len(set(numbers)):
            raise ValidationError("Номера строк чека повторяются.", "lines")


class ReturnLineSchema(Schema):
    line = fields.Integer(required=True, validate=validate.Range(min=1, max=9999))
    qty = Quantity(required=True)


class ReturnSchema(ReceiptHeaderSchema):
    original_transaction_id = fields.String(validate=validate.Length(max=36))
    original_shift = fields.String(validate=validate.Length(max=32))
    original_number = fields.String(validate=CODE)
    original_sold_at = StoreDateTime()
    original_pos = fields.String(validate=CODE)
    lines = fields.List(fields.Nested(ReturnLineSchema), load_default=list)


def store_moment(value: datetime | None, timezone: str) -> datetime | None:
    if value is None or is_empty_1c_date(value):
        return None
    return store_time_to_utc(value, timezone)


def identification(data: dict[str, Any]) -> Identification | None:
    """The card or phone a request names: number, then magnetic track, then NFC, then phone."""
    if data.get("card_number"):
        return Identification(card_number=normalise_card_number(data["card_number"]))
    if data.get("card_track"):
        number = card_number_from_track(data["card_track"])
        if number is None:
            raise InvalidInput("Не удалось прочитать номер карты с магнитной полосы.",
                               details={"field": "card_track"})  # fmt: skip
        return Identification(card_number=number)
    if data.get("card_nfc"):
        number = card_number_from_nfc(data["card_nfc"])
        if number is None:
            raise InvalidInput("Не удалось прочитать номер карты из NFC-метки.",
                               details={"field": "card_nfc"})  # fmt: skip
        return Identification(card_number=number)
    if data.get("phone"):
        return Identification(phone=data["phone"])
    return None


def receipt_input(data: dict[str, Any], timezone: str) -> ReceiptInput:
    lines = tuple(
        LineInput(
            number=line.get("line") or position,
            goods_id=line["goods"],
            quantity=line["qty"],
            price=line["price"],
            amount=line["sum"],
            no_discount=line["no_discount"],
            no_accrual=line["no_accrual"],
            barcode=line.get("barcode"),
            group_ids=tuple(line.get("groups", ())),
            seller=line.get("seller"),
            final_amount=line.get("final_sum"),
            pos_discount=line.get("pos_discount", ZERO),
            certificate=normalise_code(line["certificate"]) if line.get("certificate") else None,
        )
        for position, line in enumerate(data["lines"], start=1)
    )
    return ReceiptInput(
        cashier_code=data["cashier"],
        cashier_name=data.get("cashier_name"),
        shift=data["shift"],
        number=data["number"],
        sold_at=store_moment(data.get("sold_at"), timezone),
        lines=lines,
        identification=identification(data),
        requested_bonus=data["pay_bonus"],
        calculation_id=data.get("calculation_id"),
        client_txn_id=data.get("transaction_id"),
        payments=frozenset(payment["type"] for payment in data.get("payments", ())),
        # codes as matched (any case, blanks dropped): a retry typed differently is the same
        coupons=tuple(normalise_code(code) for code in data.get("coupons", ())),
        certificates=tuple(
            (normalise_code(c["code"]), c.get("sum")) for c in data.get("certificates", ())
        ),
    )


def return_input(data: dict[str, Any], timezone: str) -> ReturnInput:
    return ReturnInput(
        cashier_code=data["cashier"],
        cashier_name=data.get("cashier_name"),
        shift=data["shift"],
        number=data["number"],
        sold_at=store_moment(data.get("sold_at"), timezone),
        original_transaction_id=data.get("original_transaction_id"),
        original_shift=data.get("original_shift"),
        original_number=data.get("original_number"),
        original_sold_at=store_moment(data.get("original_sold_at"), timezone),
        original_pos_code=data.get("original_pos"),
        lines=tuple(ReturnLineInput(line["line"], line["qty"]) for line in data["lines"]),
        client_txn_id=data.get("transaction_id"),
    )


def level_body(decision: LevelDecision | None) -> dict[str, Any] | None:
    """The level and what the next one needs; below the first threshold ``code`` is null and
    the next level is the first (so the cashier can say how much is left to reach it)."""
    if decision is None or (decision.level is None and decision.next_level is None):
        return None
    level = decision.level
    body: dict[str, Any] = {
        "code": level.code if level else None,
        "name": level.name if level else None,
        "discount_percent": level.discount_percent if level else Decimal(0),
        "manual": decision.override is not None and level == decision.override,
        "next_code": decision.next_level.code if decision.next_level else None,
        "next_name": decision.next_level.name if decision.next_level else None,
        "needed": decision.needed,
    }
    return body


def _parts(
    quantity: Decimal, price: Decimal, final: Decimal, gifts: Decimal, gift_amount: Decimal
) -> tuple[list[dict[str, Any]], Decimal]:
    parts, difference = printed_parts(
        quantity, to_kopecks(final), None if gifts else to_kopecks(price), int(gifts),
        to_kopecks(gift_amount),
    )  # fmt: skip
    return (
        [
            {"qty": part.quantity, "price": from_kopecks(part.price),
             "sum": from_kopecks(part.amount)}
            for part in parts
        ],
        difference.scaleb(-2),
    )  # fmt: skip


def _line_body(
    number: int,
    quantity: Decimal,
    price: Decimal,
    amounts: LineResult | ReceiptLine | AnsweredLine,
    explanations: list[dict[str, Any]],
) -> dict[str, Any]:
    """One line as the POS prints it: sums, rewards, and the parts to print (gift units apart)."""
    parts, difference = _parts(
        quantity, price, amounts.final_amount, amounts.gift_quantity, amounts.gift_amount
    )
    return {
        "line": number,
        "qty": quantity,
        "sum": amounts.amount,
        "discount": amounts.discount,
        "bonus_payment": amounts.bonus_payment,
        "final_sum": amounts.final_amount,
        "accrual": amounts.accrual,
        "parts": parts,
        "price_difference": difference,
        "gift_qty": amounts.gift_quantity,
        "explanation": explanations,
    }


def _totals(amounts: Result | Receipt | AnsweredReceipt) -> dict[str, Decimal]:
    return {
        "sum": amounts.amount,
        "discount": amounts.discount,
        "bonus_payment": amounts.bonus_payment,
        "final_sum": amounts.final_amount,
        "accrual": amounts.accrual,
    }


def calculation_body(result: Result, shelf: dict[int, tuple[Decimal, Decimal]]) -> dict[str, Any]:
    """``shelf``: each line's quantity and shelf price, by line number."""
    return {
        "lines": [
            _line_body(
                line.number, *shelf[line.number], line,
                [{"rule": e.rule, "amount": e.amount, "text": e.text, "promotion": e.promotion}
                 for e in line.explanations],
            )
            for line in result.lines
        ],
        "totals": _totals(result),
        "max_bonus_payment": result.max_bonus_payment,
        "write_off_refusal": result.write_off_refusal,
        "cashier_messages": list(result.cashier_messages),
        "customer_messages": list(result.customer_messages),
        "promotions": [
            {"code": o.code, "name": o.name, "applied": o.applied, "discount": o.discount,
             "reason": o.reason}
            for o in result.promotions
        ],
        "hints": list(result.hints),
        "extra_bonus": [
            {"promotion": e.promotion, "sum": e.amount,
             "activation_delay_days": e.activation_delay_days, "lifetime_days": e.lifetime_days}
            for e in result.extra_bonuses
        ],
        "stamps": [
            {"promotion": c.promotion, "every": c.every, "before": c.before, "added": c.added,
             "free": c.redeemed, "after": c.after}
            for c in result.stamps
        ],
        "points_spent": result.points_spent,
    }  # fmt: skip


def receipt_body(
    receipt: Receipt | AnsweredReceipt,
    lines: Iterable[ReceiptLine | AnsweredLine],
    *,
    replay: bool,
    coupons: Iterable[str] = (),
    certificates: ReceiptCertificates | None = None,
) -> dict[str, Any]:
    """A committed receipt as the POS gets it, the first time and on every repeat."""
    body_lines = [
        _line_body(
            line.line_no, line.quantity, line.price, line,
            [{"rule": e["rule"], "amount": Decimal(e["amount"]), "text": e["text"],
              "promotion": e.get("promotion")}
             for e in line.explanations],
        )
        for line in lines
    ]  # fmt: skip
    return {
        "transaction_id": receipt.transaction_id,
        "kind": receipt.kind,
        "status": receipt.status,
        "replay": replay,
        "shift": receipt.shift,
        "number": receipt.number,
        "sold_at": receipt.sold_at,
        "level": receipt.level_code,
        "lines": body_lines,
        "totals": _totals(receipt),
        "clawback_shortfall": receipt.clawback_shortfall,
        "notes": list(receipt.notes or []),
        "coupons": list(coupons),
        "certificates": committed_certificates(
            certificates or ReceiptCertificates(), receipt.final_amount
        ),
    }


class LevelOut(Schema):
    code = fields.String(allow_none=True, metadata={"description": "null: below the first level"})
    name = fields.String(allow_none=True)
    discount_percent = fields.Decimal(as_string=False)
    manual = fields.Boolean()
    next_code = fields.String(allow_none=True)
    next_name = fields.String(allow_none=True)
    needed = Money(
        metadata={"description": "what the next level still needs: rubles, or purchases"}
    )


class BalanceOut(Schema):
    total = Money()
    active = Money()
    pending = Money()


class ExpiringOut(Schema):
    sum = Money()
    days = fields.Integer()


class QuestionnaireOut(Schema):
    filled = fields.Boolean()
    missing = fields.List(fields.String())


class OfferedCouponOut(Schema):
    code = fields.String()
    title = fields.String(metadata={"description": "the series' title"})
    promotion = fields.String()
    promotion_name = fields.String()
    valid_to = fields.DateTime(allow_none=True)
    auto = fields.Boolean(
        metadata={"description": "a personal offer: applied without being presented"}
    )
    uses_left = fields.Integer(allow_none=True, metadata={"description": "null: unlimited"})


class ReceiptCouponOut(Schema):
    code = fields.String()
    auto = fields.Boolean(metadata={"description": "the customer's own, not presented"})
    applied = fields.Boolean()
    promotion = fields.String(allow_none=True)
    promotion_name = fields.String(allow_none=True)
    reason_code = fields.String(
        allow_none=True, metadata={"description": "why not: a COUPON_* code (docs/errors.md)"}
    )
    reason = fields.String(allow_none=True, metadata={"description": "why not, for the cashier"})


def coupon_answers(answers: Iterable[CouponAnswer]) -> list[dict[str, Any]]:
    return [
        {"code": a.code, "auto": a.auto, "applied": a.applied, "promotion": a.promotion,
         "promotion_name": a.promotion_name, "reason_code": a.reason_code, "reason": a.reason}
        for a in answers
    ]  # fmt: skip


def offered_coupons(offered: Iterable[OfferedCoupon]) -> list[dict[str, Any]]:
    return [
        {"code": c.code, "title": c.title, "promotion": c.promotion,
         "promotion_name": c.promotion_name, "valid_to": c.valid_to, "auto": c.auto,
         "uses_left": c.uses_left}
        for c in offered
    ]  # fmt: skip


# 54-FZ: how the POS prints a certificate's sale (an advance) and its redemption (the advance
# set off): tag 1214 (payment method), 1212 (payment object), 1215 (sum paid by prepayment).
SALE_FISCAL = {"payment_method": "advance", "payment_method_tag": 3, "payment_object": "payment",
               "payment_object_tag": 10}  # fmt: skip
PAYMENT_FISCAL = {
    "payment_type": "prepayment", "payment_type_tag": 1215,
    "lines_payment_method": "full_payment", "lines_payment_method_tag": 4,
}  # fmt: skip


class SaleFiscalOut(Schema):
    payment_method = fields.String(metadata={"description": "advance (аванс)"})
    payment_method_tag = fields.Integer(metadata={"description": "tag 1214 value: 3"})
    payment_object = fields.String(metadata={"description": "payment (платёж)"})
    payment_object_tag = fields.Integer(metadata={"description": "tag 1212 value: 10"})


class PaymentFiscalOut(Schema):
    payment_type = fields.String(metadata={"description": "prepayment (зачёт аванса)"})
    payment_type_tag = fields.Integer(metadata={"description": "the sum's tag: 1215"})
    lines_payment_method = fields.String(metadata={"description": "full_payment"})
    lines_payment_method_tag = fields.Integer(metadata={"description": "tag 1214 value: 4"})


class CertificateSoldOut(Schema):
    line = fields.Integer()
    code = fields.String(
        allow_none=True, metadata={"description": "null in a calculation of an electronic one: "
                                   "the commit makes it (for delivery by SMS or e-mail)"}
    )  # fmt: skip
    nominal = Money()
    expires_at = fields.DateTime(allow_none=True)
    fiscal = fields.Nested(
        SaleFiscalOut,
        metadata={"description": "print the line as an advance: tag 1214 = 3, tag 1212 = 10"},
    )


class CertificatePaymentOut(Schema):
    code = fields.String()
    applied = fields.Boolean()
    sum = Money(metadata={"description": "taken from the certificate"})
    balance_after = Money(allow_none=True)
    burnt = Money(metadata={"description": "the remainder lost (series' policy: burn)"})
    reason_code = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)


class CertificateRefundOut(Schema):
    code = fields.String()
    sum = Money()
    balance_after = Money()


class CertificatesOut(Schema):
    sold = fields.List(fields.Nested(CertificateSoldOut))
    payments = fields.List(fields.Nested(CertificatePaymentOut))
    paid = Money(metadata={"description": "paid by certificates: the advance set off"})
    to_pay = Money(metadata={"description": "what is left to pay by other means"})
    fiscal = fields.Nested(
        PaymentFiscalOut,
        metadata={"description": "print `paid` as a payment by prepayment (tag 1215), the "
                  "lines with payment method full payment (tag 1214 = 4); empty when nothing "
                  "is paid by certificates"},
    )  # fmt: skip
    refunded = fields.List(
        fields.Nested(CertificateRefundOut),
        metadata={"description": "a return: given back on certificates (the rest in money)"},
    )


def _fiscal(paid: int) -> dict[str, Any]:
    return PAYMENT_FISCAL if paid else {}


def calculated_certificates(found: TillCertificates, final: Decimal) -> dict[str, Any]:
    """A calculation's certificates: the sales as they will be, the payments as computed."""
    paid = sum(p.amount for p in found.paid)
    return {
        "sold": [
            {"line": s.line_no, "code": s.certificate.code if s.certificate else None,
             "nominal": from_kopecks(s.nominal), "expires_at": None, "fiscal": SALE_FISCAL}
            for s in found.sold
        ],
        "payments": [
            {"code": p.code, "applied": p.refusal is None, "sum": from_kopecks(p.amount),
             "balance_after": from_kopecks(p.balance_after) if p.balance_after is not None
             else None, "burnt": ZERO,
             "reason_code": p.refusal.code if p.refusal else None,
             "reason": p.refusal.text if p.refusal else None}
            for p in found.paid
        ],
        "paid": from_kopecks(paid), "to_pay": final - from_kopecks(paid), "fiscal": _fiscal(paid),
        "refunded": [],
    }  # fmt: skip


def committed_certificates(found: ReceiptCertificates, final: Decimal) -> dict[str, Any]:
    """What a committed receipt did with certificates (the same on every replay)."""
    return {
        "sold": [
            {"line": s.line_no, "code": s.code, "nominal": from_kopecks(s.nominal),
             "expires_at": s.expires_at, "fiscal": SALE_FISCAL}
            for s in found.sold
        ],
        "payments": [
            {"code": p.code, "applied": True, "sum": from_kopecks(p.amount),
             "balance_after": from_kopecks(p.balance_after), "burnt": from_kopecks(p.burnt),
             "reason_code": None, "reason": None}
            for p in found.paid
        ],
        "paid": from_kopecks(found.total_paid),
        "to_pay": final - from_kopecks(found.total_paid), "fiscal": _fiscal(found.total_paid),
        "refunded": [
            {"code": r.code, "sum": from_kopecks(r.amount),
             "balance_after": from_kopecks(r.balance_after)}
            for r in found.refunded
        ],
    }  # fmt: skip


class IdentifyOut(Schema):
    card_number = fields.String(allow_none=True)
    card_status = fields.String()
    card_status_title = fields.String()
    customer_id = fields.Integer(
        allow_none=True,
        metadata={"description": "null: an anonymous card; the id of /customers/{id} calls"},
    )
    customer_name = fields.String(allow_none=True)
    balance = fields.Nested(BalanceOut)
    level = fields.Nested(LevelOut, allow_none=True)
    expiring = fields.Nested(ExpiringOut)
    write_off_allowed = fields.Boolean()
    write_off_refusal = fields.String(allow_none=True)
    questionnaire = fields.Nested(QuestionnaireOut)
    hints = fields.List(
        fields.String(),
        metadata={"description": "promotions the customer is close to, ready to print"},
    )
    coupons = fields.List(
        fields.Nested(OfferedCouponOut),
        metadata={"description": "the customer's coupons usable here now, personal offers "
                  "(auto) included"},
    )  # fmt: skip


class PartOut(Schema):
    qty = Quantity()
    price = Money()
    sum = Money()


class ExplanationOut(Schema):
    rule = fields.String(
        metadata={"description": "level_discount, promotion, bonus_payment, bonus_accrual, "
                  "level_discount_withheld, bonus_accrual_withheld, unknown_goods (0.00: the "
                  "catalog does not know the goods, the line's own data is used), "
                  "certificate_sale (0.00: a gift certificate sold, an advance)"}
    )  # fmt: skip
    amount = Money()
    text = fields.String()
    promotion = fields.String(
        allow_none=True, metadata={"description": "the promotion's code (rule promotion)"}
    )


class PromotionOutcomeOut(Schema):
    code = fields.String()
    name = fields.String()
    applied = fields.Boolean()
    discount = Money()
    reason = fields.String(allow_none=True, metadata={"description": "why not applied"})


class ExtraBonusOut(Schema):
    promotion = fields.String()
    sum = Money()
    activation_delay_days = fields.Integer()
    lifetime_days = fields.Integer(allow_none=True)


class StampsOut(Schema):
    promotion = fields.String()
    every = fields.Integer(metadata={"description": "every n-th unit is free"})
    before = fields.Integer()
    added = fields.Integer()
    free = fields.Integer(metadata={"description": "units this receipt gives free"})
    after = fields.Integer(metadata={"description": "stamps on the card after the receipt"})


class LineOut(Schema):
    line = fields.Integer()
    qty = Quantity()
    sum = Money()
    discount = Money()
    bonus_payment = Money()
    final_sum = Money()
    accrual = Money()
    parts = fields.List(fields.Nested(PartOut))
    price_difference = fields.Decimal(as_string=False)
    gift_qty = Quantity(metadata={"description": "units given as a gift, the last part"})
    explanation = fields.List(fields.Nested(ExplanationOut))


class TotalsOut(Schema):
    sum = Money()
    discount = Money()
    bonus_payment = Money()
    final_sum = Money()
    accrual = Money()


class CalculationOut(Schema):
    calculation_id = fields.String()
    card_number = fields.String(allow_none=True)
    level = fields.Nested(LevelOut, allow_none=True)
    lines = fields.List(fields.Nested(LineOut))
    totals = fields.Nested(TotalsOut)
    max_bonus_payment = Money()
    write_off_refusal = fields.String(allow_none=True)
    cashier_messages = fields.List(fields.String())
    customer_messages = fields.List(fields.String())
    promotions = fields.List(
        fields.Nested(PromotionOutcomeOut),
        metadata={"description": "promotions considered: applied, or not with the reason"},
    )
    hints = fields.List(fields.String(), metadata={"description": "ready to print"})
    extra_bonus = fields.List(fields.Nested(ExtraBonusOut))
    stamps = fields.List(fields.Nested(StampsOut))
    points_spent = Money(
        metadata={"description": "points a bonus conversion spent for its discount"}
    )
    coupons = fields.List(
        fields.Nested(ReceiptCouponOut),
        metadata={"description": "coupons presented and the personal offer applied: used, or "
                  "why not"},
    )  # fmt: skip
    certificates = fields.Nested(CertificatesOut)


class ReceiptOut(Schema):
    transaction_id = fields.String()
    kind = fields.String()
    status = fields.String()
    replay = fields.Boolean()
    shift = fields.String()
    number = fields.String()
    sold_at = fields.DateTime()
    level = fields.String(allow_none=True)
    lines = fields.List(fields.Nested(LineOut))
    totals = fields.Nested(TotalsOut)
    clawback_shortfall = Money()
    notes = fields.List(fields.String())
    coupons = fields.List(
        fields.String(), metadata={"description": "codes of the coupons the receipt used"}
    )
    certificates = fields.Nested(CertificatesOut)


class OfflineReceiptSchema(ReceiptSchema):
    sold_at = StoreDateTime(required=True)


class OfflineBatchSchema(Schema):
    receipts = fields.List(
        fields.Nested(OfflineReceiptSchema),
        required=True,
        validate=validate.Length(min=1, max=10_000),
    )


def offline_receipts(
    items: list[dict[str, Any]], timezone: str
) -> list[tuple[ReceiptInput, list[str]]]:
    """Offline receipts with the notes of parts that offline leaves out (coupons; a receipt with
    gift certificates is refused by the domain: they need a live connection)."""
    prepared = []
    for data in items:
        notes = []
        if data.get("coupons"):
            notes.append("Купоны в офлайн-чеке не обрабатываются.")
        prepared.append((replace(receipt_input(data, timezone), coupons=()), notes))
    return prepared


def json_safe(value: Any) -> Any:
    """Decimals and dates as strings: a validated body kept in a JSON column for a job."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return value


class OfflineResultOut(Schema):
    shift = fields.String()
    number = fields.String()
    status = fields.String()
    transaction_id = fields.String(allow_none=True)
    code = fields.String(allow_none=True)
    message = fields.String(allow_none=True)
    notes = fields.List(fields.String())


class OfflineBatchOut(Schema):
    batch_id = fields.String(allow_none=True)
    status = fields.String()
    status_url = fields.String(allow_none=True)
    results = fields.List(fields.Nested(OfflineResultOut))


def offline_result(outcome: Any) -> dict[str, Any]:
    return {
        "shift": outcome.shift,
        "number": outcome.number,
        "status": outcome.status,
        "transaction_id": outcome.transaction_id,
        "code": outcome.code,
        "message": outcome.message,
        "notes": list(outcome.notes),
    }
