"""The CLI against the test database (committed: each command is its own transaction)."""

from __future__ import annotations

import hashlib
import re

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from config import load_settings
from connector.app import create_app
from connector.cli import gunicorn_command, main
from processing.cards.models import Card
from processing.cards.numbers import has_valid_check_digit
from processing.tenants.credentials import password_matches
from processing.tenants.models import Pos, ServiceCredential, Store, Tenant
from sync.log import write_entry
from sync.runtime import Runtime

pytestmark = pytest.mark.committed


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("REDIS_URL", raising=False)
    return CliRunner()


def test_tenant_store_pos_add(cli: CliRunner, engine: Engine) -> None:
    assert cli.invoke(main, ["tenant", "add", "acme", "ООО Ромашка"]).exit_code == 0
    result = cli.invoke(
        main, ["store", "add", "acme", "msk-1", "Магазин №1", "--timezone", "Asia/Yekaterinburg"]
    )
    assert result.exit_code == 0, result.output
    result = cli.invoke(main, ["pos", "add", "acme", "msk-1", "pos-01"])
    assert result.exit_code == 0, result.output
    match = re.search(r"Token \(shown once\): (\S+)", result.output)
    assert match is not None
    token = match.group(1)
    assert len(token) >= 40

    with Session(engine) as session:
        tenant = session.scalars(select(Tenant)).one()
        assert tenant.name == "ООО Ромашка"
        store = session.scalars(select(Store)).one()
        assert (store.tenant_id, store.timezone) == (tenant.id, "Asia/Yekaterinburg")
        pos = session.scalars(select(Pos)).one()
        assert pos.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert token not in pos.token_hash


def test_second_pos_gets_another_token(cli: CliRunner) -> None:
    cli.invoke(main, ["tenant", "add", "acme", "Acme"])
    cli.invoke(main, ["store", "add", "acme", "s1", "S1"])
    first = cli.invoke(main, ["pos", "add", "acme", "s1", "p1"]).output
    second = cli.invoke(main, ["pos", "add", "acme", "s1", "p2"]).output
    assert first.split()[-1] != second.split()[-1]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["tenant", "add", "acme", "again"], "TENANT_EXISTS"),
        (["tenant", "add", "bad code!", "x"], "VALIDATION_ERROR"),
        (["store", "add", "nobody", "s1", "x"], "TENANT_NOT_FOUND"),
        (["store", "add", "acme", "s1", "x", "--timezone", "Mars/Olympus"], "VALIDATION_ERROR"),
        (["pos", "add", "acme", "missing", "p1"], "STORE_NOT_FOUND"),
    ],
)
def test_refusals_print_code_and_write_nothing(
    cli: CliRunner, engine: Engine, args: list[str], code: str
) -> None:
    assert cli.invoke(main, ["tenant", "add", "acme", "Acme"]).exit_code == 0
    result = cli.invoke(main, args)
    assert result.exit_code == 1
    assert code in result.output
    with Session(engine) as session:
        assert len(session.scalars(select(Tenant)).all()) == 1
        assert session.scalars(select(Store)).all() == []


def test_demo_is_refused_outside_embedded_mode(cli: CliRunner) -> None:
    result = cli.invoke(main, ["demo"])
    assert result.exit_code == 1
    assert "embedded" in result.output


def test_worker_and_scheduler_need_redis(cli: CliRunner) -> None:
    for command in ("worker", "scheduler"):
        result = cli.invoke(main, [command])
        assert result.exit_code == 1
        assert "REDIS_URL" in result.output


