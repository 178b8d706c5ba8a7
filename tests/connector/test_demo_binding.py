"""The demo tenant's POS token is public: ``serve`` seeds it only on a loopback address or when
asked, says what it did, and warns when an existing demo tenant is reachable from the network.

``serve`` runs through the CLI with the two blocking calls (waitress and the schedule loop)
replaced, so the command returns once it would start listening."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
import waitress
from click.testing import CliRunner, Result

from connector import cli
from connector.cli import is_loopback_bind, main


@pytest.fixture
def embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """An embedded environment in ``tmp_path``; returns the calls waitress would have served."""
    for name in ("DATABASE_URL", "REDIS_URL", "BIND"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    served: list[dict[str, Any]] = []
    monkeypatch.setattr(waitress, "serve", lambda app, **kwargs: served.append(kwargs))
    monkeypatch.setattr(cli, "run_schedule", lambda *_args, **_kwargs: None)
    return served


def _serve(monkeypatch: pytest.MonkeyPatch, bind: str, *args: str) -> Result:
    monkeypatch.setenv("BIND", bind)
    return CliRunner().invoke(main, ["serve", *args])


def _demo_tenants(tmp_path: Path) -> int:
    with sqlite3.connect(tmp_path / "connector.sqlite3") as conn:
        (count,) = conn.execute("SELECT count(*) FROM tenants WHERE code = 'demo'").fetchone()
    return int(count)


@pytest.mark.parametrize("bind", ["127.0.0.1:8080", "localhost:8080", "[::1]:8080"])
def test_loopback_bind_seeds_the_demo_and_says_so(
    embedded: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bind: str
) -> None:
    result = _serve(monkeypatch, bind)
    assert result.exit_code == 0, result.output
    assert "Demo tenant seeded. POS token: demo-pos-token" in result.output
    assert "WARNING" not in result.output
    assert embedded == [{"listen": bind, "threads": cli.EMBEDDED_THREADS}]
    assert _demo_tenants(tmp_path) == 1

    again = _serve(monkeypatch, bind)
    assert "Demo tenant present. POS token: demo-pos-token" in again.output
    assert _demo_tenants(tmp_path) == 1


def test_network_bind_does_not_seed_and_says_how_to_ask(
    embedded: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _serve(monkeypatch, "0.0.0.0:8080")
    assert result.exit_code == 0, result.output
    assert "Demo tenant not seeded: BIND 0.0.0.0:8080 is not a loopback address" in result.output
    assert "loyalty-connector serve --demo" in result.output
    assert "demo-pos-token" not in result.output
    assert embedded == [{"listen": "0.0.0.0:8080", "threads": cli.EMBEDDED_THREADS}]
    assert _demo_tenants(tmp_path) == 0


def test_asked_demo_on_the_network_is_seeded_with_a_warning(
    embedded: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _serve(monkeypatch, "192.168.1.10:8080", "--demo")
    assert result.exit_code == 0, result.output
    assert "Demo tenant seeded. POS token: demo-pos-token" in result.output
    assert "WARNING: the demo tenant exists and BIND 192.168.1.10:8080" in result.output
    assert _demo_tenants(tmp_path) == 1


def test_existing_demo_reachable_from_the_network_is_warned_about(
    embedded: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _serve(monkeypatch, "127.0.0.1:8080").exit_code == 0
    result = _serve(monkeypatch, "0.0.0.0:8080")
    assert result.exit_code == 0, result.output
    assert "Demo tenant present" in result.output
    assert "WARNING: the demo tenant exists and BIND 0.0.0.0:8080 is not a loopback" in (
        result.output
    )
    assert "anyone who reaches this port can use its public POS token demo-pos-token" in (
        result.output
    )
    demo = CliRunner().invoke(main, ["demo"])
    assert "already exists" in demo.output and "WARNING" in demo.output


def test_demo_flag_is_refused_outside_embedded_mode(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setattr(cli, "_serve_gunicorn", lambda _settings: pytest.fail("must not start"))
    result = CliRunner().invoke(main, ["serve", "--demo"])
    assert result.exit_code == 1 and "embedded" in result.output


@pytest.mark.parametrize(
    ("bind", "loopback"),
    [
        ("127.0.0.1:8080", True),
        ("127.8.9.10:8080", True),
        ("localhost:8080", True),
        ("LOCALHOST", True),
        ("[::1]:8080", True),
        ("::1", True),
        ("127.0.0.1:8080 [::1]:8080", True),
        ("0.0.0.0:8080", False),
        (":8080", False),
        ("*:8080", False),
        ("[::]:8080", False),
        ("10.0.0.5:8080", False),
        ("loyalty.internal:8080", False),
        ("localhost.evil.example:8080", False),
        ("unix:/run/loyalty.sock", False),
        ("127.0.0.1:8080 0.0.0.0:8081", False),
        ("", False),
    ],
)
def test_loopback_addresses(bind: str, loopback: bool) -> None:
    assert is_loopback_bind(bind) is loopback
