"""The JSON wire format of coupons: the management API's series, generation, import, issue and
cancel (``/api/v1/admin/coupon-series``, ``/api/v1/admin/coupons``) and the POS check
(``/api/v1/coupons/check``).

Request schemas check types and storage lengths; the rules (formats, code space, states) are
the domain's (``processing/coupons``)."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from mappings.admin import CODE, NAME, AdminIn, ZonedDateTime
from mappings.fields import BoundedInteger, JsonBoolean, Schema
from processing.codes import FORMATS
from processing.coupons.lifecycle import ISSUE_CHANNELS, STATUS_TITLES, CouponCheck, CouponStatus
from processing.coupons.models import CouponSeries

COUPON_CODE = validate.Length(min=1, max=64)


class CouponSeriesIn(AdminIn):
    code = fields.String(
        required=True, validate=CODE, metadata={"description": "unique within the tenant"}
    )
    title = fields.String(required=True, validate=NAME)
    promotion = fields.String(
        load_default=None,
        allow_none=True,
        validate=CODE,
        metadata={"description": "the code of a program of kind promotion"},
    )
    code_format = fields.String(required=True, validate=validate.OneOf(FORMATS))
    code_length = BoundedInteger(
        strict=True,
        load_default=None,
        allow_none=True,
        metadata={
            "description": "numeric and alnum: characters in all, with the prefix (4–20); "
            "gs1: 17–25 (the 12-digit prefix, a check digit, a serial)"
        },
    )
    prefix = fields.String(load_default="", validate=validate.Length(max=15))
    valid_from = ZonedDateTime(load_default=None, allow_none=True)
    valid_to = ZonedDateTime(load_default=None, allow_none=True)
    uses_per_coupon = BoundedInteger(
        strict=True,
        load_default=1,
        allow_none=True,
        metadata={"description": "1, N, or null: unlimited"},
    )
    per_receipt = BoundedInteger(
        strict=True,
        load_default=1,
        allow_none=True,
        metadata={"description": "1, or null: several"},
    )
    bound = JsonBoolean(
        load_default=False, metadata={"description": "only the customer it was issued to"}
    )
    auto = JsonBoolean(
        load_default=False, metadata={"description": "applied without being presented (bound)"}
    )


class CouponSeriesOut(Schema):
    code = fields.String()
    title = fields.String()
    promotion = fields.String(allow_none=True)
    code_format = fields.String()
    code_length = fields.Integer()
    prefix = fields.String()
    valid_from = fields.DateTime(allow_none=True)
    valid_to = fields.DateTime(allow_none=True)
    uses_per_coupon = fields.Integer(allow_none=True)
    per_receipt = fields.Integer(allow_none=True)
    bound = fields.Boolean()
    auto = fields.Boolean()
    status = fields.String(metadata={"description": "active or closed"})
    author = fields.String()
    created_at = fields.DateTime()
    coupons = fields.Dict(
        keys=fields.String(), values=fields.Integer(), metadata={"description": "by status"}
    )


class CouponSeriesListOut(Schema):
    coupon_series = fields.List(fields.Nested(CouponSeriesOut))


class GenerateCouponsIn(AdminIn):
    count = BoundedInteger(strict=True, required=True, metadata={"description": "1 to 1,000,000"})


class ImportCouponsIn(AdminIn):
    codes = fields.List(fields.String(validate=COUPON_CODE), required=True)


class CouponsAddedOut(Schema):
    series = fields.String()
    added = fields.Integer()
    coupons = fields.Dict(keys=fields.String(), values=fields.Integer())


class IssueCouponIn(AdminIn):
    customer_id = BoundedInteger(strict=True, load_default=None, allow_none=True)
    via = fields.String(required=True, validate=validate.OneOf(ISSUE_CHANNELS))


class IssueToCustomersIn(AdminIn):
    customers = fields.List(
        BoundedInteger(strict=True),
        load_default=None,
        validate=validate.Length(min=1, max=100_000),
        metadata={"description": "customer ids; or name a segment"},
    )
    segment = fields.String(
        load_default=None, validate=CODE, metadata={"description": "a segment's code"}
    )
    via = fields.String(load_default="admin", validate=validate.OneOf(ISSUE_CHANNELS))

    @validates_schema
    def _one_of(self, data: dict[str, Any], **_: Any) -> None:
        if (data.get("customers") is None) == (data.get("segment") is None):
            raise ValidationError("Укажите либо список покупателей, либо сегмент.", "customers")


class IssuedOut(Schema):
    series = fields.String()
    issued = fields.Integer(metadata={"description": "coupons handed out now"})
    skipped = fields.Integer(
        metadata={"description": "customers who already hold an unused coupon of the series"}
    )
    coupons = fields.Dict(keys=fields.String(), values=fields.Integer())


class CancelCouponIn(AdminIn):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class RefusalOut(Schema):
    code = fields.String()
    message = fields.String()


class CouponStateOut(Schema):
    """What the till needs: whether the coupon can be used now, and why not."""

    code = fields.String()
    series = fields.String()
    title = fields.String()
    promotion = fields.String(allow_none=True)
    status = fields.String()
    status_title = fields.String()
    usable = fields.Boolean()
    refusal = fields.Nested(RefusalOut, allow_none=True)
    uses = fields.Integer()
    uses_left = fields.Integer(allow_none=True, metadata={"description": "null: unlimited"})
    bound = fields.Boolean()
    valid_from = fields.DateTime(allow_none=True)
    valid_to = fields.DateTime(allow_none=True)


class CouponOut(CouponStateOut):
    """The management view: the coupon's history as well."""

    customer_id = fields.Integer(allow_none=True)
    issued_at = fields.DateTime(allow_none=True)
    issued_via = fields.String(allow_none=True)
    taken_at = fields.DateTime(allow_none=True)
    taken_via = fields.String(allow_none=True)
    redeemed_at = fields.DateTime(allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)
    cancel_reason = fields.String(allow_none=True)


