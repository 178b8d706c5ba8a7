"""bench/pos_load: fiscal commit, soft calculate and identify under wrk, against the fixed
same-writes baseline (../shared/bench/baseline_app.py) measured in the same run.

Phases, all on the production gunicorn command line at the production default ``LOG_LEVEL``:
three rounds of baseline commit, plain commit (receipts.lua) and flow commit (receipts
soft-calculated first, then committed with their ``calculation_id``: flow_commit.lua); a skew
commit phase (receipts_skew.lua: 1% of the cards, with heavy accounts, get 20% of the receipts);
soft calculate; identify; pgbench. The database is checked after the commit phases.

Run from the repository root: ``.venv/bin/python bench/pos_load.py`` (needs wrk, pgbench,
PostgreSQL on 127.0.0.1 and the ``bench`` extra: ``pip install -e '.[bench]'``). Options:
``--cards N`` (default 1,000,000), ``--seconds S`` (default 30) for quick trial runs,
``--promotions`` to seed three promotions that match every receipt: each round then also
measures the fiscal commit with them switched on (the same server, database and receipts; the
workers restarted on each switch), and a second line gives its rate, its ratio to the baseline and
``promotions_ratio``, its median ratio to the commit without them in the same round.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import psycopg
from sqlalchemy.orm import Session

REPO = Path(__file__).resolve().parent.parent
SHARED_BENCH = REPO.parent / "shared" / "bench"
LUA = REPO / "bench" / "receipts.lua"
SKEW_LUA = REPO / "bench" / "receipts_skew.lua"
FLOW_LUA = REPO / "bench" / "flow_commit.lua"
ADMIN_DSN = os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
OUR_DB, BASE_DB, PGBENCH_DB = "pos_bench", "pos_baseline", "pos_pgbench"
POS_COUNT = 16
OPENING_KOPECKS = 100_000
WRK_THREADS, WRK_CONNECTIONS = 2, 16
WARM_UP_SECONDS = 5
ROUNDS = 3


def dsn(database: str) -> str:
    return ADMIN_DSN.rsplit("/", 1)[0] + "/" + database


def log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


def recreate(database: str) -> None:
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')


# --- seeding -------------------------------------------------------------------------------

WINDOW_DAYS = 365
LEVELS = {
    "basis": "sum",
    "window": {"kind": "rolling_days", "days": WINDOW_DAYS},
    "levels": [
        {"code": "base", "name": "Базовый", "threshold": "0", "discount_percent": "0"},
        {"code": "silver", "name": "Серебряный", "threshold": "30000", "discount_percent": "3"},
        {"code": "gold", "name": "Золотой", "threshold": "100000", "discount_percent": "5"},
    ],
}
ACCRUAL_PERCENT, LIFETIME_DAYS = Decimal(3), 365
BONUS = {"accrual_percent": str(ACCRUAL_PERCENT), "max_payment_percent": "50",
         "activation_delay_days": 0, "lifetime_days": LIFETIME_DAYS}  # fmt: skip
# Heavy accounts: the first 1% of the cards (numbers 0 .. hot - 1, accounts 1 .. hot) have
# HISTORY_DAYS past purchases, each a purchase_stats row and a live bonus lot with its accrual.
HOT_ONE_IN = 100
HISTORY_DAYS = 300
HISTORY_OPERATION = "bench-history"


def hot_cards(cards: int) -> int:
    return max(1, cards // HOT_ONE_IN)


@dataclass(frozen=True)
class Purchase:
    """One past purchase of a heavy customer: its level-window row and its accrual."""

    local_date: date
    amount: int  # kopecks
    accrual: int  # kopecks
    at: datetime


def purchase_history(timezone: str) -> list[Purchase]:
    """One purchase a day on each of the HISTORY_DAYS store-local days before today (all in
    the level window and their bonus alive), oldest first."""
    zone = ZoneInfo(timezone)
    today = datetime.now(zone).date()
    history = []
    for back in range(HISTORY_DAYS, 0, -1):
        day = today - timedelta(days=back)
        amount = 100_000 + back * 7919 % 50_000
        accrual = (amount * ACCRUAL_PERCENT / 100).quantize(Decimal(1), ROUND_HALF_UP)
        at = datetime.combine(day, day_time(12), tzinfo=zone).astimezone(UTC)
        history.append(Purchase(day, amount, int(accrual), at))
    return history


class LedgerRow(NamedTuple):
    """A posting, the lot it credited and the lot's birth movement: all three share ``id``."""

    id: int
    account_id: int
    kind: str
    amount: int  # kopecks
    balance_after: int
    created_at: datetime
    activates_at: datetime
    expires_at: datetime | None
    operation: str


def ledger_rows(
    cards: int, hot: int, history: list[Purchase], now: datetime, since: datetime
) -> Iterator[LedgerRow]:
    """An opening balance for an ordinary account; one accrual per past purchase for a heavy
    one. Balance = Σ postings = Σ lot remainders for every account."""
    lifetime = timedelta(days=LIFETIME_DAYS)
    row_id = 0
    for account in range(1, cards + 1):
        if account > hot:
            row_id += 1
            yield LedgerRow(row_id, account, "opening_balance", OPENING_KOPECKS, OPENING_KOPECKS,
                            now, since, None, "opening")  # fmt: skip
            continue
        balance = 0
        for purchase in history:
            row_id += 1
            balance += purchase.accrual
            yield LedgerRow(row_id, account, "accrual", purchase.accrual, balance, purchase.at,
                            purchase.at, purchase.at + lifetime, HISTORY_OPERATION)  # fmt: skip


