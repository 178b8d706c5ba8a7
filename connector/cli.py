"""``loyalty-connector``: serve, worker, scheduler, database and tenant administration."""

from __future__ import annotations

import ipaddress
import json
import logging
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click
from marshmallow import Schema, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from config import Settings, load_settings
from connector import migrate
from connector.jsonio import loads_body
from mappings import admin as wire
from mappings import catalog as catalog_wire
from processing.accounts.models import User
from processing.accounts.roles import ROLE_TITLES
from processing.accounts.service import add_user, normal_email, set_password
from processing.accruals.mass import (
    STATUS_TITLES,
    add_mass_accrual,
    cancel_mass_accrual,
    get_mass_accrual,
    tenant_mass_accruals,
)
from processing.cards.numbers import CHECK_DIGITS
from processing.cards.service import add_template, generate_cards, get_template, tenant_templates
from processing.cards.service import set_template_programs as set_series_programs
from processing.catalog.service import upsert_brands, upsert_goods, upsert_groups
from processing.customers.access import CLI_ACTOR, Channel, read_access_log
from processing.customers.erasure import erase_customer
from processing.customers.questionnaire import (
    Questionnaire,
    add_extra_field,
    questionnaire,
    set_questionnaire,
)
from processing.customers.service import get_customer
from processing.demo import (
    DEMO_ADMIN_EMAIL,
    DEMO_ADMIN_PASSWORD,
    DEMO_POS_TOKEN,
    DemoCards,
    demo_exists,
    seed_demo,
)
from processing.errors import ConnectorError
from processing.programs.service import (
    add_program,
    add_version,
    get_program,
    set_program_status,
    tenant_programs,
)
from processing.promotions.segments import (
    ACTIVE,
    FILTER,
    PAUSED,
    SEGMENT_STATUSES,
    add_segment,
    check_refreshable,
    get_segment,
    set_segment_status,
    tenant_segments,
)
from processing.promotions.service import promotion_groups, set_promotion_groups
from processing.tenants.credentials import SERVICES, set_credentials
from processing.tenants.models import Tenant
from processing.tenants.service import (
    add_admin_token,
    add_pos,
    add_store,
    add_store_group,
    add_tenant,
    change_tariff,
    get_store,
    get_store_group,
    get_tenant,
    link_warehouse,
    reissue_pos_token,
    revoke_pos,
    set_addon,
    set_features,
    set_store_active,
    tenant_store_groups,
    tenant_stores,
)
from processing.tenants.settings import tenant_settings, update_settings
from processing.tenants.tariffs import DEFAULT_TARIFF, TARIFFS
from sync.jobs import mass_accrual_timeout, refresh_segment, run_mass_accrual
from sync.log import get_run, read_entries, read_runs
from sync.models import RUN_STATUSES, SyncRun
from sync.queue import enqueue
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
        # A handler may work up to two minutes (a batch of a million coupon codes takes ~20 s,
        # and a second batch of the tenant waits for it); nginx in front keeps slow clients off
        # the workers, so the timeout guards only against a stuck handler.
        "--timeout",
        "120",
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
    click.echo(f"Admin pages: /admin/, login {DEMO_ADMIN_EMAIL}, password {DEMO_ADMIN_PASSWORD}")
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


_SERVICE_NAMES = {service.replace("_", "-"): service for service in SERVICES}


def _set_credentials(tenant_code: str, name: str, username: str, password: str) -> None:
    with _transaction(_runtime()) as session:
        set_credentials(
            session, get_tenant(session, tenant_code), _SERVICE_NAMES[name], username, password,
            now=datetime.now(UTC),
        )  # fmt: skip
    click.echo(f"The {name} credentials of {tenant_code} are set for user {username}.")


@tenant.command("credentials")
@click.argument("tenant_code")
@click.option(
    "--service", "name", type=click.Choice(list(_SERVICE_NAMES)), required=True,
    help="discount-server: 1C:Retail's discount server (SOAP); exchange: 1C's exchange with "
    "the website (CommerceML).",
)  # fmt: skip
@click.option("--username", required=True)
@click.password_option(help="Prompted for (twice) when not given.")
def tenant_credentials(tenant_code: str, name: str, username: str, password: str) -> None:
    """Set the user and password the tenant's 1C logs in to a service with (HTTP Basic)."""
    _set_credentials(tenant_code, name, username, password)


