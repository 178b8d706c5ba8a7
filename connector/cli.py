"""``loyalty-connector``: serve, worker, scheduler, database and tenant administration."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click
from sqlalchemy.orm import Session

from config import Settings, load_settings
from connector import migrate
from processing.demo import DEMO_POS_TOKEN, seed_demo
from processing.errors import ConnectorError
from processing.tenants.service import add_pos, add_store, add_tenant, get_store, get_tenant
from sync.runtime import Runtime, activate
from sync.schedule import dispatch_inline, dispatch_to_rq, run_schedule

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])
EMBEDDED_THREADS = 8


def _runtime() -> Runtime:
    from connector.logs import configure_logging

    settings = load_settings()
    configure_logging(settings.log_level)
    return activate(Runtime(settings))


@contextmanager
def _transaction(runtime: Runtime) -> Iterator[Session]:
    """The CLI command is the commit point; domain errors print their code and message."""
    session = runtime.session()
    try:
        with session.begin():
            yield session
    except ConnectorError as error:
        raise click.ClickException(f"{error.code}: {error.text}") from error
    finally:
        session.close()


@click.group()
def main() -> None:
    """Loyalty connector for 1C and POS software."""


@main.command()
def serve() -> None:
    """Run the service: embedded (SQLite, one process) or production (gunicorn)."""
    runtime = _runtime()
    settings = runtime.settings
    if settings.embedded:
        migrate.upgrade(settings.database_url)
        with _transaction(runtime) as session:
            if seed_demo(session):
                click.echo(f"Demo tenant seeded; POS token: {DEMO_POS_TOKEN}")
    schedule_stop = threading.Event()
    if not settings.uses_redis:
        # Without Redis nobody else runs the periodic jobs: this process does, inline.
        threading.Thread(
            target=run_schedule, args=(dispatch_inline, schedule_stop), daemon=True
        ).start()
    try:
        if settings.embedded:
            _serve_embedded(runtime)
        else:
            _serve_gunicorn(settings)
    finally:
        schedule_stop.set()


def _serve_embedded(runtime: Runtime) -> None:
    from waitress import serve as waitress_serve

    from connector.app import create_app

    click.echo(f"Serving embedded on http://{runtime.settings.bind} (API docs: /api/docs)")
    app = create_app(runtime=runtime)
    waitress_serve(app, listen=runtime.settings.bind, threads=EMBEDDED_THREADS)


def gunicorn_command(settings: Settings) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(settings.web_concurrency),
        "--worker-class",
        "sync",
        "--bind",
        settings.bind,
        "connector.app:create_app()",
    ]


def _serve_gunicorn(settings: Settings) -> None:
    process = subprocess.Popen(gunicorn_command(settings))  # noqa: S603 - our own argv

    def _forward(signum: int, _frame: object) -> None:
        process.send_signal(signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, _forward)
    sys.exit(process.wait())


def _needs_redis(settings: Settings, what: str) -> None:
    if not settings.uses_redis:
        raise click.ClickException(
            f"{what} needs REDIS_URL; without it `serve` runs jobs and the schedule inline."
        )


@main.command()
@click.option("--burst", is_flag=True, help="Exit when the queue is empty.")
def worker(burst: bool) -> None:
    """Run an RQ worker (with its scheduler) for background jobs."""
    runtime = _runtime()
    _needs_redis(runtime.settings, "worker")
    from sync.worker import run_worker

    run_worker(runtime, burst=burst)


@main.command()
def scheduler() -> None:
    """Enqueue the periodic jobs into RQ when they are due (run exactly one)."""
    runtime = _runtime()
    _needs_redis(runtime.settings, "scheduler")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    run_schedule(dispatch_to_rq(runtime), stop)


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations."""
    settings = load_settings()
    migrate.upgrade(settings.database_url)
    click.echo("Database is up to date.")


@main.command()
def demo() -> None:
    """Seed the demo tenant (embedded SQLite mode only: its POS token is public)."""
    runtime = _runtime()
    if not runtime.settings.embedded:
        raise click.ClickException("the demo tenant is only for the embedded SQLite mode")
    migrate.upgrade(runtime.settings.database_url)
    with _transaction(runtime) as session:
        created = seed_demo(session)
    click.echo("Demo tenant seeded." if created else "Demo tenant already exists.")
    click.echo(f"POS token: {DEMO_POS_TOKEN}")


@main.group()
def tenant() -> None:
    """Tenants (retail companies)."""


@tenant.command("add")
@click.argument("code")
@click.argument("name")
def tenant_add(code: str, name: str) -> None:
    """Create a tenant."""
    with _transaction(_runtime()) as session:
        created = add_tenant(session, code, name)
        click.echo(f"Tenant {created.code} created (id {created.id}).")


@main.group()
def store() -> None:
    """Stores of a tenant."""


@store.command("add")
@click.argument("tenant_code")
@click.argument("code")
@click.argument("name")
@click.option("--timezone", default="Europe/Moscow", show_default=True, help="IANA time zone.")
def store_add(tenant_code: str, code: str, name: str, timezone: str) -> None:
    """Create a store."""
    with _transaction(_runtime()) as session:
        created = add_store(session, get_tenant(session, tenant_code), code, name, timezone)
        click.echo(f"Store {created.code} created (id {created.id}).")


@main.group()
def pos() -> None:
    """POS terminals (cash registers)."""


@pos.command("add")
@click.argument("tenant_code")
@click.argument("store_code")
@click.argument("code")
def pos_add(tenant_code: str, store_code: str, code: str) -> None:
    """Register a POS terminal and print its token (shown only this once)."""
    with _transaction(_runtime()) as session:
        store = get_store(session, get_tenant(session, tenant_code), store_code)
        issued = add_pos(session, store, code)
        click.echo(f"POS {issued.pos.code} registered. Token (shown once): {issued.token}")
