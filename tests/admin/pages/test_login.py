"""Logging in: sessions, cookies, CSRF, throttling, expiry, and the action log of it all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from admin.pages import site
from processing.accounts.models import ActionLogEntry
from processing.accounts.roles import ADMIN, CASHIER, LICENSOR
from processing.accounts.service import set_password
from processing.tenants.models import Tenant
from tests.admin.pages.conftest import PASSWORD, People, csrf, log_in, post, signed_in, text
from tests.connector.onec_http.world import World


def test_pages_ask_for_a_login_first(client: FlaskClient) -> None:
    response = client.get("/admin/stores")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login?next=")


def test_login_opens_the_dashboard_and_logs_it(
    client: FlaskClient, session: Session, people: People, world: World
) -> None:
    response = log_in(client, "  ADMIN@acme.ru ")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    page = client.get("/admin/")
    assert page.status_code == 200 and "Сеть acme" in text(page)
    logged = session.scalars(select(ActionLogEntry).where(ActionLogEntry.action == "login")).all()
    assert [(e.user_id, e.tenant_id) for e in logged] == [(people[ADMIN].id, world.tenant_id)]


def test_wrong_password_is_refused_in_russian_and_logged_without_the_login(
    client: FlaskClient, session: Session, people: People
) -> None:
    response = log_in(client, people[ADMIN].email, "wrong-password-1")
    assert response.status_code == 200
    assert "Неверная электронная почта или пароль." in text(response)
    assert client.get("/admin/").status_code == 302
    failed = session.scalars(
        select(ActionLogEntry).where(ActionLogEntry.action == "login.failed")
    ).one()
    assert failed.user_id is None and failed.target == "" and failed.details == {}


def test_next_stays_inside_the_admin(client: FlaskClient, people: People) -> None:
    page = client.get("/admin/login?next=https://evil.example/")
    response = client.post(
        "/admin/login?next=https://evil.example/",
        data={"csrf_token": site_token(page), "email": people[ADMIN].email, "password": PASSWORD},
    )
    assert response.headers["Location"] == "/admin/"
    client.post("/admin/logout", data={"csrf_token": csrf(client)})
    page = client.get("/admin/login?next=/admin/users")
    response = client.post(
        "/admin/login?next=/admin/users",
        data={"csrf_token": site_token(page), "email": people[ADMIN].email, "password": PASSWORD},
    )
    assert response.headers["Location"] == "/admin/users"


def site_token(page: object) -> str:
    from tests.admin.pages.conftest import token_of

    return token_of(page)  # type: ignore[arg-type]


def test_logins_are_throttled(client: FlaskClient, people: People) -> None:
    from admin.pages.login import MAX_FAILED_LOGINS

    for _ in range(MAX_FAILED_LOGINS):
        assert log_in(client, people[CASHIER].email, "wrong-password-1").status_code == 200
    refused = log_in(client, people[CASHIER].email)  # the right password, too late
    assert refused.status_code == 429
    assert "Слишком много неудачных попыток" in text(refused)
    assert client.get("/admin/").status_code == 302


def test_forms_without_the_csrf_token_are_refused(
    client: FlaskClient, people: People, session: Session
) -> None:
    signed_in(client, people[ADMIN])
    response = client.post(
        "/admin/stores/add", data={"store-code": "msk-9", "store-name": "Девятый"}
    )
    assert response.status_code == 400
    assert "Форма устарела" in text(response)
    forged = client.post("/admin/stores/add", data={"csrf_token": "forged", "store-code": "msk-9"})
    assert forged.status_code == 400
    from processing.tenants.models import Store

    assert session.scalar(select(Store).where(Store.code == "msk-9")) is None
    ok = post(client, "/admin/stores/add", {"store-code": "msk-9", "store-name": "Девятый",
                                            "store-timezone": "Europe/Moscow"})  # fmt: skip
    assert ok.status_code == 302


def test_session_cookie_is_httponly_samesite_and_secure_over_https(
    client: FlaskClient, people: People
) -> None:
    page = client.get("/admin/login", base_url="https://loyalty.example.ru")
    response = client.post(
        "/admin/login",
        base_url="https://loyalty.example.ru",
        data={"csrf_token": site_token(page), "email": people[ADMIN].email, "password": PASSWORD},
    )
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/admin" in cookie
    assert "Secure" in cookie
    plain = client.get("/admin/login")
    assert "Secure" not in plain.headers.get("Set-Cookie", "")


def test_idle_session_expires(client: FlaskClient, people: People) -> None:
    signed_in(client, people[ADMIN])
    with client.session_transaction("/admin/") as stored:
        stored["seen"] = int(
            (datetime.now(UTC) - site.IDLE_LIMIT - timedelta(seconds=5)).timestamp()
        )
    response = client.get("/admin/users")
    assert response.status_code == 302 and "expired=1" in response.headers["Location"]
    assert "Сеанс завершён" in text(client.get(response.headers["Location"]))


def test_session_ends_after_the_absolute_limit(client: FlaskClient, people: People) -> None:
    signed_in(client, people[ADMIN])
    with client.session_transaction("/admin/") as stored:
        stored["since_ms"] = int(
            (datetime.now(UTC) - site.ABSOLUTE_LIMIT - timedelta(seconds=5)).timestamp() * 1000
        )
    assert client.get("/admin/users").status_code == 302


def test_password_change_and_deactivation_end_sessions(
    client: FlaskClient, session: Session, people: People
) -> None:
    signed_in(client, people[ADMIN])
    assert client.get("/admin/users").status_code == 200
    set_password(people[ADMIN], "another-password-2")
    session.flush()
    assert client.get("/admin/users").status_code == 302
    signed_in(client, people[CASHIER])
    people[CASHIER].active = False
    session.flush()
    assert client.get("/admin/customers").status_code == 302


def test_suspended_tenant_cannot_log_in_but_the_licensor_can(
    client: FlaskClient, session: Session, people: People, world: World
) -> None:
    session.get_one(Tenant, world.tenant_id).suspended_at = datetime.now(UTC)
    session.flush()
    log_in(client, people[ADMIN].email)
    assert client.get("/admin/").status_code == 302
    signed_in(client, people[LICENSOR])
    assert "приостановлена" in text(client.get("/admin/platform/tenants"))


def test_logout_ends_the_session_and_every_copy_of_its_cookie(
    client: FlaskClient, people: People, session: Session
) -> None:
    signed_in(client, people[ADMIN])
    copy = client.get_cookie("loyalty_admin", path="/admin")
    assert copy is not None
    assert client.post("/admin/logout").status_code == 400  # without the token
    response = post(client, "/admin/logout")
    assert response.status_code == 302
    assert client.get("/admin/users").status_code == 302
    actions = session.scalars(select(ActionLogEntry.action).order_by(ActionLogEntry.id)).all()
    assert actions == ["login", "logout"]
    client.set_cookie("loyalty_admin", copy.value, path="/admin")  # a copy kept by a thief
    assert client.get("/admin/users").status_code == 302
    signed_in(client, people[ADMIN])  # a new login works at once
    assert client.get("/admin/users").status_code == 200


@pytest.mark.parametrize("secret", [None])
def test_without_a_secret_key_in_production_the_pages_say_so(
    secret: None, settings: object, engine: object, connection: object
) -> None:
    from dataclasses import replace

    from sync.runtime import Runtime
    from tests.conftest import bind_runtime, build_app

    runtime = bind_runtime(Runtime(replace(settings, secret_key=secret), engine=engine), connection)  # type: ignore[arg-type, type-var]
    page = build_app(runtime).test_client().get("/admin/login")
    assert page.status_code == 503 and "задайте SECRET_KEY" in text(page)


def test_hostile_addresses_get_pages_not_failures(
    client: FlaskClient, people: People, session: Session
) -> None:
    """What the hostile probe found: overflowing dates and offsets, a NUL in a path, a CR/LF
    in ?next=, framing."""
    page = client.get("/admin/login?next=%2Fadmin%2F%0D%0AX-Injected%3A%201")
    response = client.post(
        "/admin/login?next=%2Fadmin%2F%0D%0AX-Injected%3A%201",
        data={"csrf_token": site_token(page), "email": people[ADMIN].email, "password": PASSWORD},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    assert "X-Injected" not in response.headers
    for path in (
        "/admin/sync-log?offset=9999999999999999999999999",
        "/admin/sync-log?since=0001-01-01&until=9999-12-31",
        "/admin/actions?since=0001-01-01",
    ):
        assert client.get(path).status_code == 200, path
    nul = client.get("/admin/cards/%00")
    assert nul.status_code in (400, 404) and "details" not in text(nul)
    headers = client.get("/admin/").headers
    assert (
        headers["X-Frame-Options"] == "DENY"
        and "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    )
    assert (
        headers["X-Content-Type-Options"] == "nosniff"
        and headers["Referrer-Policy"] == "same-origin"
    )


def test_a_user_changes_its_password_and_its_other_sessions_end(
    client: FlaskClient, people: People, session: Session
) -> None:
    signed_in(client, people[CASHIER])
    other = signed_in(FlaskClient(client.application, use_cookies=True), people[CASHIER])
    wrong = post(
        client,
        "/admin/password",
        {"current": "nope", "new": "a-new-password-9", "repeat": "a-new-password-9"},
    )
    assert "Текущий пароль указан неверно." in text(wrong)
    mismatch = post(
        client, "/admin/password", {"current": PASSWORD, "new": "a-new-password-9", "repeat": "x"}
    )
    assert "Пароли не совпадают." in text(mismatch)
    short = post(
        client, "/admin/password", {"current": PASSWORD, "new": "short", "repeat": "short"}
    )
    assert "Пароль слишком короткий" in text(short)
    changed = post(
        client,
        "/admin/password",
        {"current": PASSWORD, "new": "a-new-password-9", "repeat": "a-new-password-9"},
    )
    assert changed.status_code == 302
    assert client.get("/admin/customers").status_code == 200  # this session goes on
    assert other.get("/admin/customers").status_code == 302  # the other one ended
    assert (
        log_in(
            FlaskClient(client.application), people[CASHIER].email, "a-new-password-9"
        ).status_code
        == 302
    )
