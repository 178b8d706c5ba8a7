"""bench/soap: the same receipt flow — soft calculation, then the fiscal commit of bench/pos_load's
5-line receipt — over SOAP (the Manzana-compatible ProcessRequest) and over the JSON POS API,
alternated in one run against one server (the production gunicorn command line), 16 connections.

Prints ``soap soap_rps=N json_rps=N ratio=X soap_p99_ms=N json_p99_ms=N`` with ratio = JSON rps /
SOAP rps (the medians of the rounds). Target: ratio <= 1.5.

Run from the repository root: ``.venv/bin/python bench/soap.py`` (needs wrk and PostgreSQL on
127.0.0.1, as bench/pos_load.py; ``--cards``, ``--seconds``, ``--rounds`` for quick trials).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pos_load as pl  # the bench's own helpers, next to this file
import psycopg

LUA = Path(__file__).resolve().parent / "soap_flow.lua"


def check_commits(runs: dict[str, list[pl.WrkRun]]) -> None:
    """Every fiscal request of each face committed a receipt (an answer with a non-zero
    ReturnCode is still HTTP 200): half the requests wrk counted in all its runs (a fiscal
    request follows each soft one), give or take those in flight when a run stopped."""
    with psycopg.connect(pl.dsn(pl.OUR_DB)) as conn:
        for face, prefix in (("json", "j"), ("soap", "s")):
            stored = conn.execute(
                "SELECT count(*) FROM receipts WHERE kind = 'sale' AND number LIKE %s",
                (f"{prefix}%",),
            ).fetchone()
            counted = sum(run.requests for run in runs[face]) // 2
            found = stored[0] if stored else 0
            pl.log(f"{face}: {found} receipts committed for {counted} fiscal requests counted")
            slack = pl.WRK_CONNECTIONS * len(runs[face])
            if not counted - slack <= found <= counted + slack:
                raise SystemExit(f"FAIL: {face} committed {found} receipts for {counted} asked")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cards", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get update && apt-get install -y wrk")
    workdir = Path(tempfile.mkdtemp(prefix="soap-bench-"))
    pl.log("creating the database")
    pl.recreate(pl.OUR_DB)
    tokens = pl.seed(args.cards)
    pl.vacuum_and_checkpoint((pl.OUR_DB,))  # no baseline database here
    env = {"CARDS": str(args.cards), "POS_TOKENS": ",".join(tokens), "TENANT": "bench"}
    runs: dict[str, list[pl.WrkRun]] = {"json": [], "soap": []}
    every: dict[str, list[pl.WrkRun]] = {"json": [], "soap": []}  # warm-ups included
    with pl.our_server(pl.free_port(), workdir / "our_server.log") as server:
        for round_no in range(1, args.rounds + 1):
            for face in ("json", "soap") if round_no % 2 else ("soap", "json"):
                pl.log(f"round {round_no}: {face}")
                face_env = {**env, "FACE": face}
                every[face].append(
                    pl.wrk(f"{face} warm-up", server.url, pl.WARM_UP_SECONDS, LUA, face_env)
                )
                runs[face].append(pl.wrk(face, server.url, args.seconds, LUA, face_env))
                every[face].append(runs[face][-1])
    check_commits(every)
    json_rps = statistics.median(run.rps for run in runs["json"])
    soap_rps = statistics.median(run.rps for run in runs["soap"])
    json_p99 = statistics.median(run.p99_ms for run in runs["json"])
    soap_p99 = statistics.median(run.p99_ms for run in runs["soap"])
    ratios = [j.rps / s.rps for j, s in zip(runs["json"], runs["soap"], strict=True)]
    print("ratios per round: " + ", ".join(f"{r:.2f}" for r in ratios))
    print(f"soap soap_rps={soap_rps:.0f} json_rps={json_rps:.0f} ratio={json_rps / soap_rps:.2f} "
          f"soap_p99_ms={soap_p99:.0f} json_p99_ms={json_p99:.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
