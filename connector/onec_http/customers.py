"""Customer endpoints for 1C extension modules and POS: register, update, find by phone,
cards (issue, bind, replace, block), purchase history, and the tenant's programs.

Every endpoint that reads or changes a customer's personal data writes a row to the 152-FZ
access log (``record_pos_access``) in the request's transaction; a refusal writes none.

A registration, and a change of the questionnaire or consents, start the welcome bonus job when
the bonus program's welcome is due (``processing.accruals.welcome``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from flask.views import MethodView
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.api import Blueprint
from connector.db import db_session
from connector.onec_http.auth import pos_context
from connector.pos_tokens import pos_accessor
from mappings import customers as wire
from processing.accruals.welcome import QUESTIONNAIRE, REGISTRATION, welcome_due
from processing.cards import service as cards
from processing.cards.models import Card
from processing.customers import service as customers
from processing.customers.access import (
    CARD_FIELDS,
    CUSTOMER_RECORD_FIELDS,
    PURCHASE_FIELDS,
    Action,
    record_access,
)
from processing.customers.models import Customer
from processing.ledger.service import balance
from processing.programs.service import describe_programs
from processing.receipts.history import purchase_history
from processing.receipts.inputs import PosContext
from sync.jobs import welcome_bonus
from sync.queue import enqueue

blp = Blueprint(
    "customers",
    __name__,
    url_prefix="/api/v1",
    description="Customers, cards and purchase history for 1C extension modules",
)

CUSTOMER_EXAMPLE = {
    "last_name": "Петров",
    "first_name": "Иван",
    "phone": "8 916 123-45-67",
    "email": "ivan@example.ru",
    "birth_date": "1990-02-03",
    "gender": "male",
    "extra": {"pet": "кот"},
    "consents": {"processing": True, "advertising": False},
    "card_number": "2775000000036",
    "source": "1c",
    "author": "Администратор",
}


CUSTOMER_OUT_EXAMPLE = {
    "id": 42, "last_name": "Петров", "first_name": "Иван", "middle_name": None,
    "phone": "+79161234567", "email": "ivan@example.ru", "birth_date": "1990-02-03",
    "gender": "male", "extra": {"pet": "кот"},
    "consents": {
        "processing": {"given": True, "at": "2026-11-23T10:00:00+00:00", "source": "1c"},
        "advertising": {"given": False, "at": None, "source": None},
    },
    "questionnaire_filled": True, "questionnaire_missing": [],
    "cards": [{"number": "2775000000012", "status": "active", "status_title": "Активна",
               "virtual": False}],
    "balance": {"total": 1000.00, "active": 950.00, "pending": 50.00},
    "changed": [],
}  # fmt: skip
PURCHASES_EXAMPLE = {
    "total": 1,
    "purchases": [{
        "transaction_id": "0b8e6a54-8f1e-4f4e-9d57-3f2b3c1d2e10", "kind": "sale",
        "status": "committed", "store": "s1", "number": "1042",
        "sold_at": "2026-11-23T11:05:00+00:00", "card_number": "2775000000012",
        "sum": 300.00, "discount": 0.00, "bonus_payment": 65.32, "final_sum": 234.68,
        "accrual": 7.04,
        "lines": [{"line": 1, "goods": "g-100", "qty": 3.000, "sum": 300.00, "discount": 0.00,
                   "bonus_payment": 65.32, "final_sum": 234.68, "accrual": 7.04,
                   "returned_qty": 0.000,
                   "explanation": [{"rule": "bonus_accrual", "amount": "7.04",
                                    "text": "Начисление 3%"}]}],
    }],
}  # fmt: skip
PROGRAMS_EXAMPLE = {
    "programs": [{
        "program": "bonus", "kind": "bonus", "name": "Бонусная программа", "version_id": 3,
        "effective_from": "2026-01-01T00:00:00+00:00", "effective_to": None,
        "applies_here": True,
        "rules": {"accrual_percent": "3", "max_payment_percent": "50",
                  "activation_delay_days": 0, "lifetime_days": 365},
    }],
}  # fmt: skip


def _now() -> datetime:
    return datetime.now(UTC)


def record_pos_access(
    customer_id: int, action: Action, fields: Iterable[str], now: datetime | None = None
) -> None:
    """152-FZ: log that the calling POS read or changed the customer's personal data."""
    record_access(
        db_session(), pos_accessor(pos_context()), tenant_id=pos_context().caller.tenant_id,
        customer_id=customer_id, action=action, fields=fields, now=now,
    )  # fmt: skip