Rows = Callable[[], Iterable[Sequence[object]]]


# ``--promotions``: three promotions matching every receipt of receipts.lua, in two groups.
PROMOTIONS: dict[str, dict[str, Any]] = {
    "g100-10": {"receipt": {"goods": {"goods": ["g-100"]}},
                "reward": {"kind": "percent", "value": "10"}},
    "g300-3for2": {"receipt": {"goods": {"goods": ["g-300"]}},
                   "reward": {"kind": "m_for_n", "n": 3, "m": 2}},
    "over1000": {"group": "coupons", "receipt": {"sum": {"min": "1000.00"}},
                 "reward": {"kind": "fixed", "value": "50.00"}},
}  # fmt: skip
PROMOTION_GROUPS = [
    {"code": "main", "mode": "max", "order": 10, "level_discount": True},
    {"code": "coupons", "mode": "multiply", "order": 20},
]


def seed(cards: int, promotions: bool = False) -> list[str]:
    """Tenant, store, POS and programs (with ``promotions``, the three of ``PROMOTIONS``)
    through the service; cards, balances and the heavy accounts' history through COPY."""
    from connector import migrate
    from processing.db import make_engine
    from processing.programs.service import add_program, add_version
    from processing.promotions.service import set_promotion_groups
    from processing.tenants.service import add_pos, add_store, add_tenant

    url = dsn(OUR_DB).replace("postgresql://", "postgresql+psycopg://")
    migrate.upgrade(url)
    engine = make_engine(url)
    tokens = [secrets.token_urlsafe(24) for _ in range(POS_COUNT)]
    since = datetime(2025, 1, 1, tzinfo=UTC)
    with Session(engine) as session, session.begin():
        tenant = add_tenant(session, "bench", "Бенчмарк")
        store = add_store(session, tenant, "s1", "Магазин")
        for i, token in enumerate(tokens, start=1):
            add_pos(session, store, f"pos-{i}", token=token)
        levels = add_program(session, tenant, "discount_level", "levels", "Уровни")
        add_version(session, levels, LEVELS, since)
        bonus = add_program(session, tenant, "bonus", "bonus", "Бонусы")
        add_version(session, bonus, BONUS, since)
        if promotions:
            set_promotion_groups(session, tenant, PROMOTION_GROUPS)
            for code, rules in PROMOTIONS.items():
                add_version(session, add_program(session, tenant, "promotion", code, code), rules,
                            since)  # fmt: skip
        tenant_id, timezone = tenant.id, store.timezone
    engine.dispose()
    now = datetime.now(UTC)
    hot = hot_cards(cards)
    history = purchase_history(timezone)
    hot_balance = sum(purchase.accrual for purchase in history)

    def ledger() -> Iterator[LedgerRow]:
        return ledger_rows(cards, hot, history, now, since)

    def stats() -> Iterator[tuple[object, ...]]:
        for account in range(1, hot + 1):
            for n, purchase in enumerate(history, start=(account - 1) * HISTORY_DAYS + 1):
                yield (n, account, purchase.local_date, purchase.amount, 1, HISTORY_OPERATION)

    accounts = range(1, cards + 1)
    copies: list[tuple[str, str, Rows]] = [
        ("customers", "(id, tenant_id, first_name, phone, extra, processing_consent, "
         "processing_consent_at, processing_consent_source, advertising_consent)",
         lambda: ((i, tenant_id, "Покупатель", f"+79{i:09d}", "{}", True, now, "import", False)
                  for i in accounts)),
        ("accounts", "(id, tenant_id, customer_id, balance)",
         lambda: ((i, tenant_id, i, hot_balance if i <= hot else OPENING_KOPECKS)
                  for i in accounts)),
        ("cards", "(id, tenant_id, number, status, customer_id, account_id, is_virtual, "
         "activated_at)",
         lambda: ((i, tenant_id, str(i - 1), "active", i, i, False, now) for i in accounts)),
        ("postings", "(id, tenant_id, account_id, kind, amount, balance_after, created_at, "
         "operation, author)",
         lambda: ((r.id, tenant_id, r.account_id, r.kind, r.amount, r.balance_after,
                   r.created_at, r.operation, "bench") for r in ledger())),
        ("bonus_lots", "(id, account_id, posting_id, amount, remaining, activates_at, "
         "expires_at)",
         lambda: ((r.id, r.account_id, r.id, r.amount, r.amount, r.activates_at, r.expires_at)
                  for r in ledger())),
        ("lot_movements", "(id, posting_id, lot_id, amount)",
         lambda: ((r.id, r.id, r.id, r.amount) for r in ledger())),
        ("purchase_stats", "(id, account_id, local_date, amount, purchases, operation)", stats),
    ]  # fmt: skip
    with psycopg.connect(dsn(OUR_DB)) as conn:
        # Foreign keys are not checked row by row (replica mode skips their triggers): the
        # rows refer to each other by construction, and check_seeding verifies the ledger.
        conn.execute("SET session_replication_role = replica")
        for table, columns, rows in copies:
            started = time.monotonic()
            written = 0
            with conn.cursor().copy(f"COPY {table} {columns} FROM STDIN") as copy:
                for row in rows():
                    copy.write_row(row)
                    written += 1
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {written})")
            log(f"seeded {written} {table} in {time.monotonic() - started:.1f}s")
        conn.commit()
    check_seeding(hot, history)
    return tokens


