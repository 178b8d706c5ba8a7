"""``POST /api/v1/admin/customers/<id>/erase``: 152-FZ erasure of a customer's personal data on
request, by the tenant's administrator (admin token), confirmed by repeating the id."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import fields

from admin.auth import admin_caller
from connector.api import Blueprint
from connector.db import db_session
from connector.logs import current_request_id
from mappings.fields import Schema
from processing.customers.access import Channel
from processing.customers.erasure import erase_customer, require_confirmation
from processing.customers.service import get_customer

blp = Blueprint(
    "admin_customers",
    __name__,
    url_prefix="/api/v1/admin",
    description="Erasure of customers' personal data (152-FZ)",
)

KEPT_MESSAGE = (
    "Персональные данные покупателя удалены. Бонусный счёт, карты и покупки сохранены обезличенно."
)
ALREADY_MESSAGE = "Персональные данные покупателя уже были удалены ранее."


class ErasureIn(Schema):
    confirm = fields.Raw(load_default=None, metadata={"description": "the customer's id again"})


class ErasureOut(Schema):
    customer_id = fields.Integer()
    erased_at = fields.DateTime()
    already_erased = fields.Boolean()
    erased_fields = fields.List(fields.String())
    history_removed = fields.Integer()
    message = fields.String()


@blp.route("/customers/<int:customer_id>/erase")
class EraseCustomer(MethodView):
    @blp.arguments(ErasureIn, example={"confirm": 42})
    @blp.response(
        200,
        ErasureOut,
        example={
            "customer_id": 42, "erased_at": "2026-11-23T10:15:00+00:00", "already_erased": False,
            "erased_fields": ["last_name", "first_name", "phone", "consent.processing"],
            "history_removed": 4, "message": KEPT_MESSAGE,
        },
    )  # fmt: skip
    @blp.alt_response(400, description="ERASURE_NOT_CONFIRMED")
    @blp.alt_response(401, description="UNAUTHORIZED")
    @blp.alt_response(404, description="CUSTOMER_NOT_FOUND")
    def post(self, data: dict[str, Any], customer_id: int) -> dict[str, Any]:
        """Erase (anonymise) the customer's personal data and change history; the ledger,
        cards and receipts stay, anonymous. Erasing again is harmless."""
        caller, session = admin_caller(), db_session()
        customer = get_customer(session, caller.tenant, customer_id)
        require_confirmation(customer, data["confirm"])
        result = erase_customer(
            session, customer, actor=caller.actor, channel=Channel.API,
            request_id=current_request_id(),
        )  # fmt: skip
        return {
            "customer_id": customer.id,
            "erased_at": result.anonymised_at,
            "already_erased": result.already_anonymised,
            "erased_fields": result.erased_fields,
            "history_removed": result.history_removed,
            "message": ALREADY_MESSAGE if result.already_anonymised else KEPT_MESSAGE,
        }
