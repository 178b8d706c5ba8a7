"""docs/deploy/nginx.conf in front of gunicorn as deployed (PROXY_HOPS=1, Redis): the body limit
answers in the service's error format, and the app takes the client's scheme, host, port and
address from nginx, never from the X-Forwarded-* headers the client sends."""

from __future__ import annotations

import json
import re
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import requests
from lxml import etree
from redis import Redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from config.settings import DEFAULT_MAX_BODY_BYTES
from connector import basic_auth
from connector.errors import PayloadTooLarge, error_body
from connector.throttle import REDIS_PREFIX
from processing.tenants.credentials import set_credentials
from processing.tenants.service import add_tenant
from tests.conftest import REDIS_URL
from tests.connector.serving import NGINX_CONF, Nginx, gunicorn, nginx

PASSWORD = "Secret-1C-pass"


@pytest.fixture(scope="module")
def proxied(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    directory = tmp_path_factory.mktemp("nginx")
    env = {"DATABASE_URL": database_url, "REDIS_URL": REDIS_URL, "PROXY_HOPS": "1"}
    with gunicorn(env, directory / "gunicorn.log") as upstream, nginx(upstream, directory) as proxy:
        yield proxy


def test_the_body_limit_is_max_body_bytes() -> None:
    [limit] = re.findall(r"client_max_body_size (\d+)m;", NGINX_CONF.read_text(encoding="utf-8"))
    assert int(limit) * 1024 * 1024 == DEFAULT_MAX_BODY_BYTES


def test_a_body_over_the_limit_gets_the_services_error_from_nginx(proxied: Nginx) -> None:
    head = (
        "POST /api/v1/identify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {DEFAULT_MAX_BODY_BYTES + 1}\r\nConnection: close\r\n\r\n"
    )
    with (
        socket.create_connection(("127.0.0.1", proxied.port), timeout=5) as raw,
        proxied.tls().wrap_socket(raw, server_hostname="127.0.0.1") as sock,
    ):
        sock.sendall(head.encode())
        with sock.makefile("rb") as answer:  # read to the body's length: nginx lingers
            status_line = answer.readline()
            headers = b"".join(iter(answer.readline, b"\r\n"))
            [length] = re.findall(rb"(?im)^content-length: (\d+)", headers)
            body = answer.read(int(length))
    assert status_line.split()[1] == b"413"
    assert b"content-type: application/json; charset=utf-8" in headers.lower()
    assert json.loads(body) == error_body(PayloadTooLarge())


@pytest.fixture
def tenant_code(engine: Engine) -> Iterator[str]:
    code = f"shop-{uuid.uuid4().hex[:8]}"
    with Session(engine) as session:
        tenant = add_tenant(session, code, "Сеть магазинов")
        set_credentials(
            session, tenant, "discount_server", "retail-shops", PASSWORD, now=datetime.now(UTC)
        )
        session.commit()
    yield code
    redis = Redis.from_url(REDIS_URL)
    for key in redis.scan_iter(
        f"{REDIS_PREFIX}{basic_auth.LOGIN_THROTTLE}:discount_server {code} *"
    ):
        redis.delete(key)
    redis.close()


@pytest.mark.committed
def test_the_app_sees_scheme_host_port_and_address_from_nginx_only(
    proxied: Nginx, tenant_code: str
) -> None:
    url = f"{proxied.url}/soap/{tenant_code}/discount-server?wsdl"
    verify = str(proxied.certificate)
    spoofed = {
        "X-Forwarded-Proto": "http", "X-Forwarded-Host": "evil.example", "X-Forwarded-Port": "8000"
    }  # fmt: skip
    answer = requests.get(
        url, auth=("retail-shops", PASSWORD), headers=spoofed, verify=verify, timeout=10
    )
    assert answer.status_code == 200
    [address] = etree.fromstring(answer.content).xpath(
        "//soap:address/@location", namespaces={"soap": "http://schemas.xmlsoap.org/wsdl/soap/"}
    )
    assert address == f"{proxied.url}/soap/{tenant_code}/discount-server"
    # Failed logins count against the address nginx saw, whatever X-Forwarded-For says, in
    # Redis, whichever worker answers.
    for index in range(basic_auth.MAX_FAILED_LOGINS):
        failed = requests.get(
            url, auth=("retail-shops", "wrong-password"), verify=verify, timeout=10,
            headers={"X-Forwarded-For": f"203.0.113.{index}"},
        )  # fmt: skip
        assert failed.status_code == 401
    refused = requests.get(
        url, auth=("retail-shops", PASSWORD), verify=verify, timeout=10,
        headers={"X-Forwarded-For": "198.51.100.1"},
    )  # fmt: skip
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= basic_auth.FAILED_LOGIN_WINDOW_S
