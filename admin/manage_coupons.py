"""``/api/v1/admin/coupon-series`` and ``/api/v1/admin/coupons``: the tenant's coupon series,
their codes (generated or imported) and single coupons (issue, cancel, state), with a tenant
admin token. The rules are the domain's (``processing/coupons``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask.views import MethodView
from marshmallow import RAISE

from admin.auth import admin_caller, admin_tenant
from admin.manage_api import management_blueprint
from connector.db import db_session
from mappings import coupons as wire
from processing.coupons.lifecycle import cancel_coupon, coupon_state, find_coupon, issue_coupon
from processing.coupons.offers import issue_to_customers
from processing.coupons.series import (
    add_series,
    close_series,
    generate_coupons,
    get_series,
    import_coupons,
    series_counts,
    tenant_series,
)
from processing.customers.service import get_customer
from processing.programs.service import get_program
from processing.promotions.segments import get_segment

blp = management_blueprint(
    "admin_coupons",
    __name__,
    "Management: coupon series, their codes, issue and cancellation of coupons",
)

AUTHOR_LENGTH = 100  # coupon_series.author

SERIES_IN_EXAMPLE = {
    "code": "spring",
    "title": "Весенняя скидка 10%",
    "promotion": "spring-10",
    "code_format": "alnum",
    "code_length": 10,
    "prefix": "SP",
    "valid_from": "2027-03-01T00:00:00+03:00",
    "valid_to": "2027-06-01T00:00:00+03:00",
    "uses_per_coupon": 1,
    "per_receipt": 1,
    "bound": False,
    "auto": False,
}
SERIES_EXAMPLE = {
    **SERIES_IN_EXAMPLE,
    "valid_from": "2027-02-28T21:00:00+00:00",
    "valid_to": "2027-05-31T21:00:00+00:00",
    "status": "active",
    "author": "admin-token:Иванова (маркетинг)",
    "created_at": "2027-02-20T09:00:00+00:00",
    "coupons": {"generated": 99000, "issued": 1000},
}
COUPON_EXAMPLE = {
    "code": "SP7KX2M9QA",
    "series": "spring",
    "title": "Весенняя скидка 10%",
    "promotion": "spring-10",
    "status": "issued",
    "status_title": "Выдан",
    "usable": False,
    "refusal": {"code": "COUPON_NOT_YET_VALID", "message": "Срок действия купона ещё не начался."},
    "uses": 0,
    "uses_left": 1,
    "bound": False,
    "valid_from": "2027-02-28T21:00:00+00:00",
    "valid_to": "2027-05-31T21:00:00+00:00",
    "customer_id": 42,
    "issued_at": "2027-02-20T09:05:00+00:00",
    "issued_via": "mailing",
    "taken_at": None,
    "taken_via": None,
    "redeemed_at": None,
    "cancelled_at": None,
    "cancel_reason": None,
}


def _now() -> datetime:
    return datetime.now(UTC)


@blp.route("/coupon-series")
class CouponSeriesList(MethodView):
    @blp.response(200, wire.CouponSeriesListOut, example={"coupon_series": [SERIES_EXAMPLE]})
    def get(self) -> dict[str, Any]:
        """The tenant's coupon series with how many coupons each has in each status."""
        session = db_session()
        return {
            "coupon_series": [
                wire.series_body(series, series_counts(session, series))
                for series in tenant_series(session, admin_tenant())
            ]
        }

    @blp.arguments(wire.CouponSeriesIn, unknown=RAISE, example=SERIES_IN_EXAMPLE)
    @blp.response(201, wire.CouponSeriesOut, example={**SERIES_EXAMPLE, "coupons": {}})
    @blp.alt_response(400, description="VALIDATION_ERROR")
    @blp.alt_response(404, description="PROGRAM_NOT_FOUND")
    @blp.alt_response(409, description="CODE_EXISTS")
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Create a coupon series: its code format, validity and usage rules, optionally tied
        to a promotion."""
        caller, session = admin_caller(), db_session()
        promotion = (
            get_program(session, caller.tenant, data["promotion"]) if data["promotion"] else None
        )
        series = add_series(
            session, caller.tenant, code=data["code"], title=data["title"], promotion=promotion,
            code_format_kind=data["code_format"], code_length=data["code_length"],
            prefix=data["prefix"], valid_from=data["valid_from"], valid_to=data["valid_to"],
            uses_per_coupon=data["uses_per_coupon"], per_receipt=data["per_receipt"],
            bound=data["bound"], auto=data["auto"], author=caller.actor[:AUTHOR_LENGTH],
            now=_now(),
        )  # fmt: skip
        return wire.series_body(series, {})


@blp.route("/coupon-series/<series>/close")
class CloseCouponSeries(MethodView):
    @blp.response(200, wire.CouponSeriesOut, example={**SERIES_EXAMPLE, "status": "closed"})
    @blp.alt_response(404, description="COUPON_SERIES_NOT_FOUND")
    def post(self, series: str) -> dict[str, Any]:
        """Close the series for good: its coupons are no longer issued, taken or used."""
        session = db_session()
        found = get_series(session, admin_tenant(), series)
        close_series(session, found)
        return wire.series_body(found, series_counts(session, found))


@blp.route("/coupon-series/<series>/generate")
class GenerateCoupons(MethodView):
    @blp.arguments(wire.GenerateCouponsIn, unknown=RAISE, example={"count": 100000})
    @blp.response(
        201,
        wire.CouponsAddedOut,
        example={"series": "spring", "added": 100000, "coupons": {"generated": 100000}},
    )
    @blp.alt_response(400, description="VALIDATION_ERROR, COUPON_BATCH_TOO_LARGE")
    @blp.alt_response(404, description="COUPON_SERIES_NOT_FOUND")
    @blp.alt_response(422, description="COUPON_CODE_SPACE_TOO_SMALL, COUPON_SERIES_CLOSED")
    def post(self, data: dict[str, Any], series: str) -> dict[str, Any]:
        """Generate coupons (status generated) with random codes of the series' format, none
        equal to another coupon code of the tenant; up to 1,000,000 at once."""
        caller, session = admin_caller(), db_session()
        found = get_series(session, caller.tenant, series)
        added = generate_coupons(
            session, found, data["count"], author=caller.actor[:AUTHOR_LENGTH], now=_now()
        )
        return {"series": found.code, "added": added, "coupons": series_counts(session, found)}


@blp.route("/coupon-series/<series>/import")
class ImportCoupons(MethodView):
    @blp.arguments(
        wire.ImportCouponsIn, unknown=RAISE, example={"codes": ["SP7KX2M9QA", "SPHD4R8TWE"]}
    )
    @blp.response(
        201,
        wire.CouponsAddedOut,
        example={"series": "spring", "added": 2, "coupons": {"issued": 2}},
    )
    @blp.alt_response(
        400, description="VALIDATION_ERROR, COUPON_CODE_INVALID, COUPON_BATCH_TOO_LARGE"
    )
    @blp.alt_response(404, description="COUPON_SERIES_NOT_FOUND")
    @blp.alt_response(409, description="COUPON_CODES_DUPLICATE")
    @blp.alt_response(422, description="COUPON_SERIES_CLOSED")
    def post(self, data: dict[str, Any], series: str) -> dict[str, Any]:
        """Import coupons handed out elsewhere (status issued, ``issued_via`` import), all or
        none: every code must fit the series' format and be new to the tenant."""
        caller, session = admin_caller(), db_session()
        found = get_series(session, caller.tenant, series)
        added = import_coupons(
            session, found, data["codes"], author=caller.actor[:AUTHOR_LENGTH], now=_now()
        )
        return {"series": found.code, "added": added, "coupons": series_counts(session, found)}


