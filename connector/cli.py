"""``loyalty-connector``: serve, worker, scheduler, database and tenant administration."""

from __future__ import annotations

import ipaddress
import logging
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import click
from sqlalchemy.orm import Session

from config import Settings, load_settings
from connector import migrate
from processing.cards.numbers import CHECK_DIGITS
from processing.cards.service import add_template, generate_cards, get_template
from processing.customers.access import CLI_ACTOR, Channel, read_access_log
from processing.customers.erasure import erase_customer
from processing.customers.service import get_customer
from processing.demo import DEMO_POS_TOKEN, DemoCards, demo_exists, seed_demo
from processing.discount_server.service import set_credentials
from processing.errors import ConnectorError
from processing.tenants.service import (
    add_admin_token,
    add_pos,
    add_store,
    add_tenant,
    get_store,
    get_tenant,
)
from processing.tenants.tariffs import DEFAULT_TARIFF, TARIFFS
from sync.log import read_entries
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
@click.option(
    "--demo",
    "demo_asked",
    is_flag=True,
    help="Seed the demo tenant (its POS token is public) even when BIND is not a loopback address.",
)
def serve(demo_asked: bool) -> None:
    """Run the service: embedded (SQLite, one process) or production (gunicorn).

    Embedded, the demo tenant is seeded when BIND is a loopback address, or with --demo."""
    runtime = _runtime()
    settings = runtime.settings
    if demo_asked and not settings.embedded:
        raise click.ClickException("the demo tenant is only for the embedded SQLite mode")
    if settings.embedded:
        migrate.upgrade(settings.database_url)
        _start_demo(runtime, asked=demo_asked)
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


def is_loopback_bind(bind: str) -> bool:
    """True when every address of ``bind`` (waitress takes several, space-separated) is a
    loopback one: 127.0.0.0/8, ::1 or localhost. Anything else may be reachable from the
    network: all interfaces, a LAN address, a host name, a unix socket behind a proxy."""
    addresses = bind.split()
    return bool(addresses) and all(_is_loopback_address(address) for address in addresses)


def _is_loopback_address(address: str) -> bool:
    if address.startswith("["):
        host = address[1:].partition("]")[0]
    elif address.count(":") == 1:
        host = address.partition(":")[0]
    else:
        host = address  # no port, or a bare IPv6 address
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _start_demo(runtime: Runtime, *, asked: bool) -> None:
    """The demo tenant's POS token is public: seed it only where the network cannot reach it,
    unless asked, and warn whenever it is reachable."""
    bind = runtime.settings.bind
    loopback = is_loopback_bind(bind)
    with _transaction(runtime) as session:
        cards = seed_demo(session) if loopback or asked else None
        present = cards is not None or demo_exists(session)
    if cards:
        _echo_demo(cards)
    elif present:
        click.echo(f"Demo tenant present. POS token: {DEMO_POS_TOKEN}")
    else:
        click.echo(
            f"Demo tenant not seeded: BIND {bind} is not a loopback address and the demo POS "
            "token is public. To seed it anyway: loyalty-connector serve --demo"
        )
    if present and not loopback:
        _warn_demo_reachable(bind)


def _warn_demo_reachable(bind: str) -> None:
    click.echo(
        f"WARNING: the demo tenant exists and BIND {bind} is not a loopback address: anyone "
        f"who reaches this port can use its public POS token {DEMO_POS_TOKEN}. Bind to "
        "127.0.0.1 (BIND=127.0.0.1:8080) or use a fresh VAR_DIR without the demo tenant.",
        err=True,
    )


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
        cards = seed_demo(session)
    if cards:
        _echo_demo(cards)
    else:
        click.echo(f"Demo tenant already exists. POS token: {DEMO_POS_TOKEN}")
    if not is_loopback_bind(runtime.settings.bind):
        _warn_demo_reachable(runtime.settings.bind)


def _echo_demo(cards: DemoCards) -> None:
    click.echo(f"Demo tenant seeded. POS token: {DEMO_POS_TOKEN}")
    click.echo(f"Cards with 1000.00 bonus: {', '.join(cards.personal)}")
    click.echo(f"Blank cards: {', '.join(cards.blank)}")


@main.group()
def tenant() -> None:
    """Tenants (retail companies)."""


@tenant.command("add")
@click.argument("code")
@click.argument("name")
@click.option(
    "--tariff", type=click.Choice(sorted(TARIFFS)), default=DEFAULT_TARIFF, show_default=True
)
def tenant_add(code: str, name: str, tariff: str) -> None:
    """Create a tenant with its tariff's limits."""
    with _transaction(_runtime()) as session:
        created = add_tenant(session, code, name, tariff)
        click.echo(f"Tenant {created.code} created (id {created.id}).")


@tenant.command("discount-server-credentials")
@click.argument("tenant_code")
@click.argument("username")
@click.password_option(help="Prompted for (twice) when not given.")
def tenant_discount_server_credentials(tenant_code: str, username: str, password: str) -> None:
    """Set the user and password 1C:Retail uses for the discount server (SOAP)."""
    with _transaction(_runtime()) as session:
        set_credentials(
            session, get_tenant(session, tenant_code), username, password, now=datetime.now(UTC)
        )
    click.echo(f"Discount-server credentials of {tenant_code} set for user {username}.")


@main.group("admin-token")
def admin_token() -> None:
    """Tenant administrator API tokens."""


@admin_token.command("add")
@click.argument("tenant_code")
@click.argument("name")
def admin_token_add(tenant_code: str, name: str) -> None:
    """Issue an admin token (sync log, personal-data access log, erasure); printed once."""
    with _transaction(_runtime()) as session:
        issued = add_admin_token(session, get_tenant(session, tenant_code), name)
        click.echo(f"Admin token for {issued.token.name} (shown once): {issued.secret}")


