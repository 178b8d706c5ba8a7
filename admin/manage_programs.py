"""``/api/v1/admin/programs``: the tenant's loyalty programs and their versions (rules, period,
store scope), promotion groups, customer segments (static lists and saved filters) and mass
accruals to a segment, with a tenant admin token. The rules are the domain's
(``processing/programs``, ``processing/promotions``, ``processing/accruals``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask.views import MethodView
from marshmallow import RAISE

from admin.auth import admin_caller, admin_tenant
from admin.manage_api import management_blueprint
from connector.db import db_session
from mappings import admin as wire
from mappings import pos as pos_wire
from processing.accruals.mass import (
    add_mass_accrual,
    cancel_mass_accrual,
    get_mass_accrual,
    tenant_mass_accruals,
)
from processing.accruals.models import MassAccrual
from processing.programs.service import (
    add_program,
    add_version,
    get_program,
    set_program_status,
    tenant_programs,
)
from processing.promotions.models import Segment
from processing.promotions.segments import (
    ACTIVE,
    FILTER,
    PAUSED,
    add_segment,
    change_members,
    change_segment,
    check_refreshable,
    get_segment,
    set_segment_status,
    tenant_segments,
)
from processing.promotions.service import promotion_groups, set_promotion_groups
from processing.receipts.dry_run import dry_run
from processing.tenants.service import get_store, get_store_group
from sync.jobs import mass_accrual_timeout, refresh_segment, run_mass_accrual
from sync.queue import enqueue

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
        groups, for an anonymous buyer, its goods as the catalog knows them; nothing is
        written."""
        tenant = admin_tenant()
        store = get_store(db_session(), tenant, data["store"])
        receipt = pos_wire.receipt_input(data["receipt"], store.timezone)
        result = dry_run(
            db_session(), tenant, data["rules"], receipt, at=receipt.sold_at or datetime.now(UTC),
            timezone=store.timezone,
        )  # fmt: skip
        shelf = {line.number: (line.quantity, line.price) for line in receipt.lines}
        return {**pos_wire.calculation_body(result, shelf), "calculation_id": None,
                "card_number": None, "level": None}  # fmt: skip


SEGMENT_EXAMPLE = {
    "code": "students", "name": "Студенты", "kind": "static", "status": "active", "filter": None,
    "members": 0, "refreshed_at": None,
}  # fmt: skip
FILTER_EXAMPLE = {
    "gender": "female",
    "age": {"min": 18, "max": 35},
    "purchases": {"days": 90, "count": {"min": 2}, "sum": {"min": "3000.00"}},
    "advertising_consent": True,
}
FILTER_SEGMENT_EXAMPLE = {
    "code": "active-women", "name": "Активные покупательницы", "kind": "filter",
    "status": "active", "filter": FILTER_EXAMPLE, "members": 1250,
    "refreshed_at": "2026-12-02T03:00:12+00:00",
}  # fmt: skip


def _refresh_later(segment: Segment) -> None:
    """Materialise a filter segment's members in a job once this request commits."""
    enqueue(db_session(), refresh_segment, segment.id, job_id=f"segment-refresh-{segment.id}")