def _author(ctx: PosContext, data: dict[str, Any]) -> str:
    return str(data.get("author") or f"pos:{ctx.caller.pos_code}")


def _customer_cards(session: Session, customer: Customer) -> list[Card]:
    return list(
        session.scalars(select(Card).where(Card.customer_id == customer.id).order_by(Card.id))
    )


def _body(
    session: Session, ctx: PosContext, customer: Customer, changed: list[str] | None = None
) -> dict[str, Any]:
    account = cards.customer_account(session, customer)
    return wire.customer_body(
        customer,
        _customer_cards(session, customer),
        balance(session, account.id, _now()) if account else None,
        customers.missing_questionnaire_fields(ctx.tenant, customer),
        changed,
    )


def _welcome_later(session: Session, ctx: PosContext, customer: Customer, trigger: str) -> None:
    """Start the welcome bonus job after the commit when this change makes it due."""
    if welcome_due(session, ctx.tenant, customer, trigger, _now()):
        enqueue(session, welcome_bonus, customer.id, trigger,
                job_id=f"welcome-{customer.id}-{trigger}")  # fmt: skip


def _apply_consents(
    session: Session, customer: Customer, data: dict[str, Any], author: str, now: datetime
) -> list[str]:
    changed = []
    for kind, given in (data.get("consents") or {}).items():
        before = getattr(customer, f"{kind}_consent")
        customers.set_consent(
            session, customer, kind, given, source=data["source"], author=author, now=now
        )
        if before != given:
            changed.append(f"consent.{kind}")
    return changed


@blp.route("/customers")
class Customers(MethodView):
    @blp.arguments(wire.PhoneQuery, location="query")
    @blp.response(200, wire.CustomerOut, example=CUSTOMER_OUT_EXAMPLE)
    @blp.alt_response(404, description="CUSTOMER_NOT_FOUND")
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Find a customer by phone (any common format)."""
        ctx, session = pos_context(), db_session()
        customer = customers.find_by_phone(session, ctx.tenant, query["phone"])
        if customer is None:
            raise customers.CustomerNotFound(details={"phone": query["phone"]})
        record_pos_access(customer.id, Action.READ, CUSTOMER_RECORD_FIELDS)
        return _body(session, ctx, customer)

    @blp.arguments(wire.CustomerIn, example=CUSTOMER_EXAMPLE)
    @blp.response(201, wire.CustomerOut)
    @blp.alt_response(
        409, description="PHONE_ALREADY_REGISTERED, EMAIL_ALREADY_REGISTERED, CARD_EXISTS"
    )
    @blp.alt_response(422, description="CUSTOMER_LIMIT_REACHED")
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Register a customer with questionnaire and consents. A ``card_number`` is issued or
        bound; without one the customer gets a virtual card (a phone then identifies them)."""
        ctx, session, now = pos_context(), db_session(), _now()
        author = _author(ctx, data)
        customer = customers.register_customer(
            session, ctx.tenant, wire.customer_values(data), source=data["source"],
            author=author, consents=data.get("consents"), now=now,
        )  # fmt: skip
        given = [change.field for change in customers.customer_history(session, customer)]
        record_pos_access(customer.id, Action.REGISTER, given, now)
        if data.get("card_number"):
            _bind_card(session, ctx, customer, data["card_number"], author, now)
            record_pos_access(customer.id, Action.CARD, CARD_FIELDS, now)
        else:
            cards.virtual_card(session, customer, author=author, now=now)
        _welcome_later(session, ctx, customer, REGISTRATION)
        return _body(session, ctx, customer)


def _bind_card(
    session: Session, ctx: PosContext, customer: Customer, number: str, author: str, now: datetime
) -> Card:
    """An unused card is issued; an anonymous card already in use is personalised."""
    existing = session.scalar(
        select(Card).where(Card.tenant_id == ctx.caller.tenant_id, Card.number == number)
    )
    if existing is not None and existing.status != cards.CardStatus.NEW:
        cards.personalise(session, existing, customer, author=author, now=now)
        return existing
    return cards.issue_card(session, ctx.tenant, number, customer, author=author, now=now)