def seed_baseline() -> None:
    subprocess.run(
        [sys.executable, str(SHARED_BENCH / "baseline_app.py"), "--setup"],
        env={**os.environ, "PGDSN": dsn(BASE_DB)}, check=True, cwd=SHARED_BENCH,
    )  # fmt: skip


def vacuum_and_checkpoint(databases: tuple[str, ...] = (OUR_DB, BASE_DB)) -> None:
    for database in databases:
        with psycopg.connect(dsn(database), autocommit=True) as conn:
            conn.execute("VACUUM (ANALYZE)")
            conn.execute("CHECKPOINT")


# --- servers -------------------------------------------------------------------------------

GUNICORN_OPTIONS = ["--workers", "2", "--worker-class", "sync"]


def production_log_level() -> str:
    """The LOG_LEVEL the service runs at when the environment names none."""
    from config import load_settings

    return load_settings({}).log_level


def server_env(**values: str) -> dict[str, str]:
    """The bench's environment for a server, without anything that would change its logging
    or its gunicorn command line, at the production default log level."""
    inherited = {k: v for k, v in os.environ.items() if k not in ("LOG_LEVEL", "GUNICORN_CMD_ARGS")}
    return {**inherited, "LOG_LEVEL": production_log_level(), **values}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback only
                return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not come up")