@tenant.command("discount-server-credentials")
@click.argument("tenant_code")
@click.argument("username")
@click.password_option(help="Prompted for (twice) when not given.")
def tenant_discount_server_credentials(tenant_code: str, username: str, password: str) -> None:
    """Same as ``tenant credentials TENANT_CODE --service discount-server --username USERNAME``."""
    _set_credentials(tenant_code, "discount-server", username, password)


@main.group()
def user() -> None:
    """Accounts of the admin pages."""


@user.command("add")
@click.argument("email")
@click.option("--tenant", "tenant_code", help="The tenant's code; left out: a platform user.")
@click.option(
    "--role", "roles", multiple=True, required=True,
    type=click.Choice(sorted(ROLE_TITLES)),
    help="Repeat for several. A tenant's: admin, marketer, manager, operator, cashier, guest; "
    "the platform's: licensor, agent.",
)  # fmt: skip
@click.option("--name", default="", help="The person's name, as the pages show it.")
@click.password_option(help="Prompted for (twice) when not given.")
def user_add(
    email: str, tenant_code: str | None, roles: tuple[str, ...], name: str, password: str
) -> None:
    """Create a user who logs in with EMAIL and the password."""
    with _transaction(_runtime()) as session:
        owner = get_tenant(session, tenant_code) if tenant_code else None
        created = add_user(session, owner, email, password, roles, name=name, now=datetime.now(UTC))
        where = f"tenant {tenant_code}" if tenant_code else "the platform"
        titles = ", ".join(ROLE_TITLES[role] for role in sorted(roles))
        click.echo(f"User {created.email} of {where} created ({titles}).")


@user.command("password")
@click.argument("email")
@click.password_option(help="Prompted for (twice) when not given.")
def user_password(email: str, password: str) -> None:
    """Set a new password for the user who logs in with EMAIL (its sessions end)."""
    with _transaction(_runtime()) as session:
        found = session.scalar(select(User).where(User.email == normal_email(email)))
        if found is None:
            raise click.ClickException(f"no user logs in with {email}")
        set_password(found, password)
    click.echo(f"The password of {found.email} is set.")


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
@click.option("--until", type=click.DateTime(), help="Before this UTC date-time.")
@click.option("--status", type=click.Choice(RUN_STATUSES), help="Only runs in this status.")
@click.option("--source", help="Only this kind of exchange: commerceml, discount_server.")
@click.option("--exchange", help="Only this exchange session (its id, as --run shows it).")
@click.option("--run", "run_id", type=int, help="Show this run in full, with its errors.")
@click.option("--limit", type=int, default=100, show_default=True)
def sync_log(
    tenant_code: str | None,
    since: datetime | None,
    until: datetime | None,
    status: str | None,
    source: str | None,
    exchange: str | None,
    run_id: int | None,
    limit: int,
) -> None:
    """Show the sync log: import runs (latest first), then entries (newest first).

    --status filters the runs only; --exchange keeps the entries its runs wrote."""
    with _transaction(_runtime()) as session:
        tenant_id = get_tenant(session, tenant_code).id if tenant_code else None
        if run_id is not None:
            _echo_run_in_full(get_run(session, run_id, tenant_id=tenant_id))
            return
        page: dict[str, Any] = {
            "tenant_id": tenant_id, "exchange": exchange, "source": source,
            "since": since.replace(tzinfo=UTC) if since else None,
            "until": until.replace(tzinfo=UTC) if until else None, "limit": limit,
        }  # fmt: skip
        for run in read_runs(session, status=status, **page):
            click.echo(_run_line(run))
        for entry in read_entries(session, **page):
            where = f"{entry.document_type} {entry.document_id}" if entry.document_id else ""
            click.echo(
                f"{entry.at:%Y-%m-%d %H:%M:%S} {entry.level:7} {entry.exchange} "
                f"{entry.operation} {where} {entry.message}"
            )


def _counts_text(counts: dict[str, int]) -> str:
    return " ".join(f"{name}={value}" for name, value in counts.items()) or "-"


def _run_line(run: SyncRun) -> str:
    return (
        f"{run.started_at:%Y-%m-%d %H:%M:%S} run {run.id} {run.status:7} {run.progress:3}% "
        f"{run.source} {run.file_name} [{_counts_text(run.counts)}] errors={run.error_count}"
        + (f" {run.message}" if run.message else "")
    )


