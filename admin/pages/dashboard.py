"""The first page after the login: for a tenant's people, the tariff's usage, today's receipts
and the last exchange with 1C; for the licensor and agents, their tenants at a glance."""

from __future__ import annotations

from flask import render_template
from sqlalchemy import select

from admin.pages import formats
from admin.pages.site import agent_tenant_ids, now, operator, page, pages
from connector.db import db_session
from processing.receipts.totals import day_totals
from processing.reports.usage import usage_of
from processing.tenants.models import Tenant
from sync.log import read_runs


@pages.route("/")
@page()
def dashboard() -> str:
    who = operator()
    db = db_session()
    if who.tenant_id is None:
        visible = agent_tenant_ids(who)
        query = select(Tenant).order_by(Tenant.name)
        if visible is not None:
            query = query.where(Tenant.id.in_(visible))
        tenants = list(db.scalars(query))
        return render_template(
            "pages/dashboard_platform.html", tenants=tenants, usage=usage_of(db, tenants)
        )
    tenant = db.get_one(Tenant, who.tenant_id)
    today = formats.local_date(tenant, now())
    runs = read_runs(db, tenant_id=tenant.id, limit=1) if who.may("sync_log.view") else []
    return render_template(
        "pages/dashboard.html",
        tenant=tenant,
        usage=usage_of(db, [tenant])[tenant.id],
        today=today,
        totals=day_totals(db, tenant.id, today) if who.may("reports.view") else None,
        last_run=runs[0] if runs else None,
    )
