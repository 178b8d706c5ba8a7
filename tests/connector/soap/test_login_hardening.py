"""Discount-server logins: failures are throttled per tenant code and client address (in Redis
or in the process), every failure pays the same PBKDF2 check, and only a verification whose
request committed is cached. Called as 1C calls: HTTP Basic on the WSDL and on the endpoint,
through the Flask client, and once through zeep on a live server."""

from __future__ import annotations

import base64
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree
from redis import Redis
from sqlalchemy import Connection, Engine, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse
from zeep.exceptions import Fault

from config import Settings
from connector import basic_auth
from connector.errors import error_response, http_status
from connector.throttle import (
    REDIS_PREFIX,
    MemoryAttemptStore,
    RedisAttemptStore,
    TooManyAttempts,
)
from processing.tenants import credentials
from processing.tenants.models import ServiceCredential, Tenant
from processing.tenants.service import add_tenant
from sync.runtime import Runtime
from tests.conftest import bind_runtime, build_app
from tests.connector.soap.conftest import Shop, zeep_client

PASSWORD = "Secret-1C-pass"
USER = "retail-shops"
SERVICE = "discount_server"
SHOP = "10.0.0.1"
OTHER_SHOP = "10.0.0.2"
LIMIT = basic_auth.MAX_FAILED_LOGINS
WINDOW = basic_auth.FAILED_LOGIN_WINDOW_S
M = "{http://localhost/rt2discountservice}"
EMPTY = datetime(1, 1, 1)


class Clock:
    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def _no_cached_logins() -> None:
    basic_auth._VERIFIED.invalidate()


@pytest.fixture
def checked_hashes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The stored hash of every PBKDF2 check (``password_matches`` call), in order."""
    seen: list[str] = []
    real = credentials.password_matches

    def spy(password: str, stored: str) -> bool:
        seen.append(stored)
        return real(password, stored)

    monkeypatch.setattr(basic_auth, "password_matches", spy)
    return seen


@pytest.fixture
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials stored with few rounds: throttle tests make many failed logins."""
    monkeypatch.setattr(credentials, "PBKDF2_ROUNDS", 1_000)


@pytest.fixture
def redis(redis_url: str) -> Iterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def add_shop(session: Session, redis: Redis) -> Iterator[Callable[[], str]]:
    """Adds a tenant with discount-server credentials; its code is unique because Redis keeps
    counts across tests, and its Redis keys are deleted afterwards."""
    made: list[str] = []

    def add() -> str:
        code = f"shop-{uuid.uuid4().hex[:8]}"
        tenant = add_tenant(session, code, "Сеть магазинов")
        credentials.set_credentials(session, tenant, SERVICE, USER, PASSWORD, now=datetime.now(UTC))
        session.commit()
        made.append(code)
        return code

    yield add
    for code in made:
        for key in redis.scan_iter(f"{REDIS_PREFIX}{basic_auth.LOGIN_THROTTLE}:{SERVICE} {code} *"):
            redis.delete(key)


@pytest.fixture
def shop(add_shop: Callable[[], str]) -> str:
    return add_shop()


def make_app(settings: Settings, engine: Engine, connection: Connection | None) -> Flask:
    return build_app(bind_runtime(Runtime(settings, engine=engine), connection))


@pytest.fixture(params=["memory", "redis"])
def backend_settings(
    request: pytest.FixtureRequest, settings: Settings, redis_url: str
) -> Settings:
    """Without ``REDIS_URL`` (embedded and single-process modes) and with it."""
    return replace(settings, redis_url=redis_url) if request.param == "redis" else settings


@pytest.fixture
def throttled(
    backend_settings: Settings, engine: Engine, connection: Connection | None
) -> tuple[FlaskClient, Clock]:
    """A client of an app whose login throttle runs on a clock the test moves."""
    app = make_app(backend_settings, engine, connection)
    clock = Clock()
    with app.app_context():
        throttle = basic_auth.basic_login_throttle()
    throttle.clock = clock
    expected = RedisAttemptStore if backend_settings.uses_redis else MemoryAttemptStore
    assert isinstance(throttle.store, expected)
    return app.test_client(), clock


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def wsdl(
    client: FlaskClient,
    tenant: str,
    password: str = PASSWORD,
    *,
    user: str = USER,
    address: str = SHOP,
) -> TestResponse:
    return client.get(
        f"/soap/{tenant}/discount-server?wsdl",
        headers=basic(user, password),
        environ_base={"REMOTE_ADDR": address},
    )


def fail_logins(client: FlaskClient, tenant: str, count: int, address: str = SHOP) -> None:
    for _ in range(count):
        assert wsdl(client, tenant, "wrong-password", address=address).status_code == 401


