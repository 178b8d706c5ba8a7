"""Creating and finding tenants, stores and POS terminals."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from processing.errors import Conflict, InvalidInput, NotFound
from processing.tenants.models import Pos, Store, Tenant

_CODE_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")


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
    message = "Магазин с таким кодом у этого тенанта уже есть."


class PosExists(Conflict):
    code = "POS_EXISTS"
    message = "Касса с таким кодом в этом магазине уже есть."


def hash_token(token: str) -> str:
    """Tokens are random and long, so a plain SHA-256 is enough and fast to look up."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _check_code(field: str, value: str) -> str:
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


def get_tenant(session: Session, code: str) -> Tenant:
    tenant = session.scalar(select(Tenant).where(Tenant.code == code))
    if tenant is None:
        raise TenantNotFound(details={"tenant": code})
    return tenant


def get_store(session: Session, tenant: Tenant, code: str) -> Store:
    store = session.scalar(select(Store).where(Store.tenant_id == tenant.id, Store.code == code))
    if store is None:
        raise StoreNotFound(details={"store": code})
    return store


def add_tenant(session: Session, code: str, name: str) -> Tenant:
    code = _check_code("code", code)
    if session.scalar(select(Tenant.id).where(Tenant.code == code)) is not None:
        raise TenantExists(details={"tenant": code})
    tenant = Tenant(code=code, name=name.strip() or code)
    session.add(tenant)
    session.flush()
    return tenant


def add_store(
    session: Session, tenant: Tenant, code: str, name: str, timezone: str = "Europe/Moscow"
) -> Store:
    code = _check_code("code", code)
    exists = select(Store.id).where(Store.tenant_id == tenant.id, Store.code == code)
    if session.scalar(exists) is not None:
        raise StoreExists(details={"store": code})
    store = Store(
        tenant_id=tenant.id,
        code=code,
        name=name.strip() or code,
        timezone=_check_timezone(timezone),
    )
    session.add(store)
    session.flush()
    return store


@dataclass(frozen=True)
class IssuedPos:
    pos: Pos
    token: str  # shown once; only its hash is stored


def add_pos(session: Session, store: Store, code: str, token: str | None = None) -> IssuedPos:
    """Register a POS terminal; a random token is generated unless one is given (demo only)."""
    code = _check_code("code", code)
    exists = select(Pos.id).where(Pos.store_id == store.id, Pos.code == code)
    if session.scalar(exists) is not None:
        raise PosExists(details={"pos": code})
    token = token or new_token()
    pos = Pos(tenant_id=store.tenant_id, store_id=store.id, code=code, token_hash=hash_token(token))
    session.add(pos)
    session.flush()
    return IssuedPos(pos=pos, token=token)