def test_demo_seeds_embedded_database_once(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    runner = CliRunner()
    first = runner.invoke(main, ["demo"])
    assert first.exit_code == 0, first.output
    assert "Demo tenant seeded." in first.output and "demo-pos-token" in first.output
    assert "Cards with 1000.00 bonus: 2775" in first.output
    second = runner.invoke(main, ["demo"])
    assert "already exists" in second.output


def test_production_serve_uses_gunicorn_sync_workers_without_preload(database_url: str) -> None:
    settings = load_settings({"DATABASE_URL": database_url, "WEB_CONCURRENCY": "2"})
    command = gunicorn_command(settings)
    assert command[1:3] == ["-m", "gunicorn"]
    assert command[command.index("--workers") + 1] == "2"
    assert command[command.index("--worker-class") + 1] == "sync"
    assert "--preload" not in command
    assert command[-1] == "connector.app:create_app()"


def test_card_series_and_pre_printed_cards(cli: CliRunner, engine: Engine) -> None:
    assert cli.invoke(main, ["tenant", "add", "acme", "Acme", "--tariff", "start"]).exit_code == 0
    result = cli.invoke(
        main,
        ["cards", "template-add", "acme", "t5", "--name", "Карта 5%", "--type", "5%",
         "--prefix", "2775", "--length", "13", "--check-digit", "ean13", "--range-end", "500"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    result = cli.invoke(main, ["cards", "generate", "acme", "t5", "3"])
    assert result.exit_code == 0, result.output
    numbers = result.output.split()
    assert len(numbers) == 3 and all(has_valid_check_digit(n, "ean13") for n in numbers)
    with Session(engine) as session:
        stored = session.scalars(select(Card.number).order_by(Card.id)).all()
        assert list(stored) == numbers
    refused = cli.invoke(main, ["cards", "generate", "acme", "t5", "600"])
    assert refused.exit_code == 1 and "CARD_RANGE_EXHAUSTED" in refused.output


def test_discount_server_credentials_admin_token_and_sync_log(
    cli: CliRunner, engine: Engine, database_url: str
) -> None:
    cli.invoke(main, ["tenant", "add", "acme", "Acme"])
    result = cli.invoke(
        main, ["tenant", "discount-server-credentials", "acme", "retail"],
        input="Sup3r-secret\nSup3r-secret\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with Session(engine) as session:
        credential = session.scalars(select(ServiceCredential)).one()
        assert (credential.service, credential.username) == ("discount_server", "retail")
        assert password_matches("Sup3r-secret", credential.password_hash)
        assert "Sup3r-secret" not in credential.password_hash
    short = cli.invoke(main, ["tenant", "discount-server-credentials", "acme", "retail",
                              "--password", "short"])  # fmt: skip
    assert short.exit_code == 1 and "VALIDATION_ERROR" in short.output

    token = cli.invoke(main, ["admin-token", "add", "acme", "Поддержка"]).output.split()[-1]
    with Session(engine) as session:
        tenant = session.scalars(select(Tenant)).one()
        write_entry(
            session, tenant.id, exchange="discount_server", operation="ОбновитьДанныеОПродажах",
            document_type="ЧекККМ", document_id="doc-1", message="строк: 2", counts={"rows": 2},
        )  # fmt: skip
        session.commit()
    shown = cli.invoke(main, ["sync-log", "--tenant", "acme", "--since", "2020-01-01"])
    assert shown.exit_code == 0 and "ЧекККМ doc-1" in shown.output

    settings = load_settings({"DATABASE_URL": database_url})
    client = create_app(runtime=Runtime(settings, engine=engine)).test_client()
    response = client.get("/api/v1/sync-log", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    [entry] = response.get_json()["entries"]
    assert (entry["document_id"], entry["counts"], entry["run_id"]) == ("doc-1", {"rows": 2}, None)
    assert response.get_json()["runs"] == []  # runs: tests/sync/test_sync_log.py
    assert client.get("/api/v1/sync-log").status_code == 401
    later = client.get("/api/v1/sync-log?since=2999-01-01T00:00:00Z",
                       headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert later.get_json()["entries"] == []


def test_credentials_per_service(cli: CliRunner, engine: Engine) -> None:
    cli.invoke(main, ["tenant", "add", "acme", "Acme"])
    exchange = cli.invoke(
        main, ["tenant", "credentials", "acme", "--service", "exchange", "--username", "1c-site"],
        input="Exchange-pass-1\nExchange-pass-1\n",
    )  # fmt: skip
    assert exchange.exit_code == 0, exchange.output
    shops = cli.invoke(main, ["tenant", "credentials", "acme", "--service", "discount-server",
                              "--username", "retail", "--password", "Shops-pass-1"])  # fmt: skip
    assert shops.exit_code == 0, shops.output
    with Session(engine) as session:
        stored = {row.service: row for row in session.scalars(select(ServiceCredential)).all()}
    assert {service: row.username for service, row in stored.items()} == {
        "exchange": "1c-site", "discount_server": "retail",
    }  # fmt: skip
    assert password_matches("Exchange-pass-1", stored["exchange"].password_hash)
    assert not password_matches("Exchange-pass-1", stored["discount_server"].password_hash)
    assert password_matches("Shops-pass-1", stored["discount_server"].password_hash)

    unknown = cli.invoke(main, ["tenant", "credentials", "acme", "--service", "pos",
                                "--username", "u", "--password", "Long-enough-1"])  # fmt: skip
    assert unknown.exit_code == 2 and "discount-server" in unknown.output
    short = cli.invoke(main, ["tenant", "credentials", "acme", "--service", "exchange",
                              "--username", "1c-site", "--password", "short"])  # fmt: skip
    assert short.exit_code == 1 and "VALIDATION_ERROR" in short.output
    nobody = cli.invoke(main, ["tenant", "credentials", "nobody", "--service", "exchange",
                               "--username", "1c-site", "--password", "Long-enough-1"])  # fmt: skip
    assert nobody.exit_code == 1 and "TENANT_NOT_FOUND" in nobody.output
