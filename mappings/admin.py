"""The JSON wire format of the management API (``/api/v1/admin/...``) and of the management CLI:
programs and their versions, store groups, stores and POS, card series, customer segments and
mass accruals, the questionnaire, the processing settings and the tariff.

Request schemas check types, storage lengths and the domain's own lists of kinds (so the
OpenAPI document shows them); every business rule (code formats, ranges, overlaps, limits) is
the domain's, which names the refused field the same way. Unknown request fields are refused
(``AdminIn``): a mistyped setting must not be ignored silently. The CLI reads its values through
these schemas too, so ``true``, ``0.05`` and dates mean the same there.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from marshmallow import RAISE, fields, validate

from mappings.dates import RANGE_TEXT, is_empty_1c_date, parse_iso_datetime
from mappings.fields import BoundedInteger, JsonBoolean, Money, Schema
from mappings.pos import ReceiptSchema
from processing.accruals.mass import STATUS_TITLES as MASS_STATUS_TITLES
from processing.accruals.models import MassAccrual
from processing.cards.models import CardTemplate
from processing.cards.numbers import CHECK_DIGITS
from processing.customers.models import QuestionnaireField
from processing.customers.questionnaire import Questionnaire
from processing.programs.models import Program, ProgramVersion
from processing.programs.rules import PARSERS
from processing.programs.service import PROGRAM_STATUSES
from processing.promotions.models import Segment
from processing.promotions.rules import GROUP_MODES
from processing.promotions.segments import SEGMENT_STATUSES
from processing.tenants.models import Pos, Store, StoreGroup, Tenant
from processing.tenants.service import QUESTIONNAIRE_POLICIES
from processing.tenants.settings import RETURN_POLICIES

CODE = validate.Length(min=1, max=64)
NAME = validate.Length(min=1, max=255)
# Each generated number is in the answer: a larger batch goes through the CLI (cards generate).
MAX_CARDS_PER_REQUEST = 10_000


class AdminIn(Schema):
    """Base of management requests: an unknown field is refused, not ignored."""

    class Meta:
        unknown = RAISE


def _code(description: str, **kwargs: Any) -> fields.String:
    return fields.String(validate=CODE, metadata={"description": description}, **kwargs)


def _codes(description: str, **kwargs: Any) -> fields.List[str]:
    return fields.List(
        fields.String(validate=CODE), metadata={"description": description}, **kwargs
    )


class ZonedDateTime(fields.DateTime):
    """ISO 8601 with its UTC offset (``2026-12-01T00:00:00+03:00``), years 1900–2999, as an
    aware UTC value: a program's period spans stores in different zones, so no zone is guessed."""

    default_error_messages = {  # noqa: RUF012 - marshmallow merges this class attribute
        "invalid": "Ожидается дата и время ISO 8601 со смещением от UTC, например "
        f"2026-12-01T00:00:00+03:00 (годы {RANGE_TEXT}).",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        moment = parse_iso_datetime(value) if isinstance(value, str) else None
        if moment is None or moment.utcoffset() is None or is_empty_1c_date(moment):
            raise self.make_error("invalid")
        return moment.astimezone(UTC)


def _decimals_as_text(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {key: _decimals_as_text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decimals_as_text(item) for item in value]
    return value


class Rules(fields.Dict):
    """A program version's rules (``processing/programs/rules.py``), stored as JSON. The rules
    read percents and sums as decimal text: a JSON number with a fraction is kept as its text
    (``2.5`` → ``"2.5"``), never as a float."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        rules = super()._deserialize(value, attr, data, **kwargs)  # type: ignore[no-untyped-call]
        return _decimals_as_text(rules)


# Programs


class ProgramIn(AdminIn):
    kind = fields.String(required=True, validate=validate.OneOf(list(PARSERS)))
    code = _code("unique within the tenant: Latin letters, digits, '.', '_', '-'", required=True)
    name = fields.String(required=True, validate=NAME)


class VersionIn(AdminIn):
    rules = Rules(required=True, metadata={"description": "as in processing/programs/rules.py"})
    effective_from = ZonedDateTime(required=True)
    effective_to = ZonedDateTime(
        load_default=None, allow_none=True, metadata={"description": "exclusive; null: open"}
    )
    stores = _codes("store codes; none of stores and store_groups: all stores", load_default=list)
    store_groups = _codes("store group codes", load_default=list)


class VersionOut(Schema):
    id = fields.Integer()
    effective_from = fields.DateTime()
    effective_to = fields.DateTime(allow_none=True)
    rules = fields.Dict()
    stores = fields.List(fields.String())
    store_groups = fields.List(fields.String())


class ProgramOut(Schema):
    code = fields.String()
    kind = fields.String()
    name = fields.String()
    status = fields.String(metadata={"description": "active, paused or archived"})
    versions = fields.List(fields.Nested(VersionOut))


class ProgramStatusIn(AdminIn):
    status = fields.String(
        required=True, validate=validate.OneOf(PROGRAM_STATUSES),
        metadata={"description": "active, paused (kept, not applied) or archived (for good)"},
    )  # fmt: skip


class PromotionGroupIn(AdminIn):
    code = _code("the group's code, named by promotions' rules.group", required=True)
    name = fields.String(load_default=None, validate=NAME)
    mode = fields.String(
        load_default="max", validate=validate.OneOf(GROUP_MODES),
        metadata={"description": "first (вытеснение), max, min, sum (сложение), multiply "
                                 "(умножение: one after another)"},
    )  # fmt: skip
    order = BoundedInteger(
        load_default=100, strict=True, validate=validate.Range(0, 1_000_000),
        metadata={"description": "groups apply by order"},
    )  # fmt: skip
    level_discount = JsonBoolean(
        load_default=False, metadata={"description": "the card level's discount takes part"}
    )


class PromotionGroupsIn(AdminIn):
    groups = fields.List(fields.Nested(PromotionGroupIn), required=True)


class PromotionGroupOut(Schema):
    code = fields.String()
    name = fields.String()
    mode = fields.String()
    order = fields.Integer()
    level_discount = JsonBoolean()


class PromotionGroupsOut(Schema):
    groups = fields.List(fields.Nested(PromotionGroupOut))


FILTER_DESCRIPTION = (
    "a saved filter over customer fields and purchases (docs/segments-and-accruals.md); "
    "without it the segment is a static list"
)


class SegmentIn(AdminIn):
    code = _code("unique within the tenant (whatever the case), named by promotions' "
                 "customer.segments", required=True)  # fmt: skip
    name = fields.String(required=True, validate=NAME)
    filter = Rules(load_default=None, allow_none=True, metadata={"description": FILTER_DESCRIPTION})


class SegmentChangeIn(AdminIn):
    name = fields.String(validate=NAME)
    filter = Rules(metadata={"description": "a filter segment's new filter"})


class SegmentMembersIn(AdminIn):
    add = fields.List(BoundedInteger(strict=True), load_default=list,
                      metadata={"description": "customer ids to add"})  # fmt: skip
    remove = fields.List(BoundedInteger(strict=True), load_default=list,
                         metadata={"description": "customer ids to remove"})  # fmt: skip


class SegmentStatusIn(AdminIn):
    status = fields.String(
        required=True, validate=validate.OneOf(SEGMENT_STATUSES),
        metadata={"description": "active, paused (not refreshed, members kept, still used by "
                                 "promotions) or archived (for good)"},
    )  # fmt: skip


class SegmentOut(Schema):
    code = fields.String()
    name = fields.String()
    kind = fields.String(metadata={"description": "static (a list) or filter"})
    status = fields.String(metadata={"description": "active, paused or archived"})
    filter = fields.Dict(allow_none=True)
    members = fields.Integer()
    refreshed_at = fields.DateTime(
        allow_none=True, metadata={"description": "a filter segment's last finished refresh"}
    )


class SegmentsOut(Schema):
    segments = fields.List(fields.Nested(SegmentOut))


class SegmentRefreshOut(Schema):
    status = fields.String(metadata={"description": "queued: the refresh runs as a job"})
    segment = fields.Nested(SegmentOut)


def segment_body(segment: Segment) -> dict[str, Any]:
    return {
        "code": segment.code,
        "name": segment.name,
        "kind": segment.kind,
        "status": segment.status,
        "filter": segment.filter,
        "members": segment.member_count,
        "refreshed_at": segment.refreshed_at,
    }


# Mass accruals


class MassAccrualIn(AdminIn):
    segment = _code("the segment whose members get the bonus", required=True)
    name = fields.String(
        required=True, validate=NAME, metadata={"description": "the reason shown in the ledger"}
    )
    amount = Money(required=True, metadata={"description": "bonus per customer"})
    run_at = ZonedDateTime(
        load_default=None, allow_none=True, metadata={"description": "when to run; null: now"}
    )
    activation_delay_days = BoundedInteger(load_default=0, strict=True)
    lifetime_days = BoundedInteger(
        load_default=None, allow_none=True, strict=True,
        metadata={"description": "from the activation; null: never expires"},
    )  # fmt: skip


class MassAccrualOut(Schema):
    id = fields.Integer()
    segment = fields.String()
    name = fields.String()
    amount = Money()
    activation_delay_days = fields.Integer()
    lifetime_days = fields.Integer(allow_none=True)
    run_at = fields.DateTime()
    status = fields.String(metadata={"description": "scheduled, running, done or cancelled"})
    status_title = fields.String()
    members = fields.Integer(metadata={"description": "the segment's members when it started"})
    credited = fields.Integer()
    skipped = fields.Integer(
        metadata={"description": "members not allowed accruals or without an active card"}
    )
    author = fields.String()
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)


class MassAccrualsOut(Schema):
    mass_accruals = fields.List(fields.Nested(MassAccrualOut))


def mass_accrual_body(accrual: MassAccrual) -> dict[str, Any]:
    return {
        "id": accrual.id,
        "segment": accrual.segment.code,
        "name": accrual.name,
        "amount": accrual.amount,
        "activation_delay_days": accrual.activation_delay_days,
        "lifetime_days": accrual.lifetime_days,
        "run_at": accrual.run_at,
        "status": accrual.status,
        "status_title": MASS_STATUS_TITLES[accrual.status],
        "members": accrual.members,
        "credited": accrual.credited,
        "skipped": accrual.skipped,
        "author": accrual.author,
        "created_at": accrual.created_at,
        "started_at": accrual.started_at,
        "finished_at": accrual.finished_at,
        "cancelled_at": accrual.cancelled_at,
    }


class DryRunIn(AdminIn):
    rules = Rules(required=True, metadata={"description": "a promotion's rules"})
    store = _code("the store whose time zone the receipt's time is in", required=True)
    receipt = fields.Nested(
        ReceiptSchema, required=True, metadata={"description": "as the POS sends it"}
    )


class TenantProgramsOut(Schema):
    programs = fields.List(fields.Nested(ProgramOut))


def version_body(version: ProgramVersion) -> dict[str, Any]:
    return {
        "id": version.id,
        "effective_from": version.effective_from,
        "effective_to": version.effective_to,
        "rules": version.rules,
        "stores": sorted(store.code for store in version.stores),
        "store_groups": sorted(group.code for group in version.store_groups),
    }


def program_body(program: Program) -> dict[str, Any]:
    return {
        "code": program.code,
        "kind": program.kind,
        "name": program.name,
        "status": program.status,
        "versions": [version_body(version) for version in program.versions],
    }


# Stores, store groups and POS


class StoreIn(AdminIn):
    code = _code("unique within the tenant", required=True)
    name = fields.String(required=True, validate=NAME)
    timezone = fields.String(
        load_default="Europe/Moscow", validate=CODE, metadata={"description": "IANA time zone"}
    )
    onec_guid = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    address = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    city = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=255))


class StoreStateIn(AdminIn):
    active = fields.Boolean(required=True)


class StoreWarehouseIn(AdminIn):
    warehouse_id = fields.String(
        required=True, allow_none=True, validate=validate.Length(min=1, max=80),
        metadata={"description": "the 1C warehouse Ид; null unlinks"},
    )  # fmt: skip


class PosIn(AdminIn):
    code = _code("unique within the store", required=True)


class PosOut(Schema):
    code = fields.String()
    active = JsonBoolean()
    created_at = fields.DateTime()
    revoked_at = fields.DateTime(allow_none=True)


class IssuedPosOut(Schema):
    store = fields.String()
    pos = fields.Nested(PosOut)
    token = fields.String(metadata={"description": "shown once: only its hash is stored"})


class StoreOut(Schema):
    code = fields.String()
    name = fields.String()
    timezone = fields.String()
    onec_guid = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    city = fields.String(allow_none=True)
    active = fields.Boolean(metadata={"description": "an inactive store serves no POS"})
    warehouse_id = fields.String(
        allow_none=True,
        metadata={"description": "the 1C warehouse (CommerceML Склад Ид) it mirrors"},
    )
    groups = fields.List(fields.String())
    pos = fields.List(fields.Nested(PosOut))


class StoresOut(Schema):
    stores = fields.List(fields.Nested(StoreOut))


class StoreGroupIn(AdminIn):
    code = _code("unique within the tenant", required=True)
    name = fields.String(required=True, validate=NAME)
    stores = _codes("member store codes", load_default=list)


class StoreGroupOut(Schema):
    code = fields.String()
    name = fields.String()
    stores = fields.List(fields.String())


class StoreGroupsOut(Schema):
    store_groups = fields.List(fields.Nested(StoreGroupOut))


def pos_body(pos: Pos) -> dict[str, Any]:
    return {
        "code": pos.code,
        "active": pos.revoked_at is None,
        "created_at": pos.created_at,
        "revoked_at": pos.revoked_at,
    }


def store_body(store: Store) -> dict[str, Any]:
    return {
        "code": store.code,
        "name": store.name,
        "timezone": store.timezone,
        "onec_guid": store.onec_guid,
        "address": store.address,
        "city": store.city,
        "active": store.active,
        "warehouse_id": store.warehouse_id,
        "groups": sorted(group.code for group in store.groups),
        "pos": [pos_body(pos) for pos in sorted(store.terminals, key=lambda pos: pos.code)],
    }


def store_group_body(group: StoreGroup) -> dict[str, Any]:
    return {
        "code": group.code,
        "name": group.name,
        "stores": sorted(store.code for store in group.stores),
    }


# Card series


class CardTemplateIn(AdminIn):
    code = _code("unique within the tenant", required=True)
    name = fields.String(required=True, validate=NAME)
    card_type = fields.String(
        required=True, validate=CODE, metadata={"description": 'shown on the card, e.g. "5%"'}
    )
    prefix = fields.String(
        required=True, validate=validate.Length(max=17), metadata={"description": "digits"}
    )
    number_length = BoundedInteger(
        required=True, metadata={"description": "digits in all, with the check digit"}
    )
    check_digit = fields.String(load_default="luhn", validate=validate.OneOf(CHECK_DIGITS))
    range_start = BoundedInteger(load_default=1, metadata={"description": "first serial"})
    range_end = BoundedInteger(
        load_default=None, allow_none=True, metadata={"description": "null: as many as fit"}
    )
    validity_days = BoundedInteger(
        load_default=None,
        allow_none=True,
        metadata={"description": "a card is valid this long from activation; null: no limit"},
    )
    programs = _codes(
        "programs the series carries: at most one discount and one bonus program",
        load_default=list,
    )


class TemplateProgramsIn(AdminIn):
    programs = _codes("the programs the series carries; [] for none", required=True)


class GenerateCardsIn(AdminIn):
    count = BoundedInteger(required=True, validate=validate.Range(min=1, max=MAX_CARDS_PER_REQUEST))


class CardTemplateOut(Schema):
    code = fields.String()
    name = fields.String()
    card_type = fields.String()
    prefix = fields.String()
    number_length = fields.Integer()
    check_digit = fields.String()
    range_start = fields.Integer()
    range_end = fields.Integer()
    next_serial = fields.Integer()
    free = fields.Integer(metadata={"description": "serials not yet used"})
    validity_days = fields.Integer(allow_none=True)
    programs = fields.List(fields.String())


class CardTemplatesOut(Schema):
    card_templates = fields.List(fields.Nested(CardTemplateOut))


class GeneratedCardsOut(Schema):
    card_template = fields.String()
    count = fields.Integer()
    numbers = fields.List(fields.String())


def card_template_body(template: CardTemplate) -> dict[str, Any]:
    return {
        "code": template.code,
        "name": template.name,
        "card_type": template.card_type,
        "prefix": template.prefix,
        "number_length": template.number_length,
        "check_digit": template.check_digit,
        "range_start": template.range_start,
        "range_end": template.range_end,
        "next_serial": template.next_serial,
        "free": max(template.range_end - template.next_serial + 1, 0),
        "validity_days": template.validity_days,
        "programs": sorted(program.code for program in template.programs),
    }


# Questionnaire


class QuestionnaireIn(AdminIn):
    policy = fields.String(
        required=True,
        validate=validate.OneOf(QUESTIONNAIRE_POLICIES),
        metadata={"description": "what an unfilled questionnaire allows"},
    )
    required = fields.List(
        fields.String(validate=validate.Length(min=1, max=100)),
        load_default=list,
        metadata={"description": "standard field names and extra.<code>"},
    )


class ExtraFieldIn(AdminIn):
    code = fields.String(
        required=True,
        validate=CODE,
        metadata={"description": "a-z, 0-9 and '_', starting with a letter"},
    )
    label = fields.String(required=True, validate=NAME)
    kind = fields.String(
        required=True, metadata={"description": "string, number, date, boolean or choice"}
    )
    choices = fields.List(
        fields.String(validate=NAME),
        load_default=list,
        metadata={"description": "the allowed values of a choice field"},
    )


class ExtraFieldOut(Schema):
    code = fields.String()
    label = fields.String()
    kind = fields.String()
    choices = fields.List(fields.String())


class QuestionnaireRulesOut(Schema):
    policy = fields.String()
    required = fields.List(fields.String())
    fields_ = fields.List(fields.Nested(ExtraFieldOut), data_key="fields", attribute="fields")


def extra_field_body(field: QuestionnaireField) -> dict[str, Any]:
    return {
        "code": field.code,
        "label": field.label,
        "kind": field.kind,
        "choices": list(field.choices),
    }


def questionnaire_body(found: Questionnaire) -> dict[str, Any]:
    return {
        "policy": found.policy,
        "required": found.required,
        "fields": [extra_field_body(field) for field in found.fields],
    }


# Processing settings


def _described(text: str) -> dict[str, Any]:
    return {"metadata": {"description": text}}


class SettingsIn(AdminIn):
    """Every field optional: only those given change (processing/tenants/settings.py checks
    them)."""

    # The CLI sends text ("true"): marshmallow's Boolean reads it.
    phone_write_off = fields.Boolean(**_described("a phone identification may pay with bonus"))
    phone_level_discount = fields.Boolean(**_described("a phone identification gets the level"))
    return_policy = fields.String(**_described(" or ".join(RETURN_POLICIES)))
    rollback_window_hours = BoundedInteger(**_described("0-720; 0: no rollbacks"))
    sums_tolerance = Money(**_described("rubles, 0.00-100.00: printed vs computed line sums"))
    line_sum_tolerance = Money(**_described("rubles, 0.00-100.00: sum vs qty x price"))
    sold_at_ahead_minutes = BoundedInteger(**_described("0-1440"))
    offline_window_days = BoundedInteger(**_described("1-365"))


class SettingsOut(Schema):
    phone_write_off = JsonBoolean()
    phone_level_discount = JsonBoolean()
    return_policy = fields.String()
    rollback_window_hours = fields.Integer()
    sums_tolerance = Money()
    line_sum_tolerance = Money()
    sold_at_ahead_minutes = fields.Integer()
    offline_window_days = fields.Integer()


class SettingsChangedOut(SettingsOut):
    changed = fields.List(fields.String(), metadata={"description": "the settings that changed"})


# Tariff (read-only: it changes through the platform's CLI only)


class LimitsOut(Schema):
    stores = fields.Integer(allow_none=True)
    pos = fields.Integer(allow_none=True)
    customers = fields.Integer(allow_none=True)


class TariffOut(Schema):
    tariff = fields.String()
    title = fields.String()
    addons = fields.List(fields.String())
    features = fields.List(fields.String())
    quotas = fields.Dict(keys=fields.String(), values=fields.Integer())
    limits = fields.Nested(LimitsOut, metadata={"description": "null: unlimited"})


def tariff_body(tenant: Tenant, title: str) -> dict[str, Any]:
    return {
        "tariff": tenant.tariff,
        "title": title,
        "addons": list(tenant.addons),
        "features": list(tenant.features),
        "quotas": dict(tenant.quotas),
        "limits": {
            "stores": tenant.max_stores,
            "pos": tenant.max_pos,
            "customers": tenant.max_customers,
        },
    }


MAX_OFFSET = 1_000_000_000


class LogPageQuery(Schema):
    """A page of a log, newest first: from ``since`` on, ``limit`` entries after ``offset``."""

    since = ZonedDateTime()
    limit = BoundedInteger(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = BoundedInteger(load_default=0, validate=validate.Range(min=0, max=MAX_OFFSET))
