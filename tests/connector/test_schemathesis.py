"""Schemathesis over the OpenAPI document, against the in-process app (WSGI) with a seeded
tenant: generated requests, valid and invalid, never get a server error, and every answer
conforms to the document (status, content type, headers, body schema)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    ensure_resource_availability,
    ignored_auth,
    missing_required_header,
    negative_data_rejection,
    object_level_authorization,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
    use_after_free,
)
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from config import Settings, load_settings
from connector.api import ADMIN_AUTH, POS_AUTH
from connector.app import create_app
from processing.tenants.models import Tenant
from processing.tenants.service import add_admin_token
from sync.runtime import Runtime
from tests.connector.onec_http.world import seed_world

pytestmark = pytest.mark.committed

EXAMPLES_PER_OPERATION = 30


@pytest.fixture
def seeded_app(settings: Settings, engine: Engine) -> tuple[Flask, dict[str, str]]:
    """The app on real commits (requests must see the seeded tenant) and a token per scheme."""
    with Session(engine) as session:
        world = seed_world(session)
        tenant = session.get(Tenant, world.tenant_id)
        assert tenant is not None
        admin = add_admin_token(session, tenant, "support")
        session.commit()
    tokens = {POS_AUTH: world.token, ADMIN_AUTH: admin.secret}
    return create_app(runtime=Runtime(settings, engine=engine)), tokens


def _document_app() -> Flask:
    """Serves the document when tests are collected (no database needed); the generated
    requests go to the seeded app."""
    return create_app(settings=load_settings({"DATABASE_URL": "sqlite://"}))


schema = schemathesis.openapi.from_wsgi("/api/openapi.json", _document_app())


# Every built-in check but two:
# - positive_data_acceptance: a schema cannot state every rule, so schema-valid requests are
#   refused on purpose: a card number must fit a series and its check digit (400), identify
#   needs one of four identifiers, quantities are above zero, the loyalty rules refuse (422);
# - max_response_time: speed is measured in bench/, never asserted in a test.
CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    use_after_free,
    ensure_resource_availability,
    missing_required_header,
    ignored_auth,
    object_level_authorization,
    unsupported_method,
    allow_header_conformance,
]


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_generated_requests_get_no_server_error(
    case: Any, seeded_app: tuple[Flask, dict[str, str]]
) -> None:
    app, tokens = seeded_app
    security = case.operation.definition.raw.get("security") or []
    schemes = [name for requirement in security for name in requirement]
    generated = (case.headers or {}).get("Authorization", "")
    if schemes and generated.startswith("Bearer "):
        # A bearer token of the right shape: make it one that passes. A negative case without
        # the header keeps it missing (and must get 401).
        case.headers["Authorization"] = f"Bearer {tokens[schemes[0]]}"
    case.call_and_validate(app=app, checks=CHECKS)
