"""Coupon check for the POS: the cashier scans or types a coupon code and learns whether it can
be used now and, if not, why (in Russian). Applying a coupon to a receipt comes with the
promotion engine's coupon step."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask.views import MethodView
from sqlalchemy.orm import Session

from connector.api import Blueprint
from connector.db import db_session
from connector.onec_http.auth import pos_context
from mappings import coupons as wire
from processing.cards.service import find_card
from processing.coupons.lifecycle import check_coupon
from processing.customers.service import CustomerNotFound, find_by_phone
from processing.receipts.inputs import PosContext

blp = Blueprint(
    "coupons",
    __name__,
    url_prefix="/api/v1",
    description="Coupons at the till: whether a presented coupon can be used",
)

CHECK_EXAMPLE = {
    "code": "SP7KX2M9QA",
    "series": "spring",
    "title": "Весенняя скидка 10%",
    "promotion": "spring-10",
    "status": "redeemed",
    "status_title": "Использован",
    "usable": False,
    "refusal": {"code": "COUPON_USED_UP", "message": "Купон уже использован."},
    "uses": 1,
    "uses_left": 0,
    "bound": False,
    "valid_from": "2027-02-28T21:00:00+00:00",
    "valid_to": "2027-05-31T21:00:00+00:00",
}


def _customer_id(session: Session, ctx: PosContext, data: dict[str, Any]) -> int | None:
    """The customer identified on the receipt by card or phone (None: nobody)."""
    if data["card_number"]:
        return find_card(session, ctx.caller.tenant_id, data["card_number"]).customer_id
    if data["phone"]:
        customer = find_by_phone(session, ctx.tenant, data["phone"])
        if customer is None:
            raise CustomerNotFound(details={"phone": data["phone"]})
        return customer.id
    return None


@blp.route("/coupons/check")
class CheckCoupon(MethodView):
    @blp.arguments(
        wire.CouponCheckIn, example={"code": "SP7KX2M9QA", "card_number": "2775000000012"}
    )
    @blp.response(200, wire.CouponStateOut, example=CHECK_EXAMPLE)
    @blp.alt_response(400, description="VALIDATION_ERROR, INVALID_PHONE")
    @blp.alt_response(404, description="COUPON_NOT_FOUND, CARD_NOT_FOUND, CUSTOMER_NOT_FOUND")
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """A coupon's state and whether it can be used now; a bound coupon only by its customer,
        identified by ``card_number`` or ``phone``. ``refusal`` says why not (a coupon code of
        ``docs/errors.md`` and a message for the cashier). Nothing is changed."""
        ctx, session = pos_context(), db_session()
        customer_id = _customer_id(session, ctx, data)
        check = check_coupon(
            session, ctx.caller.tenant_id, data["code"], datetime.now(UTC), customer_id
        )
        return wire.coupon_state_body(check)
