"""Who reaches what: every role × every page and action of the admin (allowed, or 403), written
out as the issue assigns them; and a user of one tenant never reaches another tenant's objects by
editing a URL (404, nothing changed)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

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
from processing.cards.service import add_template
from processing.customers.models import Customer
from processing.programs.service import add_program
from processing.tenants.models import Pos, Tenant
from processing.tenants.service import add_pos, add_store
from processing.uploads.models import CHECKED, QuestionnaireUploadError
from sync.models import SyncRun
from sync.questionnaire_upload import start_upload
from tests.admin.pages.conftest import ALL_ROLES, People, csrf, make_people, signed_in
from tests.connector.onec_http.world import World

EVERYONE = frozenset(ALL_ROLES)
DESK = frozenset({ADMIN, MANAGER, OPERATOR, CASHIER})  # find a customer by phone or card
# endpoint → the roles allowed, as the issue assigns them (the defaults of a fresh tenant).
EXPECTED: dict[str, frozenset[str]] = {
    "pages.dashboard": EVERYONE,
    "pages.password": EVERYONE,
    "pages.tenants": frozenset({LICENSOR}),
    "pages.tenant_add": frozenset({LICENSOR}),
    "pages.tenant_page": frozenset({LICENSOR}),
    "pages.tenant_tariff": frozenset({LICENSOR}),
    "pages.tenant_addon": frozenset({LICENSOR}),
    "pages.tenant_limits": frozenset({LICENSOR}),
    "pages.tenant_suspend": frozenset({LICENSOR}),
    "pages.tenant_agents": frozenset({LICENSOR}),
    "pages.tariffs": frozenset({LICENSOR}),
    "pages.agent_tenants_page": frozenset({LICENSOR, AGENT}),
    "pages.agent_tenant": frozenset({LICENSOR, AGENT}),
    "pages.agent_pos_reissue": frozenset({LICENSOR, AGENT}),
    "pages.stores": frozenset({ADMIN}),
    "pages.store_add": frozenset({ADMIN}),
    "pages.store_group_add": frozenset({ADMIN}),
    "pages.credentials_set": frozenset({ADMIN}),
    "pages.cashier_set": frozenset({ADMIN}),
    "pages.questionnaire_page": frozenset({ADMIN}),
    "pages.questionnaire_rules": frozenset({ADMIN}),
    "pages.questionnaire_field_add": frozenset({ADMIN}),
    "pages.store": frozenset({ADMIN}),
    "pages.store_active": frozenset({ADMIN}),
    "pages.pos_add": frozenset({ADMIN}),
    "pages.pos_reissue": frozenset({ADMIN}),
    "pages.pos_revoke": frozenset({ADMIN}),
    "pages.cards": DESK,
    "pages.card": DESK,
    "pages.card_template_add": frozenset({ADMIN}),
    "pages.card_generate": frozenset({ADMIN}),
    "pages.card_status": frozenset({ADMIN, MANAGER}),
    "pages.card_replace": frozenset({ADMIN, OPERATOR, CASHIER}),
    "pages.customers": DESK,
    "pages.customer": DESK,
    "pages.customer_register": frozenset({ADMIN, OPERATOR, CASHIER}),
    "pages.customer_card_issue": frozenset({ADMIN, OPERATOR, CASHIER}),
    "pages.customer_edit": frozenset({ADMIN, OPERATOR}),
    "pages.customer_balance": frozenset({ADMIN, MANAGER}),
    "pages.customer_anonymise": frozenset({ADMIN}),
    "pages.uploads": frozenset({ADMIN, OPERATOR}),
    "pages.upload_start": frozenset({ADMIN, OPERATOR}),
    "pages.upload": frozenset({ADMIN, OPERATOR}),
    "pages.upload_mapping": frozenset({ADMIN, OPERATOR}),
    "pages.upload_load": frozenset({ADMIN, OPERATOR}),
    "pages.upload_resume": frozenset({ADMIN, OPERATOR}),
    "pages.upload_errors": frozenset({ADMIN, OPERATOR}),
    "pages.programs": frozenset({ADMIN, MARKETER}),
    "pages.program": frozenset({ADMIN, MARKETER}),
    "pages.program_version": frozenset({ADMIN, MARKETER}),
    "pages.program_add": frozenset({ADMIN, MARKETER}),
    "pages.program_status": frozenset({ADMIN, MARKETER}),
    "pages.sync_runs": frozenset({ADMIN, MARKETER, MANAGER, GUEST}),
    "pages.sync_run": frozenset({ADMIN, MARKETER, MANAGER, GUEST}),
    "pages.users": frozenset({ADMIN}),
    "pages.user_add": frozenset({ADMIN}),
    "pages.user_active": frozenset({ADMIN}),
    "pages.user_password": frozenset({ADMIN}),
    "pages.roles_save": frozenset({ADMIN}),
    "pages.actions": frozenset({ADMIN}),
}
NOT_GUARDED = {"pages.static", "pages.login", "pages.logout"}


def _run(session: Session, tenant_id: int) -> SyncRun:
    run = SyncRun(
        tenant_id=tenant_id, source="commerceml", file_name="import.xml", stored_name="import.xml",
        status="done", started_at=datetime.now(UTC), counts={}, errors=[], warnings=[],
    )  # fmt: skip
    session.add(run)
    session.flush()
    return run


def _checked_upload(session: Session, tenant: Tenant) -> int:
    """An upload checked with one bad row (its page and error report have something to show)."""
    upload = start_upload(
        session,
        tenant,
        file_name="anketa.csv",
        author="t",
        now=datetime.now(UTC),
        data="Телефон;Фамилия\n+79001112233;Иванова\n12;Петров\n".encode("cp1251"),
    )
    upload.status, upload.rows_total, upload.valid, upload.invalid = CHECKED, 2, 1, 1
    session.add(
        QuestionnaireUploadError(upload_id=upload.id, row_number=3, message="Неверный телефон")
    )
    session.flush()
    return upload.id


def _arguments(session: Session, world: World, people: People, run: SyncRun) -> dict[str, Any]:
    tenant = session.get_one(Tenant, world.tenant_id)
    return {
        "upload_id": _checked_upload(session, tenant),
        "code": tenant.code, "customer_id": world.customer_id, "number": world.card,
        "pos_code": "p1", "run_id": run.id, "user_id": people[GUEST].id, "addon": "informer",
        "store_code": "s1", "program_code": "bonus", "template_code": "main",
    }  # fmt: skip


def _rules(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, method, rule) of every admin page and action."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("pages.") or rule.endpoint in NOT_GUARDED:
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, method, rule.rule))
    return found


def test_every_page_is_in_the_matrix(app: Flask) -> None:
    assert {endpoint for endpoint, _, _ in _rules(app)} == set(EXPECTED)


def _url(app: Flask, endpoint: str, arguments: dict[str, Any]) -> str:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    with app.test_request_context():
        from flask import url_for

        return url_for(endpoint, **{name: arguments[name] for name in rule.arguments})


@pytest.mark.parametrize("role", ALL_ROLES)
def test_role_reaches_exactly_its_pages(
    role: str, app: Flask, client: FlaskClient, session: Session, world: World, people: People
) -> None:
    run = _run(session, world.tenant_id)
    arguments = _arguments(session, world, people, run)
    signed_in(client, people[role])
    token = csrf(client)
    outcomes = {}
    for endpoint, method, _ in _rules(app):
        url = _url(app, endpoint, arguments)
        response = client.open(
            url, method=method, data={"csrf_token": token} if method == "POST" else None
        )
        outcomes[(endpoint, method)] = response.status_code
        assert response.status_code < 500, (
            endpoint,
            method,
            response.get_data(as_text=True)[-400:],
        )
    for (endpoint, method), status in outcomes.items():
        allowed = role in EXPECTED[endpoint]
        if not allowed:
            assert status == 403, (role, endpoint, method, status)
        elif method == "GET":
            assert status == 200, (role, endpoint, method, status)
        else:
            assert status != 403, (role, endpoint, method, status)


def test_a_tenant_changes_what_a_role_may_do(
    client: FlaskClient, session: Session, world: World, people: People
) -> None:
    """A tenant administrator gives the cashier the sync log: the cashier sees it at once."""
    from processing.accounts.service import set_permission

    signed_in(client, people[CASHIER])
    assert client.get("/admin/sync-log").status_code == 403
    set_permission(
        session, session.get_one(Tenant, world.tenant_id), CASHIER, "sync_log.view", True
    )
    session.flush()
    assert client.get("/admin/sync-log").status_code == 200
    set_permission(
        session, session.get_one(Tenant, world.tenant_id), CASHIER, "customers.find", False
    )
    session.flush()
    assert client.get("/admin/customers").status_code == 403


# --- isolation ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [ADMIN, AGENT])
def test_another_tenants_objects_are_not_found(
    role: str, app: Flask, client: FlaskClient, session: Session, world: World, other: World,
    people: People,
) -> None:  # fmt: skip
    """Every page with an id in its URL, given the other tenant's ids: 404, nothing changed."""
    theirs = make_people(session, other, "other")
    run = _run(session, other.tenant_id)
    arguments = _arguments(session, other, theirs, run)
    # Codes are a tenant's own: only the other tenant has these (both have a store "s1").
    their_store = add_store(
        session, session.get_one(Tenant, other.tenant_id), "b-only", "Их магазин"
    )
    add_pos(session, their_store, "b-pos")
    add_program(session, session.get_one(Tenant, other.tenant_id), "bonus", "b-bonus", "Их бонусы")
    arguments.update(
        store_code="b-only", pos_code="b-pos", program_code="b-bonus", template_code="b-main"
    )
    add_template(
        session,
        session.get_one(Tenant, other.tenant_id),
        code="b-main",
        name="Их карты",
        card_type="5%",
        prefix="99",
        number_length=10,
    )
    if role == AGENT:
        arguments["code"] = "other"  # the agent looks after acme only
    signed_in(client, people[role])
    token = csrf(client)
    their_pos = {
        p.id: p.revoked_at
        for p in session.scalars(select(Pos).where(Pos.tenant_id == other.tenant_id))
    }
    checked = 0
    for endpoint, method, rule in _rules(app):
        if "<" not in rule or role not in EXPECTED[endpoint]:
            continue
        if endpoint.startswith("pages.tenant") and role == ADMIN:
            continue  # the licensor's pages take any tenant by design
        response = client.open(
            _url(app, endpoint, arguments), method=method,
            data={"csrf_token": token, "active": "y", "card": "x", "reason": "x", "amount": "1",
                  "confirm": str(other.customer_id), "new_card": "x"} if method == "POST" else None,
        )  # fmt: skip
        assert response.status_code == 404, (endpoint, method, response.status_code)
        checked += 1
    assert checked >= (2 if role == AGENT else 25)
    session.expire_all()
    after = {
        p.id: p.revoked_at
        for p in session.scalars(select(Pos).where(Pos.tenant_id == other.tenant_id))
    }
    assert after == their_pos
    assert session.get_one(Customer, other.customer_id).anonymised_at is None