@blp.route("/coupon-series/<series>/issue")
class IssueToCustomers(MethodView):
    @blp.arguments(
        wire.IssueToCustomersIn, unknown=RAISE, example={"segment": "sleeping", "via": "mailing"}
    )
    @blp.response(
        200,
        wire.IssuedOut,
        example={"series": "back-to-us", "issued": 1200, "skipped": 3,
                 "coupons": {"issued": 1203}},
    )  # fmt: skip
    @blp.alt_response(400, description="VALIDATION_ERROR, COUPON_BATCH_TOO_LARGE")
    @blp.alt_response(404, description="COUPON_SERIES_NOT_FOUND, SEGMENT_NOT_FOUND")
    @blp.alt_response(
        422,
        description="COUPON_SERIES_CLOSED, COUPON_EXPIRED, COUPON_CODE_SPACE_TOO_SMALL, "
        "SEGMENT_NOT_ACTIVE",
    )
    def post(self, data: dict[str, Any], series: str) -> dict[str, Any]:
        """Issue one coupon of the series to each customer of a list or a segment who holds no
        unused coupon of it yet (a personal offer: a bound, auto, single-use series). Generated
        coupons are used first, new ones made for the rest; all or nothing."""
        caller, session = admin_caller(), db_session()
        found = get_series(session, caller.tenant, series)
        segment = (
            get_segment(session, caller.tenant, data["segment"])
            if data["segment"] is not None
            else None
        )
        outcome = issue_to_customers(
            session, found, customer_ids=data["customers"], segment=segment, via=data["via"],
            author=caller.actor[:AUTHOR_LENGTH], now=_now(),
        )  # fmt: skip
        return {
            "series": found.code,
            "issued": outcome.issued,
            "skipped": outcome.skipped,
            "coupons": series_counts(session, found),
        }


