"""``loyalty-connector catalog import``: the body of the catalog upload from a file, one
transaction, the report printed; refusals print their code and write nothing (committed: each
command is its own transaction)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from connector.cli import main
from processing.catalog.models import Goods, GoodsBarcode, GoodsGroup

pytestmark = pytest.mark.committed

ROOT = "5f2a8c1e-0b7d-11ef-9a3c-00155d012a01"
CHEESE = "5f2a8c1e-0b7d-11ef-9a3c-00155d012a02"
GOODS = "9e8f7a6b-0b7d-11ef-9a3c-00155d012b01"


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("REDIS_URL", raising=False)
    runner = CliRunner()
    assert runner.invoke(main, ["tenant", "add", "acme", "Acme"]).exit_code == 0
    return runner


def body_file(tmp_path: Path, name: str, items: Any) -> str:
    path = tmp_path / name
    path.write_text(json.dumps({"items": items}, ensure_ascii=False), encoding="utf-8")
    return str(path)


def count(engine: Engine, model: type[Any]) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_import_prints_the_report_and_again_changes_nothing(
    cli: CliRunner, engine: Engine, tmp_path: Path
) -> None:
    groups = body_file(
        tmp_path, "groups.json",
        [{"external_id": CHEESE, "name": "Сыры", "parent": ROOT},
         {"external_id": ROOT, "name": "Молочная продукция"}],
    )  # fmt: skip
    goods = body_file(
        tmp_path, "goods.json",
        [{"external_id": GOODS, "name": "Сыр", "group": CHEESE, "barcodes": ["4607001234567"],
          "price_categories": {"Розничная": 899.9}}],
    )  # fmt: skip
    result = cli.invoke(main, ["catalog", "import", "acme", "groups", groups])
    assert result.exit_code == 0, result.output
    assert "created 2, updated 0, unchanged 0, deleted 0" in result.output
    result = cli.invoke(main, ["catalog", "import", "acme", "goods", goods])
    assert "created 1," in result.output, result.output
    result = cli.invoke(main, ["catalog", "import", "acme", "goods", goods])
    assert "created 0, updated 0, unchanged 1, deleted 0" in result.output
    with Session(engine) as session:
        stored = session.scalars(select(Goods)).one()
        assert stored.price_categories == {"Розничная": "899.90"}
    assert count(engine, GoodsBarcode) == 1


@pytest.mark.parametrize(
    ("args", "items", "code"),
    [
        (["acme", "goods"], [{"external_id": GOODS, "name": "Сыр", "group": CHEESE}],
         "CATALOG_UNKNOWN_GROUP"),
        (["acme", "groups"], [{"external_id": ROOT, "name": "Корень", "parent": ROOT}],
         "CATALOG_GROUP_CYCLE"),
        (["acme", "groups"], [{"external_id": ROOT, "name": "Корень", "colour": "red"}],
         "VALIDATION_ERROR"),
        (["acme", "brands"], [{}] * 5001, "CATALOG_BATCH_TOO_LARGE"),
        (["nobody", "groups"], [{"external_id": ROOT, "name": "Корень"}], "TENANT_NOT_FOUND"),
    ],
)  # fmt: skip
def test_refusals_print_their_code_and_write_nothing(
    cli: CliRunner, engine: Engine, tmp_path: Path, args: list[str], items: Any, code: str
) -> None:
    result = cli.invoke(main, ["catalog", "import", *args, body_file(tmp_path, "b.json", items)])
    assert result.exit_code == 1
    assert f"{code}: " in result.output
    assert count(engine, GoodsGroup) == count(engine, Goods) == 0


def test_a_file_that_is_not_json_is_refused(cli: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{items: ", encoding="utf-8")
    result = cli.invoke(main, ["catalog", "import", "acme", "groups", str(path)])
    assert (result.exit_code, "MALFORMED_JSON" in result.output) == (1, True)
    result = cli.invoke(main, ["catalog", "import", "acme", "groups", str(tmp_path / "none")])
    assert (result.exit_code, "cannot read" in result.output) == (1, True)
    result = cli.invoke(main, ["catalog", "import", "acme", "stores", str(path)])
    assert result.exit_code == 2  # not one of groups, brands, goods
