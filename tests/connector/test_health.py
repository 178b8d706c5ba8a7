from __future__ import annotations

from flask.testing import FlaskClient

from config import load_settings
from sync.runtime import Runtime
from tests.conftest import build_app


def test_health_checks_database(client: FlaskClient) -> None:
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "redis": "not_configured"}


def test_health_checks_redis_when_configured(database_url: str, redis_url: str) -> None:
    settings = load_settings({"DATABASE_URL": database_url, "REDIS_URL": redis_url})
    client = build_app(Runtime(settings)).test_client()
    assert client.get("/api/v1/health").get_json()["redis"] == "ok"


def test_health_fails_when_database_is_down(tmp_path: object) -> None:
    settings = load_settings(
        {"DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1"}
    )
    response = build_app(Runtime(settings)).test_client().get("/api/v1/health")
    assert response.status_code == 503
    body = response.get_json()
    assert body["code"] == "HEALTH_CHECK_FAILED"
    assert body["details"] == {"database": "error", "redis": "not_configured"}


def test_health_fails_when_redis_is_down(database_url: str) -> None:
    settings = load_settings({"DATABASE_URL": database_url, "REDIS_URL": "redis://127.0.0.1:1/0"})
    response = build_app(Runtime(settings)).test_client().get("/api/v1/health")
    assert response.status_code == 503
    assert response.get_json()["details"] == {"database": "ok", "redis": "error"}