def _echo_run_in_full(run: SyncRun) -> None:
    finished = f"{run.finished_at:%Y-%m-%d %H:%M:%S}" if run.finished_at else "-"
    kept = f" (the first {len(run.errors)} kept)" if run.error_count > len(run.errors) else ""
    for line in (
        f"run {run.id}: {run.status}, {run.progress}%",
        f"source: {run.source}, exchange: {run.session_id or '-'}",
        f"file: {run.file_name} (stored as {run.stored_name}), kind: {run.kind or '-'}",
        f"started: {run.started_at:%Y-%m-%d %H:%M:%S}, finished: {finished}",
        f"counts: {_counts_text(run.counts)}",
        f"message: {run.message or '-'}",
        f"errors: {run.error_count}{kept}",
    ):
        click.echo(line)
    for error in run.errors:
        click.echo(f"  {error['path']} Ид={error['id'] or '-'}: {error['message']}")
    click.echo(f"warnings: {len(run.warnings)}")
    for warning in run.warnings:
        click.echo(f"  {warning}")


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
@click.option(
    "--validity-days", type=int, help="Valid this long from activation (default: no limit)."
)
@click.option("--programs", default="", help="Programs the series carries: code,code.")
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
    validity_days: int | None,
    programs: str,
) -> None:
    """Create a card series (number template)."""
    with _transaction(_runtime()) as session:
        owner = get_tenant(session, tenant_code)
        carried = [get_program(session, owner, program) for program in _codes(programs)]
        template = add_template(
            session, owner, code=code, name=name,
            card_type=card_type, prefix=prefix, number_length=number_length,
            check_digit=check_digit, range_start=range_start, range_end=range_end,
            programs=carried, validity_days=validity_days,
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


# Management without Python: the same domain functions as /api/v1/admin/..., and tariffs and
# features, which only the platform changes.


def _codes(text: str) -> list[str]:
    """``a,b, c`` → ``["a", "b", "c"]`` (an empty text: none)."""
    return [code.strip() for code in text.split(",") if code.strip()]


def _load(schema: Schema, data: dict[str, Any]) -> dict[str, Any]:
    """Values typed as the management API reads them; a refusal names the fields."""
    try:
        loaded: dict[str, Any] = schema.load(data)
    except ValidationError as error:
        messages: dict[str, Any] = error.normalized_messages()  # type: ignore[no-untyped-call]
        named = "; ".join(f"{field}: {problem}" for field, problem in messages.items())
        raise click.ClickException(f"VALIDATION_ERROR: {named}") from error
    return loaded


def _json_argument(text: str) -> Any:
    """JSON given inline, or ``@path`` of a file holding it."""
    try:
        source = Path(text[1:]).read_text(encoding="utf-8") if text.startswith("@") else text
    except OSError as error:
        raise click.ClickException(f"cannot read {text[1:]}: {error.strerror}") from error
    try:
        return loads_body(source)
    except ConnectorError as error:
        raise click.ClickException(f"{error.code}: {error.text}") from error
    except ValueError as error:
        raise click.ClickException(f"MALFORMED_JSON: not JSON: {error}") from error


def _echo_tariff(owner: Tenant) -> None:
    limits = {"stores": owner.max_stores, "pos": owner.max_pos, "customers": owner.max_customers}
    click.echo(
        f"Tenant {owner.code}: tariff {owner.tariff}, add-ons: {', '.join(owner.addons) or '-'}"
    )
    click.echo(f"Features: {', '.join(owner.features) or '-'}")
    click.echo(
        "Limits: " + ", ".join(f"{k} {'unlimited' if v is None else v}" for k, v in limits.items())
    )
    if owner.quotas:
        click.echo("Quotas: " + ", ".join(f"{k} {v}" for k, v in sorted(owner.quotas.items())))


@tenant.command("show")
@click.argument("tenant_code")
def tenant_show(tenant_code: str) -> None:
    """Show a tenant's tariff, add-ons, features, limits and quotas."""
    with _transaction(_runtime()) as session:
        _echo_tariff(get_tenant(session, tenant_code))


@tenant.command("tariff")
@click.argument("tenant_code")
@click.argument("tariff_code")
def tenant_tariff(tenant_code: str, tariff_code: str) -> None:
    """Move a tenant to another base tariff: its limits and features (with those of the
    tenant's add-ons) replace the tenant's own."""
    with _transaction(_runtime()) as session:
        owner = get_tenant(session, tenant_code)
        change_tariff(session, owner, tariff_code)
        _echo_tariff(owner)


@tenant.command("addon")
@click.argument("tenant_code")
@click.argument("addon_code")
@click.option("--on/--off", "enabled", required=True, help="Buy or cancel the add-on.")
def tenant_addon(tenant_code: str, addon_code: str, enabled: bool) -> None:
    """Buy or cancel an add-on (Информер: SMS, e-mail, message templates)."""
    with _transaction(_runtime()) as session:
        owner = get_tenant(session, tenant_code)
        set_addon(session, owner, addon_code, enabled=enabled)
        _echo_tariff(owner)


@tenant.command("features")
@click.argument("tenant_code")
@click.argument("features")
def tenant_features(tenant_code: str, features: str) -> None:
    """Set a tenant's features exactly (f1,f2,...; "" for none), apart from its tariff. The next
    tariff or add-on change recomputes them from the presets."""
    with _transaction(_runtime()) as session:
        owner = get_tenant(session, tenant_code)
        set_features(session, owner, _codes(features))
        _echo_tariff(owner)


@store.command("warehouse")
@click.argument("tenant_code")
@click.argument("store_code")
@click.argument("warehouse_id", required=False)
def store_warehouse(tenant_code: str, store_code: str, warehouse_id: str | None) -> None:
    """Link a store to a 1C warehouse (CommerceML Склад Ид); without one, unlink it."""
    with _transaction(_runtime()) as session:
        tenant = get_tenant(session, tenant_code)
        link_warehouse(session, tenant, get_store(session, tenant, store_code), warehouse_id)
        click.echo(f"Store {store_code} linked to warehouse {warehouse_id or '(none)'}.")


@store.command("activate")
@click.argument("tenant_code")
@click.argument("store_code")
@click.option("--off", is_flag=True, help="Deactivate instead (its POS are refused).")
def store_activate(tenant_code: str, store_code: str, off: bool) -> None:
    """Activate a store within the tariff's store limit (or deactivate it with --off)."""
    with _transaction(_runtime()) as session:
        tenant = get_tenant(session, tenant_code)
        set_store_active(session, tenant, get_store(session, tenant, store_code), not off)
        click.echo(f"Store {store_code} {'deactivated' if off else 'active'}.")


@store.command("list")
@click.argument("tenant_code")
def store_list(tenant_code: str) -> None:
    """Show a tenant's stores with their groups and POS (active or revoked)."""
    with _transaction(_runtime()) as session:
        for found in tenant_stores(session, get_tenant(session, tenant_code)):
            groups = ", ".join(sorted(group.code for group in found.groups)) or "-"
            state = "" if found.active else "  INACTIVE"
            link = f"  warehouse: {found.warehouse_id}" if found.warehouse_id else ""
            click.echo(
                f"{found.code}  {found.name}  [{found.timezone}]  groups: {groups}{link}{state}"
            )
            for terminal in sorted(found.terminals, key=lambda terminal: terminal.code):
                state = (
                    "active"
                    if terminal.revoked_at is None
                    else (f"revoked {terminal.revoked_at:%Y-%m-%d %H:%M:%S} UTC")
                )
                click.echo(f"  pos {terminal.code}  {state}")


@main.group("store-group")
def store_group() -> None:
    """Store groups (a program version may apply to a group)."""


@store_group.command("add")
@click.argument("tenant_code")
@click.argument("code")
@click.argument("name")
@click.option("--stores", default="", help="Member stores: code,code.")
def store_group_add(tenant_code: str, code: str, name: str, stores: str) -> None:
    """Create a store group with its member stores."""
    with _transaction(_runtime()) as session:
        owner = get_tenant(session, tenant_code)
        members = [get_store(session, owner, member) for member in dict.fromkeys(_codes(stores))]
        group = add_store_group(session, owner, code, name, members)
        click.echo(f"Store group {group.code} created: {', '.join(_codes(stores)) or 'no stores'}.")


@store_group.command("list")
@click.argument("tenant_code")
def store_group_list(tenant_code: str) -> None:
    """Show a tenant's store groups with their stores."""
    with _transaction(_runtime()) as session:
        for group in tenant_store_groups(session, get_tenant(session, tenant_code)):
            members = ", ".join(sorted(member.code for member in group.stores)) or "-"
            click.echo(f"{group.code}  {group.name}  stores: {members}")


@pos.command("revoke")
@click.argument("tenant_code")
@click.argument("store_code")
@click.argument("code")
def pos_revoke(tenant_code: str, store_code: str, code: str) -> None:
    """Revoke a POS token (a lost or stolen register): refused by every node within 10 s."""
    with _transaction(_runtime()) as session:
        found = get_store(session, get_tenant(session, tenant_code), store_code)
        since = revoke_pos(session, found, code, datetime.now(UTC)).revoked_at
    at = f" at {since:%Y-%m-%d %H:%M:%S} UTC" if since else ""
    click.echo(f"POS {code} of {store_code} revoked{at}.")


@pos.command("reissue")
@click.argument("tenant_code")
@click.argument("store_code")
@click.argument("code")
def pos_reissue(tenant_code: str, store_code: str, code: str) -> None:
    """Give a POS a new token, printed once (a revoked POS becomes active again); the old
    token stops working."""
    with _transaction(_runtime()) as session:
        found = get_store(session, get_tenant(session, tenant_code), store_code)
        issued = reissue_pos_token(session, found, code)
    click.echo(f"POS {code} of {store_code} has a new token (shown once): {issued.token}")


@main.group()
def program() -> None:
    """Loyalty programs and their versions."""


@program.command("list")
@click.argument("tenant_code")
def program_list(tenant_code: str) -> None:
    """Show a tenant's programs with every version: period, scope and rules."""
    with _transaction(_runtime()) as session:
        for found in tenant_programs(session, get_tenant(session, tenant_code)):
            click.echo(f"{found.code}  {found.kind}  {found.name}")
            for version in found.versions:
                body = wire.version_body(version)
                scope = ", ".join(body["stores"] + [f"group {g}" for g in body["store_groups"]])
                until = (
                    f"{version.effective_to:%Y-%m-%d %H:%M} UTC" if version.effective_to else "open"
                )
                click.echo(
                    f"  #{version.id}  {version.effective_from:%Y-%m-%d %H:%M} UTC -> {until}  "
                    f"{scope or 'all stores'}  {json.dumps(version.rules, ensure_ascii=False)}"
                )


@program.command("add")
@click.argument("tenant_code")
@click.argument("kind")
@click.argument("code")
@click.argument("name")
def program_add(tenant_code: str, kind: str, code: str, name: str) -> None:
    """Create a program of KIND (discount_level, fixed_discount, bonus); its rules come with
    its first version (program version-add)."""
    with _transaction(_runtime()) as session:
        created = add_program(session, get_tenant(session, tenant_code), kind, code, name)
        click.echo(f"Program {created.code} ({created.kind}) created.")


@program.command("version-add")
@click.argument("tenant_code")
@click.argument("program_code")
@click.option("--rules", required=True, help="The rules as JSON, or @file.json.")
@click.option("--from", "effective_from", required=True, help="ISO 8601 with offset.")
@click.option("--to", "effective_to", help="ISO 8601 with offset, exclusive (default: open).")
@click.option("--stores", default="", help="Only these stores: code,code.")
@click.option("--store-groups", default="", help="Only these store groups: code,code.")
def program_version_add(
    tenant_code: str,
    program_code: str,
    rules: str,
    effective_from: str,
    effective_to: str | None,
    stores: str,
    store_groups: str,
) -> None:
    """Add a version of a program's rules. An open-ended version that started earlier is closed
    at --from; any other overlap is refused. Without --stores and --store-groups it applies to
    every store."""
    data = _load(
        wire.VersionIn(),
        {"rules": _json_argument(rules), "effective_from": effective_from,
         "effective_to": effective_to, "stores": _codes(stores),
         "store_groups": _codes(store_groups)},
    )  # fmt: skip
    with _transaction(_runtime()) as session:
        owner = get_tenant(session, tenant_code)
        found = get_program(session, owner, program_code)
        version = add_version(
            session, found, data["rules"], data["effective_from"], data["effective_to"],
            stores=[get_store(session, owner, code) for code in dict.fromkeys(data["stores"])],
            store_groups=[get_store_group(session, owner, code)
                          for code in dict.fromkeys(data["store_groups"])],
        )  # fmt: skip
        starts = f"{version.effective_from:%Y-%m-%d %H:%M}"
    click.echo(f"Version #{version.id} of {program_code} added from {starts} UTC.")


@program.command("status")
@click.argument("tenant_code")
@click.argument("program_code")
@click.argument("status", type=click.Choice(["active", "paused", "archived"]))
def program_status(tenant_code: str, program_code: str, status: str) -> None:
    """Pause, resume or archive a program (an archived one is never applied again)."""
    with _transaction(_runtime()) as session:
        found = get_program(session, get_tenant(session, tenant_code), program_code)
        set_program_status(session, found, status)
    click.echo(f"Program {program_code} is {status}.")


@program.command("groups")
@click.argument("tenant_code")
@click.option("--set", "groups", help="The promotion groups as JSON, or @file.json.")
def program_groups(tenant_code: str, groups: str | None) -> None:
    """Show the tenant's promotion combination groups, or --set them (docs/promotions.md)."""
    with _transaction(_runtime()) as session:
        tenant = get_tenant(session, tenant_code)
        if groups is not None:
            shown = set_promotion_groups(session, tenant, _json_argument(groups))
        else:
            shown = promotion_groups(tenant)
    click.echo(json.dumps(shown, ensure_ascii=False, indent=2))


@cards.command("template-list")
@click.argument("tenant_code")
def cards_template_list(tenant_code: str) -> None:
    """Show a tenant's card series with their programs and free serials."""
    with _transaction(_runtime()) as session:
        for template in tenant_templates(session, get_tenant(session, tenant_code)):
            body = wire.card_template_body(template)
            validity = f"{template.validity_days} days" if template.validity_days else "no limit"
            click.echo(
                f"{template.code}  {template.name}  prefix {template.prefix}, "
                f"{template.number_length} digits, {template.check_digit}, serials "
                f"{template.range_start}-{template.range_end} ({body['free']} free), "
                f"validity {validity}, programs: {', '.join(body['programs']) or '-'}"
            )


@cards.command("template-programs")
@click.argument("tenant_code")
@click.argument("template_code")
@click.argument("programs")
def cards_template_programs(tenant_code: str, template_code: str, programs: str) -> None:
    """Set the programs a card series carries (code,code; "" for none): at most one discount
    and one bonus program, applied to its cards instead of the tenant's."""
    with _transaction(_runtime()) as session:
        owner = get_tenant(session, tenant_code)
        template = get_template(session, owner, template_code)
        carried = [get_program(session, owner, code) for code in dict.fromkeys(_codes(programs))]
        set_series_programs(session, template, carried)
    named = ", ".join(p.code for p in carried) or "no programs"
    click.echo(f"Card series {template_code} carries: {named}.")


@main.group("questionnaire")
def questionnaire_group() -> None:
    """The customer questionnaire: policy, required fields, extra fields."""


def _echo_questionnaire(found: Questionnaire) -> None:
    click.echo(f"Policy: {found.policy}")
    click.echo(f"Required: {', '.join(found.required) or '-'}")
    for field in found.fields:
        choices = f" ({', '.join(field.choices)})" if field.choices else ""
        click.echo(f"  extra.{field.code}  {field.kind}{choices}  {field.label}")


@questionnaire_group.command("show")
@click.argument("tenant_code")
def questionnaire_show(tenant_code: str) -> None:
    """Show the questionnaire policy, its required fields and the extra fields."""
    with _transaction(_runtime()) as session:
        _echo_questionnaire(questionnaire(session, get_tenant(session, tenant_code)))


@questionnaire_group.command("set")
@click.argument("tenant_code")
@click.argument("policy")
@click.option("--required", default="", help="Required fields: last_name,phone,extra.<code>.")
def questionnaire_set(tenant_code: str, policy: str, required: str) -> None:
    """Set the POLICY for an unfilled questionnaire (nothing, accrual_only, full) and the
    fields a filled one must have."""
    with _transaction(_runtime()) as session:
        found = set_questionnaire(
            session, get_tenant(session, tenant_code), policy, _codes(required)
        )
        _echo_questionnaire(found)


@questionnaire_group.command("field-add")
@click.argument("tenant_code")
@click.argument("code")
@click.argument("label")
@click.option("--kind", required=True, help="string, number, date, boolean or choice.")
@click.option("--choices", default="", help="The values of a choice field: a,b,c.")
def questionnaire_field_add(
    tenant_code: str, code: str, label: str, kind: str, choices: str
) -> None:
    """Add an extra questionnaire field (1C and POS send it in ``extra``)."""
    with _transaction(_runtime()) as session:
        field = add_extra_field(
            session, get_tenant(session, tenant_code), code, label, kind, _codes(choices)
        )
        click.echo(f"Questionnaire field extra.{field.code} ({field.kind}) added.")


@main.group("settings")
def settings_group() -> None:
    """A tenant's processing settings (tolerances, returns, rollbacks, phone identification)."""


def _echo_settings(values: dict[str, Any]) -> None:
    for name, value in values.items():
        click.echo(f"{name} = {str(value).lower() if isinstance(value, bool) else value}")


@settings_group.command("show")
@click.argument("tenant_code")
def settings_show(tenant_code: str) -> None:
    """Show a tenant's processing settings."""
    with _transaction(_runtime()) as session:
        _echo_settings(tenant_settings(get_tenant(session, tenant_code)))


@settings_group.command("set")
@click.argument("tenant_code")
@click.argument("assignments", nargs=-1, required=True)
def settings_set(tenant_code: str, assignments: tuple[str, ...]) -> None:
    """Change settings: NAME=VALUE ..., e.g. sums_tolerance=0.05 phone_write_off=true. All or
    none: one refused value refuses the change."""
    values: dict[str, str] = {}
    for assignment in assignments:
        name, equals, value = assignment.partition("=")
        if not equals or not name.strip():
            raise click.ClickException(f"expected NAME=VALUE, got {assignment!r}")
        values[name.strip()] = value.strip()
    data = _load(wire.SettingsIn(), values)
    with _transaction(_runtime()) as session:
        owner = get_tenant(session, tenant_code)
        changed = update_settings(session, owner, data)
        _echo_settings(tenant_settings(owner))
    click.echo(f"Changed: {', '.join(changed)}." if changed else "Nothing changed.")


@main.group("catalog")
def catalog_group() -> None:
    """The goods catalog uploaded from 1C (goods groups, brands, goods with barcodes)."""


_CATALOG_UPLOADS = {
    "groups": (catalog_wire.GroupsIn, upsert_groups),
    "brands": (catalog_wire.BrandsIn, upsert_brands),
    "goods": (catalog_wire.GoodsIn, upsert_goods),
}


@catalog_group.command("import")
@click.argument("tenant_code")
@click.argument("kind", type=click.Choice(list(_CATALOG_UPLOADS)))
@click.argument("file", type=click.Path(dir_okay=False))
def catalog_import(tenant_code: str, kind: str, file: str) -> None:
    """Upload FILE (JSON, the body of PUT /api/v1/catalog/<KIND>: {"items": [...]}, at most
    5000 items) as one transaction, and print what it did."""
    body = _json_argument(f"@{file}")
    schema, upsert = _CATALOG_UPLOADS[kind]
    with _transaction(_runtime()) as session:
        owner = get_tenant(session, tenant_code)
        data = _load(schema(), body)
        report = upsert(session, owner, data["items"], now=datetime.now(UTC))
    click.echo(
        f"Catalog {kind} of {tenant_code}: created {report.created}, updated {report.updated}, "
        f"unchanged {report.unchanged}, deleted {report.deleted}."
    )


@main.group("segment")
def segment_group() -> None:
    """Customer segments: static lists and saved filters (docs/segments-and-accruals.md)."""


@segment_group.command("list")
@click.argument("tenant_code")
def segment_list(tenant_code: str) -> None:
    """Show a tenant's segments: kind, member count, status, last refresh and filter."""
    with _transaction(_runtime()) as session:
        for found in tenant_segments(session, get_tenant(session, tenant_code)):
            refreshed = f"{found.refreshed_at:%Y-%m-%d %H:%M} UTC" if found.refreshed_at else "-"
            conditions = json.dumps(found.filter, ensure_ascii=False) if found.filter else ""
            click.echo(
                f"{found.code}  {found.kind}  {found.name}  members {found.member_count}  "
                f"{found.status}  refreshed {refreshed}  {conditions}".rstrip()
            )


@segment_group.command("add")
@click.argument("tenant_code")
@click.argument("code")
@click.argument("name")
@click.option("--filter", "filter_json", help="A saved filter as JSON, or @file.json.")
def segment_add(tenant_code: str, code: str, name: str, filter_json: str | None) -> None:
    """Create a segment: a static list, or with --filter a saved filter, whose members are
    computed at once."""
    data = _load(
        wire.SegmentIn(),
        {"code": code, "name": name,
         "filter": _json_argument(filter_json) if filter_json is not None else None},
    )  # fmt: skip
    runtime = _runtime()
    with _transaction(runtime) as session:
        created = add_segment(
            session, get_tenant(session, tenant_code), data["code"], data["name"], data["filter"]
        )
        segment_id, kind = created.id, created.kind
    members = refresh_segment(segment_id) if kind == FILTER else 0
    click.echo(f"Segment {code} ({kind}) created: {members} members.")


@segment_group.command("refresh")
@click.argument("tenant_code")
@click.argument("code")
def segment_refresh(tenant_code: str, code: str) -> None:
    """Recompute a filter segment's members now, a batch of customers per transaction."""
    runtime = _runtime()
    with _transaction(runtime) as session:
        found = get_segment(session, get_tenant(session, tenant_code), code)
        check_refreshable(found)
        segment_id, stored = found.id, found.code
    click.echo(f"Segment {stored} refreshed: {refresh_segment(segment_id)} members.")


@segment_group.command("status")
@click.argument("tenant_code")
@click.argument("code")
@click.argument("status", type=click.Choice(SEGMENT_STATUSES))
def segment_status(tenant_code: str, code: str, status: str) -> None:
    """Pause (not refreshed, members kept, still used by promotions), resume (a filter segment
    is refreshed then) or archive a segment for good (refused while a current or future
    version of an active or paused promotion names it)."""
    runtime = _runtime()
    with _transaction(runtime) as session:
        found = get_segment(session, get_tenant(session, tenant_code), code)
        resumed = found.status == PAUSED and status == ACTIVE and found.kind == FILTER
        set_segment_status(session, found, status, datetime.now(UTC))
        segment_id, stored = found.id, found.code
    if resumed:
        click.echo(f"Segment {stored} is {status}: {refresh_segment(segment_id)} members.")
    else:
        click.echo(f"Segment {stored} is {status}.")


@main.group("mass-accrual")
def mass_accrual_group() -> None:
    """Bonus to every member of a segment, once per customer, now or at a set time."""


@mass_accrual_group.command("add")
@click.argument("tenant_code")
@click.argument("segment_code")
@click.argument("name")
@click.argument("amount")
@click.option("--run-at", help="ISO 8601 with offset (default: now).")
@click.option("--activation-delay-days", type=int, default=0, show_default=True)
@click.option("--lifetime-days", type=int, help="Days from the activation (default: never).")
def mass_accrual_add(
    tenant_code: str,
    segment_code: str,
    name: str,
    amount: str,
    run_at: str | None,
    activation_delay_days: int,
    lifetime_days: int | None,
) -> None:
    """Schedule AMOUNT of bonus to every member of a segment; one due now starts at once (a
    job: inline without Redis)."""
    data = _load(
        wire.MassAccrualIn(),
        {"segment": segment_code, "name": name, "amount": amount, "run_at": run_at,
         "activation_delay_days": activation_delay_days, "lifetime_days": lifetime_days},
    )  # fmt: skip
    now = datetime.now(UTC)
    with _transaction(_runtime()) as session:
        owner = get_tenant(session, tenant_code)
        accrual = add_mass_accrual(
            session, owner, get_segment(session, owner, data["segment"]), name=data["name"],
            amount=data["amount"], run_at=data["run_at"] or now,
            activation_delay_days=data["activation_delay_days"],
            lifetime_days=data["lifetime_days"], author=CLI_ACTOR, now=now,
        )  # fmt: skip
        if accrual.run_at <= now:
            enqueue(session, run_mass_accrual, accrual.id, job_id=f"mass-accrual-{accrual.id}",
                    timeout_s=mass_accrual_timeout(accrual.segment.member_count))  # fmt: skip
        accrual_id, starts = accrual.id, accrual.run_at
    click.echo(
        f"Mass accrual #{accrual_id} to {segment_code} scheduled at {starts:%Y-%m-%d %H:%M} UTC."
    )


@mass_accrual_group.command("list")
@click.argument("tenant_code")
def mass_accrual_list(tenant_code: str) -> None:
    """Show a tenant's latest mass accruals with their status and progress."""
    with _transaction(_runtime()) as session:
        for accrual in tenant_mass_accruals(session, get_tenant(session, tenant_code)):
            click.echo(
                f"#{accrual.id}  {accrual.segment.code}  {accrual.amount}  "
                f"{accrual.run_at:%Y-%m-%d %H:%M} UTC  {STATUS_TITLES[accrual.status]}  "
                f"credited {accrual.credited}, skipped {accrual.skipped} of {accrual.members}  "
                f"{accrual.name}"
            )


@mass_accrual_group.command("cancel")
@click.argument("tenant_code")
@click.argument("accrual_id", type=int)
def mass_accrual_cancel(tenant_code: str, accrual_id: int) -> None:
    """Cancel a mass accrual that has not started."""
    with _transaction(_runtime()) as session:
        found = get_mass_accrual(session, get_tenant(session, tenant_code), accrual_id)
        cancel_mass_accrual(session, found, datetime.now(UTC))
    click.echo(f"Mass accrual #{accrual_id} cancelled.")
