"""Creating programs and versions, and finding the rules valid for a store at a moment."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from processing.cache import ProcessCache
from processing.errors import Conflict, Forbidden, InvalidInput, NotFound
from processing.programs.models import Program, ProgramVersion, card_template_programs
from processing.programs.rules import (
    PARSERS,
    SLOTS,
    BonusRules,
    LevelRules,
    discount_rules,
    parse_bonus_rules,
)
from processing.promotions.book import PromotionBook, PromotionShelf, PromotionVersion
from processing.promotions.rules import (
    STANDARD_CONDITION_FIELDS,
    Promotion,
    parse_groups,
    parse_promotion,
)
from processing.promotions.segments import check_field_values, check_segment_codes
from processing.tenants.models import Store, StoreGroup, Tenant, store_group_members
from processing.tenants.service import check_code
from processing.validation import InvalidProgramRules, bad_field

log = logging.getLogger(__name__)

ACTIVE = "active"
PROGRAM_STATUSES = (ACTIVE, "paused", "archived")
PROMOTION = "promotion"


class ProgramNotFound(NotFound):
    code = "PROGRAM_NOT_FOUND"
    message = "Программа лояльности не найдена."


class ProgramVersionOverlap(Conflict):
    code = "PROGRAM_VERSION_OVERLAP"
    message = "Период действия версии пересекается с уже заданной версией программы."


class PromotionsNotInTariff(Forbidden):
    code = "PROMOTIONS_NOT_IN_TARIFF"
    message = "Акции недоступны на тарифе тенанта: смените тариф, чтобы создавать акции."


def add_program(session: Session, tenant: Tenant, kind: str, code: str, name: str) -> Program:
    if kind not in PARSERS:
        raise InvalidInput(f"Вид программы: {', '.join(PARSERS)}.", details={"field": "kind"})
    if kind == PROMOTION and "promotions" not in tenant.features:
        raise PromotionsNotInTariff(details={"tariff": tenant.tariff})
    code = check_code("code", code)
    exists = select(Program.id).where(Program.tenant_id == tenant.id, Program.code == code)
    if session.scalar(exists) is not None:
        raise Conflict("Программа с таким кодом уже есть.", details={"program": code})
    program = Program(tenant_id=tenant.id, kind=kind, code=code, name=name.strip() or code)
    session.add(program)
    session.flush()
    return program


STATUS_TITLES = {"active": "действует", "paused": "приостановлена", "archived": "в архиве"}


class ArchivedProgram(InvalidInput):
    code = "PROGRAM_ARCHIVED"
    message = "Программа в архиве: её нельзя возобновить, создайте новую."


def set_program_status(session: Session, program: Program, status: str) -> Program:
    """Pause (kept, not applied), resume or archive (kept for history and returns, never
    applied again) a program. Receipts of this node follow at once, other nodes within the
    rules cache's lifetime."""
    if status not in PROGRAM_STATUSES:
        titles = ", ".join(f"{s} ({t})" for s, t in STATUS_TITLES.items())
        raise InvalidInput(f"Состояние программы: {titles}.", details={"field": "status"})
    if program.status == "archived" and status != "archived":
        raise ArchivedProgram(details={"program": program.code})
    program.status = status
    session.flush()
    return program


def _check_group(session: Session, program: Program, promotion: Promotion) -> None:
    group = promotion.group
    tenant = session.get(Tenant, program.tenant_id)
    codes = [g.code for g in parse_groups(tenant.promotion_groups if tenant else None)]
    if group not in codes:
        raise bad_field(
            "rules.group", f"Нет такой группы акций: {group}. Группы тенанта: {', '.join(codes)}"
        )


def level_codes(session: Session, tenant_id: int) -> set[str]:
    """Every level code the tenant's discount programs have had, in any version."""
    codes: set[str] = set()
    for kind, rules in session.execute(
        select(Program.kind, ProgramVersion.rules)
        .join(ProgramVersion, ProgramVersion.program_id == Program.id)
        .where(
            Program.tenant_id == tenant_id,
            Program.kind.in_([kind for kind, slot in SLOTS.items() if slot == "discount"]),
        )
    ):
        found = discount_rules(kind, rules)
        if found is not None:
            codes.update(level.code for level in found.levels)
    return codes


