"""The embedded default: SQLite under var/, no Redis at all, jobs inline."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from config import load_settings
from connector import migrate
from sync.runtime import Runtime
from tests import jobs
from tests.conftest import REPO_ROOT, build_app


@pytest.fixture
def no_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the embedded mode must not build a Redis client")

    monkeypatch.setattr(redis.Redis, "__init__", refuse)
    monkeypatch.setattr(redis.Redis, "from_url", refuse)


def test_embedded_app_is_healthy_and_runs_jobs_inline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_redis: None
) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings = load_settings({"VAR_DIR": str(tmp_path / "var")})
    assert settings.embedded and not settings.uses_redis
    assert settings.database_url == f"sqlite:///{tmp_path / 'var' / 'connector.sqlite3'}"
    migrate.upgrade(settings.database_url)
    client = build_app(Runtime(settings)).test_client()

    health = client.get("/api/v1/health")
    assert health.status_code == 200
    assert health.get_json() == {"status": "ok", "database": "ok", "redis": "not_configured"}

    jobs.INLINE_RUNS.clear()
    assert client.post("/test/tenants", json={"code": "embedded"}).status_code == 201
    assert jobs.INLINE_RUNS == [("embedded", True)]
    refused = client.post("/test/tenants", json={"code": "x", "fail_after_enqueue": True})
    assert refused.status_code == 400
    assert jobs.INLINE_RUNS == [("embedded", True)]
    jobs.INLINE_RUNS.clear()


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback only
        return response.status, response.read()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "VAR_DIR", "BIND"}
    }
    env["BIND"] = f"127.0.0.1:{port}"
    # The README's command, from a directory of its own: var/ appears there.
    process = subprocess.Popen(
        [sys.executable, "-m", "connector", "serve"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()[0].decode("utf-8", "replace")
            try:
                if _get(f"{base}/api/v1/health")[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.3)
        yield base, tmp_path
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0].decode("utf-8", "replace")
        if process.returncode not in (0, -15):
            print(output)


def test_serve_runs_embedded_on_a_fresh_directory(served: tuple[str, Path]) -> None:
    base, workdir = served
    status, body = _get(f"{base}/api/v1/health")
    assert status == 200
    assert json.loads(body) == {"status": "ok", "database": "ok", "redis": "not_configured"}
    assert _get(f"{base}/api/docs")[0] == 200
    database = workdir / "var" / "connector.sqlite3"
    with sqlite3.connect(database) as conn:
        (token_hash,) = conn.execute("SELECT token_hash FROM pos_terminals").fetchone()
    assert token_hash == hashlib.sha256(b"demo-pos-token").hexdigest()


def _readme_demo_commands() -> list[str]:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- demo:start -->", 1)[1].split("<!-- demo:end -->", 1)[0]
    script = block.split("```sh", 1)[1].rsplit("```", 1)[0]
    return [command.strip() for command in script.split("\n\n") if command.strip()]


def test_readme_demo_flow_runs_as_written(served: tuple[str, Path]) -> None:
    base, _ = served
    commands = _readme_demo_commands()
    assert [c.split("/api/v1/", 1)[1].split()[0] for c in commands] == [
        "identify", "receipts/calculate", "receipts/commit", "receipts/return",
    ]  # fmt: skip
    bodies = []
    for command in commands:
        output = subprocess.run(
            ["bash", "-c", command.replace("http://127.0.0.1:8080", base)],
            capture_output=True, text=True, check=True, timeout=30,
        ).stdout  # fmt: skip
        body = json.loads(output)
        assert "code" not in body, body
        bodies.append(body)
    identify, calculation, commit, returned = bodies
    assert identify["balance"]["active"] == 1000
    assert calculation["totals"]["bonus_payment"] == 100
    assert commit["totals"] == calculation["totals"] and commit["replay"] is False
    assert returned["kind"] == "return" and returned["lines"][0]["qty"] == 1


def test_the_exchange_with_1c_imports_inline_on_sqlite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_redis: None
) -> None:
    """The README's promise: embedded, ``mode=import`` runs the job inside the call and 1C sees
    ``success`` at once (threads of the job on SQLite included)."""
    import base64
    from datetime import UTC, datetime

    from sqlalchemy import func, select

    from processing.catalog.models import Goods
    from processing.tenants.credentials import set_credentials
    from processing.tenants.service import add_tenant

    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings = load_settings({"VAR_DIR": str(tmp_path / "var")})
    migrate.upgrade(settings.database_url)
    runtime = Runtime(settings)
    client = build_app(runtime).test_client()
    with runtime.session() as session, session.begin():
        tenant = add_tenant(session, "shop", "Магазин")
        set_credentials(session, tenant, "exchange", "site", "Site-pass-1", now=datetime.now(UTC))
    auth = {"Authorization": "Basic " + base64.b64encode(b"site:Site-pass-1").decode()}
    base = "/exchange/shop/1c?type=catalog&mode="
    assert client.get(base + "checkauth", headers=auth).get_data(as_text=True).startswith("success")
    assert client.get(base + "init").get_data(as_text=True).startswith("zip=yes")
    fixtures = REPO_ROOT.parent / "shared" / "fixtures" / "commerceml"
    for name in ("import-classifier-2.07.xml", "offers-characteristics-2.07.xml"):
        body = (fixtures / name).read_bytes()
        assert client.post(base + f"file&filename={name}", data=body).data == b"success"
        assert client.get(base + f"import&filename={name}").data == b"success"
    with runtime.session() as session:
        assert session.scalar(select(func.count()).select_from(Goods)) == 7
        stocked = session.scalars(select(Goods.warehouse_stock))
        assert sum(len(stock) for stock in stocked) == 5


def test_the_readme_demo_administrator_logs_in_to_the_admin_pages(served: tuple[str, Path]) -> None:
    """The README's login and password, in a real session: the login form's CSRF token, the
    session cookie, the dashboard of the demo tenant; the secret key kept under var/."""
    import http.cookiejar
    import re
    import urllib.parse

    base, workdir = served
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    email, password = re.search(r"demo administrator\s+`([^`]+)` / `([^`]+)`", readme).groups()  # type: ignore[union-attr]
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    with opener.open(f"{base}/admin/login", timeout=5) as page:
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.read().decode()).group(1)  # type: ignore[union-attr]
    form = urllib.parse.urlencode(
        {"csrf_token": token, "email": email, "password": password}
    ).encode()
    with opener.open(f"{base}/admin/login", data=form, timeout=5) as dashboard:
        html = dashboard.read().decode()
    assert dashboard.url.endswith("/admin/") and "Демо-сеть" in html and "Выйти" in html
    assert (workdir / "var" / "admin_secret_key").stat().st_mode & 0o077 == 0
