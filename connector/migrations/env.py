"""Alembic environment: metadata of every model, batch mode for SQLite."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection
from sqlalchemy.types import TypeDecorator

from connector.models import metadata
from processing.db import make_engine

config = context.config


def _database_url() -> str:
    url = config.attributes.get("database_url")
    if url:
        return str(url)
    from config import load_settings

    return load_settings().database_url


def _render_item(kind: str, obj: Any, _context: AutogenContext) -> str | Literal[False]:
    # Migrations spell our column types by what they store, so they never import app code.
    if kind == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl!r}"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_database_url())
    try:
        with engine.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            if sqlite:
                # Batch mode rebuilds a table (create, copy, drop, rename): with foreign keys
                # on, the drop would cascade to every row pointing at it. Off for the run (only
                # outside a transaction does SQLite take it), then every key checked.
                _pragma(conn, "PRAGMA foreign_keys=OFF")
            _run(conn)
            conn.commit()
            if sqlite:
                broken = _pragma(conn, "PRAGMA foreign_key_check")
                _pragma(conn, "PRAGMA foreign_keys=ON")
                if broken:
                    raise RuntimeError(f"foreign keys broken by the migration: {broken[:5]}")
    finally:
        engine.dispose()


def _pragma(connection: Connection, statement: str) -> list[Any]:
    """A PRAGMA on the DBAPI connection itself, outside SQLAlchemy's transaction."""
    driver = connection.connection.driver_connection
    assert driver is not None  # noqa: S101 - a live connection
    return list(driver.execute(statement).fetchall())


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported")
run_migrations_online()
