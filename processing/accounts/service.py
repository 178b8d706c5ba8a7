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

from processing.accounts.models import EMAIL_LENGTH, RolePermission, User, UserRole
from processing.accounts.roles import (
    DEFAULTS,
    LICENSOR,
    PERMISSIONS,
    PLATFORM_ROLES,
    ROLE_TITLES,
    TENANT_ROLES,
)
from processing.errors import Conflict, InvalidInput
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


def permissions_of(session: Session, user: User) -> frozenset[str]:
    """What the user may do: the defaults of each of its roles as its tenant changed them (the
    platform's roles are not a tenant's to change)."""
    roles = roles_of(session, user)
    if LICENSOR in roles:
        return PERMISSIONS
    if user.tenant_id is None:
        return frozenset()
    granted: set[str] = set()
    changes = {
        (row.role, row.permission): row.allowed
        for row in session.scalars(
            select(RolePermission).where(
                RolePermission.tenant_id == user.tenant_id, RolePermission.role.in_(roles)
            )
        )
    }
    for role in roles:
        for permission in PERMISSIONS:
            if changes.get((role, permission), permission in DEFAULTS.get(role, ())):
                granted.add(permission)
    return frozenset(granted)


def set_permission(
    session: Session, tenant: Tenant, role: str, permission: str, allowed: bool
) -> None:
    """The tenant's own answer to whether ``role`` may do ``permission``."""
    if role not in TENANT_ROLES:
        raise AccountRoleInvalid(details={"roles": [role]})
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


def role_title(role: str) -> str:
    return ROLE_TITLES.get(role, role)


def _hash(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountPasswordWeak()
    return _HASHER.hash(password)
