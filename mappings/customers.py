"""The JSON wire format of customers, cards and purchase history for 1C extension modules."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from mappings.fields import BoundedInteger, Money, Quantity, Schema
from mappings.pos import BalanceOut
from processing.cards.models import Card
from processing.cards.service import STATUS_TITLES, CardStatus
from processing.customers.models import Customer
from processing.customers.service import SOURCES, STANDARD_FIELDS
from processing.ledger.service import Balance

NAME = validate.Length(max=100)
MAX_OFFSET = 1_000_000_000


class ConsentsIn(Schema):
    processing = fields.Boolean()
    advertising = fields.Boolean()


class CustomerFieldsIn(Schema):
    last_name = fields.String(allow_none=True, validate=NAME)
    first_name = fields.String(allow_none=True, validate=NAME)
    middle_name = fields.String(allow_none=True, validate=NAME)
    phone = fields.String(allow_none=True, validate=validate.Length(max=32))
    email = fields.String(allow_none=True, validate=validate.Length(max=254))
    birth_date = fields.String(allow_none=True, validate=validate.Length(max=10))
    gender = fields.String(allow_none=True, validate=validate.OneOf(["male", "female"]))
    extra = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True))
    consents = fields.Nested(ConsentsIn)
    source = fields.String(load_default="pos", validate=validate.OneOf(SOURCES))
    author = fields.String(validate=validate.Length(min=1, max=100))


class CustomerIn(CustomerFieldsIn):
    card_number = fields.String(validate=validate.Length(min=1, max=64))


def customer_values(data: dict[str, Any]) -> dict[str, Any]:
    """Questionnaire values in the domain's naming: standard fields and ``extra.<code>``."""
    values = {name: data[name] for name in STANDARD_FIELDS if name in data}
    for code, value in (data.get("extra") or {}).items():
        values[f"extra.{code}"] = value
    return values


class CardRefIn(Schema):
    card_number = fields.String(required=True, validate=validate.Length(min=1, max=64))
    author = fields.String(validate=validate.Length(min=1, max=100))


class ReplaceIn(Schema):
    new_card_number = fields.String(required=True, validate=validate.Length(min=1, max=64))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))
    author = fields.String(validate=validate.Length(min=1, max=100))


class ReasonIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))
    author = fields.String(validate=validate.Length(min=1, max=100))


class PhoneQuery(Schema):
    phone = fields.String(required=True, validate=validate.Length(min=5, max=32))


class PageQuery(Schema):
    limit = BoundedInteger(load_default=20, validate=validate.Range(min=1, max=200))
    # PostgreSQL refuses an OFFSET beyond 64 bits; no purchase history is that long.
    offset = BoundedInteger(load_default=0, validate=validate.Range(min=0, max=MAX_OFFSET))


class CardOut(Schema):
    number = fields.String()
    status = fields.String()
    status_title = fields.String()
    virtual = fields.Boolean()


class ConsentOut(Schema):
    given = fields.Boolean()
    at = fields.DateTime(allow_none=True)
    source = fields.String(allow_none=True)


class ConsentsOut(Schema):
    processing = fields.Nested(ConsentOut)
    advertising = fields.Nested(ConsentOut)


class CustomerOut(Schema):
    id = fields.Integer()
    last_name = fields.String(allow_none=True)
    first_name = fields.String(allow_none=True)
    middle_name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    birth_date = fields.Date(allow_none=True)
    gender = fields.String(allow_none=True)
    extra = fields.Dict()
    consents = fields.Nested(ConsentsOut)
    questionnaire_filled = fields.Boolean()
    questionnaire_missing = fields.List(fields.String())
    cards = fields.List(fields.Nested(CardOut))
    balance = fields.Nested(BalanceOut, allow_none=True)
    changed = fields.List(fields.String())


def card_body(card: Card) -> dict[str, Any]:
    status = CardStatus(card.status)
    return {
        "number": card.number,
        "status": status.value,
        "status_title": STATUS_TITLES[status],
        "virtual": card.is_virtual,
    }


def customer_body(
    customer: Customer,
    cards: list[Card],
    balance: Balance | None,
    missing: list[str],
    changed: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "id": customer.id,
        **{name: getattr(customer, name) for name in STANDARD_FIELDS},
        "extra": dict(customer.extra or {}),
        "consents": {
            kind: {
                "given": getattr(customer, f"{kind}_consent"),
                "at": getattr(customer, f"{kind}_consent_at"),
                "source": getattr(customer, f"{kind}_consent_source"),
            }
            for kind in ("processing", "advertising")
        },
        "questionnaire_filled": not missing,
        "questionnaire_missing": missing,
        "cards": [card_body(card) for card in cards],
        "balance": (
            {"total": balance.total, "active": balance.active, "pending": balance.pending}
            if balance
            else None
        ),
        "changed": changed or [],
    }


class PurchaseLineOut(Schema):
    line = fields.Integer()
    goods = fields.String()
    qty = Quantity()
    sum = Money()
    discount = Money()
    bonus_payment = Money()
    final_sum = Money()
    accrual = Money()
    returned_qty = Quantity()
    explanation = fields.List(fields.Dict())


class PurchaseOut(Schema):
    transaction_id = fields.String()
    kind = fields.String()
    status = fields.String()
    store = fields.String()
    number = fields.String()
    sold_at = fields.DateTime()
    card_number = fields.String(allow_none=True)
    sum = Money()
    discount = Money()
    bonus_payment = Money()
    final_sum = Money()
    accrual = Money()
    lines = fields.List(fields.Nested(PurchaseLineOut))


class PurchasesOut(Schema):
    total = fields.Integer()
    purchases = fields.List(fields.Nested(PurchaseOut))


class ProgramVersionOut(Schema):
    program = fields.String()
    kind = fields.String()
    name = fields.String()
    version_id = fields.Integer()
    effective_from = fields.DateTime()
    effective_to = fields.DateTime(allow_none=True)
    applies_here = fields.Boolean()
    rules = fields.Dict()


class ProgramsOut(Schema):
    programs = fields.List(fields.Nested(ProgramVersionOut))
