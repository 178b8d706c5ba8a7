"""A blueprint that only the tests register: a request schema with money, and routes that
enqueue jobs, to test the plumbing before the real API exists."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask.views import MethodView
from marshmallow import fields, validate

from connector.api import Blueprint
from connector.db import db_session
from mappings.fields import Money, Schema
from processing.errors import InvalidInput
from processing.tenants.service import add_tenant
from sync.queue import enqueue
from tests import jobs


class EchoIn(Schema):
    name = fields.String(required=True)
    amount = Money(required=True)
    quantity = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1000))


class EchoOut(Schema):
    name = fields.String()
    amount = Money()
    total = Money()


class TenantIn(Schema):
    code = fields.String(required=True)
    fail_after_enqueue = fields.Boolean(load_default=False)


class CountIn(Schema):
    identity = fields.String(required=True)
    redis_url = fields.String(required=True)
    counter = fields.String(required=True)


def make_test_blueprint() -> Blueprint:
    blp = Blueprint("test_only", __name__, url_prefix="/test")

    @blp.route("/echo")
    class Echo(MethodView):
        @blp.arguments(EchoIn)
        @blp.response(200, EchoOut)
        def post(self, data: dict[str, Any]) -> dict[str, Any]:
            return {**data, "total": data["amount"] * data["quantity"] / Decimal(2)}

    @blp.route("/tenants")
    class Tenants(MethodView):
        @blp.arguments(TenantIn)
        @blp.response(201)
        def post(self, data: dict[str, Any]) -> dict[str, Any]:
            session = db_session()
            add_tenant(session, data["code"], "Тест")
            enqueue(session, jobs.note_tenant, data["code"], job_id=f"note-{data['code']}")
            if data["fail_after_enqueue"]:
                raise InvalidInput("Отказ после постановки задачи.")
            return {}

    @blp.route("/count")
    class Count(MethodView):
        @blp.arguments(CountIn)
        @blp.response(202)
        def post(self, data: dict[str, Any]) -> dict[str, Any]:
            enqueue(
                db_session(),
                jobs.count_once,
                data["identity"],
                data["redis_url"],
                data["counter"],
                job_id=f"count-{data['identity']}",
            )
            return {}

    @blp.route("/boom")
    class Boom(MethodView):
        def get(self) -> None:
            raise RuntimeError("unexpected failure")

    return blp