class CouponCheckIn(Schema):
    code = fields.String(required=True, validate=COUPON_CODE)
    card_number = fields.String(load_default=None, validate=validate.Length(min=1, max=32))
    phone = fields.String(load_default=None, validate=validate.Length(min=1, max=32))


def series_body(series: CouponSeries, counts: dict[str, int]) -> dict[str, Any]:
    return {
        "code": series.code,
        "title": series.title,
        "promotion": series.promotion.code if series.promotion is not None else None,
        "code_format": series.code_format,
        "code_length": series.code_length,
        "prefix": series.prefix,
        "valid_from": series.valid_from,
        "valid_to": series.valid_to,
        "uses_per_coupon": series.uses_per_coupon,
        "per_receipt": series.per_receipt,
        "bound": series.bound,
        "auto": series.auto,
        "status": series.status,
        "author": series.author,
        "created_at": series.created_at,
        "coupons": counts,
    }


def coupon_state_body(check: CouponCheck) -> dict[str, Any]:
    coupon, series = check.coupon, check.coupon.series
    refusal = check.refusal
    return {
        "code": coupon.code,
        "series": series.code,
        "title": series.title,
        "promotion": series.promotion.code if series.promotion is not None else None,
        "status": coupon.status,
        "status_title": STATUS_TITLES[CouponStatus(coupon.status)],
        "usable": refusal is None,
        "refusal": None if refusal is None else {"code": refusal.code, "message": refusal.text},
        "uses": coupon.uses,
        "uses_left": check.uses_left,
        "bound": series.bound,
        "valid_from": series.valid_from,
        "valid_to": series.valid_to,
    }


def coupon_body(check: CouponCheck) -> dict[str, Any]:
    coupon = check.coupon
    return {
        **coupon_state_body(check),
        "customer_id": coupon.customer_id,
        "issued_at": coupon.issued_at,
        "issued_via": coupon.issued_via,
        "taken_at": coupon.taken_at,
        "taken_via": coupon.taken_via,
        "redeemed_at": coupon.redeemed_at,
        "cancelled_at": coupon.cancelled_at,
        "cancel_reason": coupon.cancel_reason,
    }