def fault_code(response: TestResponse) -> str | None:
    return etree.fromstring(response.data).findtext(f".//{M}Код")


@pytest.mark.usefixtures("cheap_hashes")
def test_the_limit_refuses_even_the_right_password_until_the_window_passes(
    throttled: tuple[FlaskClient, Clock], shop: str, checked_hashes: list[str]
) -> None:
    client, clock = throttled
    start = clock.now
    for _ in range(LIMIT - 1):
        fail_logins(client, shop, 1)
        clock.now += 1
    fail_logins(client, shop, 1)  # the LIMIT-th failure, at start + LIMIT - 1
    checked_hashes.clear()

    refused = wsdl(client, shop)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == str(int(WINDOW) - (LIMIT - 1))
    assert fault_code(refused) == "TOO_MANY_ATTEMPTS"
    assert "Слишком много неудачных попыток входа" in refused.text
    assert checked_hashes == []  # refused without a password check

    clock.now = start + WINDOW - 0.5  # the first failure is still within the window
    refused = wsdl(client, shop)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    clock.now = start + WINDOW  # ... and now it is not: LIMIT - 1 failures remain
    assert wsdl(client, shop).status_code == 200
    fail_logins(client, shop, 1)  # a sliding window: one more failure blocks again
    assert wsdl(client, shop).status_code == 429


@pytest.mark.usefixtures("cheap_hashes")
def test_counts_are_per_tenant_and_client_address(
    throttled: tuple[FlaskClient, Clock], add_shop: Callable[[], str]
) -> None:
    client, _clock = throttled
    shop, other_tenant = add_shop(), add_shop()
    fail_logins(client, shop, LIMIT, address=SHOP)
    assert wsdl(client, shop, address=SHOP).status_code == 429
    assert wsdl(client, shop, address=OTHER_SHOP).status_code == 200
    assert wsdl(client, other_tenant, address=SHOP).status_code == 200


@pytest.mark.usefixtures("cheap_hashes")
def test_a_success_resets_no_counter_and_missing_credentials_count_nothing(
    throttled: tuple[FlaskClient, Clock], shop: str
) -> None:
    client, _clock = throttled
    for _ in range(2 * LIMIT):  # 1C may call without credentials first: not a guess
        unauthenticated = client.get(
            f"/soap/{shop}/discount-server?wsdl", environ_base={"REMOTE_ADDR": SHOP}
        )
        assert unauthenticated.status_code == 401
    fail_logins(client, shop, LIMIT - 1, address=SHOP)
    fail_logins(client, shop, LIMIT - 1, address=OTHER_SHOP)
    assert wsdl(client, shop, address=SHOP).status_code == 200
    assert wsdl(client, shop, address=OTHER_SHOP).status_code == 200
    fail_logins(client, shop, 1, address=SHOP)
    fail_logins(client, shop, 1, address=OTHER_SHOP)
    assert wsdl(client, shop, address=SHOP).status_code == 429
    assert wsdl(client, shop, address=OTHER_SHOP).status_code == 429


def test_failures_for_an_unknown_tenant_are_throttled_too(
    throttled: tuple[FlaskClient, Clock], redis: Redis
) -> None:
    client, _clock = throttled
    unknown = f"no-such-shop-{uuid.uuid4().hex[:8]}"
    try:
        fail_logins(client, unknown, LIMIT)
        assert wsdl(client, unknown).status_code == 429
    finally:
        for key in redis.scan_iter(f"{REDIS_PREFIX}*{unknown} *"):
            redis.delete(key)


