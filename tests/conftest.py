"""Test harness: a throw-away PostgreSQL database per run, a savepoint per test, real Redis.

Tests marked ``committed`` write committed data (other connections, a real worker or a live
server must see it); their tables are truncated afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from config import Settings, load_settings
from connector import migrate
from connector.api import get_api
from connector.app import create_app
from connector.models import metadata
from processing.cache import ProcessCache
from processing.db import make_engine
from sync.runtime import RUNTIME_KEY, Runtime
from tests.connector.onec_http.world import World, seed_world
from tests.support import make_test_blueprint

REPO_ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get(
    "TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
# Seeded by migrations, never written by tests: kept when committed tests truncate.
REFERENCE_DATA = {"tariff_presets"}
SECRET_KEY = "test-secret-key-for-the-admin-pages-0123456789"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _admin_engine() -> Engine:
    return create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def database_url(worker_id: str) -> Iterator[str]:
    name = f"loyalty_test_{uuid.uuid4().hex[:8]}_{worker_id}"
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        migrate.upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    # Race tests run up to 50 threads: size the pool to them.
    engine = make_engine(database_url, pool_size=30)
    yield engine
    engine.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return load_settings(
        {"DATABASE_URL": database_url, "VAR_DIR": str(tmp_path / "var"), "SECRET_KEY": SECRET_KEY}
    )


def _truncate_all(engine: Engine) -> None:
    names = ", ".join(
        f'"{table.name}"' for table in metadata.sorted_tables if table.name not in REFERENCE_DATA
    )
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(autouse=True)
def _fresh_caches() -> None:
    # Ids are reused after a committed test truncates: no process cache may outlive a test.
    ProcessCache.invalidate_all()


@pytest.fixture(autouse=True)
def _truncate_after_committed_test(request: pytest.FixtureRequest) -> Iterator[None]:
    if not request.node.get_closest_marker("committed"):
        yield
        return
    engine: Engine = request.getfixturevalue("engine")
    yield
    _truncate_all(engine)


@pytest.fixture
def connection(engine: Engine, request: pytest.FixtureRequest) -> Iterator[Connection | None]:
    """The test's outer transaction, or None for ``committed`` tests."""
    if request.node.get_closest_marker("committed"):
        yield None
        return
    conn = engine.connect()
    transaction = conn.begin()
    try:
        yield conn
    finally:
        transaction.rollback()
        conn.close()


def bind_runtime(runtime: Runtime, connection: Connection | None) -> Runtime:
    """Make every session of ``runtime`` (app, jobs) a savepoint inside the test transaction."""
    if connection is not None:
        runtime.sessionmaker = sessionmaker(
            bind=connection,
            join_transaction_mode="create_savepoint",
            expire_on_commit=False,
            info={RUNTIME_KEY: runtime},
        )
    return runtime


@pytest.fixture
def runtime(settings: Settings, engine: Engine, connection: Connection | None) -> Runtime:
    return bind_runtime(Runtime(settings, engine=engine), connection)


@pytest.fixture
def session(runtime: Runtime) -> Iterator[Session]:
    with runtime.session() as session:
        yield session


def build_app(runtime: Runtime) -> Flask:
    app = create_app(runtime=runtime)
    app.config["TESTING"] = True
    get_api(app).register_blueprint(make_test_blueprint())
    return app


@pytest.fixture
def app(runtime: Runtime) -> Flask:
    return build_app(runtime)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def redis_url() -> str:
    return REDIS_URL


@pytest.fixture
def world(session: Session) -> World:
    """A tenant set up as a chain would be (``tests/connector/onec_http/world.py``)."""
    return seed_world(session)


@pytest.fixture
def other(session: Session) -> World:
    return seed_world(session, "other", prefix="2776")