def _check_customer_terms(session: Session, tenant_id: int, promotion: Promotion) -> None:
    """A promotion's customer conditions name what the tenant has: segments, levels of its
    discount programs, questionnaire fields with values they can hold."""
    terms = promotion.customer
    check_segment_codes(session, tenant_id, terms.segments)
    if terms.levels:
        known = level_codes(session, tenant_id)
        unknown = sorted(terms.levels - known)
        if unknown:
            raise bad_field(
                "rules.customer.levels",
                f"Нет такого уровня: {unknown[0][:100]}. "
                f"Уровни: {', '.join(sorted(known)) or 'нет'}",
            )
    check_field_values(
        session, tenant_id, terms.fields, "rules.customer.fields",
        standard=STANDARD_CONDITION_FIELDS,
    )  # fmt: skip


def get_program(session: Session, tenant: Tenant, code: str) -> Program:
    program = session.scalar(
        select(Program).where(Program.tenant_id == tenant.id, Program.code == code)
    )
    if program is None:
        raise ProgramNotFound(details={"program": code})
    return program


def add_version(
    session: Session,
    program: Program,
    rules: dict[str, Any],
    effective_from: datetime,
    effective_to: datetime | None = None,
    *,
    stores: list[Store] | None = None,
    store_groups: list[StoreGroup] | None = None,
) -> ProgramVersion:
    """Add rules valid from ``effective_from``. An open-ended version that started earlier is
    closed at ``effective_from``; any other overlap is refused. A promotion must name one of
    the tenant's combination groups."""
    parsed = PARSERS[program.kind](rules)
    if isinstance(parsed, Promotion):
        _check_group(session, program, parsed)
        _check_customer_terms(session, program.tenant_id, parsed)
    if effective_to is not None and effective_to <= effective_from:
        raise InvalidInput("Дата окончания версии должна быть позже даты начала.")
    owners = [s.tenant_id for s in stores or []] + [g.tenant_id for g in store_groups or []]
    for owner in owners:
        if owner != program.tenant_id:
            raise InvalidInput("Магазин или группа принадлежат другому тенанту.")
    for version in session.scalars(
        select(ProgramVersion).where(ProgramVersion.program_id == program.id)
    ):
        if version.effective_to is None and version.effective_from < effective_from:
            version.effective_to = effective_from
            continue
        ends_before = effective_to is not None and effective_to <= version.effective_from
        starts_after = version.effective_to is not None and version.effective_to <= effective_from
        if not (ends_before or starts_after):
            raise ProgramVersionOverlap(details={"version": version.id})
    version = ProgramVersion(
        program_id=program.id,
        effective_from=effective_from,
        effective_to=effective_to,
        rules=rules,
        stores=list(dict.fromkeys(stores or [])),
        store_groups=list(dict.fromkeys(store_groups or [])),
    )
    session.add(version)
    session.flush()
    return version


def tenant_programs(session: Session, tenant: Tenant) -> Sequence[Program]:
    """The tenant's programs by code, each with its versions and their scope."""
    versions = selectinload(Program.versions)
    return session.scalars(
        select(Program)
        .where(Program.tenant_id == tenant.id)
        .order_by(Program.code)
        .options(
            versions.selectinload(ProgramVersion.stores),
            versions.selectinload(ProgramVersion.store_groups),
        )
    ).all()


@dataclass(frozen=True)
class ActiveRules:
    """The rules in force for one store at one moment (``None``: no such program)."""

    levels: LevelRules | None = None
    levels_version_id: int | None = None
    bonus: BonusRules | None = None
    bonus_version_id: int | None = None
    promotions: PromotionBook | None = None  # every promotion in force (None: none)


