"""bench/pos_load: fiscal commit, soft calculate and identify under wrk, against the fixed
same-writes baseline (../shared/bench/baseline_app.py) measured in the same run.

Run from the repository root: ``.venv/bin/python bench/pos_load.py`` (needs wrk, pgbench,
PostgreSQL on 127.0.0.1 and the ``bench`` extra: ``pip install -e '.[bench]'``). Options:
``--cards N`` (default 1,000,000), ``--seconds S`` (default 30) for quick trial runs.
"""

from __future__ import annotations

import argparse
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
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from sqlalchemy.orm import Session

REPO = Path(__file__).resolve().parent.parent
SHARED_BENCH = REPO.parent / "shared" / "bench"
LUA = REPO / "bench" / "receipts.lua"
ADMIN_DSN = os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
OUR_DB, BASE_DB, PGBENCH_DB = "pos_bench", "pos_baseline", "pos_pgbench"
POS_COUNT = 16
OPENING_KOPECKS = 100_000


def dsn(database: str) -> str:
    return ADMIN_DSN.rsplit("/", 1)[0] + "/" + database


def log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


def recreate(database: str) -> None:
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')


# --- seeding -------------------------------------------------------------------------------

LEVELS = {
    "basis": "sum",
    "window": {"kind": "rolling_days", "days": 365},
    "levels": [
        {"code": "base", "name": "Базовый", "threshold": "0", "discount_percent": "0"},
        {"code": "silver", "name": "Серебряный", "threshold": "30000", "discount_percent": "3"},
        {"code": "gold", "name": "Золотой", "threshold": "100000", "discount_percent": "5"},
    ],
}
BONUS = {"accrual_percent": "3", "max_payment_percent": "50", "activation_delay_days": 0,
         "lifetime_days": 365}  # fmt: skip


def seed(cards: int) -> list[str]:
    """Tenant, store, POS and programs through the service; cards and balances through COPY."""
    from connector import migrate
    from processing.db import make_engine
    from processing.programs.service import add_program, add_version
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
        tenant_id = tenant.id
    engine.dispose()
    now = datetime.now(UTC)
    copies = [
        ("customers", "(id, tenant_id, first_name, phone, extra, processing_consent, "
         "processing_consent_at, processing_consent_source, advertising_consent)",
         lambda i: (i, tenant_id, "Покупатель", f"+79{i:09d}", "{}", True, now, "import", False)),
        ("accounts", "(id, tenant_id, customer_id, balance)",
         lambda i: (i, tenant_id, i, OPENING_KOPECKS)),
        ("cards", "(id, tenant_id, number, status, customer_id, account_id, is_virtual, "
         "activated_at)",
         lambda i: (i, tenant_id, str(i - 1), "active", i, i, False, now)),
        ("postings", "(id, tenant_id, account_id, kind, amount, balance_after, created_at, "
         "operation, author)",
         lambda i: (i, tenant_id, i, "opening_balance", OPENING_KOPECKS, OPENING_KOPECKS, now,
                    "opening", "bench")),
        ("bonus_lots", "(id, account_id, posting_id, amount, remaining, activates_at)",
         lambda i: (i, i, i, OPENING_KOPECKS, OPENING_KOPECKS, since)),
        ("lot_movements", "(id, posting_id, lot_id, amount)",
         lambda i: (i, i, i, OPENING_KOPECKS)),
    ]  # fmt: skip
    with psycopg.connect(dsn(OUR_DB)) as conn:
        for table, columns, row in copies:
            started = time.monotonic()
            with conn.cursor().copy(f"COPY {table} {columns} FROM STDIN") as copy:
                for i in range(1, cards + 1):
                    copy.write_row(row(i))
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {cards})")
            log(f"seeded {cards} {table} in {time.monotonic() - started:.1f}s")
        conn.commit()
    return tokens


def seed_baseline() -> None:
    subprocess.run(
        [sys.executable, str(SHARED_BENCH / "baseline_app.py"), "--setup"],
        env={**os.environ, "PGDSN": dsn(BASE_DB)}, check=True, cwd=SHARED_BENCH,
    )  # fmt: skip


