"""A seeded tenant (``seed_world``: store s1 with POS p1 and p2, level and bonus programs, card
series ``main``) and its administrator's token; another tenant for isolation."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from processing.tenants.models import Tenant
from processing.tenants.service import add_admin_token
from tests.connector.onec_http.world import World


def admin_headers(session: Session, world: World, name: str = "Администратор") -> dict[str, str]:
    issued = add_admin_token(session, session.get_one(Tenant, world.tenant_id), name)
    session.flush()
    return {"Authorization": f"Bearer {issued.secret}"}


@pytest.fixture
def admin(session: Session, world: World) -> dict[str, str]:
    return admin_headers(session, world)


def call(
    client: FlaskClient,
    headers: dict[str, str],
    method: str,
    path: str,
    body: Any = None,
) -> tuple[int, Any]:
    """``/api/v1/admin/<path>``: the status and the JSON answer."""
    response = client.open(f"/api/v1/admin/{path}", method=method, json=body, headers=headers)
    return response.status_code, response.get_json()


def fields_of(answer: Any) -> dict[str, Any]:
    """The fields a VALIDATION_ERROR names, with their messages."""
    assert answer["code"] == "VALIDATION_ERROR", answer
    named: dict[str, Any] = answer["details"]["fields"]["json"]
    return named
