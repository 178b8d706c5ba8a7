"""The sync log for support: the runs of 1C imports and the entries of exchange calls, filtered
by exchange kind, level and period; one run's page refreshes itself while it is running."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import render_template, request

from admin.pages import formats
from admin.pages.site import page, pages, tenant
from connector.db import db_session
from sync.log import get_run, read_entries, read_runs
from sync.models import RUN_RUNNING

PAGE_SIZE = 50
MAX_OFFSET = 1_000_000
SOURCES = {"commerceml": "CommerceML (товары, склады)", "discount_server": "Сервер скидок 1С"}
LEVELS = {"info": "Информация", "warning": "Предупреждение", "error": "Ошибка"}
REFRESH_S = 3


def _day(raw: str | None) -> datetime | None:
    return formats.day_start(raw, formats.zone_of(tenant()))


@pages.route("/sync-log")
@page("sync_log.view")
def sync_runs() -> str:
    args = request.args
    source = args.get("source") if args.get("source") in SOURCES else None
    level = args.get("level") if args.get("level") in LEVELS else None
    since, until = _day(args.get("since")), _day(args.get("until"))
    if until is not None:
        until += timedelta(days=1)  # the "to" day is included
    offset = min(max(0, args.get("offset", 0, type=int) or 0), MAX_OFFSET)
    filters: dict[str, Any] = {
        "tenant_id": tenant().id,
        "source": source,
        "since": since,
        "until": until,
        "exchange": args.get("exchange") or None,
        "limit": PAGE_SIZE,
        "offset": offset,
    }
    db = db_session()
    runs = [] if level else read_runs(db, **filters)
    entries = read_entries(db, level=level, **filters)
    return render_template(
        "pages/sync_log.html",
        runs=runs,
        entries=entries,
        sources=SOURCES,
        levels=LEVELS,
        offset=offset,
        page_size=PAGE_SIZE,
        args=args,
        refresh=REFRESH_S if any(run.status == RUN_RUNNING for run in runs) else None,
    )


@pages.route("/sync-log/runs/<int:run_id>")
@page("sync_log.view")
def sync_run(run_id: int) -> str:
    db = db_session()
    run = get_run(db, run_id, tenant_id=tenant().id)
    entries = read_entries(db, tenant_id=run.tenant_id, exchange=run.session_id, limit=200)
    return render_template(
        "pages/sync_run.html",
        run=run,
        entries=[e for e in entries if e.run_id == run.id],
        refresh=REFRESH_S if run.status == RUN_RUNNING else None,
        sources=SOURCES,
        levels=LEVELS,
    )
