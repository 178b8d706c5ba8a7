"""Creating and finding tenants, legal entities, stores, store groups, POS and cashiers;
revoking and reissuing POS tokens; tariff limits are enforced here."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from processing.cache import ProcessCache
from processing.db import insert_ignore, lock_rows
from processing.errors import Conflict, Forbidden, InvalidInput, NotFound, Refused
from processing.tenants.models import (
    AdminToken,
    Cashier,
    LegalEntity,
    Pos,
    Store,
    StoreGroup,
    TariffPreset,
    Tenant,
)
from processing.tenants.tariffs import DEFAULT_TARIFF, FEATURES

_CODE_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
QUESTIONNAIRE_POLICIES = ("nothing", "accrual_only", "full")


class TenantNotFound(NotFound):
    code = "TENANT_NOT_FOUND"
    message = "Организация-клиент (тенант) не найдена."


class StoreNotFound(NotFound):
    code = "STORE_NOT_FOUND"
    message = "Магазин не найден."


class TenantExists(Conflict):
    code = "TENANT_EXISTS"
    message = "Тенант с таким кодом уже существует."


class StoreExists(Conflict):
    code = "STORE_EXISTS"
    message = "Магазин с таким кодом или GUID 1С у этого тенанта уже есть."


class PosExists(Conflict):
    code = "POS_EXISTS"
    message = "Касса с таким кодом в этом магазине уже есть."


class CodeExists(Conflict):
    code = "CODE_EXISTS"
    message = "Объект с таким кодом уже существует."


class TenantSuspended(Forbidden):
    code = "TENANT_SUSPENDED"
    message = (
        "Обслуживание сети приостановлено поставщиком сервиса: обратитесь к нему, "
        "чтобы возобновить работу касс и обмена с 1С."
    )


def refuse_suspended(tenant: Tenant) -> None:
    if tenant.suspended_at is not None:
        raise TenantSuspended(details={"tenant": tenant.code})


class StoreLimitReached(Refused):
    code = "STORE_LIMIT_REACHED"
    message = "Достигнут лимит магазинов по тарифу. Смените тариф, чтобы добавить магазин."


class PosLimitReached(Refused):
    code = "POS_LIMIT_REACHED"
    message = "Достигнут лимит касс по тарифу. Смените тариф, чтобы подключить кассу."


class CustomerLimitReached(Refused):
    code = "CUSTOMER_LIMIT_REACHED"
    message = "Достигнут лимит покупателей по тарифу. Смените тариф, чтобы регистрировать новых."


def hash_token(token: str) -> str:
    """Tokens are random and long, so a plain SHA-256 is enough and fast to look up."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def check_code(field: str, value: str) -> str:
    value = value.strip()
    if not _CODE_RE.fullmatch(value):
        raise InvalidInput(
            f"Код «{value}» недопустим: 1–64 латинских букв, цифр, точек, '_' или '-'.",
            details={"field": field},
        )
    return value


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(
            f"Неизвестный часовой пояс «{value}». Укажите зону IANA, например Europe/Moscow.",
            details={"field": "timezone"},
        ) from exc
    return value


