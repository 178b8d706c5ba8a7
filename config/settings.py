"""The one place that reads the process environment."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_BIND = "127.0.0.1:8080"
DEFAULT_QUEUE = "connector"
# A cashier waits on every call: a POS body is a few kilobytes, a CommerceML upload is sent
# in chunks by 1C, so 32 MiB refuses only what is certainly wrong.
DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
# A whole CommerceML file 1C uploads (in chunks of at most MAX_BODY_BYTES): a full export of a
# million goods is a few gigabytes of XML, far less zipped.
DEFAULT_EXCHANGE_MAX_FILE_BYTES = 8 * 1024 * 1024 * 1024
DEFAULT_EXCHANGE_RETENTION_DAYS = 14
MIN_SECRET_KEY_LENGTH = 32

_POSTGRES_PREFIXES = ("postgresql+psycopg://", "postgresql://", "postgres://")


class SettingsError(ValueError):
    """An environment variable holds a value the service cannot use."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    redis_url: str | None
    var_dir: Path
    bind: str
    web_concurrency: int
    queue_name: str
    log_level: str
    max_body_bytes: int
    public_base_url: str | None = None  # e.g. https://loyalty.example.ru/ (for WSDL addresses)
    proxy_hops: int = 0  # reverse proxies in front whose X-Forwarded-* headers are trusted
    exchange_max_file_bytes: int = DEFAULT_EXCHANGE_MAX_FILE_BYTES
    exchange_retention_days: int = DEFAULT_EXCHANGE_RETENTION_DAYS
    # Signs the admin pages' session cookies; the same on every node. Embedded mode keeps a
    # generated one under var/ when none is set.
    secret_key: str | None = None

    @property
    def embedded(self) -> bool:
        """True when the service runs on its own SQLite file (single process, demo allowed)."""
        return self.database_url.startswith("sqlite")

    @property
    def uses_redis(self) -> bool:
        return self.redis_url is not None


def _normalise_database_url(url: str) -> str:
    # psycopg 3 is the only PostgreSQL driver we ship; plain URLs would pick psycopg2.
    for prefix in _POSTGRES_PREFIXES[1:]:
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _int(env: Mapping[str, str], name: str, default: int, *, allow_zero: bool = False) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not re.fullmatch(r"[0-9]+", raw) or int(raw) < (0 if allow_zero else 1):
        raise SettingsError(f"{name} must be a positive integer, got {raw!r}")
    return int(raw)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build settings from ``env`` (the process environment by default)."""
    env = os.environ if env is None else env
    var_dir = Path(env.get("VAR_DIR", "var")).resolve()
    database_url = env.get("DATABASE_URL", "").strip()
    if database_url:
        database_url = _normalise_database_url(database_url)
        if not database_url.startswith(("sqlite", _POSTGRES_PREFIXES[0])):
            raise SettingsError("DATABASE_URL must be a PostgreSQL (psycopg) or SQLite URL")
    else:
        database_url = f"sqlite:///{var_dir / 'connector.sqlite3'}"
    queue_name = env.get("RQ_QUEUE", DEFAULT_QUEUE).strip() or DEFAULT_QUEUE
    if not re.fullmatch(r"[A-Za-z0-9_-]+", queue_name):
        raise SettingsError("RQ_QUEUE may contain only letters, digits, '_' and '-'")
    return Settings(
        database_url=database_url,
        redis_url=env.get("REDIS_URL", "").strip() or None,
        var_dir=var_dir,
        bind=env.get("BIND", DEFAULT_BIND).strip() or DEFAULT_BIND,
        web_concurrency=_int(env, "WEB_CONCURRENCY", 2),
        queue_name=queue_name,
        log_level=(env.get("LOG_LEVEL", "INFO").strip() or "INFO").upper(),
        max_body_bytes=_int(env, "MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES),
        public_base_url=_base_url(env.get("PUBLIC_BASE_URL", "")),
        proxy_hops=_int(env, "PROXY_HOPS", 0, allow_zero=True),
        exchange_max_file_bytes=_int(
            env, "EXCHANGE_MAX_FILE_BYTES", DEFAULT_EXCHANGE_MAX_FILE_BYTES
        ),
        exchange_retention_days=_int(
            env, "EXCHANGE_RETENTION_DAYS", DEFAULT_EXCHANGE_RETENTION_DAYS
        ),
        secret_key=_secret_key(env.get("SECRET_KEY", "")),
    )


def _secret_key(raw: str) -> str | None:
    raw = raw.strip()
    if not raw:
        return None
    if len(raw) < MIN_SECRET_KEY_LENGTH:
        raise SettingsError(
            f"SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} characters "
            "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    return raw


def _base_url(raw: str) -> str | None:
    raw = raw.strip()
    if not raw:
        return None
    if not re.fullmatch(r"https?://[^\s/]+(/[^\s]*)?", raw):
        raise SettingsError(f"PUBLIC_BASE_URL must be an http(s) URL, got {raw!r}")
    return raw if raw.endswith("/") else raw + "/"
