"""User accounts, their roles, and a tenant's changes to what a role may do.

A user of a tenant has ``tenant_id``; a user of the platform (the licensor, an agent) has none.
E-mail is the login and unique across the service. Only an argon2 hash of the password is kept.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, String, true
from sqlalchemy.orm import Mapped, mapped_column

from processing import validation
from processing.db import Base
from processing.types import UtcDateTime

EMAIL_LENGTH = validation.EMAIL_LENGTH  # the longest address kept
ROLE_LENGTH = 32
PERMISSION_LENGTH = 64


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(EMAIL_LENGTH), unique=True)  # lower case
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Sessions of the admin pages begun before this moment are over (a logout ends them all:
    # the session cookie is signed, not stored, so a copy of it must die server-side).
    sessions_valid_after: Mapped[datetime | None] = mapped_column(UtcDateTime())


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(ROLE_LENGTH), primary_key=True)


class RolePermission(Base):
    """A tenant's own answer to whether ``role`` may do ``permission`` (the defaults are in
    ``processing.accounts.roles``)."""

    __tablename__ = "role_permissions"

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(ROLE_LENGTH), primary_key=True)
    permission: Mapped[str] = mapped_column(String(PERMISSION_LENGTH), primary_key=True)
    allowed: Mapped[bool] = mapped_column(Boolean)


class AgentTenant(Base):
    """A tenant assigned to an agent (a reseller or a POS-software partner)."""

    __tablename__ = "agent_tenants"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ActionLogEntry(Base):
    """Who did what when in the admin: logins (failed ones too), every change, every view of a
    customer's personal data, every export. Ids and field names only, never personal data."""

    __tablename__ = "action_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200), server_default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
