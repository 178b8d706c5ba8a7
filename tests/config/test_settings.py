from __future__ import annotations

from pathlib import Path

import pytest

from config import load_settings
from config.settings import SettingsError


def test_embedded_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings({})
    assert settings.embedded and not settings.uses_redis
    assert settings.database_url == f"sqlite:///{tmp_path / 'var' / 'connector.sqlite3'}"
    assert (settings.bind, settings.web_concurrency, settings.queue_name) == (
        "127.0.0.1:8080",
        2,
        "connector",
    )


def test_production_urls_switch_modes() -> None:
    settings = load_settings(
        {"DATABASE_URL": "postgresql://u@db/loyalty", "REDIS_URL": "redis://r:6379/1"}
    )
    assert settings.database_url == "postgresql+psycopg://u@db/loyalty"
    assert not settings.embedded and settings.uses_redis


@pytest.mark.parametrize(
    "env",
    [
        {"DATABASE_URL": "mysql://x/y"},
        {"WEB_CONCURRENCY": "zero"},
        {"WEB_CONCURRENCY": "0"},
        {"RQ_QUEUE": "a:b"},
    ],
)
def test_bad_values_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        load_settings(env)
