"""The migrations build exactly the models, on PostgreSQL and on SQLite (batch mode)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import inspect

from connector import migrate
from connector.models import metadata
from processing.db import make_engine


def test_models_match_migrations_on_postgresql(database_url: str) -> None:
    migrate.check(database_url)


def test_sqlite_upgrade_check_downgrade_upgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'var' / 'c.sqlite3'}"
    migrate.upgrade(url)
    migrate.check(url)
    engine = make_engine(url)
    try:
        assert set(metadata.tables) <= set(inspect(engine).get_table_names())
        command.downgrade(migrate.alembic_config(url), "base")
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
        migrate.upgrade(url)
        assert set(metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
