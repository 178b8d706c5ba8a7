"""Tenant admin tokens on the API (``Authorization: Bearer <token>``), shared by every admin
endpoint: the calling tenant and the token's name, which the personal-data log records."""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, request
from sqlalchemy import select

from connector.db import db_session
from processing.customers.access import admin_actor
from processing.errors import NotAuthenticated
from processing.tenants.models import AdminToken, Tenant
from processing.tenants.service import hash_token


class AdminTokenRequired(NotAuthenticated):
    challenge = 'Bearer realm="loyalty-connector-admin"'
    message = "Нужен токен администратора тенанта: Authorization: Bearer <токен>."


@dataclass(frozen=True)
class AdminCaller:
    tenant: Tenant
    token_name: str

    @property
    def actor(self) -> str:
        return admin_actor(self.token_name)


def admin_caller() -> AdminCaller:
    """The tenant and token of the request (cached for it); 401 without a valid token."""
    if "admin_caller" in g:
        cached: AdminCaller = g.admin_caller
        return cached
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise AdminTokenRequired()
    found = (
        db_session()
        .execute(
            select(Tenant, AdminToken.name)
            .join(AdminToken, AdminToken.tenant_id == Tenant.id)
            .where(AdminToken.token_hash == hash_token(secret.strip()))
        )
        .one_or_none()
    )
    if found is None:
        raise AdminTokenRequired("Токен администратора не найден или отозван.")
    g.admin_caller = AdminCaller(tenant=found[0], token_name=found[1])
    return g.admin_caller  # type: ignore[no-any-return]


def admin_tenant() -> Tenant:
    return admin_caller().tenant