@blp.route("/segments")
class Segments(MethodView):
    @blp.response(
        200, wire.SegmentsOut, example={"segments": [SEGMENT_EXAMPLE, FILTER_SEGMENT_EXAMPLE]}
    )
    def get(self) -> dict[str, Any]:
        """The tenant's customer segments with their member counts."""
        found = tenant_segments(db_session(), admin_tenant())
        return {"segments": [wire.segment_body(segment) for segment in found]}

    @blp.arguments(
        wire.SegmentIn, unknown=RAISE,
        example={"code": "active-women", "name": "Активные покупательницы",
                 "filter": FILTER_EXAMPLE},
    )  # fmt: skip
    @blp.response(201, wire.SegmentOut, example={**FILTER_SEGMENT_EXAMPLE, "members": 0,
                                                 "refreshed_at": None})  # fmt: skip
    @blp.alt_response(400, description="VALIDATION_ERROR, INVALID_SEGMENT_FILTER")
    @blp.alt_response(409, description="CONFLICT: a segment with this code exists")
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Create a segment: a static list of customers, or a saved filter (``filter``) whose
        members a job computes right after, then daily and on a refresh call."""
        segment = add_segment(
            db_session(), admin_tenant(), data["code"], data["name"], data["filter"]
        )
        if segment.kind == FILTER:
            _refresh_later(segment)
        return wire.segment_body(segment)


@blp.route("/segments/<segment>")
class SegmentByCode(MethodView):
    @blp.response(200, wire.SegmentOut, example=FILTER_SEGMENT_EXAMPLE)
    @blp.alt_response(404, description="SEGMENT_NOT_FOUND")
    def get(self, segment: str) -> dict[str, Any]:
        """One segment (the code in any case)."""
        return wire.segment_body(get_segment(db_session(), admin_tenant(), segment))

    @blp.arguments(
        wire.SegmentChangeIn, unknown=RAISE,
        example={"filter": {**FILTER_EXAMPLE, "age": {"min": 18, "max": 40}}},
    )  # fmt: skip
    @blp.response(200, wire.SegmentOut, example=FILTER_SEGMENT_EXAMPLE)
    @blp.alt_response(400, description="VALIDATION_ERROR, INVALID_SEGMENT_FILTER")
    @blp.alt_response(404, description="SEGMENT_NOT_FOUND")
    @blp.alt_response(
        409,
        description="SEGMENT_IS_STATIC: a static list has no filter; SEGMENT_NOT_ACTIVE: an "
        "archived segment's filter is not changed",
    )
    def patch(self, data: dict[str, Any], segment: str) -> dict[str, Any]:
        """Rename a segment or replace a filter segment's filter; its members follow in a job
        started when the change is saved (a paused segment's once it is resumed)."""
        session = db_session()
        found = change_segment(
            session, get_segment(session, admin_tenant(), segment),
            name=data.get("name"), filter_data=data.get("filter"),
        )  # fmt: skip
        if "filter" in data and found.status == ACTIVE:
            _refresh_later(found)
        return wire.segment_body(found)


@blp.route("/segments/<segment>/refresh")
class SegmentRefresh(MethodView):
    @blp.response(202, wire.SegmentRefreshOut,
                  example={"status": "queued", "segment": FILTER_SEGMENT_EXAMPLE})  # fmt: skip
    @blp.alt_response(404, description="SEGMENT_NOT_FOUND")
    @blp.alt_response(
        409,
        description="SEGMENT_IS_STATIC: a static list is not computed; SEGMENT_NOT_ACTIVE: a "
        "paused or archived segment is not refreshed",
    )
    def post(self, segment: str) -> dict[str, Any]:
        """Recompute a filter segment's members now (a job; ``refreshed_at`` tells when it
        finished)."""
        found = get_segment(db_session(), admin_tenant(), segment)
        check_refreshable(found)
        _refresh_later(found)
        return {"status": "queued", "segment": wire.segment_body(found)}


@blp.route("/segments/<segment>/members")
class SegmentMembers(MethodView):
    @blp.arguments(wire.SegmentMembersIn, unknown=RAISE, example={"add": [101, 102], "remove": []})
    @blp.response(200, wire.SegmentOut, example={**SEGMENT_EXAMPLE, "members": 2})
    @blp.alt_response(400, description="VALIDATION_ERROR: details.customers names the unknown")
    @blp.alt_response(404, description="SEGMENT_NOT_FOUND")
    @blp.alt_response(
        409,
        description="SEGMENT_IS_FILTER: a filter segment's members are computed; "
        "SEGMENT_NOT_ACTIVE: an archived segment's members are not changed",
    )
    def post(self, data: dict[str, Any], segment: str) -> dict[str, Any]:
        """Add and remove customers of a static segment by id; all or nothing (a paused one
        too; not an archived one)."""
        session = db_session()
        found = get_segment(session, admin_tenant(), segment)
        change_members(session, found, data["add"], data["remove"])
        return wire.segment_body(found)


def _change_status(data: dict[str, Any], segment: str) -> dict[str, Any]:
    session = db_session()
    found = get_segment(session, admin_tenant(), segment)
    resumed = found.status == PAUSED and data["status"] == ACTIVE
    set_segment_status(session, found, data["status"], datetime.now(UTC))
    if resumed and found.kind == FILTER:
        _refresh_later(found)
    return wire.segment_body(found)


@blp.route("/segments/<segment>/status")
class SegmentStatus(MethodView):
    @blp.arguments(wire.SegmentStatusIn, unknown=RAISE, example={"status": "paused"})
    @blp.response(200, wire.SegmentOut, example={**FILTER_SEGMENT_EXAMPLE, "status": "paused"})
    @blp.alt_response(400, description="VALIDATION_ERROR, SEGMENT_ARCHIVED")
    @blp.alt_response(404, description="SEGMENT_NOT_FOUND")
    @blp.alt_response(
        409,
        description="SEGMENT_IN_USE: a current or future version of an active or paused "
        "promotion names the segment (details.promotions)",
    )
    def put(self, data: dict[str, Any], segment: str) -> dict[str, Any]:
        """Pause a segment (not refreshed: its members stay and promotions go on using them),
        resume it (a filter segment is refreshed in a job then), or archive it for good (not
        refreshed, its members not changed, named by no new promotion version; refused while
        an active or paused promotion names it in a current or future version)."""
        return _change_status(data, segment)

    @blp.arguments(wire.SegmentStatusIn, unknown=RAISE, example={"status": "paused"})
    @blp.response(200, wire.SegmentOut, example={**FILTER_SEGMENT_EXAMPLE, "status": "paused"})
    @blp.alt_response(400, description="VALIDATION_ERROR, SEGMENT_ARCHIVED")
    @blp.alt_response(404, description="SEGMENT_NOT_FOUND")
    @blp.alt_response(409, description="SEGMENT_IN_USE")
    def post(self, data: dict[str, Any], segment: str) -> dict[str, Any]:
        """The same as PUT, as ``POST /programs/<program>/status`` takes it."""
        return _change_status(data, segment)


MASS_ACCRUAL_EXAMPLE = {
    "id": 17, "segment": "active-women", "name": "Бонусы к 8 Марта", "amount": 300.00,
    "activation_delay_days": 0, "lifetime_days": 30, "run_at": "2026-03-07T06:00:00+00:00",
    "status": "scheduled", "status_title": "запланировано", "members": 0, "credited": 0,
    "skipped": 0, "author": "admin-token:Иванова", "created_at": "2026-03-01T09:12:00+00:00",
    "started_at": None, "finished_at": None, "cancelled_at": None,
}  # fmt: skip


def _run_when_due(accrual: MassAccrual, now: datetime) -> None:
    """An accrual due now starts in a job once this request commits; a later one is started
    by the periodic job (every 5 minutes)."""
    if accrual.run_at <= now:
        enqueue(
            db_session(), run_mass_accrual, accrual.id, job_id=f"mass-accrual-{accrual.id}",
            timeout_s=mass_accrual_timeout(accrual.segment.member_count),
        )  # fmt: skip


@blp.route("/mass-accruals")
class MassAccruals(MethodView):
    @blp.response(200, wire.MassAccrualsOut, example={"mass_accruals": [MASS_ACCRUAL_EXAMPLE]})
    def get(self) -> dict[str, Any]:
        """The tenant's latest mass accruals (200), newest first, with their progress."""
        found = tenant_mass_accruals(db_session(), admin_tenant())
        return {"mass_accruals": [wire.mass_accrual_body(accrual) for accrual in found]}

    @blp.arguments(
        wire.MassAccrualIn, unknown=RAISE,
        example={"segment": "active-women", "name": "Бонусы к 8 Марта", "amount": 300,
                 "run_at": "2026-03-07T09:00:00+03:00", "lifetime_days": 30},
    )  # fmt: skip
    @blp.response(201, wire.MassAccrualOut, example=MASS_ACCRUAL_EXAMPLE)
    @blp.alt_response(400, description="VALIDATION_ERROR: details.field names the field")
    @blp.alt_response(403, description="BONUS_NOT_IN_TARIFF")
    @blp.alt_response(404, description="SEGMENT_NOT_FOUND")
    @blp.alt_response(409, description="SEGMENT_NOT_ACTIVE: an archived segment")
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Schedule bonus to every member of a segment at ``run_at`` (default: now), once per
        customer, as a lot with its own activation delay and lifetime."""
        caller, session, now = admin_caller(), db_session(), datetime.now(UTC)
        accrual = add_mass_accrual(
            session, caller.tenant, get_segment(session, caller.tenant, data["segment"]),
            name=data["name"], amount=data["amount"], run_at=data["run_at"] or now,
            activation_delay_days=data["activation_delay_days"],
            lifetime_days=data["lifetime_days"], author=caller.actor, now=now,
        )  # fmt: skip
        _run_when_due(accrual, now)
        return wire.mass_accrual_body(accrual)


@blp.route("/mass-accruals/<int:accrual_id>")
class MassAccrualById(MethodView):
    @blp.response(200, wire.MassAccrualOut, example={
        **MASS_ACCRUAL_EXAMPLE, "status": "running", "status_title": "выполняется",
        "members": 1250, "credited": 500, "skipped": 12,
        "started_at": "2026-03-07T06:00:40+00:00",
    })  # fmt: skip
    @blp.alt_response(404, description="MASS_ACCRUAL_NOT_FOUND")
    def get(self, accrual_id: int) -> dict[str, Any]:
        """A mass accrual's status and progress."""
        return wire.mass_accrual_body(get_mass_accrual(db_session(), admin_tenant(), accrual_id))


@blp.route("/mass-accruals/<int:accrual_id>/cancel")
class MassAccrualCancel(MethodView):
    @blp.response(200, wire.MassAccrualOut, example={
        **MASS_ACCRUAL_EXAMPLE, "status": "cancelled", "status_title": "отменено",
        "cancelled_at": "2026-03-02T10:00:00+00:00",
    })  # fmt: skip
    @blp.alt_response(404, description="MASS_ACCRUAL_NOT_FOUND")
    @blp.alt_response(409, description="MASS_ACCRUAL_STARTED")
    def post(self, accrual_id: int) -> dict[str, Any]:
        """Cancel a mass accrual that has not started (again: no change)."""
        session = db_session()
        accrual = get_mass_accrual(session, admin_tenant(), accrual_id)
        return wire.mass_accrual_body(cancel_mass_accrual(session, accrual, datetime.now(UTC)))