def vacuum_and_checkpoint() -> None:
    for database in (OUR_DB, BASE_DB):
        with psycopg.connect(dsn(database), autocommit=True) as conn:
            conn.execute("VACUUM (ANALYZE)")
            conn.execute("CHECKPOINT")


# --- servers -------------------------------------------------------------------------------

GUNICORN_OPTIONS = ["--workers", "2", "--worker-class", "sync"]


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
def process(command: list[str], env: dict[str, str], cwd: Path, health: str) -> Iterator[None]:
    print("$ " + " ".join(command), flush=True)
    proc = subprocess.Popen(command, env=env, cwd=cwd, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_http(health)
        yield
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


@contextmanager
def baseline_server(port: int) -> Iterator[str]:
    command = [
        str(Path(sys.executable).parent / "gunicorn"), *GUNICORN_OPTIONS,
        "--bind", f"127.0.0.1:{port}", "--chdir", str(SHARED_BENCH), "baseline_app:app",
    ]  # fmt: skip
    env = {**os.environ, "PGDSN": dsn(BASE_DB)}
    # The baseline has no GET route: any HTTP answer (404) proves it is up.
    with process(command, env, SHARED_BENCH, f"http://127.0.0.1:{port}/"):
        yield f"http://127.0.0.1:{port}"


@contextmanager
def our_server(port: int) -> Iterator[str]:
    from config import load_settings
    from connector.cli import gunicorn_command

    env = {
        **os.environ,
        "DATABASE_URL": dsn(OUR_DB).replace("postgresql://", "postgresql+psycopg://"),
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "LOG_LEVEL": "WARNING",
    }
    command = gunicorn_command(load_settings(env))
    with process(command, env, REPO, f"http://127.0.0.1:{port}/api/v1/health"):
        yield f"http://127.0.0.1:{port}"


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


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def _median_known(values: Iterable[float]) -> float:
    """The median of the values wrk reported (a run whose percentiles could not be read is
    left out)."""
    known = [value for value in values if not math.isnan(value)]
    return statistics.median(known) if known else math.nan


def wrk(label: str, url: str, seconds: int, lua: Path, env: dict[str, str]) -> WrkRun:
    command = ["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency", "-s", str(lua), url]
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
    )
    print(f"  {label}: {run.rps:.0f} req/s, p50 {run.p50_ms:.1f} ms, p99 {run.p99_ms:.1f} ms, "
          f"{run.requests} requests, non-2xx {run.non_2xx}, socket errors {run.socket_errors}",
          flush=True)  # fmt: skip
    if run.non_2xx or run.socket_errors:
        raise SystemExit(f"FAIL: {label} had non-2xx responses or socket errors")
    return run


# --- checks --------------------------------------------------------------------------------

CHECKS = {
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
    "touched accounts out of balance": """
        WITH touched AS (SELECT DISTINCT account_id AS id FROM receipts
                         WHERE account_id IS NOT NULL),
             posted AS (SELECT p.account_id AS id, sum(p.amount) AS total FROM postings p
                        JOIN touched t ON t.id = p.account_id GROUP BY p.account_id),
             lots AS (SELECT l.account_id AS id, sum(l.remaining) AS total FROM bonus_lots l
                      JOIN touched t ON t.id = l.account_id GROUP BY l.account_id)
        SELECT count(*) FROM touched t JOIN accounts a ON a.id = t.id
        JOIN posted ON posted.id = t.id JOIN lots ON lots.id = t.id
        WHERE a.balance < 0 OR a.balance <> posted.total OR a.balance <> lots.total""",
}


def check_database(counted: int, invocations: int) -> int:
    with psycopg.connect(dsn(OUR_DB)) as conn:
        sales = "SELECT count(*) FROM receipts WHERE kind = 'sale'"
        receipts = conn.execute(sales).fetchone()[0]  # type: ignore[index]
        failures = []
        if not counted <= receipts <= counted + 16 * invocations:
            failures.append(f"receipts written {receipts}, 2xx counted {counted}, "
                            f"allowed up to {counted + 16 * invocations}")  # fmt: skip
        for name, sql in CHECKS.items():
            bad = conn.execute(sql).fetchone()[0]  # type: ignore[index]
            if bad:
                failures.append(f"{name}: {bad}")
    if failures:
        raise SystemExit("FAIL: " + "; ".join(failures))
    print(f"  database checks passed: {receipts} receipts for {counted} counted commits",
          flush=True)  # fmt: skip
    return int(receipts)


