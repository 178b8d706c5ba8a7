"""``GET /api/v1/sync-log``: what the 1C exchanges did, for support, with a tenant admin token."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import fields

from admin.auth import admin_tenant
from connector.api import Blueprint
from connector.db import db_session
from mappings.admin import LogPageQuery
from mappings.fields import Schema
from sync.log import read_entries

blp = Blueprint("sync_log", __name__, url_prefix="/api/v1", description="Sync log for support")


class SyncLogEntryOut(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    exchange = fields.String()
    operation = fields.String()
    level = fields.String()
    document_type = fields.String(allow_none=True)
    document_id = fields.String(allow_none=True)
    message = fields.String()
    counts = fields.Dict()


class SyncLogOut(Schema):
    entries = fields.List(fields.Nested(SyncLogEntryOut))


@blp.route("/sync-log")
class SyncLog(MethodView):
    @blp.arguments(LogPageQuery, location="query")
    @blp.response(
        200,
        SyncLogOut,
        example={"entries": [{
            "id": 7, "at": "2026-11-23T10:15:00+00:00", "exchange": "discount_server",
            "operation": "ОбновитьДанныеОПродажах", "level": "info", "document_type": "ЧекККМ",
            "document_id": "5f2a0b1c-1111-2222-3333-444455556666",
            "message": "ОбновитьДанныеОПродажах: ЧекККМ 5f2a0b1c-…, строк: 3",
            "counts": {"rows": 3},
        }]},
    )  # fmt: skip
    @blp.alt_response(401, description="UNAUTHORIZED")
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """The tenant's sync log entries, newest first."""
        tenant = admin_tenant()
        entries = read_entries(
            db_session(), tenant_id=tenant.id, since=query.get("since"),
            limit=query["limit"], offset=query["offset"],
        )  # fmt: skip
        return {"entries": entries}
