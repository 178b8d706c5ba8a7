"""``/api/v1/admin/programs``: the tenant's loyalty programs and their versions (rules, period,
store scope), with a tenant admin token. The rules are the domain's (``processing/programs``)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import RAISE

from admin.auth import admin_tenant
from admin.manage_api import management_blueprint
from connector.db import db_session
from mappings import admin as wire
from processing.programs.service import add_program, add_version, get_program, tenant_programs
from processing.tenants.service import get_store, get_store_group

blp = management_blueprint(
    "admin_programs",
    __name__,
    "Management: loyalty programs and their versions (rules, period, store scope)",
)

BONUS_RULES_EXAMPLE = {
    "accrual_percent": "3",
    "accrual_percent_by_level": {"silver": "5", "gold": "7"},
    "max_payment_percent": "50",
    "activation_delay_days": 14,
    "lifetime_days": 365,
}
VERSION_EXAMPLE = {
    "id": 7,
    "effective_from": "2026-12-01T00:00:00+00:00",
    "effective_to": None,
    "rules": BONUS_RULES_EXAMPLE,
    "stores": ["msk-1"],
    "store_groups": ["moscow"],
}
PROGRAM_EXAMPLE = {"code": "bonus", "kind": "bonus", "name": "Бонусная программа", "versions": []}


@blp.route("/programs")
class Programs(MethodView):
    @blp.response(
        200,
        wire.TenantProgramsOut,
        example={"programs": [{**PROGRAM_EXAMPLE, "versions": [VERSION_EXAMPLE]}]},
    )
    def get(self) -> dict[str, Any]:
        """The tenant's programs (discount_level, fixed_discount, bonus) with every version."""
        tenant = admin_tenant()
        return {"programs": [wire.program_body(p) for p in tenant_programs(db_session(), tenant)]}

    @blp.arguments(
        wire.ProgramIn,
        unknown=RAISE,
        example={"kind": "bonus", "code": "bonus", "name": "Бонусная программа"},
    )
    @blp.response(201, wire.ProgramOut, example=PROGRAM_EXAMPLE)
    @blp.alt_response(400, description="VALIDATION_ERROR")
    @blp.alt_response(409, description="CONFLICT: a program with this code exists")
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Create a program; its rules come with its first version."""
        tenant = admin_tenant()
        program = add_program(db_session(), tenant, data["kind"], data["code"], data["name"])
        return wire.program_body(program)


@blp.route("/programs/<program>/versions")
class ProgramVersions(MethodView):
    @blp.arguments(
        wire.VersionIn,
        unknown=RAISE,
        example={
            "rules": BONUS_RULES_EXAMPLE,
            "effective_from": "2026-12-01T00:00:00+03:00",
            "effective_to": None,
            "stores": ["msk-1"],
            "store_groups": ["moscow"],
        },
    )
    @blp.response(
        201,
        wire.ProgramOut,
        example={**PROGRAM_EXAMPLE, "versions": [
            {**VERSION_EXAMPLE, "id": 3, "effective_from": "2026-01-01T00:00:00+00:00",
             "effective_to": "2026-12-01T00:00:00+00:00", "stores": [], "store_groups": []},
            VERSION_EXAMPLE,
        ]},
    )  # fmt: skip
    @blp.alt_response(400, description="VALIDATION_ERROR, INVALID_PROGRAM_RULES")
    @blp.alt_response(404, description="PROGRAM_NOT_FOUND, STORE_NOT_FOUND, STORE_GROUP_NOT_FOUND")
    @blp.alt_response(409, description="PROGRAM_VERSION_OVERLAP")
    def post(self, data: dict[str, Any], program: str) -> dict[str, Any]:
        """Add a version: rules valid from ``effective_from`` (to ``effective_to``, exclusive)
        in the listed stores and store groups (none: every store). An open-ended version that
        started earlier is closed at ``effective_from``; any other overlap is refused. Answers
        the program with all its versions."""
        tenant, session = admin_tenant(), db_session()
        found = get_program(session, tenant, program)
        stores = [get_store(session, tenant, code) for code in dict.fromkeys(data["stores"])]
        groups = [
            get_store_group(session, tenant, code) for code in dict.fromkeys(data["store_groups"])
        ]
        add_version(
            session, found, data["rules"], data["effective_from"], data["effective_to"],
            stores=stores, store_groups=groups,
        )  # fmt: skip
        session.expire(found, ["versions"])
        return wire.program_body(found)
