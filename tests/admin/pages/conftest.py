"""The admin pages under test: users of every role in the seeded tenant (``world``), a licensor,
an agent looking after that tenant, and helpers to log in and post forms with a CSRF token."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from processing.accounts import service as accounts
from processing.accounts.models import User
from processing.accounts.roles import (
    ADMIN,
    AGENT,
    CASHIER,
    GUEST,
    LICENSOR,
    MANAGER,
    MARKETER,
    OPERATOR,
)
from processing.accounts.service import add_user, set_agent_tenant
from processing.tenants.models import Tenant
from tests.connector.onec_http.world import World

PASSWORD = "correct-horse-battery"
TENANT_ROLES = (ADMIN, MARKETER, MANAGER, OPERATOR, CASHIER, GUEST)
ALL_ROLES = (*TENANT_ROLES, LICENSOR, AGENT)
_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture(autouse=True)
def _cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """argon2 at its lowest cost: the pages' tests log in hundreds of times."""
    monkeypatch.setattr(
        accounts, "_HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )
    yield


@dataclass
class People:
    by_role: dict[str, User]

    def __getitem__(self, role: str) -> User:
        return self.by_role[role]


def make_people(session: Session, world: World, code: str = "acme") -> People:
    tenant = session.get_one(Tenant, world.tenant_id)
    now = datetime.now(UTC)
    people = {
        role: add_user(session, tenant, f"{role}@{code}.ru", PASSWORD, [role], now=now)
        for role in TENANT_ROLES
    }
    people[LICENSOR] = add_user(
        session, None, f"licensor@{code}.platform.ru", PASSWORD, [LICENSOR], now=now
    )
    people[AGENT] = add_user(session, None, f"agent@{code}.platform.ru", PASSWORD, [AGENT], now=now)
    set_agent_tenant(session, people[AGENT], tenant, True)
    session.flush()
    return People(people)


@pytest.fixture
def people(session: Session, world: World) -> People:
    return make_people(session, world)


def token_of(response: TestResponse) -> str:
    found = _TOKEN.search(response.get_data(as_text=True))
    assert found, "no CSRF token on the page"
    return found.group(1)


def log_in(client: FlaskClient, email: str, password: str = PASSWORD) -> TestResponse:
    page = client.get("/admin/login")
    return client.post(
        "/admin/login", data={"csrf_token": token_of(page), "email": email, "password": password}
    )


def signed_in(client: FlaskClient, user: User) -> FlaskClient:
    response = log_in(client, user.email)
    assert response.status_code == 302, response.get_data(as_text=True)[-500:]
    return client


def csrf(client: FlaskClient) -> str:
    """The session's CSRF token (one per session, valid for every form)."""
    return token_of(client.get("/admin/"))


def post(
    client: FlaskClient, path: str, data: dict[str, Any] | None = None, **kwargs: Any
) -> TestResponse:
    return client.post(path, data={"csrf_token": csrf(client), **(data or {})}, **kwargs)


def text(response: TestResponse) -> str:
    return response.get_data(as_text=True)
