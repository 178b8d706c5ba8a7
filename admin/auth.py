"""Tenant admin tokens on the API (``Authorization: Bearer <token>``), shared by every admin
endpoint: the calling tenant and the token's name, which the personal-data log records."""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, request

from connector.db import db_session
from processing.customers.access import admin_actor
from processing.errors import NotAuthenticated
from processing.tenants.models import Tenant
from processing.tenants.service import admin_token_owner


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
    found = admin_token_owner(db_session(), secret)
    if found is None:
        raise AdminTokenRequired("Токен администратора не найден или отозван.")
    g.admin_caller = AdminCaller(tenant=found[0], token_name=found[1])
    return g.admin_caller  # type: ignore[no-any-return]


def admin_tenant() -> Tenant:
    return admin_caller().tenant