def _check_guid(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    try:
        return str(UUID(value.strip()))
    except ValueError as exc:
        raise InvalidInput(
            f"«{value}» не является GUID 1С.", details={"field": "onec_guid"}
        ) from exc


def get_tenant(session: Session, code: str) -> Tenant:
    tenant = session.scalar(select(Tenant).where(Tenant.code == code))
    if tenant is None:
        raise TenantNotFound(details={"tenant": code})
    return tenant


def lock_tenant(session: Session, tenant: Tenant) -> None:
    """Serialise operations that count a tenant's objects against its limits."""
    session.execute(lock_rows(select(Tenant.id).where(Tenant.id == tenant.id)))


def get_store(session: Session, tenant: Tenant, code: str) -> Store:
    store = session.scalar(select(Store).where(Store.tenant_id == tenant.id, Store.code == code))
    if store is None:
        raise StoreNotFound(details={"store": code})
    return store


class TariffNotFound(NotFound):
    code = "TARIFF_NOT_FOUND"
    message = "Тариф или дополнение не найдены."


def _preset(session: Session, code: str, kind: str) -> TariffPreset:
    preset = session.get(TariffPreset, code)
    if preset is None or preset.kind != kind:
        known = session.scalars(
            select(TariffPreset.code).where(TariffPreset.kind == kind).order_by(TariffPreset.code)
        ).all()
        what = "тариф" if kind == "base" else "дополнение"
        raise TariffNotFound(
            f"Неизвестный {what} «{code}». Доступны: {', '.join(known)}.",
            details={"field": "tariff" if kind == "base" else "addon"},
        )
    return preset


def add_tenant(session: Session, code: str, name: str, tariff: str = DEFAULT_TARIFF) -> Tenant:
    code = check_code("code", code)
    preset = _preset(session, tariff, "base")
    if session.scalar(select(Tenant.id).where(Tenant.code == code)) is not None:
        raise TenantExists(details={"tenant": code})
    tenant = Tenant(
        code=code,
        name=name.strip() or code,
        tariff=tariff,
        max_stores=preset.max_stores,
        max_pos=preset.max_pos,
        max_customers=preset.max_customers,
        features=sorted(preset.features),
        addons=[],
        quotas=dict(preset.quotas),
        questionnaire_policy="full",
        questionnaire_required=[],
    )
    session.add(tenant)
    session.flush()
    return tenant


def change_tariff(session: Session, tenant: Tenant, tariff: str) -> None:
    """Move the tenant to another base tariff: its preset's limits and features, plus those of
    the tenant's add-ons (a platform operation; per-tenant edits of limits are overwritten)."""
    preset = _preset(session, tariff, "base")
    tenant.tariff = preset.code
    tenant.max_stores, tenant.max_pos = preset.max_stores, preset.max_pos
    tenant.max_customers = preset.max_customers
    _apply_presets(session, tenant, preset, tenant.addons)


class LimitInvalid(InvalidInput):
    code = "TENANT_LIMIT_INVALID"
    message = "Лимит — целое число от 0 до 10 000 000 или пусто (без ограничения)."


MAX_LIMIT = 10_000_000


def _limit(field: str, value: int | None) -> int | None:
    if value is not None and not 0 <= value <= MAX_LIMIT:
        raise LimitInvalid(details={"field": field})
    return value


def set_limits(
    session: Session,
    tenant: Tenant,
    *,
    max_stores: int | None,
    max_pos: int | None,
    max_customers: int | None,
) -> None:
    """This tenant's own limits (None: unlimited). Objects already over a lowered limit stay;
    the next one is refused."""
    tenant.max_stores = _limit("max_stores", max_stores)
    tenant.max_pos = _limit("max_pos", max_pos)
    tenant.max_customers = _limit("max_customers", max_customers)
    session.flush()


def set_suspended(session: Session, tenant: Tenant, suspended: bool, now: datetime) -> None:
    """Suspend the tenant (its POS and 1C logins are refused, its people cannot log in) or
    resume it."""
    if suspended and tenant.suspended_at is None:
        tenant.suspended_at = now
    elif not suspended:
        tenant.suspended_at = None
    session.flush()


def edit_preset(
    session: Session,
    code: str,
    *,
    title: str,
    max_stores: int | None,
    max_pos: int | None,
    max_customers: int | None,
    features: list[str],
    quotas: dict[str, int],
) -> TariffPreset:
    """Change a tariff as sold. Tenants keep the copy they got; a tariff change applies it."""
    preset = session.get(TariffPreset, code)
    if preset is None:
        raise TariffNotFound(details={"tariff": code})
    unknown = sorted(set(features) - set(FEATURES))
    if unknown:
        raise InvalidInput(
            f"Неизвестные возможности: {', '.join(unknown)}.", details={"features": unknown}
        )
    if any(not 0 <= quota <= MAX_LIMIT for quota in quotas.values()):
        raise LimitInvalid(details={"field": "quotas"})
    preset.title = title.strip()[:100] or preset.title
    preset.max_stores = _limit("max_stores", max_stores)
    preset.max_pos = _limit("max_pos", max_pos)
    preset.max_customers = _limit("max_customers", max_customers)
    preset.features = sorted(set(features))
    preset.quotas = dict(quotas)
    session.flush()
    return preset


def set_addon(session: Session, tenant: Tenant, addon: str, *, enabled: bool) -> None:
    """Buy or cancel an add-on (Информер): its features and monthly quotas."""
    _preset(session, addon, "addon")
    addons = sorted(set(tenant.addons) | {addon} if enabled else set(tenant.addons) - {addon})
    _apply_presets(session, tenant, _preset(session, tenant.tariff, "base"), addons)


def _apply_presets(session: Session, tenant: Tenant, base: TariffPreset, addons: list[str]) -> None:
    features = set(base.features)
    quotas = dict(base.quotas)
    for code in addons:
        addon = _preset(session, code, "addon")
        features |= set(addon.features)
        quotas.update(addon.quotas)
    tenant.addons = list(addons)
    tenant.features = sorted(features)
    tenant.quotas = quotas
    session.flush()


def set_questionnaire_rules(
    session: Session, tenant: Tenant, policy: str, required: list[str]
) -> None:
    if policy not in QUESTIONNAIRE_POLICIES:
        raise InvalidInput(
            "Политика анкеты: nothing, accrual_only или full.", details={"field": "policy"}
        )
    tenant.questionnaire_policy = policy
    tenant.questionnaire_required = list(dict.fromkeys(required))
    session.flush()


def set_features(session: Session, tenant: Tenant, features: list[str]) -> None:
    unknown = sorted(set(features) - set(FEATURES))
    if unknown:
        raise InvalidInput(
            f"Неизвестные функции: {', '.join(unknown)}.", details={"features": unknown}
        )
    tenant.features = sorted(set(features))
    session.flush()


def refuse_over_limit(
    session: Session, limit: int | None, count_stmt: Select[int], error: type[Refused]
) -> None:
    """Refuse the N+1-th object; the caller holds ``lock_tenant`` so counts cannot race."""
    if limit is None:
        return
    count = session.scalar(count_stmt) or 0
    if count >= limit:
        raise error(details={"limit": limit})


def add_legal_entity(
    session: Session, tenant: Tenant, code: str, name: str, inn: str | None = None
) -> LegalEntity:
    code = check_code("code", code)
    if inn is not None and not re.fullmatch(r"\d{10}|\d{12}", inn):
        raise InvalidInput("ИНН состоит из 10 или 12 цифр.", details={"field": "inn"})
    exists = select(LegalEntity.id).where(
        LegalEntity.tenant_id == tenant.id, LegalEntity.code == code
    )
    if session.scalar(exists) is not None:
        raise CodeExists(details={"legal_entity": code})
    entity = LegalEntity(tenant_id=tenant.id, code=code, name=name.strip() or code, inn=inn)
    session.add(entity)
    session.flush()
    return entity


def add_store(
    session: Session,
    tenant: Tenant,
    code: str,
    name: str,
    timezone: str = "Europe/Moscow",
    *,
    onec_guid: str | None = None,
    address: str | None = None,
    city: str | None = None,
    legal_entity: LegalEntity | None = None,
) -> Store:
    code = check_code("code", code)
    guid = _check_guid(onec_guid)
    zone = _check_timezone(timezone)
    lock_tenant(session, tenant)
    same_identity = Store.code == code
    if guid is not None:
        same_identity = same_identity | (Store.onec_guid == guid)
    same = select(Store.id).where(Store.tenant_id == tenant.id, same_identity)
    if session.scalar(same) is not None:
        raise StoreExists(details={"store": code})
    refuse_over_limit(session, tenant.max_stores, _active_stores(tenant), StoreLimitReached)
    store = Store(
        tenant_id=tenant.id,
        code=code,
        name=name.strip() or code,
        timezone=zone,
        onec_guid=guid,
        address=address,
        city=city,
        legal_entity_id=legal_entity.id if legal_entity else None,
    )
    session.add(store)
    session.flush()
    return store


# What the tariff's store limit counts: the active stores (an inactive one serves no POS). The
# POS limit counts every POS made (a revoked one's token is replaced, not its licence freed).
STORE_LIMIT_COUNTS = Store.active.is_(True)


def _active_stores(tenant: Tenant) -> Select[int]:
    return (
        select(func.count())
        .select_from(Store)
        .where(Store.tenant_id == tenant.id, STORE_LIMIT_COUNTS)
    )


@dataclass(frozen=True)
class MirroredStores:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    inactive: tuple[str, ...] = ()  # warehouse ids created inactive: over the store limit


WAREHOUSE_ID_LENGTH = 80


def mirror_warehouses(
    session: Session, tenant: Tenant, warehouses: Sequence[tuple[str, str | None]]
) -> MirroredStores:
    """Mirror 1C warehouses ``(id, name)`` as stores linked by the warehouse id: a linked store
    takes 1C's name; a new one gets the code ``wh-<id>`` and is created inactive when the tariff's
    store limit is reached (the chain activates it after changing the tariff)."""
    lock_tenant(session, tenant)
    wanted = {}
    for warehouse_id, name in warehouses:
        if not warehouse_id or len(warehouse_id) > WAREHOUSE_ID_LENGTH:
            raise InvalidInput(
                f"Ид склада «{warehouse_id[:100]}» пустой или длиннее "
                f"{WAREHOUSE_ID_LENGTH} знаков.",
                details={"field": "warehouse_id"},
            )
        wanted[warehouse_id] = (name or "").strip()[:255] or warehouse_id
    stored = {
        store.warehouse_id: store
        for store in session.scalars(
            select(Store).where(Store.tenant_id == tenant.id, Store.warehouse_id.in_(list(wanted)))
        )
    }
    active = session.scalar(_active_stores(tenant)) or 0
    created = updated = unchanged = 0
    inactive: list[str] = []
    for warehouse_id, name in wanted.items():
        store = stored.get(warehouse_id)
        if store is not None:
            if store.name == name:
                unchanged += 1
            else:
                store.name, updated = name, updated + 1
            continue
        enabled = tenant.max_stores is None or active < tenant.max_stores
        active += enabled
        if not enabled:
            inactive.append(warehouse_id)
        session.add(
            Store(
                tenant_id=tenant.id, code=_free_code(session, Store, tenant, "wh-", warehouse_id),
                name=name, warehouse_id=warehouse_id, active=enabled,
            )
        )  # fmt: skip
        created += 1
    session.flush()
    return MirroredStores(created, updated, unchanged, tuple(inactive))


def _free_code(
    session: Session, model: type[Store] | type[LegalEntity], tenant: Tenant, prefix: str, raw: str
) -> str:
    """A code for an object 1C brought in: ``prefix`` and the letters and digits of its 1C id,
    numbered on when the tenant has that code already."""
    base = prefix + (re.sub(r"[^A-Za-z0-9_.-]", "", raw)[:40] or "1c")
    code, number = base, 1
    taken = select(model.id).where(model.tenant_id == tenant.id)
    while session.scalar(taken.where(model.code == code)) is not None:
        number += 1
        code = f"{base}-{number}"
    return code


def link_warehouse(
    session: Session, tenant: Tenant, store: Store, warehouse_id: str | None
) -> None:
    """Link a store the chain created by hand to a 1C warehouse (None unlinks it)."""
    if warehouse_id is not None:
        warehouse_id = warehouse_id.strip()
        other = session.scalar(
            select(Store.id).where(
                Store.tenant_id == tenant.id,
                Store.warehouse_id == warehouse_id,
                Store.id != store.id,
            )
        )
        if other is not None:
            raise StoreExists(
                "Этот склад 1С уже связан с другим магазином.",
                details={"warehouse_id": warehouse_id},
            )
    store.warehouse_id = warehouse_id or None
    session.flush()


def set_store_active(session: Session, tenant: Tenant, store: Store, active: bool) -> Store:
    """Activate a store (within the tariff's store limit: a store 1C's warehouse brought in
    over it, after the tariff changed) or deactivate one (its POS stop being served)."""
    if active and not store.active:
        lock_tenant(session, tenant)
        refuse_over_limit(session, tenant.max_stores, _active_stores(tenant), StoreLimitReached)
    store.active = active
    session.flush()
    return store


def mirror_legal_entity(
    session: Session,
    tenant: Tenant,
    entity_id: int | None,
    *,
    code_hint: str,
    name: str,
    inn: str | None,
    kpp: str | None,
) -> LegalEntity:
    """Create or update the legal entity an organisation of 1C is (``entity_id``: the one it was
    mapped to before). An ИНН or КПП of the wrong shape is dropped, not refused: 1C is the
    master of its organisations and the name alone identifies them for reports."""
    entity = session.get(LegalEntity, entity_id) if entity_id is not None else None
    if entity is not None and entity.tenant_id != tenant.id:
        entity = None
    inn = inn if inn and re.fullmatch(r"\d{10}|\d{12}", inn) else None
    kpp = kpp if kpp and re.fullmatch(r"\d{4}[0-9A-Z]{2}\d{3}", kpp) else None
    name = name.strip()[:255] or code_hint
    if entity is None:
        code = _free_code(session, LegalEntity, tenant, "org-", code_hint)
        entity = LegalEntity(tenant_id=tenant.id, code=code, name=name, inn=inn, kpp=kpp)
        session.add(entity)
    else:
        entity.name, entity.inn, entity.kpp = name, inn or entity.inn, kpp or entity.kpp
    session.flush()
    return entity


def add_store_group(
    session: Session, tenant: Tenant, code: str, name: str, stores: list[Store]
) -> StoreGroup:
    code = check_code("code", code)
    exists = select(StoreGroup.id).where(StoreGroup.tenant_id == tenant.id, StoreGroup.code == code)
    if session.scalar(exists) is not None:
        raise CodeExists(details={"store_group": code})
    if any(store.tenant_id != tenant.id for store in stores):
        raise StoreNotFound()
    group = StoreGroup(
        tenant_id=tenant.id, code=code, name=name.strip() or code,
        stores=list(dict.fromkeys(stores)),
    )  # fmt: skip
    session.add(group)
    session.flush()
    return group


@dataclass(frozen=True)
class IssuedPos:
    pos: Pos
    token: str  # shown once; only its hash is stored


def add_pos(session: Session, store: Store, code: str, token: str | None = None) -> IssuedPos:
    """Register a POS terminal; a random token is generated unless one is given (demo only)."""
    code = check_code("code", code)
    tenant = session.get_one(Tenant, store.tenant_id)
    lock_tenant(session, tenant)
    exists = select(Pos.id).where(Pos.store_id == store.id, Pos.code == code)
    if session.scalar(exists) is not None:
        raise PosExists(details={"pos": code})
    refuse_over_limit(
        session,
        tenant.max_pos,
        select(func.count()).select_from(Pos).where(Pos.tenant_id == tenant.id),
        PosLimitReached,
    )
    token = token or new_token()
    pos = Pos(tenant_id=store.tenant_id, store_id=store.id, code=code, token_hash=hash_token(token))
    session.add(pos)
    session.flush()
    return IssuedPos(pos=pos, token=token)


def tenant_stores(session: Session, tenant: Tenant) -> Sequence[Store]:
    """The tenant's stores by code, with their POS (active or revoked) and groups."""
    return session.scalars(
        select(Store)
        .where(Store.tenant_id == tenant.id)
        .order_by(Store.code)
        .options(selectinload(Store.terminals), selectinload(Store.groups))
    ).all()


def tenant_store_groups(session: Session, tenant: Tenant) -> Sequence[StoreGroup]:
    """The tenant's store groups by code, with their member stores."""
    return session.scalars(
        select(StoreGroup)
        .where(StoreGroup.tenant_id == tenant.id)
        .order_by(StoreGroup.code)
        .options(selectinload(StoreGroup.stores))
    ).all()


class PosNotFound(NotFound):
    code = "POS_NOT_FOUND"
    message = "Касса не найдена в этом магазине."


class StoreGroupNotFound(NotFound):
    code = "STORE_GROUP_NOT_FOUND"
    message = "Группа магазинов не найдена."


def get_store_group(session: Session, tenant: Tenant, code: str) -> StoreGroup:
    group = session.scalar(
        select(StoreGroup).where(StoreGroup.tenant_id == tenant.id, StoreGroup.code == code)
    )
    if group is None:
        raise StoreGroupNotFound(details={"store_group": code})
    return group


def get_pos(session: Session, store: Store, code: str) -> Pos:
    pos = session.scalar(select(Pos).where(Pos.store_id == store.id, Pos.code == code))
    if pos is None:
        raise PosNotFound(details={"store": store.code, "pos": code})
    return pos


def revoke_pos(session: Session, store: Store, code: str, now: datetime) -> Pos:
    """Stop the POS's token (a lost or stolen register). This process refuses it at once (the
    callers cache watches ``Pos``), other processes once their cached entry expires. Revoking
    again changes nothing and keeps the first time."""
    pos = get_pos(session, store, code)
    if pos.revoked_at is None:
        pos.revoked_at = now
        session.flush()
    return pos


def reissue_pos_token(session: Session, store: Store, code: str) -> IssuedPos:
    """A new token for the POS, shown once; the old one stops working as a revoked one does. A
    revoked POS becomes active again with it."""
    pos = get_pos(session, store, code)
    token = new_token()
    pos.token_hash = hash_token(token)
    pos.revoked_at = None
    session.flush()
    return IssuedPos(pos=pos, token=token)


def ensure_cashier(session: Session, tenant_id: int, code: str, name: str | None = None) -> Cashier:
    """The cashier a receipt names: created on first sight (concurrent first sightings insert
    once), renamed when the POS says so."""
    code = check_code("cashier", code)
    lookup = select(Cashier).where(Cashier.tenant_id == tenant_id, Cashier.code == code)
    cashier = session.scalar(lookup)
    if cashier is None:
        insert_ignore(
            session,
            Cashier,
            [{"tenant_id": tenant_id, "code": code, "name": (name or code).strip()}],
            ["tenant_id", "code"],
        )
        cashier = session.scalars(lookup).one()
    elif name and name.strip() and cashier.name != name.strip():
        cashier.name = name.strip()
    return cashier


@dataclass(frozen=True)
class IssuedAdminToken:
    token: AdminToken
    secret: str  # shown once


def add_admin_token(session: Session, tenant: Tenant, name: str) -> IssuedAdminToken:
    if not name.strip():
        raise InvalidInput("Укажите, для кого выпускается токен администратора.")
    secret = new_token()
    token = AdminToken(tenant_id=tenant.id, name=name.strip(), token_hash=hash_token(secret))
    session.add(token)
    session.flush()
    return IssuedAdminToken(token, secret)


def admin_token_owner(session: Session, secret: str) -> tuple[Tenant, str] | None:
    """The tenant an admin token's secret belongs to and the token's name (who it was issued
    to); None for a secret no token has."""
    found = session.execute(
        select(Tenant, AdminToken.name)
        .join(AdminToken, AdminToken.tenant_id == Tenant.id)
        .where(AdminToken.token_hash == hash_token(secret.strip()))
    ).one_or_none()
    return None if found is None else (found[0], found[1])


# Every receipt names its cashier: keep (tenant, code) → (id, name) per process. Cashiers are
# never deleted; a new name goes through ensure_cashier and refreshes the entry.
cashiers_cache = ProcessCache[tuple[int, str], tuple[int, str]](
    "cashiers", 3600.0, watches=(Cashier,)
)


def cashier_id(session: Session, tenant_id: int, code: str, name: str | None = None) -> int:
    key = (tenant_id, code)
    cached = cashiers_cache.get(key)
    if cached is not None and (not name or not name.strip() or name.strip() == cached[1]):
        return cached[0]
    cashier = ensure_cashier(session, tenant_id, code, name)
    cashiers_cache.stage(session, key, (cashier.id, cashier.name))
    return cashier.id