def _specificity(version: ProgramVersion, store: Store) -> int | None:
    """2: names the store; 1: names one of its groups; 0: all stores; None: not for it."""
    if not version.stores and not version.store_groups:
        return 0
    if any(s.id == store.id for s in version.stores):
        return 2
    group_ids = {group.id for group in store.groups}
    if any(group.id in group_ids for group in version.store_groups):
        return 1
    return None


@dataclass(frozen=True)
class _Version:
    """A version as the hot path needs it: parsed rules and resolved scope."""

    id: int
    program_id: int
    slot: str  # "discount" or "bonus" (programs.rules.SLOTS)
    effective_from: datetime
    effective_to: datetime | None
    store_ids: frozenset[int]
    group_ids: frozenset[int]
    levels: LevelRules | None
    bonus: BonusRules | None

    def valid_at(self, at: datetime) -> bool:
        return self.effective_from <= at and (self.effective_to is None or self.effective_to > at)

    def scope(self, store_id: int, store_groups: frozenset[int]) -> int | None:
        """2: names the store; 1: one of its groups; 0: all stores; None: not for it."""
        if not self.store_ids and not self.group_ids:
            return 0
        if store_id in self.store_ids:
            return 2
        return 1 if self.group_ids & store_groups else None


@dataclass(frozen=True)
class _TenantRules:
    versions: tuple[_Version, ...]
    promotions: PromotionShelf | None
    store_groups: dict[int, frozenset[int]]
    template_programs: dict[int, frozenset[int]]  # card series → the programs it carries

    @property
    def carried(self) -> frozenset[int]:
        return frozenset().union(*self.template_programs.values())


# Every receipt needs the rules; they change a few times a year.
RULES_TTL_S = 30.0
rules_cache = ProcessCache[int, _TenantRules](
    "program-rules",
    RULES_TTL_S,
    # A series' programs change on its row (card_templates), named to keep programs below cards.
    # The tenant's row holds the promotion groups.
    watches=(Program, ProgramVersion, StoreGroup, Store, Tenant, "card_templates"),
)


def _stored_promotion(row: ProgramVersion) -> Promotion | None:
    """A stored promotion version as the engine takes it. Rules saved before a stricter check
    no longer parse: that one promotion is left out (and logged for support), the tenant's
    receipts go on with the rest instead of all being refused."""
    try:
        return parse_promotion(
            row.rules, code=row.program.code, name=row.program.name, version_id=row.id
        )
    except InvalidProgramRules as error:
        log.error(
            "promotion version left out: its stored rules no longer parse",
            extra={"program": row.program.code, "version_id": row.id,
                   "field": error.details.get("field"), "reason": error.text},
        )  # fmt: skip
        return None


def _tenant_rules(session: Session, tenant_id: int) -> _TenantRules:
    cached = rules_cache.get(tenant_id)
    if cached is not None:
        return cached
    rows = session.scalars(
        select(ProgramVersion)
        .join(Program)
        .where(Program.tenant_id == tenant_id, Program.status == ACTIVE)
        .options(
            selectinload(ProgramVersion.program),
            selectinload(ProgramVersion.stores),
            selectinload(ProgramVersion.store_groups),
        )
    ).all()
    versions = tuple(
        _Version(
            id=row.id,
            program_id=row.program_id,
            slot=SLOTS[row.program.kind],
            effective_from=row.effective_from,
            effective_to=row.effective_to,
            store_ids=frozenset(store.id for store in row.stores),
            group_ids=frozenset(group.id for group in row.store_groups),
            levels=discount_rules(row.program.kind, row.rules),
            bonus=parse_bonus_rules(row.rules) if row.program.kind == "bonus" else None,
        )
        for row in rows
        if row.program.kind != PROMOTION
    )
    promotions = [
        PromotionVersion(
            promotion, row.effective_from, row.effective_to,
            frozenset(store.id for store in row.stores),
            frozenset(group.id for group in row.store_groups),
        )
        for row in rows
        if row.program.kind == PROMOTION and (promotion := _stored_promotion(row)) is not None
    ]  # fmt: skip
    groups = session.scalar(select(Tenant.promotion_groups).where(Tenant.id == tenant_id))
    shelf = PromotionShelf(promotions, parse_groups(groups)) if promotions else None
    carried: dict[int, set[int]] = {}
    for template_id, program_id in session.execute(
        select(card_template_programs.c.template_id, card_template_programs.c.program_id)
        .join(Program, Program.id == card_template_programs.c.program_id)
        .where(Program.tenant_id == tenant_id)
    ):
        carried.setdefault(template_id, set()).add(program_id)
    memberships: dict[int, set[int]] = {}
    for store_id, group_id in session.execute(
        select(store_group_members.c.store_id, store_group_members.c.group_id)
        .join(StoreGroup, StoreGroup.id == store_group_members.c.group_id)
        .where(StoreGroup.tenant_id == tenant_id)
    ):
        memberships.setdefault(store_id, set()).add(group_id)
    loaded = _TenantRules(
        versions,
        shelf,
        {store: frozenset(groups) for store, groups in memberships.items()},
        {template: frozenset(programs) for template, programs in carried.items()},
    )
    rules_cache.stage(session, tenant_id, loaded)
    return loaded


