"""Slow clients cannot freeze the service as deployed: gunicorn's sync workers (the production
command line) behind nginx with docs/deploy/nginx.conf. The same slow clients against bare
gunicorn show what the proxy is for."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from processing.tenants.service import add_pos, add_store, add_tenant
from tests.connector.serving import Gunicorn, Nginx, SlowClients, gunicorn, nginx

pytestmark = pytest.mark.committed  # the servers read the POS token from the database

WORKERS = 2
PROMPT_S = 5.0  # a deadline for an answer, not a speed measurement
BLOCKED_S = 2.0


@dataclass(frozen=True)
class Stack:
    gunicorn: Gunicorn  # reachable directly too: "bare"
    nginx: Nginx


@pytest.fixture(scope="module")
def stack(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    directory = tmp_path_factory.mktemp("serving")
    env = {"DATABASE_URL": database_url, "PROXY_HOPS": "1"}
    with (
        gunicorn(env, directory / "gunicorn.log", WORKERS) as upstream,
        nginx(upstream, directory) as proxy,
    ):
        yield Stack(upstream, proxy)


@pytest.fixture
def pos_token(engine: Engine) -> str:
    with Session(engine) as session:
        tenant = add_tenant(session, "acme", "Сеть")
        store = add_store(session, tenant, "s1", "Магазин")
        token = add_pos(session, store, "pos-01").token
        session.commit()
    return token


def test_bare_sync_gunicorn_is_frozen_by_as_many_slow_clients_as_workers(
    stack: Stack, pos_token: str
) -> None:
    bare = stack.gunicorn
    health = f"{bare.url}/api/v1/health"
    for token in (None, pos_token):  # slow headers, then slow bodies
        with SlowClients(bare.port, WORKERS + 1, token=token) as slow:
            with pytest.raises(requests.Timeout):
                requests.get(health, timeout=BLOCKED_S)
            assert slow.still_waiting() == WORKERS + 1
        # Once they leave, the same server answers: it was blocked, not broken.
        assert requests.get(health, timeout=PROMPT_S).status_code == 200


def test_behind_nginx_slow_headers_and_bodies_do_not_block_a_normal_request(
    stack: Stack, pos_token: str
) -> None:
    proxied = stack.nginx
    health = f"{proxied.url}/api/v1/health"
    tls = proxied.tls()
    with (
        SlowClients(proxied.port, 4 * WORKERS, tls=tls) as slow_headers,
        SlowClients(proxied.port, 4 * WORKERS, tls=tls, token=pos_token) as slow_bodies,
    ):
        for _ in range(3):
            answer = requests.get(health, timeout=PROMPT_S, verify=str(proxied.certificate))
            assert answer.status_code == 200
        # They were all still there, mid-request, while the normal requests went through.
        assert slow_headers.still_waiting() == 4 * WORKERS
        assert slow_bodies.still_waiting() == 4 * WORKERS
