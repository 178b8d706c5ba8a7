"""``GET /api/v1/sync-log`` and ``GET /api/v1/sync-log/runs/<id>``: what the 1C exchanges did,
for support, with a tenant admin token: the runs of import jobs (status, progress, counts, the
first errors) and the entries of exchange calls. The filters are ``sync.log``'s."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import fields, validate

from admin.auth import admin_tenant
from connector.api import Blueprint
from connector.db import db_session
from mappings.admin import LogPageQuery, ZonedDateTime
from mappings.fields import Schema
from sync.log import get_run, read_entries, read_runs
from sync.models import RUN_STATUSES

blp = Blueprint("sync_log", __name__, url_prefix="/api/v1", description="Sync log for support")


class SyncLogQuery(LogPageQuery):
    """``limit`` and ``offset`` page the runs and the entries each."""

    until = ZonedDateTime(metadata={"description": "before this moment (exclusive)"})
    exchange = fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={"description": "one exchange session: its runs and the entries they wrote"},
    )
    source = fields.String(
        validate=validate.Length(min=1, max=32),
        metadata={"description": "commerceml, discount_server: a run's source, an entry's "
                                 "exchange"},
    )  # fmt: skip
    status = fields.String(
        validate=validate.OneOf(RUN_STATUSES), metadata={"description": "runs only"}
    )


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
    run_id = fields.Integer(allow_none=True, metadata={"description": "the run that wrote it"})


class RunErrorOut(Schema):
    path = fields.String(metadata={"description": "the element's path in the file"})
    id = fields.String(metadata={"description": "its Ид; empty when it has none"})
    message = fields.String()


class SyncRunOut(Schema):
    id = fields.Integer()
    source = fields.String()
    exchange = fields.String(
        attribute="session_id", allow_none=True, metadata={"description": "the exchange session"}
    )
    file_name = fields.String(metadata={"description": "the file 1C asked to import"})
    stored_name = fields.String(metadata={"description": "the uploaded file (a zip, maybe)"})
    kind = fields.String(allow_none=True, metadata={"description": "catalog, offers or other"})
    status = fields.String(metadata={"description": "running, done or failed"})
    progress = fields.Integer(metadata={"description": "percent"})
    started_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    counts = fields.Dict(
        keys=fields.String(), values=fields.Integer(),
        metadata={"description": "created, updated, unchanged, deleted, skipped, errors"},
    )  # fmt: skip
    error_count = fields.Integer(metadata={"description": "all errors, listed or not"})
    errors = fields.List(fields.Nested(RunErrorOut), metadata={"description": "the first 100"})
    warnings = fields.List(fields.String())
    message = fields.String(allow_none=True, metadata={"description": "why it failed"})


class SyncLogOut(Schema):
    runs = fields.List(fields.Nested(SyncRunOut))
    entries = fields.List(fields.Nested(SyncLogEntryOut))


RUN_EXAMPLE = {
    "id": 12, "source": "commerceml",
    "exchange": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "file_name": "import.xml", "stored_name": "import0_1.zip", "kind": "catalog",
    "status": "done", "progress": 100, "started_at": "2026-11-23T10:15:00+00:00",
    "finished_at": "2026-11-23T10:16:10+00:00",
    "counts": {"created": 1200, "updated": 35, "skipped": 2, "errors": 1}, "error_count": 1,
    "errors": [{
        "path": "КоммерческаяИнформация/Каталог/Товары/Товар[17]",
        "id": "bd72d8f9-2f9c-11e1-8a7c-001d7d5a4c3b", "message": "Не указано наименование.",
    }],
    "warnings": ["Файл не соответствует схеме CommerceML 2.10: элемент Штрихкод лишний."],
    "message": None,
}  # fmt: skip


@blp.route("/sync-log")
class SyncLog(MethodView):
    @blp.arguments(SyncLogQuery, location="query")
    @blp.response(
        200,
        SyncLogOut,
        example={"runs": [RUN_EXAMPLE], "entries": [{
            "id": 7, "at": "2026-11-23T10:15:00+00:00", "exchange": "discount_server",
            "operation": "ОбновитьДанныеОПродажах", "level": "info", "document_type": "ЧекККМ",
            "document_id": "5f2a0b1c-1111-2222-3333-444455556666",
            "message": "ОбновитьДанныеОПродажах: ЧекККМ 5f2a0b1c-…, строк: 3",
            "counts": {"rows": 3}, "run_id": None,
        }]},
    )  # fmt: skip
    @blp.alt_response(400, description="VALIDATION_ERROR: a filter is not valid")
    @blp.alt_response(401, description="UNAUTHORIZED")
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """The tenant's sync log: the runs (latest started first) and the entries (newest
        first). ``status`` filters the runs only."""
        tenant, session = admin_tenant(), db_session()
        page = {
            "tenant_id": tenant.id, "exchange": query.get("exchange"),
            "source": query.get("source"), "since": query.get("since"),
            "until": query.get("until"), "limit": query["limit"], "offset": query["offset"],
        }  # fmt: skip
        return {
            "runs": read_runs(session, status=query.get("status"), **page),
            "entries": read_entries(session, **page),
        }


@blp.route("/sync-log/runs/<int:run_id>")
class SyncRunById(MethodView):
    @blp.response(200, SyncRunOut, example=RUN_EXAMPLE)
    @blp.alt_response(404, description="NOT_FOUND: no such run of the tenant")
    @blp.alt_response(401, description="UNAUTHORIZED")
    def get(self, run_id: int) -> Any:
        """One run with its first 100 errors (element path, Ид, message) and its warnings."""
        return get_run(db_session(), run_id, tenant_id=admin_tenant().id)