def rules_at(
    session: Session, tenant_id: int, store_id: int, at: datetime, template_id: int | None = None
) -> ActiveRules:
    """Rules valid for the store at ``at`` for a card of series ``template_id``: per slot
    (discount, bonus) a program the series carries wins over the tenant's programs, then the
    most specific scope, then the latest start. A program a series carries applies to no other
    card."""
    tenant_rules = _tenant_rules(session, tenant_id)
    groups = tenant_rules.store_groups.get(store_id, frozenset())
    own = tenant_rules.template_programs.get(template_id, frozenset()) if template_id else None
    carried = tenant_rules.carried
    best: dict[str, tuple[tuple[bool, int, datetime, int], _Version]] = {}
    for version in tenant_rules.versions:
        carried_here = own is not None and version.program_id in own
        if (version.program_id in carried and not carried_here) or not version.valid_at(at):
            continue
        scope = version.scope(store_id, groups)
        if scope is None:
            continue
        key = (carried_here, scope, version.effective_from, version.id)
        if version.slot not in best or key > best[version.slot][0]:
            best[version.slot] = (key, version)
    levels = best.get("discount")
    bonus = best.get("bonus")
    shelf = tenant_rules.promotions
    return ActiveRules(
        levels=levels[1].levels if levels else None,
        levels_version_id=levels[1].id if levels else None,
        bonus=bonus[1].bonus if bonus else None,
        bonus_version_id=bonus[1].id if bonus else None,
        promotions=shelf.book(store_id, groups, at) if shelf is not None else None,
    )


def within_tariff(rules: ActiveRules, features: frozenset[str]) -> ActiveRules:
    """Only the programs the tenant's tariff includes: no bonus server, no bonus; no
    discounts feature, no level or fixed discount."""
    levels = "levels" in features
    bonus = "bonus" in features
    return ActiveRules(
        levels=rules.levels if levels else None,
        levels_version_id=rules.levels_version_id if levels else None,
        bonus=rules.bonus if bonus else None,
        bonus_version_id=rules.bonus_version_id if bonus else None,
        promotions=rules.promotions if "promotions" in features else None,
    )


@dataclass(frozen=True)
class ProgramDescription:
    program: Program
    version: ProgramVersion
    applies_here: bool


def describe_programs(session: Session, store: Store, at: datetime) -> list[ProgramDescription]:
    """Every program of the store's tenant with its version valid at ``at``, and whether that
    version applies to the store."""
    versions = session.scalars(
        select(ProgramVersion)
        .join(Program)
        .where(
            Program.tenant_id == store.tenant_id,
            ProgramVersion.effective_from <= at,
            (ProgramVersion.effective_to.is_(None)) | (ProgramVersion.effective_to > at),
        )
        .options(
            selectinload(ProgramVersion.program),
            selectinload(ProgramVersion.stores),
            selectinload(ProgramVersion.store_groups),
        )
        .order_by(Program.code)
    ).all()
    return [ProgramDescription(v.program, v, _specificity(v, store) is not None) for v in versions]