@blp.route("/customers/<int:customer_id>")
class CustomerById(MethodView):
    @blp.response(200, wire.CustomerOut, example=CUSTOMER_OUT_EXAMPLE)
    @blp.alt_response(404, description="CUSTOMER_NOT_FOUND")
    def get(self, customer_id: int) -> dict[str, Any]:
        """A customer with cards, balance and questionnaire state."""
        ctx, session = pos_context(), db_session()
        customer = customers.get_customer(session, ctx.tenant, customer_id)
        record_pos_access(customer.id, Action.READ, CUSTOMER_RECORD_FIELDS)
        return _body(session, ctx, customer)

    @blp.arguments(wire.CustomerFieldsIn, example={"email": "new@example.ru", "source": "1c"})
    @blp.response(200, wire.CustomerOut)
    @blp.alt_response(404, description="CUSTOMER_NOT_FOUND")
    @blp.alt_response(409, description="PHONE_ALREADY_REGISTERED, EMAIL_ALREADY_REGISTERED")
    def patch(self, data: dict[str, Any], customer_id: int) -> dict[str, Any]:
        """Change questionnaire fields and consents; every change is kept in the history."""
        ctx, session, now = pos_context(), db_session(), _now()
        customer = customers.get_customer(session, ctx.tenant, customer_id)
        author = _author(ctx, data)
        changed = customers.update_customer(
            session, customer, wire.customer_values(data), source=data["source"],
            author=author, now=now,
        )  # fmt: skip
        consents = _apply_consents(session, customer, data, author, now)
        _record_patch(customer, changed, consents, now)
        if changed or consents:
            _welcome_later(session, ctx, customer, QUESTIONNAIRE)
        return _body(session, ctx, customer, changed + consents)


def _record_patch(
    customer: Customer, changed: list[str], consents: list[str], now: datetime
) -> None:
    """A change logs the fields it changed; a PATCH that changed nothing still showed the
    record in its answer, so it is logged as a read."""
    if changed:
        record_pos_access(customer.id, Action.UPDATE, changed, now)
    if consents:
        record_pos_access(customer.id, Action.CONSENT, consents, now)
    if not changed and not consents:
        record_pos_access(customer.id, Action.READ, CUSTOMER_RECORD_FIELDS, now)


@blp.route("/customers/<int:customer_id>/cards")
class CustomerCards(MethodView):
    @blp.arguments(wire.CardRefIn, example={"card_number": "2775000000043"})
    @blp.response(200, wire.CustomerOut)
    @blp.alt_response(409, description="CARD_EXISTS, CARD_ALREADY_PERSONALISED")
    @blp.alt_response(400, description="CARD_NUMBER_INVALID")
    def post(self, data: dict[str, Any], customer_id: int) -> dict[str, Any]:
        """Issue a new card to the customer, or bind an anonymous card already in use."""
        ctx, session = pos_context(), db_session()
        customer = customers.get_customer(session, ctx.tenant, customer_id)
        _bind_card(session, ctx, customer, data["card_number"], _author(ctx, data), _now())
        record_pos_access(customer.id, Action.CARD, CARD_FIELDS)
        return _body(session, ctx, customer)


@blp.route("/customers/<int:customer_id>/purchases")
class Purchases(MethodView):
    @blp.arguments(wire.PageQuery, location="query")
    @blp.response(200, wire.PurchasesOut, example=PURCHASES_EXAMPLE)
    @blp.alt_response(404, description="CUSTOMER_NOT_FOUND")
    def get(self, query: dict[str, Any], customer_id: int) -> dict[str, Any]:
        """Purchase history: receipts with lines and each line's rewards, newest first."""
        ctx, session = pos_context(), db_session()
        customer = customers.get_customer(session, ctx.tenant, customer_id)
        total, page = purchase_history(
            session, customer, limit=query["limit"], offset=query["offset"]
        )
        record_pos_access(customer.id, Action.READ, PURCHASE_FIELDS)
        return {
            "total": total,
            "purchases": [
                {
                    "transaction_id": p.receipt.transaction_id,
                    "kind": p.receipt.kind,
                    "status": p.receipt.status,
                    "store": p.store_code,
                    "number": p.receipt.number,
                    "sold_at": p.receipt.sold_at,
                    "card_number": p.card_number,
                    "sum": p.receipt.amount,
                    "discount": p.receipt.discount,
                    "bonus_payment": p.receipt.bonus_payment,
                    "final_sum": p.receipt.final_amount,
                    "accrual": p.receipt.accrual,
                    "lines": [
                        {
                            "line": line.line_no,
                            "goods": line.goods_id,
                            "qty": line.quantity,
                            "sum": line.amount,
                            "discount": line.discount,
                            "bonus_payment": line.bonus_payment,
                            "final_sum": line.final_amount,
                            "accrual": line.accrual,
                            "returned_qty": line.returned_quantity,
                            "explanation": line.explanations,
                        }
                        for line in p.lines
                    ],
                }
                for p in page
            ],
        }


