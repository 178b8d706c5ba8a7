"""Adding users, checking their logins, and what a user may do.

Passwords are hashed with argon2 (``argon2-cffi``'s defaults, rehashed on login when they
change). A login for an unknown e-mail pays the same verification as a wrong password.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from processing.accounts.models import EMAIL_LENGTH, AgentTenant, RolePermission, User, UserRole
from processing.accounts.roles import (
    ADMIN,
    AGENT,
    DEFAULTS,
    LICENSOR,
    PERMISSIONS,
    PLATFORM_ROLES,
    ROLE_TITLES,
    TENANT_ROLES,
)
from processing.errors import Conflict, InvalidInput, NotFound
from processing.tenants.models import Tenant
from processing.validation import email_address

MIN_PASSWORD_LENGTH = 10
_HASHER = PasswordHasher()
_DUMMY_HASH = _HASHER.hash(secrets.token_hex(16))


class AccountEmailInvalid(InvalidInput):
    code = "ACCOUNT_EMAIL_INVALID"
    message = "Неверный адрес электронной почты: он нужен для входа, например ivanova@shop.ru."


class AccountPasswordWeak(InvalidInput):
    code = "ACCOUNT_PASSWORD_WEAK"
    message = f"Пароль слишком короткий: нужно не меньше {MIN_PASSWORD_LENGTH} символов."


class AccountRoleInvalid(InvalidInput):
    code = "ACCOUNT_ROLE_INVALID"
    message = (
        "Неверная роль: пользователю сети — Администратор, Маркетолог, Руководитель, "
        "Бухгалтер/Оператор, Кассир или Гость; пользователю платформы — Лицензиар или Агент."
    )


class AccountPermissionUnknown(InvalidInput):
    code = "ACCOUNT_PERMISSION_UNKNOWN"
    message = "Неизвестное право: выберите его из списка прав ролей."


class AccountRoleFixed(InvalidInput):
    code = "ACCOUNT_ROLE_FIXED"
    message = "Права Администратора не меняются: он всегда может всё в своей сети."


class UserNotFound(NotFound):
    code = "USER_NOT_FOUND"
    message = "Пользователь не найден."


class AccountExists(Conflict):
    code = "ACCOUNT_EXISTS"
    message = "Пользователь с таким адресом электронной почты уже есть."


def normal_email(email: str) -> str:
    """The login as stored: trimmed, lower case; ``AccountEmailInvalid`` when it is none."""
    address = email_address(email)
    if address is None:
        raise AccountEmailInvalid(details={"email": email[:EMAIL_LENGTH]})
    return address


def add_user(
    session: Session,
    tenant: Tenant | None,
    email: str,
    password: str,
    roles: Iterable[str],
    *,
    name: str = "",
    now: datetime,
) -> User:
    """A user of ``tenant`` (None: of the platform) with these roles."""
    login = normal_email(email)
    wanted = sorted(set(roles))
    allowed = TENANT_ROLES if tenant is not None else PLATFORM_ROLES
    if not wanted or any(role not in allowed for role in wanted):
        raise AccountRoleInvalid(details={"roles": wanted})
    if session.scalar(select(User.id).where(User.email == login)) is not None:
        raise AccountExists(details={"email": login})
    user = User(
        tenant_id=tenant.id if tenant is not None else None, email=login,
        name=name.strip()[:200], password_hash=_hash(password), active=True, created_at=now,
    )  # fmt: skip
    session.add(user)
    session.flush()
    session.add_all(UserRole(user_id=user.id, role=role) for role in wanted)
    session.flush()
    return user


def set_password(user: User, password: str) -> None:
    user.password_hash = _hash(password)


class AccountPasswordWrong(InvalidInput):
    code = "ACCOUNT_PASSWORD_WRONG"
    message = "Текущий пароль указан неверно."


def change_password(user: User, current: str, new: str) -> None:
    """The user's own change: the current password first."""
    try:
        _HASHER.verify(user.password_hash, current)
    except (VerificationError, InvalidHashError) as exc:
        raise AccountPasswordWrong() from exc
    set_password(user, new)


