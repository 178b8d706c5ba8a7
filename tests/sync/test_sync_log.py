"""The sync log's runs beside its entries, for support: ``GET /api/v1/sync-log``,
``GET /api/v1/sync-log/runs/<id>`` and ``loyalty-connector sync-log``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from connector.cli import main
from processing.tenants.models import Tenant
from processing.tenants.service import add_admin_token
from sync.log import write_entry
from sync.models import ExchangeSession, SyncRun
from tests import factories

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
MONDAY = "a" * 64  # exchange session ids are SHA-256 hex
TUESDAY = "b" * 64
ELSEWHERE = "c" * 64
ERRORS = [
    {"path": f"КоммерческаяИнформация/Каталог/Товары/Товар[{n}]", "id": f"bd72d8f9-{n:04}",
     "message": "Не указано наименование."}
    for n in range(1, 101)
]  # fmt: skip


def _exchange(session: Session, owner: Tenant, key: str, at: datetime) -> str:
    session.add(ExchangeSession(
        id=key, tenant_id=owner.id, exchange_type="catalog", started_at=at, last_seen_at=at,
    ))  # fmt: skip
    session.flush()
    return key


def _run(
    session: Session, owner: Tenant, exchange: str | None, started_at: datetime, **values: Any
) -> SyncRun:
    run = SyncRun(**{
        "tenant_id": owner.id, "source": "commerceml", "session_id": exchange,
        "file_name": "import.xml", "stored_name": "import0_1.zip", "kind": "catalog",
        "status": "done", "progress": 100, "started_at": started_at,
        "finished_at": started_at + timedelta(minutes=1), "counts": {"created": 3},
        "errors": [], "error_count": 0, "warnings": [], **values,
    })  # fmt: skip
    session.add(run)
    session.flush()
    return run


@pytest.fixture
def acme(session: Session) -> Tenant:
    return factories.tenant(session, "acme")


def _seed(session: Session, acme: Tenant) -> dict[str, SyncRun]:
    """Three runs of two exchanges, an entry of the failed run and a discount-server entry."""
    monday = _exchange(session, acme, MONDAY, T0)
    tuesday = _exchange(session, acme, TUESDAY, T0 + timedelta(days=1))
    runs = {
        "catalog": _run(session, acme, monday, T0, error_count=250, errors=ERRORS,
                        counts={"created": 1200, "updated": 35, "errors": 250},
                        warnings=["Файл не соответствует схеме CommerceML 2.10."]),
        "offers": _run(session, acme, monday, T0 + timedelta(minutes=5), file_name="offers.xml",
                       kind="offers", status="failed", progress=40, message="Файл повреждён."),
        "running": _run(session, acme, tuesday, T0 + timedelta(days=1), status="running",
                        progress=63, finished_at=None, file_name="import.xml"),
    }  # fmt: skip
    write_entry(
        session, acme.id, exchange="commerceml", operation="import", level="error",
        message="Загрузка offers.xml прервана", run_id=runs["offers"].id, now=T0,
    )  # fmt: skip
    write_entry(
        session, acme.id, exchange="discount_server", operation="ОбновитьДанныеОПродажах",
        document_type="ЧекККМ", document_id="doc-1", message="строк: 2", counts={"rows": 2},
        now=T0 + timedelta(days=1, hours=1),
    )  # fmt: skip
    return runs


@pytest.fixture
def logged(session: Session, acme: Tenant) -> dict[str, SyncRun]:
    return _seed(session, acme)


def _admin(session: Session, owner: Tenant) -> dict[str, str]:
    return {"Authorization": f"Bearer {add_admin_token(session, owner, 'Поддержка').secret}"}


def _log(client: FlaskClient, headers: dict[str, str], query: str = "") -> dict[str, Any]:
    response = client.get(f"/api/v1/sync-log{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def _run_ids(body: dict[str, Any]) -> list[int]:
    return [run["id"] for run in body["runs"]]


def test_runs_come_beside_the_entries_latest_first(
    client: FlaskClient, session: Session, acme: Tenant, logged: dict[str, SyncRun]
) -> None:
    body = _log(client, _admin(session, acme))
    assert _run_ids(body) == [logged[k].id for k in ("running", "offers", "catalog")]
    running, failed, catalog = body["runs"]
    assert running == {
        "id": logged["running"].id, "source": "commerceml", "exchange": TUESDAY,
        "file_name": "import.xml", "stored_name": "import0_1.zip", "kind": "catalog",
        "status": "running", "progress": 63, "started_at": "2026-11-24T10:00:00+00:00",
        "finished_at": None, "counts": {"created": 3}, "error_count": 0, "errors": [],
        "warnings": [], "message": None,
    }  # fmt: skip
    assert (failed["status"], failed["progress"], failed["message"]) == (
        "failed",
        40,
        "Файл повреждён.",
    )
    assert (catalog["error_count"], len(catalog["errors"])) == (250, 100)
    assert catalog["errors"][0] == ERRORS[0]
    assert [entry["operation"] for entry in body["entries"]] == [
        "ОбновитьДанныеОПродажах", "import",
    ]  # fmt: skip
    assert [entry["run_id"] for entry in body["entries"]] == [None, logged["offers"].id]


def test_filters(
    client: FlaskClient, session: Session, acme: Tenant, logged: dict[str, SyncRun]
) -> None:
    admin = _admin(session, acme)
    failed = _log(client, admin, "?status=failed")
    assert _run_ids(failed) == [logged["offers"].id]
    assert len(failed["entries"]) == 2  # status filters the runs only
    monday = _log(client, admin, f"?exchange={MONDAY}")
    assert _run_ids(monday) == [logged["offers"].id, logged["catalog"].id]
    assert [entry["operation"] for entry in monday["entries"]] == ["import"]
    assert _log(client, admin, f"?exchange={ELSEWHERE}") == {"runs": [], "entries": []}
    shops = _log(client, admin, "?source=discount_server")
    assert (shops["runs"], [entry["document_id"] for entry in shops["entries"]]) == ([], ["doc-1"])
    assert len(_log(client, admin, "?source=commerceml")["runs"]) == 3
    # since is inclusive, until exclusive: Monday's runs, not Tuesday's
    period = _log(client, admin, "?since=2026-11-23T13:00:00%2B03:00&until=2026-11-24T10:00:00Z")
    assert _run_ids(period) == [logged["offers"].id, logged["catalog"].id]
    assert [entry["operation"] for entry in period["entries"]] == ["import"]
    page = _log(client, admin, "?limit=1&offset=1")
    assert _run_ids(page) == [logged["offers"].id]


@pytest.mark.parametrize(
    ("query", "name"),
    [("status=paused", "status"), ("status=", "status"), ("until=2026-11-24", "until"),
     ("exchange=" + "a" * 65, "exchange"), ("source=", "source")],
)  # fmt: skip
def test_a_bad_filter_is_400(
    client: FlaskClient, session: Session, acme: Tenant, query: str, name: str
) -> None:
    response = client.get(f"/api/v1/sync-log?{query}", headers=_admin(session, acme))
    body = response.get_json()
    assert (response.status_code, body["code"]) == (400, "VALIDATION_ERROR"), body
    assert name in body["details"]["fields"]["query"]


def test_one_run_in_full(
    client: FlaskClient, session: Session, acme: Tenant, logged: dict[str, SyncRun]
) -> None:
    catalog = logged["catalog"]
    response = client.get(f"/api/v1/sync-log/runs/{catalog.id}", headers=_admin(session, acme))
    assert response.status_code == 200, response.get_json()
    run = response.get_json()
    assert (run["id"], run["exchange"], run["status"]) == (catalog.id, MONDAY, "done")
    assert run["errors"] == ERRORS and run["error_count"] == 250
    assert run["warnings"] == ["Файл не соответствует схеме CommerceML 2.10."]
    assert run["counts"] == {"created": 1200, "updated": 35, "errors": 250}


def test_another_tenant_sees_none_of_it(
    client: FlaskClient, session: Session, acme: Tenant, logged: dict[str, SyncRun]
) -> None:
    other = factories.tenant(session, "other")
    own = _run(session, other, _exchange(session, other, ELSEWHERE, T0), T0)
    admin = _admin(session, other)
    assert _run_ids(_log(client, admin)) == [own.id]
    assert _log(client, admin)["entries"] == []
    assert _log(client, admin, f"?exchange={MONDAY}") == {"runs": [], "entries": []}
    for run in logged.values():
        response = client.get(f"/api/v1/sync-log/runs/{run.id}", headers=admin)
        body = response.get_json()
        assert (response.status_code, body["code"]) == (404, "NOT_FOUND"), body
        assert "file_name" not in body and "import.xml" not in response.get_data(as_text=True)
    assert client.get(f"/api/v1/sync-log/runs/{own.id}", headers=admin).status_code == 200
    unknown = client.get(f"/api/v1/sync-log/runs/{own.id + 1000}", headers=_admin(session, acme))
    assert (unknown.status_code, unknown.get_json()["code"]) == (404, "NOT_FOUND")


def test_a_run_needs_an_admin_token(
    client: FlaskClient, session: Session, logged: dict[str, SyncRun]
) -> None:
    response = client.get(f"/api/v1/sync-log/runs/{logged['catalog'].id}")
    assert (response.status_code, response.get_json()["code"]) == (401, "UNAUTHORIZED")
    pos_token = {"Authorization": "Bearer not-an-admin-token"}
    response = client.get(f"/api/v1/sync-log/runs/{logged['catalog'].id}", headers=pos_token)
    assert response.status_code == 401


# The CLI: each command is its own transaction, so the rows are committed.


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("REDIS_URL", raising=False)
    return CliRunner()


@pytest.fixture
def committed_log(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        acme = factories.tenant(session, "acme")
        runs = _seed(session, acme)
        other = factories.tenant(session, "other")
        foreign = _run(session, other, None, T0, file_name="foreign.xml")
        ids = {name: run.id for name, run in runs.items()} | {"foreign": foreign.id}
        session.commit()
    return ids


@pytest.mark.committed
def test_cli_prints_runs_before_entries_with_filters(
    cli: CliRunner, committed_log: dict[str, int]
) -> None:
    shown = cli.invoke(main, ["sync-log", "--tenant", "acme"])
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert [line.split()[3] for line in lines[:3]] == [
        str(committed_log[name]) for name in ("running", "offers", "catalog")
    ]
    assert lines[0].split()[4:8] == ["running", "63%", "commerceml", "import.xml"]
    assert "failed" in lines[1] and "offers.xml" in lines[1] and "Файл повреждён." in lines[1]
    assert "[created=1200 updated=35 errors=250] errors=250" in lines[2]
    assert "ЧекККМ doc-1" in lines[3] and "Загрузка offers.xml прервана" in lines[4]
    assert len(lines) == 5  # another tenant's run is not shown

    failed = cli.invoke(main, ["sync-log", "--tenant", "acme", "--status", "failed"]).output
    [failed_run] = [line for line in failed.splitlines() if " run " in line]
    assert failed_run.split()[3] == str(committed_log["offers"])
    assert "doc-1" in failed  # status filters the runs only
    monday = cli.invoke(main, ["sync-log", "--tenant", "acme", "--exchange", MONDAY]).output
    assert monday.count(" run ") == 2 and "doc-1" not in monday and "прервана" in monday
    until = cli.invoke(main, ["sync-log", "--tenant", "acme", "--until", "2026-11-23 10:01:00"])
    assert until.output.count(" run ") == 1 and "import.xml" in until.output
    assert "doc-1" not in until.output and "прервана" in until.output
    everyone = cli.invoke(main, ["sync-log"]).output
    assert "foreign.xml" in everyone
    refused = cli.invoke(main, ["sync-log", "--status", "paused"])
    assert refused.exit_code == 2 and "paused" in refused.output


@pytest.mark.committed
def test_cli_prints_one_run_in_full(cli: CliRunner, committed_log: dict[str, int]) -> None:
    shown = cli.invoke(
        main, ["sync-log", "--tenant", "acme", "--run", str(committed_log["catalog"])]
    )
    assert shown.exit_code == 0, shown.output
    assert f"run {committed_log['catalog']}: done, 100%" in shown.output
    assert f"exchange: {MONDAY}" in shown.output
    assert "file: import.xml (stored as import0_1.zip), kind: catalog" in shown.output
    assert "errors: 250 (the first 100 kept)" in shown.output
    assert "  КоммерческаяИнформация/Каталог/Товары/Товар[7] Ид=bd72d8f9-0007: Не указано " \
           "наименование." in shown.output  # fmt: skip
    assert shown.output.count(" Ид=") == 100
    assert "warnings: 1\n  Файл не соответствует схеме CommerceML 2.10." in shown.output

    foreign = cli.invoke(main, ["sync-log", "--tenant", "acme", "--run",
                                str(committed_log["foreign"])])  # fmt: skip
    assert foreign.exit_code == 1 and "NOT_FOUND" in foreign.output
    assert "foreign.xml" not in foreign.output
    platform = cli.invoke(main, ["sync-log", "--run", str(committed_log["foreign"])])
    assert platform.exit_code == 0 and "foreign.xml" in platform.output