def _card(session: Session, ctx: PosContext, number: str) -> Card:
    return cards.find_card(session, ctx.caller.tenant_id, number)


def _record_card_change(card: Card) -> None:
    """A personalised card's status is its owner's data; an anonymous card names nobody."""
    if card.customer_id is not None:
        record_pos_access(card.customer_id, Action.CARD, CARD_FIELDS)


@blp.route("/cards/<number>/replace")
class ReplaceCard(MethodView):
    @blp.arguments(
        wire.ReplaceIn, example={"new_card_number": "2775000000050", "reason": "утеряна"}
    )
    @blp.response(200, wire.CardOut)
    @blp.alt_response(404, description="CARD_NOT_FOUND")
    @blp.alt_response(422, description="CARD_STATUS_TRANSITION_REFUSED")
    def post(self, data: dict[str, Any], number: str) -> dict[str, Any]:
        """Replace a lost or damaged card: balance and history move to the new one."""
        ctx, session = pos_context(), db_session()
        new = cards.replace_card(
            session, _card(session, ctx, number), data["new_card_number"],
            reason=data["reason"], author=_author(ctx, data), now=_now(),
        )  # fmt: skip
        _record_card_change(new)
        return wire.card_body(new)


@blp.route("/cards/<number>/block")
class BlockCard(MethodView):
    @blp.arguments(wire.ReasonIn, example={"reason": "заявление покупателя"})
    @blp.response(200, wire.CardOut)
    @blp.alt_response(422, description="CARD_STATUS_TRANSITION_REFUSED")
    def post(self, data: dict[str, Any], number: str) -> dict[str, Any]:
        """Block a card: no accrual and no payment until unblocked."""
        ctx, session = pos_context(), db_session()
        card = _card(session, ctx, number)
        cards.block(session, card, reason=data["reason"], author=_author(ctx, data), now=_now())
        _record_card_change(card)
        return wire.card_body(card)


@blp.route("/cards/<number>/unblock")
class UnblockCard(MethodView):
    @blp.arguments(wire.ReasonIn, example={"reason": "карта найдена"})
    @blp.response(200, wire.CardOut)
    @blp.alt_response(422, description="CARD_STATUS_TRANSITION_REFUSED")
    def post(self, data: dict[str, Any], number: str) -> dict[str, Any]:
        """Unblock a blocked card."""
        ctx, session = pos_context(), db_session()
        card = _card(session, ctx, number)
        cards.unblock(session, card, reason=data["reason"], author=_author(ctx, data), now=_now())
        _record_card_change(card)
        return wire.card_body(card)


@blp.route("/programs")
class Programs(MethodView):
    @blp.response(200, wire.ProgramsOut, example=PROGRAMS_EXAMPLE)
    def get(self) -> dict[str, Any]:
        """The tenant's programs with the rules in force now, and whether they apply to the
        calling POS's store."""
        ctx = pos_context()
        described = describe_programs(db_session(), ctx.store, _now())
        return {
            "programs": [
                {
                    "program": d.program.code,
                    "kind": d.program.kind,
                    "name": d.program.name,
                    "version_id": d.version.id,
                    "effective_from": d.version.effective_from,
                    "effective_to": d.version.effective_to,
                    "applies_here": d.applies_here,
                    "rules": d.version.rules,
                }
                for d in described
            ]
        }
