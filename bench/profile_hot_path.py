"""bench/profile_hot_path: the in-process cost of one fiscal commit, soft calculation and
identify, through the real app (Flask test client, PostgreSQL), with an optional profile.

Run from the repository root after ``bench/pos_load.py`` has seeded its database (or with
``--seed N [--promotions]`` to seed N cards first, with pos_load's three promotions):
``.venv/bin/python bench/profile_hot_path.py [--requests 2000] [--profile
commit|calculate|identify]``. Prints ms per request for each
endpoint; with ``--profile`` a cProfile summary (cumulative time) of that endpoint.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import secrets
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pos_load
from sqlalchemy import select
from sqlalchemy.orm import Session

LINES = [
    {"goods": "g-100", "qty": 1.000, "price": 199.90, "sum": 199.90},
    {"goods": "g-200", "qty": 0.347, "price": 459.00, "sum": 159.27},
    {"goods": "g-300", "qty": 3.000, "price": 45.50, "sum": 136.50},
    {"goods": "g-400", "qty": 2.000, "price": 89.99, "sum": 179.98, "no_discount": True},
    {"goods": "g-500", "qty": 1.000, "price": 1250.00, "sum": 1250.00},
]


def bench_pos(url: str) -> tuple[str, int]:
    """A POS of its own for the bench tenant (its token is known here), and the card count."""
    from processing.db import make_engine
    from processing.tenants.models import Store, Tenant
    from processing.tenants.service import add_pos

    engine = make_engine(url)
    token = secrets.token_urlsafe(24)
    with Session(engine) as session, session.begin():
        tenant = session.scalars(select(Tenant).where(Tenant.code == "bench")).one()
        store = session.scalars(select(Store).where(Store.tenant_id == tenant.id)).first()
        if store is None:
            raise SystemExit("the bench tenant has no store: run bench/pos_load.py first")
        tenant.max_pos = None
        add_pos(session, store, f"prof-{secrets.token_hex(3)}", token=token)
    with engine.connect() as conn:
        cards = conn.exec_driver_sql("SELECT count(*) FROM cards").scalar_one()
    engine.dispose()
    return token, int(cards)


def timed(label: str, count: int, call: Callable[[int], None]) -> None:
    started, cpu = time.perf_counter(), time.process_time()
    for i in range(count):
        call(i)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"{label}: {elapsed / count * 1000:.2f} ms per request, {cpu / count * 1000:.2f} ms of "
        f"it Python CPU ({count} requests)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0, help="seed this many cards first")
    parser.add_argument(
        "--promotions", action="store_true", help="with --seed: the three promotions of pos_load"
    )
    parser.add_argument("--profile", choices=["commit", "calculate", "identify"])
    parser.add_argument("--sampling", action="store_true", help="pyinstrument instead of cProfile")
    args = parser.parse_args()
    if args.seed:
        pos_load.recreate(pos_load.OUR_DB)
        pos_load.seed(args.seed, args.promotions)
    url = pos_load.dsn(pos_load.OUR_DB).replace("postgresql://", "postgresql+psycopg://")
    token, cards = bench_pos(url)
    os.environ.update(DATABASE_URL=url, LOG_LEVEL="WARNING")
    from config import load_settings
    from connector.app import create_app

    app = create_app(load_settings(os.environ))
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    run = secrets.token_hex(4)

    def body(i: int) -> dict[str, object]:
        paying = {"pay_bonus": 10.00} if i % 2 == 0 else {}
        return {"cashier": "c-1", "number": f"{run}-{i}",
                "card_number": str(secrets.randbelow(cards)), "lines": LINES, **paying}  # fmt: skip

    def call(path: str) -> Callable[[int], None]:
        def one(i: int) -> None:
            answer = client.post(path, json=body(i), headers=headers)
            if answer.status_code != 200:
                raise SystemExit(f"{path}: {answer.status_code} {answer.get_data(as_text=True)}")

        return one

    calls = {
        "commit": call("/api/v1/receipts/commit"),
        "calculate": call("/api/v1/receipts/calculate"),
        "identify": call("/api/v1/identify"),
    }
    for name, one in calls.items():
        timed(f"{name} warm-up", 200, lambda i, one=one: one(10_000_000 + i))  # type: ignore[misc]
    for name, one in calls.items():
        if args.profile == name and args.sampling:
            from pyinstrument import Profiler

            sampler = Profiler(interval=0.0002)
            sampler.start()
            timed(name, args.requests, one)
            sampler.stop()
            print(sampler.output_text(show_all=False, short_mode=False, color=False))
        elif args.profile == name:
            profiler = cProfile.Profile()
            profiler.enable()
            timed(name, args.requests, one)
            profiler.disable()
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats(os.environ.get("SORT", "cumulative")).print_stats(45)
            if os.environ.get("CALLERS"):
                stats.print_callers(os.environ["CALLERS"])
            print(out.getvalue())
        else:
            timed(name, args.requests, one)


if __name__ == "__main__":
    main()
