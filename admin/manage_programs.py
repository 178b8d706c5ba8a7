"""``/api/v1/admin/programs``: the tenant's loyalty programs and their versions (rules, period,
store scope), with a tenant admin token. The rules are the domain's (``processing/programs``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask.views import MethodView
from marshmallow import RAISE

from admin.auth import admin_tenant
from admin.manage_api import management_blueprint
from connector.db import db_session
from mappings import admin as wire
from mappings import pos as pos_wire
from processing.programs.service import (
    add_program,
    add_version,
    get_program,
    set_program_status,
    tenant_programs,
)
from processing.promotions.segments import (
    add_segment,
    change_members,
    get_segment,
    tenant_segments,
)
from processing.promotions.service import promotion_groups, set_promotion_groups
from processing.receipts.dry_run import dry_run
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


@blp.route("/programs/<program>/status")
class ProgramStatus(MethodView):
    @blp.arguments(wire.ProgramStatusIn, unknown=RAISE, example={"status": "paused"})
    @blp.response(200, wire.ProgramOut, example={**PROGRAM_EXAMPLE, "status": "paused"})
    @blp.alt_response(400, description="VALIDATION_ERROR, PROGRAM_ARCHIVED")
    @blp.alt_response(404, description="PROGRAM_NOT_FOUND")
    def post(self, data: dict[str, Any], program: str) -> dict[str, Any]:
        """Pause a program (kept, not applied), resume it, or archive it for good (kept for
        history and returns, never applied again)."""
        tenant, session = admin_tenant(), db_session()
        found = set_program_status(session, get_program(session, tenant, program), data["status"])
        return wire.program_body(found)


GROUPS_EXAMPLE = {
    "groups": [
        {"code": "sequential", "name": "Купоны", "mode": "multiply", "order": 10,
         "level_discount": False},
        {"code": "main", "name": "Основная", "mode": "max", "order": 100, "level_discount": True},
    ]
}  # fmt: skip


@blp.route("/promotion-groups")
class PromotionGroups(MethodView):
    @blp.response(200, wire.PromotionGroupsOut, example=GROUPS_EXAMPLE)
    def get(self) -> dict[str, Any]:
        """How promotions combine: groups apply one after another by ``order``; inside a group
        per line ``first``, ``max``, ``min``, ``sum`` or ``multiply`` (see docs/promotions.md)."""
        return {"groups": promotion_groups(admin_tenant())}

    @blp.arguments(wire.PromotionGroupsIn, unknown=RAISE, example=GROUPS_EXAMPLE)
    @blp.response(200, wire.PromotionGroupsOut, example=GROUPS_EXAMPLE)
    @blp.alt_response(400, description="VALIDATION_ERROR, INVALID_PROGRAM_RULES")
    def put(self, data: dict[str, Any]) -> dict[str, Any]:
        """Replace the groups (the default group ``main`` is always there); promotions naming
        a group that is gone fall back to ``main``."""
        groups = set_promotion_groups(db_session(), admin_tenant(), data["groups"])
        return {"groups": groups}


@blp.route("/promotions/dry-run")
class PromotionDryRun(MethodView):
    @blp.arguments(
        wire.DryRunIn,
        unknown=RAISE,
        example={
            "rules": {"receipt": {"sum": {"min": "3000.00"}},
                      "reward": {"kind": "fixed", "value": "300.00"}},
            "store": "msk-1",
            "receipt": {"cashier": "c-01", "shift": "1", "number": "1",
                        "sold_at": "2026-12-05T12:00:00",
                        "lines": [{"line": 1, "goods": "g-100", "qty": 2, "price": 1600,
                                   "sum": 3200}]},
        },
    )  # fmt: skip
    @blp.response(200, pos_wire.CalculationOut)
    @blp.alt_response(400, description="VALIDATION_ERROR, INVALID_PROGRAM_RULES")
    @blp.alt_response(404, description="STORE_NOT_FOUND")
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """What a promotion's rules would give on a receipt body, alone with the tenant's
        groups, for an anonymous buyer; nothing is written."""
        tenant = admin_tenant()
        store = get_store(db_session(), tenant, data["store"])
        receipt = pos_wire.receipt_input(data["receipt"], store.timezone)
        result = dry_run(
            tenant, data["rules"], receipt, at=receipt.sold_at or datetime.now(UTC),
            timezone=store.timezone,
        )  # fmt: skip
        shelf = {line.number: (line.quantity, line.price) for line in receipt.lines}
        return {**pos_wire.calculation_body(result, shelf), "calculation_id": None,
                "card_number": None, "level": None}  # fmt: skip


SEGMENT_EXAMPLE = {"code": "students", "name": "Студенты", "members": 0}


@blp.route("/segments")
class Segments(MethodView):
    @blp.response(200, wire.SegmentsOut, example={"segments": [SEGMENT_EXAMPLE]})
    def get(self) -> dict[str, Any]:
        """The tenant's customer segments with their member counts."""
        found = tenant_segments(db_session(), admin_tenant())
        return {"segments": [{"code": s.code, "name": s.name, "members": n} for s, n in found]}

    @blp.arguments(wire.SegmentIn, unknown=RAISE, example={"code": "students", "name": "Студенты"})
    @blp.response(201, wire.SegmentOut, example=SEGMENT_EXAMPLE)
    @blp.alt_response(400, description="VALIDATION_ERROR")
    @blp.alt_response(409, description="CONFLICT: a segment with this code exists")
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Create a segment (a named list of customers) that promotions can be limited to."""
        segment = add_segment(db_session(), admin_tenant(), data["code"], data["name"])
        return {"code": segment.code, "name": segment.name, "members": 0}


@blp.route("/segments/<segment>/members")
class SegmentMembers(MethodView):
    @blp.arguments(wire.SegmentMembersIn, unknown=RAISE, example={"add": [101, 102], "remove": []})
    @blp.response(200, wire.SegmentOut, example={**SEGMENT_EXAMPLE, "members": 2})
    @blp.alt_response(400, description="VALIDATION_ERROR: details.customers names the unknown")
    @blp.alt_response(404, description="SEGMENT_NOT_FOUND")
    def post(self, data: dict[str, Any], segment: str) -> dict[str, Any]:
        """Add and remove customers by id; all or nothing."""
        session = db_session()
        found = get_segment(session, admin_tenant(), segment)
        members = change_members(session, found, data["add"], data["remove"])
        return {"code": found.code, "name": found.name, "members": members}