@main.command("sync-log")
@click.option("--tenant", "tenant_code", help="Only this tenant.")
@click.option("--since", type=click.DateTime(), help="From this UTC date-time on.")
@click.option("--limit", type=int, default=100, show_default=True)
def sync_log(tenant_code: str | None, since: datetime | None, limit: int) -> None:
    """Show sync log entries, newest first."""
    with _transaction(_runtime()) as session:
        tenant_id = get_tenant(session, tenant_code).id if tenant_code else None
        entries = read_entries(
            session, tenant_id=tenant_id, since=since.replace(tzinfo=UTC) if since else None,
            limit=limit,
        )  # fmt: skip
        for entry in entries:
            where = f"{entry.document_type} {entry.document_id}" if entry.document_id else ""
            click.echo(
                f"{entry.at:%Y-%m-%d %H:%M:%S} {entry.level:7} {entry.exchange} "
                f"{entry.operation} {where} {entry.message}"
            )


@main.command("pd-log")
@click.option("--tenant", "tenant_code", required=True, help="The tenant's code.")
@click.option("--customer", "customer_id", type=int, help="Only this customer (id).")
@click.option("--since", type=click.DateTime(), help="From this UTC date-time on.")
@click.option("--limit", type=int, default=100, show_default=True)
def pd_log(tenant_code: str, customer_id: int | None, since: datetime | None, limit: int) -> None:
    """Show who read or changed customers' personal data (152-FZ), newest first."""
    with _transaction(_runtime()) as session:
        entries = read_access_log(
            session, tenant_id=get_tenant(session, tenant_code).id, customer_id=customer_id,
            since=since.replace(tzinfo=UTC) if since else None, limit=limit,
        )  # fmt: skip
        for entry in entries:
            click.echo(
                f"{entry.at:%Y-%m-%d %H:%M:%S} customer {entry.customer_id} {entry.action:8} "
                f"{entry.channel:3} {entry.actor} [{', '.join(entry.fields)}]"
                + (f" request {entry.request_id}" if entry.request_id else "")
            )


@main.group()
def customer() -> None:
    """Customers' personal data (152-FZ)."""


@customer.command("erase")
@click.argument("tenant_code")
@click.argument("customer_id", type=int)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def customer_erase(tenant_code: str, customer_id: int, yes: bool) -> None:
    """Erase (anonymise) a customer's personal data and change history on their request; the
    bonus account, cards and receipts stay, anonymous. Erasing twice is harmless."""
    runtime = _runtime()
    # Check first, ask outside any transaction: the embedded database stays unlocked meanwhile.
    with _transaction(runtime) as session:
        get_customer(session, get_tenant(session, tenant_code), customer_id)
    if not yes:
        click.confirm(
            f"Erase the personal data of customer {customer_id} of {tenant_code}? "
            "This cannot be undone.",
            abort=True,
        )
    with _transaction(runtime) as session:
        found = get_customer(session, get_tenant(session, tenant_code), customer_id)
        result = erase_customer(
            session, found, actor=CLI_ACTOR, channel=Channel.CLI, now=datetime.now(UTC)
        )
    erased = ", ".join(result.erased_fields) or "nothing left"
    if result.already_anonymised:
        click.echo(
            f"Customer {customer_id} of {tenant_code} was already erased on "
            f"{result.anonymised_at:%Y-%m-%d %H:%M:%S} UTC; erased now: {erased}."
        )
    else:
        click.echo(
            f"Customer {customer_id} of {tenant_code} erased: {erased}; "
            f"{result.history_removed} change-history rows removed. The bonus account, cards "
            "and receipts stay, anonymous."
        )


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


@main.group()
def cards() -> None:
    """Card series and pre-printed cards."""


@cards.command("template-add")
@click.argument("tenant_code")
@click.argument("code")
@click.option("--name", required=True, help="Series name.")
@click.option("--type", "card_type", required=True, help='Shown on the card, e.g. "5%".')
@click.option("--prefix", required=True, help="Leading digits of every number.")
@click.option("--length", "number_length", type=int, required=True, help="Digits in all.")
@click.option("--check-digit", type=click.Choice(CHECK_DIGITS), default="luhn", show_default=True)
@click.option("--range-start", type=int, default=1, show_default=True)
@click.option("--range-end", type=int, help="Last serial (default: as many as fit).")
def cards_template_add(
    tenant_code: str,
    code: str,
    name: str,
    card_type: str,
    prefix: str,
    number_length: int,
    check_digit: str,
    range_start: int,
    range_end: int | None,
) -> None:
    """Create a card series (number template)."""
    with _transaction(_runtime()) as session:
        template = add_template(
            session, get_tenant(session, tenant_code), code=code, name=name,
            card_type=card_type, prefix=prefix, number_length=number_length,
            check_digit=check_digit, range_start=range_start, range_end=range_end,
        )  # fmt: skip
        click.echo(f"Card series {template.code} created: serials {template.range_start}-"
                   f"{template.range_end}.")  # fmt: skip


@cards.command("generate")
@click.argument("tenant_code")
@click.argument("template_code")
@click.argument("count", type=int)
def cards_generate(tenant_code: str, template_code: str, count: int) -> None:
    """Issue COUNT pre-printed cards of a series and print their numbers, one per line."""
    with _transaction(_runtime()) as session:
        template = get_template(session, get_tenant(session, tenant_code), template_code)
        issued = generate_cards(session, template, count, author="cli", now=datetime.now(UTC))
        numbers = [card.number for card in issued]
    click.echo("\n".join(numbers))