@contextmanager
def process(
    command: list[str], env: dict[str, str], cwd: Path, health: str, log_file: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server, its output (the service's JSON log lines) appended to ``log_file``."""
    print(f"$ LOG_LEVEL={env['LOG_LEVEL']} " + " ".join(command), flush=True)
    with log_file.open("ab") as output:
        proc = subprocess.Popen(command, env=env, cwd=cwd, start_new_session=True,
                                stdout=output, stderr=output)  # fmt: skip
    try:
        wait_http(health)
        yield proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


@contextmanager
def baseline_server(port: int, log_file: Path) -> Iterator[str]:
    command = [
        str(Path(sys.executable).parent / "gunicorn"), *GUNICORN_OPTIONS,
        "--bind", f"127.0.0.1:{port}", "--chdir", str(SHARED_BENCH), "baseline_app:app",
    ]  # fmt: skip
    env = server_env(PGDSN=dsn(BASE_DB))
    # The baseline has no GET route: any HTTP answer (404) proves it is up.
    with process(command, env, SHARED_BENCH, f"http://127.0.0.1:{port}/", log_file):
        yield f"http://127.0.0.1:{port}"


@dataclass(frozen=True)
class OurServer:
    url: str
    proc: subprocess.Popen[bytes]

    def restart_workers(self) -> None:
        """Gunicorn's graceful reload (SIGHUP): new workers, whose caches start empty, so a
        change of the rules in the database applies at once."""
        self.proc.send_signal(signal.SIGHUP)
        time.sleep(3)  # the old workers finish their requests and the new ones boot
        wait_http(f"{self.url}/api/v1/health")


def set_promotions(active: bool) -> None:
    """Switch the bench tenant's promotions on or off (``--promotions``) in the database."""
    status = "active" if active else "paused"
    with psycopg.connect(dsn(OUR_DB), autocommit=True) as conn:
        conn.execute("UPDATE programs SET status = %s WHERE kind = 'promotion'", (status,))


@contextmanager
def our_server(port: int, log_file: Path) -> Iterator[OurServer]:
    from config import load_settings
    from connector.cli import gunicorn_command

    env = server_env(
        DATABASE_URL=dsn(OUR_DB).replace("postgresql://", "postgresql+psycopg://"),
        REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
        BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="2",
    )
    command = gunicorn_command(load_settings(env))
    with process(command, env, REPO, f"http://127.0.0.1:{port}/api/v1/health", log_file) as proc:
        yield OurServer(f"http://127.0.0.1:{port}", proc)


def check_server_log(log_file: Path, requests: int) -> None:
    """Our server logged at INFO: one access line per request at least (wrk's counted ones,
    plus those in flight when it stopped, the calculate passes and health checks)."""
    levels: Counter[str] = Counter()
    access = 0
    with log_file.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            if not isinstance(record, dict):
                levels["not JSON (gunicorn)"] += 1
                continue
            levels[str(record.get("level"))] += 1
            access += record.get("logger") == "connector.access"
    summary = ", ".join(f"{level} {n}" for level, n in levels.most_common())
    print(f"  our server's log: {summary}; {access} access lines for {requests} requests "
          f"counted", flush=True)  # fmt: skip
    if access < requests:
        raise SystemExit(f"FAIL: fewer access lines ({access}) than requests ({requests}): "
                         "the server did not log at INFO")  # fmt: skip


# --- load ----------------------------------------------------------------------------------


@dataclass
class WrkRun:
    label: str
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int
    output: str


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def _median_known(values: Iterable[float]) -> float:
    """The median of the values wrk reported (a run whose percentiles could not be read is
    left out)."""
    known = [value for value in values if not math.isnan(value)]
    return statistics.median(known) if known else math.nan


def wrk(label: str, url: str, seconds: int, lua: Path, env: dict[str, str]) -> WrkRun:
    command = ["wrk", f"-t{WRK_THREADS}", f"-c{WRK_CONNECTIONS}", f"-d{seconds}s", "--latency",
               "-s", str(lua), url]  # fmt: skip
    output = subprocess.run(
        command, env={**os.environ, **env}, capture_output=True, text=True, check=True,
        timeout=seconds + 60,
    ).stdout  # fmt: skip
    latency = {
        p: _ms(v, u)
        for p, v, u in re.findall(
            r"^\s*(50|99)(?:\.0+)?%\s+([\d.]+)\s*(us|ms|s|m)\s*$", output, re.M
        )
    }
    if "99" not in latency:
        print(f"  (no latency percentiles in wrk's output of {label}:\n{output})", flush=True)
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    run = WrkRun(
        label=label,
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        p50_ms=latency.get("50", math.nan),
        p99_ms=latency.get("99", math.nan),
        requests=requests,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
        output=output,
    )
    print(f"  {label}: {run.rps:.0f} req/s, p50 {run.p50_ms:.1f} ms, p99 {run.p99_ms:.1f} ms, "
          f"{run.requests} requests, non-2xx {run.non_2xx}, socket errors {run.socket_errors}",
          flush=True)  # fmt: skip
    if run.non_2xx or run.socket_errors:
        raise SystemExit(f"FAIL: {label} had non-2xx responses or socket errors")
    return run


@dataclass
class Tally:
    """Requests our server answered under wrk; commits among them, for the database checks."""

    requests: int = 0
    commits: int = 0
    commit_runs: int = 0

    def add(self, run: WrkRun, *, commit: bool) -> WrkRun:
        self.requests += run.requests
        if commit:
            self.commits += run.requests
            self.commit_runs += 1
        return run


# --- flow: soft calculation, then the commit naming it --------------------------------------

# The body of receipts.lua, built the same way (the flow must commit receipts of that shape).
RECEIPT_LINES = (
    '{"goods":"g-100","qty":1.000,"price":199.90,"sum":199.90},'
    '{"goods":"g-200","qty":0.347,"price":459.00,"sum":159.27},'
    '{"goods":"g-300","qty":3.000,"price":45.50,"sum":136.50},'
    '{"goods":"g-400","qty":2.000,"price":89.99,"sum":179.98,"no_discount":true},'
    '{"goods":"g-500","qty":1.000,"price":1250.00,"sum":1250.00}'
)
# Flow bodies per commit wrk is expected to manage at the plain commit's rate: the flow runs out
# of prepared receipts (and the run is refused) only if it is twice as fast as the plain commit.
FLOW_MARGIN = 2.0
TOTALS = ("sum", "discount", "bonus_payment", "final_sum", "accrual")
RECEIPT_TOTALS = "amount, discount, bonus_payment, final_amount, accrual"  # the same, stored


def receipt_body(pos: int, number: str, card: int, pays_bonus: bool) -> str:
    bonus = ',"pay_bonus":10.00' if pays_bonus else ""
    return (f'{{"pos":"pos-{pos}","cashier":"c-1","number":"{number}","card_number":"{card}"'
            f'{bonus},"lines":[{RECEIPT_LINES}]}}')  # fmt: skip


def kopecks(value: Decimal) -> int:
    return int((value * 100).to_integral_exact())


@dataclass(frozen=True)
class SoftAnswer:
    calculation_id: str
    totals: tuple[int, ...]  # kopecks, in the order of TOTALS
    level: str | None
    line_sums: tuple[int, ...]  # each line's final sum, kopecks


@dataclass(frozen=True)
class FlowReceipt:
    pos: int  # 1-based index into the POS tokens
    number: str
    body: str  # as soft-calculated; committed with the calculation_id added
    soft: SoftAnswer

    def commit_body(self) -> str:
        return self.body[:-1] + f',"calculation_id":"{self.soft.calculation_id}"}}'


def soft_calculate(url: str, token: str, body: str) -> SoftAnswer:
    """One soft calculation over a connection of its own (gunicorn's sync workers close every
    connection after its answer anyway)."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    try:
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        conn.request("POST", "/api/v1/receipts/calculate", body.encode(), headers)
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    if response.status != 200:
        raise SystemExit(f"FAIL: calculate answered {response.status}: {data[:500]!r}")
    answer = json.loads(data, parse_float=Decimal)
    return SoftAnswer(
        calculation_id=answer["calculation_id"],
        totals=tuple(kopecks(answer["totals"][name]) for name in TOTALS),
        level=(answer["level"] or {}).get("code"),
        line_sums=tuple(kopecks(line["final_sum"]) for line in answer["lines"]),
    )


def calculate_pass(
    url: str, tokens: list[str], cards: int, batches: dict[str, int]
) -> dict[str, list[FlowReceipt]]:
    """Soft-calculate ``batches[label]`` distinct receipts per label (numbers
    ``<label>-<i>``), WRK_CONNECTIONS at a time, as receipts.lua makes them: cards uniform,
    POS in turn, every second receipt paying 10.00 with bonus."""
    planned = [
        (label, i % POS_COUNT + 1, f"{label}-{i}", secrets.randbelow(cards), i % 2 == 0)
        for label, count in batches.items()
        for i in range(1, count + 1)
    ]
    bodies = [receipt_body(pos, number, card, pays) for _, pos, number, card, pays in planned]
    started = time.monotonic()
    with ThreadPoolExecutor(WRK_CONNECTIONS) as pool:
        answers = list(pool.map(lambda plan, body: soft_calculate(url, tokens[plan[1] - 1], body),
                                planned, bodies))  # fmt: skip
    elapsed = time.monotonic() - started
    log(f"calculate pass (not timed by wrk): {len(planned)} receipts in {elapsed:.1f}s")
    prepared: dict[str, list[FlowReceipt]] = {label: [] for label in batches}
    for (label, pos, number, _, _), body, soft in zip(planned, bodies, answers, strict=True):
        prepared[label].append(FlowReceipt(pos, number, body, soft))
    return prepared


def write_flow_bodies(receipts: list[FlowReceipt], prefix: Path) -> None:
    """``<prefix>.<thread>``: the commit bodies each wrk thread sends, in turn."""
    for thread in range(1, WRK_THREADS + 1):
        with Path(f"{prefix}.{thread}").open("w", encoding="utf-8") as out:
            for receipt in receipts[thread - 1 :: WRK_THREADS]:
                out.write(f"{receipt.pos}\t{receipt.commit_body()}\n")


def flow_bodies_needed(plain_rps: float, seconds: int) -> int:
    return max(math.ceil(plain_rps * seconds * FLOW_MARGIN), 4 * WRK_CONNECTIONS)


def check_flow(label: str, receipts: list[FlowReceipt], run: WrkRun) -> None:
    """The flow's commits are in the database, each with the totals (and level) of its soft
    answer, and the line sums of a sample of them."""
    expected = {receipt.number: receipt.soft for receipt in receipts}
    failures = []
    with psycopg.connect(dsn(OUR_DB)) as conn:
        rows = conn.execute(
            f"SELECT id, number, level_code, {RECEIPT_TOTALS} FROM receipts "
            "WHERE kind = 'sale' AND number LIKE %s",
            (f"{label}-%",),
        ).fetchall()
        if not run.requests <= len(rows) <= min(run.requests + WRK_CONNECTIONS, len(receipts)):
            failures.append(f"{len(rows)} receipts committed for {run.requests} counted commits "
                            f"of {len(receipts)} prepared")  # fmt: skip
        differing = [
            number for _, number, level, *totals in rows
            if number not in expected
            or tuple(totals) != expected[number].totals or level != expected[number].level
        ]  # fmt: skip
        if differing:
            failures.append(f"{len(differing)} receipts whose totals or level differ from "
                            f"their soft answers, e.g. {differing[:3]}")  # fmt: skip
        sample = {
            receipt_id: number for receipt_id, number, *_ in rows[:: max(1, len(rows) // 200)]
        }
        lines: dict[int, list[int]] = {receipt_id: [] for receipt_id in sample}
        for receipt_id, final_amount in conn.execute(
            "SELECT receipt_id, final_amount FROM receipt_lines WHERE receipt_id = ANY(%s) "
            "ORDER BY receipt_id, line_no",
            (list(sample),),
        ):
            lines[receipt_id].append(final_amount)
    bad_lines = [
        sample[i] for i, sums in lines.items() if tuple(sums) != expected[sample[i]].line_sums
    ]
    if bad_lines:
        failures.append(f"{len(bad_lines)} sampled receipts whose line sums differ from their "
                        f"soft answers, e.g. {bad_lines[:3]}")  # fmt: skip
    if failures:
        raise SystemExit(f"FAIL: {label}: " + "; ".join(failures))
    print(f"  {label}: {len(rows)} receipts committed with their calculation_id "
          f"({run.requests} counted); totals and level equal the soft answers for all of them, "
          f"line sums for {len(sample)} sampled", flush=True)  # fmt: skip


def flow_phase(
    our_url: str, tokens: list[str], cards: int, round_no: int, plain_rps: float, seconds: int,
    workdir: Path, tally: Tally,
) -> WrkRun:  # fmt: skip
    """Soft-calculate the warm-up's and the measured run's receipts, then commit exactly those
    bodies with their calculation_id under wrk; check them in the database."""
    runs = {f"flowup-{round_no}": ("flow warm-up", WARM_UP_SECONDS),
            f"flow-{round_no}": ("flow commit", seconds)}  # fmt: skip
    prepared = calculate_pass(
        our_url, tokens, cards,
        {label: flow_bodies_needed(plain_rps, duration) for label, (_, duration) in runs.items()},
    )  # fmt: skip
    commit_url = f"{our_url}/api/v1/receipts/commit"

    def commit_prepared(label: str, title: str, duration: int) -> WrkRun:
        write_flow_bodies(prepared[label], workdir / label)
        env = {"POS_TOKENS": ",".join(tokens), "FLOW_BODIES": str(workdir / label)}
        run = tally.add(wrk(title, commit_url, duration, FLOW_LUA, env), commit=True)
        if "ran out of prepared receipts" in run.output:
            raise SystemExit(f"FAIL: {title} ran out of prepared receipts (it sent replays): "
                             f"raise FLOW_MARGIN\n{run.output}")  # fmt: skip
        check_flow(label, prepared[label], run)
        return run

    return [commit_prepared(label, *run) for label, run in runs.items()][-1]


# --- checks --------------------------------------------------------------------------------

# Ledger invariants over the accounts of {accounts} (a query of their ids).
LEDGER_CHECKS = {
    "accounts out of balance (balance, sum of postings, sum of lot remainders)": """
        WITH checked AS ({accounts}),
             posted AS (SELECT p.account_id AS id, sum(p.amount) AS total FROM postings p
                        JOIN checked c ON c.id = p.account_id GROUP BY p.account_id),
             lots AS (SELECT l.account_id AS id, sum(l.remaining) AS total FROM bonus_lots l
                      JOIN checked c ON c.id = l.account_id GROUP BY l.account_id)
        SELECT count(*) FROM checked c JOIN accounts a ON a.id = c.id
        LEFT JOIN posted ON posted.id = c.id LEFT JOIN lots ON lots.id = c.id
        WHERE a.balance < 0 OR a.balance <> coalesce(posted.total, 0)
           OR a.balance <> coalesce(lots.total, 0)""",
    # A lot's birth movement gives it its amount (no account is in debt here); the movements
    # that took from it add up to amount - remaining.
    "lots whose takes do not add up to amount - remaining, or without their own posting and "
    "birth movement": """
        WITH checked AS ({accounts}),
             per_lot AS (
               SELECT l.id, l.account_id, l.amount, l.remaining,
                      p.account_id AS posting_account, p.amount AS posted,
                      coalesce(sum(-m.amount) FILTER (WHERE m.amount < 0), 0) AS taken,
                      count(m.id) FILTER (WHERE m.posting_id = l.posting_id
                                            AND m.amount = l.amount) AS births
               FROM bonus_lots l JOIN checked c ON c.id = l.account_id
               LEFT JOIN postings p ON p.id = l.posting_id
               LEFT JOIN lot_movements m ON m.lot_id = l.id
               GROUP BY l.id, p.account_id, p.amount)
        SELECT count(*) FROM per_lot
        WHERE taken <> amount - remaining OR births <> 1
           OR posting_account IS DISTINCT FROM account_id OR posted IS DISTINCT FROM amount""",
}
HEAVY_CHECKS = {
    "heavy accounts without {history} live lots": """
        WITH checked AS ({accounts})
        SELECT count(*) FROM checked c
        LEFT JOIN (SELECT account_id, count(*) AS n FROM bonus_lots
                   WHERE remaining > 0 AND activates_at <= now()
                     AND (expires_at IS NULL OR expires_at > now())
                   GROUP BY account_id) live ON live.account_id = c.id
        WHERE coalesce(live.n, 0) <> {history}""",
    "heavy accounts without {history} purchase_stats rows on distinct days of the level window": """
        WITH checked AS ({accounts})
        SELECT count(*) FROM checked c
        LEFT JOIN (SELECT account_id, count(*) AS n, count(DISTINCT local_date) AS days,
                          min(local_date) AS first, max(local_date) AS last
                   FROM purchase_stats GROUP BY account_id) s ON s.account_id = c.id
        WHERE coalesce(s.n, 0) <> {history} OR s.days <> {history}
           OR s.first < DATE '{window_start}' OR s.last > DATE '{today}'""",
}
RECEIPT_CHECKS = {
    "duplicate identities": """
        SELECT count(*) FROM (SELECT identity_key FROM receipts GROUP BY tenant_id, identity_key
                              HAVING count(*) > 1) d""",
    "receipts without exactly one accrual, or with a write-off iff it paid with bonus": """
        WITH per AS (
          SELECT operation,
                 count(*) FILTER (WHERE kind = 'accrual') AS accruals,
                 count(*) FILTER (WHERE kind = 'write_off') AS write_offs
          FROM postings WHERE operation LIKE 'receipt:%' GROUP BY operation)
        SELECT count(*) FROM receipts r
        LEFT JOIN per ON per.operation = 'receipt:' || r.transaction_id
        WHERE r.kind = 'sale' AND (
          coalesce(per.accruals, 0) <> 1
          OR coalesce(per.write_offs, 0) <> (split_part(r.number, '-', 3)::int % 2 = 0)::int)""",
    "sale receipts without exactly 5 lines": """
        SELECT count(*) FROM receipts r
        LEFT JOIN (SELECT receipt_id, count(*) AS n FROM receipt_lines GROUP BY receipt_id) l
          ON l.receipt_id = r.id
        WHERE r.kind = 'sale' AND coalesce(l.n, 0) <> 5""",
    "sale receipts without exactly one purchase_stats row (operation receipt:<transaction_id>) "
    "of their account, date and final sum": """
        WITH per AS (
          SELECT operation, count(*) AS n, min(account_id) AS account_id,
                 min(local_date) AS local_date, min(amount) AS amount
          FROM purchase_stats WHERE operation LIKE 'receipt:%' GROUP BY operation)
        SELECT count(*) FROM receipts r
        LEFT JOIN per ON per.operation = 'receipt:' || r.transaction_id
        WHERE r.kind = 'sale' AND (coalesce(per.n, 0) <> 1 OR per.account_id <> r.account_id
          OR per.local_date <> r.local_date OR per.amount <> r.final_amount)""",
}
SAMPLE_ALL_UP_TO = 100_000  # cards: up to this many, the seed checks read every account
TOUCHED = "SELECT DISTINCT account_id AS id FROM receipts WHERE account_id IS NOT NULL"


def failed_checks(
    conn: psycopg.Connection[Any], checks: dict[str, str], **values: object
) -> list[str]:
    failures = []
    for name, sql in checks.items():
        bad = conn.execute(sql.format(**values)).fetchone()[0]  # type: ignore[index]
        if bad:
            failures.append(f"{name.format(**values)}: {bad}")
    return failures


def check_seeding(hot: int, history: list[Purchase]) -> None:
    """Every seeded account keeps the ledger invariants; the heavy ones have their live lots and
    fill the level window."""
    today = history[-1].local_date + timedelta(days=1)
    window = {"history": HISTORY_DAYS, "window_start": today - timedelta(days=WINDOW_DAYS - 1),
              "today": today}  # fmt: skip
    started = time.monotonic()
    with psycopg.connect(dsn(OUR_DB), autocommit=True) as conn:
        conn.execute("ANALYZE")  # freshly copied tables: plan the checks with statistics
        # Every account of a quick trial; of a full run the heavy ones and a 1% sample.
        accounts = (
            "SELECT id FROM accounts" if hot * 100 <= SAMPLE_ALL_UP_TO
            else f"SELECT id FROM accounts WHERE id <= {hot} OR id % 100 = 0"
        )  # fmt: skip
        failures = failed_checks(conn, LEDGER_CHECKS, accounts=accounts)
        heavy = f"SELECT generate_series(1, {hot}) AS id"
        failures += failed_checks(conn, HEAVY_CHECKS, accounts=heavy, **window)
    if failures:
        raise SystemExit("FAIL: seeding: " + "; ".join(failures))
    log(f"seed checks passed in {time.monotonic() - started:.1f}s: ledger invariants of "
        f"{'every account' if hot * 100 <= SAMPLE_ALL_UP_TO else 'the heavy accounts and 1%'}; "
        f"{hot} heavy accounts with {HISTORY_DAYS} live lots and {HISTORY_DAYS} "
        "level-window days each")  # fmt: skip


def check_database(tally: Tally) -> int:
    counted, allowed = tally.commits, tally.commits + WRK_CONNECTIONS * tally.commit_runs
    with psycopg.connect(dsn(OUR_DB)) as conn:
        sales = "SELECT count(*) FROM receipts WHERE kind = 'sale'"
        receipts = conn.execute(sales).fetchone()[0]  # type: ignore[index]
        failures = []
        if not counted <= receipts <= allowed:
            failures.append(f"receipts written {receipts}, 2xx counted {counted}, "
                            f"allowed up to {allowed}")  # fmt: skip
        failures += failed_checks(conn, RECEIPT_CHECKS)
        failures += failed_checks(conn, LEDGER_CHECKS, accounts=TOUCHED)
        touched = conn.execute(f"SELECT count(*) FROM ({TOUCHED}) t").fetchone()[0]  # type: ignore[index]
    if failures:
        raise SystemExit("FAIL: " + "; ".join(failures))
    print(f"  database checks passed: {receipts} receipts for {counted} counted commits, "
          f"{touched} touched accounts", flush=True)  # fmt: skip
    return int(receipts)


def check_skew(hot: int) -> None:
    """The skew phase's receipts went to the hot cards about 20% of the time."""
    with psycopg.connect(dsn(OUR_DB)) as conn:
        total, on_hot = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE account_id <= %s) FROM receipts "
            "WHERE kind = 'sale' AND number LIKE 'skew%%'",
            (hot,),
        ).fetchone()  # type: ignore[misc]
    share = on_hot / total if total else math.nan
    print(f"  skew: {on_hot} of {total} receipts ({share:.1%}) on the {hot} hot cards",
          flush=True)  # fmt: skip
    if total >= 1000 and not 0.15 <= share <= 0.25:
        raise SystemExit(f"FAIL: the skew phase put {share:.1%} of its receipts on hot cards")