@pytest.mark.usefixtures("cheap_hashes")
def test_counts_are_shared_by_processes_only_through_redis(
    backend_settings: Settings, engine: Engine, connection: Connection | None, shop: str
) -> None:
    """Two apps stand for two gunicorn workers (or nodes): each has its own runtime."""
    first = make_app(backend_settings, engine, connection).test_client()
    second = make_app(backend_settings, engine, connection).test_client()
    fail_logins(first, shop, LIMIT // 2)
    fail_logins(second, shop, LIMIT - LIMIT // 2)
    expected = 429 if backend_settings.uses_redis else 200
    assert wsdl(first, shop).status_code == expected
    assert wsdl(second, shop).status_code == expected


def test_unknown_tenant_and_user_pay_the_same_pbkdf2_check_as_a_wrong_password(
    client: FlaskClient, shop: str, session: Session, checked_hashes: list[str]
) -> None:
    stored = session.scalars(
        select(ServiceCredential.password_hash)
        .join(Tenant, Tenant.id == ServiceCredential.tenant_id)
        .where(Tenant.code == shop, ServiceCredential.service == SERVICE)
    ).one()
    answers = []
    for tenant, user, password, checked in [
        ("no-such-shop", USER, PASSWORD, credentials.DUMMY_PASSWORD_HASH),
        (shop, "someone-else", PASSWORD, credentials.DUMMY_PASSWORD_HASH),
        (shop, USER, "wrong-password", stored),
    ]:
        checked_hashes.clear()
        response = wsdl(client, tenant, password, user=user)
        assert checked_hashes == [checked], (tenant, user)
        answers.append((response.status_code, fault_code(response), response.text))
    assert answers[0][0] == 401 and answers[0][1] == "UNAUTHORIZED"
    assert answers[0] == answers[1] == answers[2]  # nothing tells the three apart


def test_the_dummy_hash_has_the_parameters_of_a_real_one_and_matches_nothing() -> None:
    def parameters(stored: str) -> tuple[str, str, int, int]:
        scheme, rounds, salt, digest = stored.split("$")
        return scheme, rounds, len(base64.b64decode(salt)), len(base64.b64decode(digest))

    real = credentials.hash_password(PASSWORD)
    assert parameters(credentials.DUMMY_PASSWORD_HASH) == parameters(real)
    for password in ("", PASSWORD, "password"):
        assert not credentials.password_matches(password, credentials.DUMMY_PASSWORD_HASH)


def test_a_login_verified_in_a_request_that_fails_is_not_cached(
    client: FlaskClient, shop: str, checked_hashes: list[str]
) -> None:
    failed = client.post(
        f"/soap/{shop}/discount-server",
        data=b"<not-an-envelope/>",
        headers={**basic(USER, PASSWORD), "Content-Type": "text/xml; charset=utf-8"},
    )
    assert failed.status_code == 500 and fault_code(failed) == "SOAP_MALFORMED_ENVELOPE"
    assert len(checked_hashes) == 1  # the password was right, then the request rolled back
    assert wsdl(client, shop).status_code == 200
    assert len(checked_hashes) == 2  # checked again: the failed request cached nothing
    assert wsdl(client, shop).status_code == 200
    assert len(checked_hashes) == 2  # this one committed: cached


def test_changed_credentials_drop_cached_logins(
    client: FlaskClient, shop: str, session: Session
) -> None:
    assert wsdl(client, shop).status_code == 200
    tenant = session.scalars(select(Tenant).where(Tenant.code == shop)).one()
    credentials.set_credentials(
        session, tenant, SERVICE, USER, "Another-pass-2", now=datetime.now(UTC)
    )
    session.commit()
    assert wsdl(client, shop).status_code == 401
    assert wsdl(client, shop, "Another-pass-2").status_code == 200


def test_the_memory_store_stays_bounded_and_keeps_recent_keys() -> None:
    store = MemoryAttemptStore(max_keys=3)
    for index in range(5):
        store.add_failure(f"key-{index}", at=100.0 + index, keep_s=600.0)
    assert [store.failures_since(f"key-{index}", 0.0) for index in range(5)] == [
        [], [], [102.0], [103.0], [104.0],
    ]  # fmt: skip
    assert store.failures_since("key-4", 104.0) == []  # the window moved past it: dropped


def test_logins_go_unthrottled_while_redis_is_unreachable(
    settings: Settings,
    engine: Engine,
    connection: Connection | None,
    shop: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The throttle must not stop the shops: a right password still works, a wrong one is 401."""
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{closed.getsockname()[1]}/0"
    client = make_app(replace(settings, redis_url=dead), engine, connection).test_client()
    assert wsdl(client, shop, "wrong-password").status_code == 401
    assert wsdl(client, shop).status_code == 200
    assert "Redis unreachable" in caplog.text


def test_too_many_attempts_reads_as_a_429_with_minutes_to_wait(app: Flask) -> None:
    error = TooManyAttempts(61)
    assert (http_status(error), error.details["retry_after"]) == (429, 61)
    with app.app_context():
        assert error_response(error).headers["Retry-After"] == "61"
    assert error.text.endswith("Повторите через 2 мин.")


@pytest.mark.committed
def test_zeep_sees_the_throttle_as_a_soap_fault(server: str, shops: dict[str, Shop]) -> None:
    shop = shops["a"]
    client = zeep_client(server, shop)  # the WSDL is loaded before the address is blocked
    url = f"{server}/soap/{shop.tenant}/discount-server?wsdl"
    for _ in range(LIMIT):
        assert requests.get(url, auth=(shop.user, "wrong-password"), timeout=10).status_code == 401
    with pytest.raises(Fault) as refused:
        client.service.ПолучитьСуммуНакопления("card-1", EMPTY, EMPTY, "", "")
    assert refused.value.message.startswith("Слишком много неудачных попыток входа")
    assert refused.value.detail.findtext(f".//{M}Код") == "TOO_MANY_ATTEMPTS"
