"""Segments and mass accruals through the CLI (committed: each command is its own transaction,
the jobs run inline after it)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from connector.cli import main
from processing.ledger.models import Posting
from processing.promotions.models import Segment
from tests.connector.onec_http.world import seed_world

pytestmark = pytest.mark.committed


@pytest.fixture
def cli(database_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("REDIS_URL", raising=False)
    with Session(engine) as session:
        seed_world(session)
        session.commit()
    return CliRunner()


def run(cli: CliRunner, *args: str, code: int = 0) -> str:
    result = cli.invoke(main, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_segments_and_a_mass_accrual_from_the_cli(cli: CliRunner, engine: Engine) -> None:
    conditions = '{"card_templates": ["main"], "purchases": {"days": 30, "count": {"max": 0}}}'
    assert "Segment holders (filter) created: 1 members." in run(
        cli, "segment", "add", "acme", "holders", "Держатели карт", "--filter", conditions
    )
    run(cli, "segment", "add", "acme", "list", "Список")
    assert "Segment holders refreshed: 1 members." in run(
        cli, "segment", "refresh", "acme", "HOLDERS"
    )
    listed = run(cli, "segment", "list", "acme")
    assert "holders  filter  Держатели карт  members 1" in listed
    assert "list  static  Список  members 0" in listed
    assert "SEGMENT_IS_STATIC" in run(cli, "segment", "refresh", "acme", "list", code=1)
    assert "INVALID_SEGMENT_FILTER" in run(
        cli, "segment", "add", "acme", "bad", "x", "--filter", '{"age": {"min": 200}}', code=1
    )
    assert "Mass accrual #" in run(
        cli, "mass-accrual", "add", "acme", "holders", "Подарок", "50", "--lifetime-days", "7"
    )
    assert "выполнено  credited 1, skipped 0 of 1  Подарок" in run(
        cli, "mass-accrual", "list", "acme"
    )
    with Session(engine) as session:
        posting = session.scalars(select(Posting).where(Posting.kind == "event")).one()
        accrual_id = posting.operation.removeprefix("event:mass:") if posting.operation else ""
    assert "MASS_ACCRUAL_STARTED" in run(cli, "mass-accrual", "cancel", "acme", accrual_id, code=1)
    refused = run(cli, "mass-accrual", "add", "acme", "holders", "x", "0", code=1)
    assert "VALIDATION_ERROR" in refused


def test_segment_status_from_the_cli(cli: CliRunner, engine: Engine) -> None:
    conditions = '{"card_templates": ["main"]}'
    run(cli, "segment", "add", "acme", "holders", "Держатели карт", "--filter", conditions)
    assert "Segment holders is paused." in run(cli, "segment", "status", "acme", "HOLDERS",
                                                "paused")  # fmt: skip
    assert "holders  filter  Держатели карт  members 1  paused" in run(
        cli, "segment", "list", "acme"
    )
    assert "SEGMENT_NOT_ACTIVE" in run(cli, "segment", "refresh", "acme", "holders", code=1)
    assert "Segment holders is active: 1 members." in run(
        cli, "segment", "status", "acme", "holders", "active"
    )
    run(cli, "program", "add", "acme", "promotion", "h10", "Держателям")
    rules = '{"customer": {"segments": ["holders"]}, "reward": {"kind": "percent", "value": "5"}}'
    run(
        cli,
        "program",
        "version-add",
        "acme",
        "h10",
        "--rules",
        rules,
        "--from",
        "2026-01-01T00:00:00+03:00",
    )
    refused = run(cli, "segment", "status", "acme", "holders", "archived", code=1)
    assert "SEGMENT_IN_USE" in refused and "h10" in refused
    run(cli, "program", "status", "acme", "h10", "archived")
    assert "Segment holders is archived." in run(
        cli, "segment", "status", "acme", "holders", "archived"
    )
    assert "SEGMENT_ARCHIVED" in run(cli, "segment", "status", "acme", "holders", "active", code=1)
    assert "Invalid value" in run(cli, "segment", "status", "acme", "holders", "gone", code=2)
    with Session(engine) as session:
        assert session.scalars(select(Segment.status)).one() == "archived"