def pgbench() -> float:
    recreate(PGBENCH_DB)
    subprocess.run(["pgbench", "-q", "-i", "-s", "10", dsn(PGBENCH_DB)], check=True,
                   capture_output=True)  # fmt: skip
    output = subprocess.run(
        ["pgbench", "-c", "16", "-j", "2", "-T", "20", "-M", "prepared", dsn(PGBENCH_DB)],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return float(re.search(r"tps = ([\d.]+)", output).group(1))  # type: ignore[union-attr]


# --- the run -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    commits: list[WrkRun]
    baselines: list[WrkRun]
    flows: list[WrkRun]
    skew: WrkRun
    soft: WrkRun
    ident: WrkRun
    promoted: list[WrkRun]  # --promotions: the commit phase with the promotions switched on


def measure(cards: int, seconds: int, workdir: Path, promotions: bool = False) -> Figures:
    log("creating databases")
    for database in (OUR_DB, BASE_DB):
        recreate(database)
    tokens = seed(cards, promotions)
    if promotions:
        set_promotions(False)  # every phase runs without them but the promoted commit
    seed_baseline()
    log("VACUUM (ANALYZE) and CHECKPOINT")
    vacuum_and_checkpoint()

    hot = hot_cards(cards)
    ours_env = {"CARDS": str(cards), "POS_TOKENS": ",".join(tokens)}
    base_env = {"CARDS": str(cards)}
    base_lua = SHARED_BENCH / "receipts.lua"
    commits: list[WrkRun] = []
    baselines: list[WrkRun] = []
    flows: list[WrkRun] = []
    promoted: list[WrkRun] = []
    tally = Tally()
    our_log = workdir / "our_server.log"
    with (
        baseline_server(free_port(), workdir / "baseline_server.log") as base_url,
        our_server(free_port(), our_log) as server,
    ):
        our_url = server.url
        commit_url = f"{our_url}/api/v1/receipts/commit"
        for round_no in range(1, ROUNDS + 1):
            log(f"round {round_no}: baseline")
            wrk("baseline warm-up", f"{base_url}/commit", WARM_UP_SECONDS, base_lua, base_env)
            baselines.append(wrk("baseline", f"{base_url}/commit", seconds, base_lua, base_env))
            log(f"round {round_no}: fiscal commit")
            tally.add(wrk("commit warm-up", commit_url, WARM_UP_SECONDS, LUA, ours_env),
                      commit=True)  # fmt: skip
            commits.append(tally.add(wrk("commit", commit_url, seconds, LUA, ours_env),
                                     commit=True))  # fmt: skip
            if promotions:
                log(f"round {round_no}: fiscal commit with the three promotions")
                set_promotions(True)
                server.restart_workers()
                tally.add(wrk("promoted warm-up", commit_url, WARM_UP_SECONDS, LUA, ours_env),
                          commit=True)  # fmt: skip
                promoted.append(tally.add(wrk("promoted commit", commit_url, seconds, LUA,
                                              ours_env), commit=True))  # fmt: skip
                set_promotions(False)
                server.restart_workers()
            log(f"round {round_no}: flow commit (soft calculation first)")
            flows.append(flow_phase(our_url, tokens, cards, round_no, commits[-1].rps, seconds,
                                    workdir, tally))  # fmt: skip
        log(f"skew commit: {hot} cards with heavy accounts get 20% of the receipts")
        skew_env = {**ours_env, "HOT_CARDS": str(hot)}
        tally.add(wrk("skew warm-up", commit_url, WARM_UP_SECONDS, SKEW_LUA, skew_env),
                  commit=True)  # fmt: skip
        skew = tally.add(wrk("skew", commit_url, seconds, SKEW_LUA, skew_env), commit=True)
        check_skew(hot)
        check_database(tally)
        log("soft calculate")
        soft_url = f"{our_url}/api/v1/receipts/calculate"
        tally.add(wrk("calculate warm-up", soft_url, WARM_UP_SECONDS, LUA, ours_env), commit=False)
        soft = tally.add(wrk("calculate", soft_url, seconds, LUA, ours_env), commit=False)
        log("identify")
        identify_url = f"{our_url}/api/v1/identify"
        tally.add(wrk("identify warm-up", identify_url, WARM_UP_SECONDS, LUA, ours_env),
                  commit=False)  # fmt: skip
        ident = tally.add(wrk("identify", identify_url, seconds, LUA, ours_env), commit=False)
    check_server_log(our_log, tally.requests)
    return Figures(commits, baselines, flows, skew, soft, ident, promoted)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cards", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument(
        "--promotions", action="store_true",
        help="three promotions matching every receipt (docs/promotions.md)",
    )  # fmt: skip
    args = parser.parse_args()
    for tool in ("wrk", "pgbench"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing: apt-get update && apt-get install -y {tool}")
    if args.cards < 2 * HOT_ONE_IN:
        raise SystemExit(f"--cards must be at least {2 * HOT_ONE_IN}")

    workdir = Path(tempfile.mkdtemp(prefix="pos_load-"))
    try:
        figures = measure(args.cards, args.seconds, workdir, args.promotions)
        log("pgbench")
        tps = pgbench()
    except BaseException:
        print(f"server logs and flow bodies kept in {workdir}", flush=True)
        raise
    shutil.rmtree(workdir)
    report(figures, tps)


def report(figures: Figures, tps: float) -> None:
    commits, baselines, flows = figures.commits, figures.baselines, figures.flows
    ratios = [c.rps / b.rps for c, b in zip(commits, baselines, strict=True)]
    flow_ratios = [f.rps / c.rps for f, c in zip(flows, commits, strict=True)]
    commit_rps = statistics.median(c.rps for c in commits)
    baseline_rps = statistics.median(b.rps for b in baselines)
    p99 = _median_known(c.p99_ms for c in commits)
    base_p99 = _median_known(b.p99_ms for b in baselines)
    print(
        f"ratios per round: {', '.join(f'{r:.2f}' for r in ratios)}; "
        f"flow/commit per round: {', '.join(f'{r:.2f}' for r in flow_ratios)}; "
        f"soft/baseline {figures.soft.rps / baseline_rps:.2f}; "
        f"p99 commit/baseline {p99 / base_p99:.2f}"
    )
    print(f"identify median_ms={figures.ident.p50_ms:.1f} p99_ms={figures.ident.p99_ms:.1f}")
    print(
        f"pos_load commit_rps={commit_rps:.0f} soft_rps={figures.soft.rps:.0f} "
        f"baseline_rps={baseline_rps:.0f} ratio={statistics.median(ratios):.2f} "
        f"flow_rps={statistics.median(f.rps for f in flows):.0f} "
        f"flow_ratio={statistics.median(flow_ratios):.2f} "
        f"skew_rps={figures.skew.rps:.0f} skew_ratio={figures.skew.rps / commit_rps:.2f} "
        f"identify_rps={figures.ident.rps:.0f} "
        f"p99_ms={math.ceil(p99)} baseline_p99_ms={math.ceil(base_p99)} pgbench_tps={tps:.0f}"
    )
    if figures.promoted:
        # The same rounds, the same server and database: promotions on against off, per round.
        promoted = figures.promoted
        versus = [p.rps / c.rps for p, c in zip(promoted, commits, strict=True)]
        promoted_ratios = [p.rps / b.rps for p, b in zip(promoted, baselines, strict=True)]
        print(f"with promotions / without, per round: {', '.join(f'{r:.2f}' for r in versus)}")
        print(
            f"pos_load promotions=3 commit_rps={statistics.median(p.rps for p in promoted):.0f} "
            f"baseline_rps={baseline_rps:.0f} ratio={statistics.median(promoted_ratios):.2f} "
            f"promotions_ratio={statistics.median(versus):.2f} "
            f"p99_ms={math.ceil(_median_known(p.p99_ms for p in promoted))}"
        )


if __name__ == "__main__":
    main()
