"""``GET /api/v1/health``: is the database (and Redis, when configured) reachable."""

from __future__ import annotations

import logging
from typing import Any

from flask.views import MethodView
from marshmallow import fields
from sqlalchemy import text

from connector.api import Blueprint
from connector.db import app_runtime, db_session
from mappings.fields import Schema
from processing.errors import Unavailable

log = logging.getLogger(__name__)

blp = Blueprint("health", __name__, url_prefix="/api/v1", description="Service health", security=[])


class HealthSchema(Schema):
    status = fields.String(metadata={"example": "ok"})
    database = fields.String(metadata={"example": "ok"})
    redis = fields.String(metadata={"example": "not_configured"})


class HealthUnavailable(Unavailable):
    code = "HEALTH_CHECK_FAILED"
    message = "Сервис недоступен: нет связи с базой данных или Redis."


def _check_database() -> str:
    try:
        db_session().execute(text("SELECT 1"))
    except Exception:
        log.exception("health: database check failed")
        return "error"
    return "ok"


def _check_redis() -> str:
    runtime = app_runtime()
    if not runtime.settings.uses_redis:
        return "not_configured"
    try:
        runtime.redis().ping()
    except Exception:
        log.exception("health: redis check failed")
        return "error"
    return "ok"


@blp.route("/health")
class Health(MethodView):
    @blp.response(200, HealthSchema, example={"status": "ok", "database": "ok", "redis": "ok"})
    @blp.alt_response(503, description="HEALTH_CHECK_FAILED: the database or Redis is down")
    def get(self) -> dict[str, Any]:
        """Check the database and, when REDIS_URL is set, Redis."""
        checks = {"database": _check_database(), "redis": _check_redis()}
        if "error" in checks.values():
            raise HealthUnavailable(details=checks)
        return {"status": "ok", **checks}