def pgbench() -> float:
    recreate(PGBENCH_DB)
    subprocess.run(["pgbench", "-q", "-i", "-s", "10", dsn(PGBENCH_DB)], check=True,
                   capture_output=True)  # fmt: skip
    output = subprocess.run(
        ["pgbench", "-c", "16", "-j", "2", "-T", "20", "-M", "prepared", dsn(PGBENCH_DB)],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return float(re.search(r"tps = ([\d.]+)", output).group(1))  # type: ignore[union-attr]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cards", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=30)
    args = parser.parse_args()
    for tool in ("wrk", "pgbench"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing: apt-get update && apt-get install -y {tool}")

    log("creating databases")
    for database in (OUR_DB, BASE_DB):
        recreate(database)
    tokens = seed(args.cards)
    seed_baseline()
    log("VACUUM (ANALYZE) and CHECKPOINT")
    vacuum_and_checkpoint()

    ours_env = {"CARDS": str(args.cards), "POS_TOKENS": ",".join(tokens)}
    base_env = {"CARDS": str(args.cards)}
    base_lua = SHARED_BENCH / "receipts.lua"
    commits: list[WrkRun] = []
    baselines: list[WrkRun] = []
    counted = invocations = 0
    with baseline_server(free_port()) as base_url, our_server(free_port()) as our_url:
        commit_url = f"{our_url}/api/v1/receipts/commit"
        for round_no in range(1, 4):
            log(f"round {round_no}: baseline")
            wrk("baseline warm-up", f"{base_url}/commit", 5, base_lua, base_env)
            baselines.append(wrk("baseline", f"{base_url}/commit", args.seconds, base_lua,
                                 base_env))  # fmt: skip
            log(f"round {round_no}: fiscal commit")
            for run in (wrk("commit warm-up", commit_url, 5, LUA, ours_env),
                        wrk("commit", commit_url, args.seconds, LUA, ours_env)):  # fmt: skip
                counted += run.requests
                invocations += 1
            commits.append(run)
        check_database(counted, invocations)
        log("soft calculate")
        soft_url = f"{our_url}/api/v1/receipts/calculate"
        wrk("calculate warm-up", soft_url, 5, LUA, ours_env)
        soft = wrk("calculate", soft_url, args.seconds, LUA, ours_env)
        log("identify")
        identify_url = f"{our_url}/api/v1/identify"
        wrk("identify warm-up", identify_url, 5, LUA, ours_env)
        ident = wrk("identify", identify_url, 10, LUA, ours_env)
    log("pgbench")
    tps = pgbench()
    ratios = [c.rps / b.rps for c, b in zip(commits, baselines, strict=True)]
    commit_rps = statistics.median(c.rps for c in commits)
    baseline_rps = statistics.median(b.rps for b in baselines)
    p99 = _median_known(c.p99_ms for c in commits)
    base_p99 = _median_known(b.p99_ms for b in baselines)
    print(
        f"ratios per round: {', '.join(f'{r:.2f}' for r in ratios)}; "
        f"soft/baseline {soft.rps / baseline_rps:.2f}; p99 commit/baseline {p99 / base_p99:.2f}"
    )
    print(f"identify median_ms={ident.p50_ms:.1f} p99_ms={ident.p99_ms:.1f}")
    print(
        f"pos_load commit_rps={commit_rps:.0f} soft_rps={soft.rps:.0f} "
        f"baseline_rps={baseline_rps:.0f} ratio={statistics.median(ratios):.2f} "
        f"p99_ms={math.ceil(p99)} baseline_p99_ms={math.ceil(base_p99)} pgbench_tps={tps:.0f}"
    )


if __name__ == "__main__":
    main()
