"""HTTP Basic logins of a tenant's 1C to one of its services: only that tenant's login for that
service opens it, every failure says the caller's message, and failures are throttled per
service, tenant code and client address. (The discount server's face is tested through SOAP in
tests/connector/soap/test_login_hardening.py.)"""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from connector import basic_auth
from connector.basic_auth import BasicRequired, authenticate
from connector.errors import error_response
from connector.throttle import TooManyAttempts
from processing.tenants import credentials
from processing.tenants.credentials import set_credentials
from processing.tenants.models import Tenant
from tests import factories

SHOPS_PASSWORD = "Shops-pass-1"
EXCHANGE_PASSWORD = "Exchange-pass-1"
USER = "1c"
ADDRESS = "10.0.0.1"
OTHER_ADDRESS = "10.0.0.2"
REFUSED = "Неверный логин или пароль обмена с сайтом."
NOW = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(credentials, "PBKDF2_ROUNDS", 1_000)


@pytest.fixture
def acme(session: Session) -> Tenant:
    """A tenant whose shops and exchange log in with one user name and different passwords."""
    tenant = factories.tenant(session, "acme")
    set_credentials(session, tenant, "discount_server", USER, SHOPS_PASSWORD, now=NOW)
    set_credentials(session, tenant, "exchange", USER, EXCHANGE_PASSWORD, now=NOW)
    return tenant


def login(
    app: Flask,
    session: Session,
    tenant_code: str,
    service: str,
    password: str | None,
    *,
    user: str = USER,
    address: str = ADDRESS,
) -> Tenant:
    headers = {}
    if password is not None:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    with app.test_request_context(headers=headers, environ_base={"REMOTE_ADDR": address}):
        return authenticate(session, tenant_code, service, message=REFUSED)


def refused(app: Flask, session: Session, *args: str, **kwargs: str) -> BasicRequired:
    with pytest.raises(BasicRequired) as error:
        login(app, session, *args, **kwargs)
    assert error.value.text == REFUSED
    return error.value


def test_the_right_login_for_the_service_gives_the_tenant(
    app: Flask, session: Session, acme: Tenant
) -> None:
    assert login(app, session, "acme", "exchange", EXCHANGE_PASSWORD) is acme
    assert login(app, session, "acme", "discount_server", SHOPS_PASSWORD) is acme


def test_another_services_password_is_refused(app: Flask, session: Session, acme: Tenant) -> None:
    refused(app, session, "acme", "exchange", SHOPS_PASSWORD)
    refused(app, session, "acme", "discount_server", EXCHANGE_PASSWORD)


def test_a_wrong_password_user_or_tenant_is_refused_alike(
    app: Flask, session: Session, acme: Tenant
) -> None:
    error = refused(app, session, "acme", "exchange", "wrong-password")
    with app.app_context():
        response = error_response(error)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="loyalty-connector"'
    assert response.get_json()["code"] == "UNAUTHORIZED"
    refused(app, session, "acme", "exchange", EXCHANGE_PASSWORD, user="someone-else")
    refused(app, session, "nobody", "exchange", EXCHANGE_PASSWORD)


def test_a_tenant_without_the_services_login_is_refused(app: Flask, session: Session) -> None:
    shops_only = factories.tenant(session, "shops-only")
    set_credentials(session, shops_only, "discount_server", USER, SHOPS_PASSWORD, now=NOW)
    refused(app, session, "shops-only", "exchange", SHOPS_PASSWORD)


def test_another_tenants_login_never_opens_this_tenant(
    app: Flask, session: Session, acme: Tenant
) -> None:
    other = factories.tenant(session, "other")
    set_credentials(session, other, "exchange", "other-1c", "Other-pass-1", now=NOW)
    assert login(app, session, "other", "exchange", "Other-pass-1", user="other-1c") is other
    refused(app, session, "acme", "exchange", "Other-pass-1", user="other-1c")
    refused(app, session, "other", "exchange", EXCHANGE_PASSWORD)


def test_no_credentials_ask_for_them_without_counting_a_failure(
    app: Flask, session: Session, acme: Tenant
) -> None:
    for _ in range(basic_auth.MAX_FAILED_LOGINS + 1):
        with pytest.raises(BasicRequired) as error:
            login(app, session, "acme", "exchange", None)
        assert error.value.text == BasicRequired.message
    assert login(app, session, "acme", "exchange", EXCHANGE_PASSWORD) is acme


def test_failures_are_throttled_per_service_tenant_and_address(
    app: Flask, session: Session, acme: Tenant
) -> None:
    for _ in range(basic_auth.MAX_FAILED_LOGINS):
        refused(app, session, "acme", "exchange", "wrong-password")
    with pytest.raises(TooManyAttempts) as blocked:
        login(app, session, "acme", "exchange", EXCHANGE_PASSWORD)
    assert 0 < blocked.value.details["retry_after"] <= basic_auth.FAILED_LOGIN_WINDOW_S
    assert login(app, session, "acme", "discount_server", SHOPS_PASSWORD) is acme
    assert login(app, session, "acme", "exchange", EXCHANGE_PASSWORD, address=OTHER_ADDRESS) is acme


def test_failures_for_an_unknown_tenant_are_throttled_too(app: Flask, session: Session) -> None:
    for _ in range(basic_auth.MAX_FAILED_LOGINS):
        refused(app, session, "nobody", "exchange", EXCHANGE_PASSWORD)
    with pytest.raises(TooManyAttempts):
        login(app, session, "nobody", "exchange", EXCHANGE_PASSWORD)


def test_a_suspended_tenants_1c_login_is_refused_with_its_reason(
    app: Flask, session: Session, acme: Tenant
) -> None:
    from processing.tenants.service import TenantSuspended

    acme.suspended_at = NOW
    session.flush()
    with pytest.raises(TenantSuspended):
        login(app, session, "acme", "exchange", EXCHANGE_PASSWORD)
    acme.suspended_at = None
    session.flush()
    assert login(app, session, "acme", "exchange", EXCHANGE_PASSWORD) is acme