@blp.route("/coupons/<code>")
class CouponState(MethodView):
    @blp.response(200, wire.CouponOut, example=COUPON_EXAMPLE)
    @blp.alt_response(404, description="COUPON_NOT_FOUND")
    def get(self, code: str) -> dict[str, Any]:
        """A coupon's state and history, and whether it can be used now (by its customer, for
        a bound coupon)."""
        coupon = find_coupon(db_session(), admin_tenant().id, code)
        return wire.coupon_body(coupon_state(coupon, _now(), coupon.customer_id))


@blp.route("/coupons/<code>/issue")
class IssueCoupon(MethodView):
    @blp.arguments(wire.IssueCouponIn, unknown=RAISE, example={"customer_id": 42, "via": "mailing"})
    @blp.response(200, wire.CouponOut, example=COUPON_EXAMPLE)
    @blp.alt_response(400, description="VALIDATION_ERROR")
    @blp.alt_response(404, description="COUPON_NOT_FOUND, CUSTOMER_NOT_FOUND")
    @blp.alt_response(
        422,
        description="COUPON_TRANSITION_REFUSED, COUPON_CUSTOMER_REQUIRED, COUPON_EXPIRED, "
        "COUPON_SERIES_CLOSED",
    )
    def post(self, data: dict[str, Any], code: str) -> dict[str, Any]:
        """Issue a generated coupon to a customer (``customer_id``) or as a bearer coupon
        (``null``; not for a bound series)."""
        tenant, session, now = admin_tenant(), db_session(), _now()
        coupon = find_coupon(session, tenant.id, code)
        customer = (
            get_customer(session, tenant, data["customer_id"])
            if data["customer_id"] is not None
            else None
        )
        coupon = issue_coupon(session, coupon, via=data["via"], customer=customer, now=now)
        return wire.coupon_body(coupon_state(coupon, now, coupon.customer_id))


@blp.route("/coupons/<code>/cancel")
class CancelCoupon(MethodView):
    @blp.arguments(
        wire.CancelCouponIn, unknown=RAISE, example={"reason": "Ошибочно выдан покупателю"}
    )
    @blp.response(
        200,
        wire.CouponOut,
        example={**COUPON_EXAMPLE, "status": "cancelled", "status_title": "Аннулирован"},
    )
    @blp.alt_response(400, description="VALIDATION_ERROR")
    @blp.alt_response(404, description="COUPON_NOT_FOUND")
    @blp.alt_response(422, description="COUPON_TRANSITION_REFUSED (redeemed, expired, cancelled)")
    def post(self, data: dict[str, Any], code: str) -> dict[str, Any]:
        """Cancel a coupon not yet used up, with a reason."""
        tenant, session, now = admin_tenant(), db_session(), _now()
        coupon = find_coupon(session, tenant.id, code)
        coupon = cancel_coupon(session, coupon, reason=data["reason"], now=now)
        return wire.coupon_body(coupon_state(coupon, now, coupon.customer_id))
