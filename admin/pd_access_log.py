"""``GET /api/v1/pd-access-log``: the 152-FZ log of access to customers' personal data, for the
tenant's administrator (admin token): who read or changed which customer, how and when."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import fields, validate

from admin.auth import admin_tenant
from connector.api import Blueprint
from connector.db import db_session
from mappings.admin import LogPageQuery
from mappings.fields import BoundedInteger, Schema
from processing.customers.access import read_access_log

blp = Blueprint(
    "pd_access_log",
    __name__,
    url_prefix="/api/v1",
    description="Personal-data access log (152-FZ)",
)


class AccessLogQuery(LogPageQuery):
    customer = BoundedInteger(validate=validate.Range(min=1, max=2**31 - 1))


class AccessLogEntryOut(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    customer_id = fields.Integer()
    action = fields.String()
    actor = fields.String()
    channel = fields.String()
    request_id = fields.String(allow_none=True)
    # Named apart: an attribute called ``fields`` would hide marshmallow's module here.
    field_names = fields.List(fields.String(), attribute="fields", data_key="fields")


class AccessLogOut(Schema):
    entries = fields.List(fields.Nested(AccessLogEntryOut))


@blp.route("/pd-access-log")
class PersonalDataAccessLog(MethodView):
    @blp.arguments(AccessLogQuery, location="query")
    @blp.response(
        200,
        AccessLogOut,
        example={"entries": [{
            "id": 981, "at": "2026-11-23T10:15:00+00:00", "customer_id": 42, "action": "read",
            "actor": "pos:msk-1/pos-01", "channel": "api",
            "fields": ["first_name", "last_name"], "request_id": "4be1c0a2d8f94c3e",
        }]},
    )  # fmt: skip
    @blp.alt_response(401, description="UNAUTHORIZED")
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Who read or changed which customer's personal data, newest first (field names only,
        never the values)."""
        tenant = admin_tenant()
        entries = read_access_log(
            db_session(), tenant_id=tenant.id, customer_id=query.get("customer"),
            since=query.get("since"), limit=query["limit"], offset=query["offset"],
        )  # fmt: skip
        return {"entries": entries}
