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


def test_goods_stock_folds_into_goods_and_back_keeping_barcodes(tmp_path: Path) -> None:
    """0016 moves goods_stock into goods.warehouse_stock and back: on SQLite too, where a
    rebuilt goods table would take its barcodes and stock rows with it."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    url = f"sqlite:///{tmp_path / 'var' / 'm.sqlite3'}"
    config = migrate.alembic_config(url)
    command.upgrade(config, "0015")
    engine = make_engine(url)
    try:
        with Session(engine) as session, session.begin():
            # The schema of 0015, not today's models: plain SQL.
            tenant_id = session.execute(
                text("INSERT INTO tenants (code, name) VALUES ('shop', 'Магазин') RETURNING id")
            ).scalar_one()
            session.execute(
                text(
                    "INSERT INTO stores (id, tenant_id, code, name, timezone, active, warehouse_id)"
                    " VALUES (7, :t, 's1', 'Склад', 'Europe/Moscow', 1, 'W-1')"
                ),
                {"t": tenant_id},
            )
            session.execute(
                text(
                    "INSERT INTO goods (id, tenant_id, external_id, name, updated_at)"
                    " VALUES (5, :t, 'g', 'Товар', '2026-12-03 10:00:00')"
                ),
                {"t": tenant_id},
            )
            session.execute(
                text("INSERT INTO goods_barcodes VALUES (:t, '4600000000017', 5)"), {"t": tenant_id}
            )
            session.execute(text("INSERT INTO goods_stock VALUES (5, 7, 1500)"))
        migrate.upgrade(url)
        with engine.connect() as connection:
            stock = connection.execute(text("SELECT warehouse_stock FROM goods")).scalar_one()
            assert stock in ('{"W-1": "1.500"}', {"W-1": "1.500"})
        command.downgrade(config, "0015")
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT * FROM goods_stock")).all()
            assert [tuple(row) for row in rows] == [(5, 7, 1500)]
            barcodes = connection.execute(text("SELECT count(*) FROM goods_barcodes")).scalar()
            assert barcodes == 1
    finally:
        engine.dispose()