def authenticate(session: Session, email: str, password: str, *, now: datetime) -> User | None:
    """The active user whose e-mail and password these are, or None."""
    try:
        login = normal_email(email)
    except AccountEmailInvalid:
        login = None
    user = session.scalar(select(User).where(User.email == login)) if login else None
    stored = user.password_hash if user is not None and user.active else _DUMMY_HASH
    try:
        _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _HASHER.check_needs_rehash(stored):
        user.password_hash = _HASHER.hash(password)
    user.last_login_at = now
    return user


def roles_of(session: Session, user: User) -> frozenset[str]:
    return frozenset(session.scalars(select(UserRole.role).where(UserRole.user_id == user.id)))


def permissions_of(
    session: Session, user: User, roles: frozenset[str] | None = None
) -> frozenset[str]:
    """What the user may do: the defaults of each of its roles (``roles``, when already read)
    as its tenant changed them (the platform's roles are not a tenant's to change)."""
    roles = roles_of(session, user) if roles is None else roles
    if LICENSOR in roles:
        return PERMISSIONS
    if user.tenant_id is None:
        return frozenset()
    table = role_table(session, user.tenant_id)
    return frozenset().union(*(table.get(role, frozenset()) for role in roles))


def set_permission(
    session: Session, tenant: Tenant, role: str, permission: str, allowed: bool
) -> None:
    """The tenant's own answer to whether ``role`` may do ``permission``. The administrator's
    rights are fixed: a tenant cannot lock itself out of its users and roles."""
    if role not in TENANT_ROLES:
        raise AccountRoleInvalid(details={"roles": [role]})
    if role == ADMIN:
        raise AccountRoleFixed(details={"role": role})
    if permission not in PERMISSIONS:
        raise AccountPermissionUnknown(details={"permission": permission})
    row = session.get(RolePermission, (tenant.id, role, permission))
    if row is None:
        session.add(
            RolePermission(tenant_id=tenant.id, role=role, permission=permission, allowed=allowed)
        )
    else:
        row.allowed = allowed
    session.flush()


def role_table(session: Session, tenant_id: int) -> dict[str, frozenset[str]]:
    """What each tenant role may do in the tenant: the defaults with the tenant's changes."""
    changes = {
        (row.role, row.permission): row.allowed
        for row in session.scalars(
            select(RolePermission).where(RolePermission.tenant_id == tenant_id)
        )
    }
    return {
        role: frozenset(
            permission
            for permission in PERMISSIONS
            if changes.get((role, permission), permission in DEFAULTS.get(role, ()))
        )
        for role in TENANT_ROLES
    }


def tenant_users(session: Session, tenant: Tenant) -> list[tuple[User, frozenset[str]]]:
    users = session.scalars(select(User).where(User.tenant_id == tenant.id).order_by(User.email))
    return [(user, roles_of(session, user)) for user in users]


def get_user(session: Session, tenant: Tenant, user_id: int) -> User:
    """A user of ``tenant``; ``UserNotFound`` for another tenant's."""
    user = session.get(User, user_id)
    if user is None or user.tenant_id != tenant.id:
        raise UserNotFound(details={"user": user_id})
    return user


def role_title(role: str) -> str:
    return ROLE_TITLES.get(role, role)


def _hash(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountPasswordWeak()
    return _HASHER.hash(password)


def agents(session: Session) -> list[User]:
    """The platform's agents, by e-mail."""
    return list(
        session.scalars(
            select(User)
            .join(UserRole, UserRole.user_id == User.id)
            .where(User.tenant_id.is_(None), UserRole.role == AGENT)
            .order_by(User.email)
        )
    )


def set_agent_tenant(session: Session, agent: User, tenant: Tenant, assigned: bool) -> None:
    """Give an agent a tenant to look after, or take it away."""
    if agent.tenant_id is not None or AGENT not in roles_of(session, agent):
        raise AccountRoleInvalid(details={"roles": sorted(roles_of(session, agent))})
    row = session.get(AgentTenant, (agent.id, tenant.id))
    if assigned and row is None:
        session.add(AgentTenant(user_id=agent.id, tenant_id=tenant.id))
    elif not assigned and row is not None:
        session.delete(row)
    session.flush()


def agent_tenants(session: Session) -> dict[int, set[int]]:
    """Each agent's tenants: user id → tenant ids."""
    assigned: dict[int, set[int]] = {}
    for row in session.scalars(select(AgentTenant)):
        assigned.setdefault(row.user_id, set()).add(row.tenant_id)
    return assigned
