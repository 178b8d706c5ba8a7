"""The embedded demo tenant: lets the README's examples run on a fresh machine.

Its POS token is the fixed, public ``demo-pos-token``; the CLI refuses to seed it anywhere but
in embedded (SQLite) mode.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from processing.tenants.models import Tenant
from processing.tenants.service import add_pos, add_store, add_tenant

DEMO_TENANT = "demo"
DEMO_STORE = "store-1"
DEMO_POS = "pos-1"
DEMO_POS_TOKEN = "demo-pos-token"  # noqa: S105 - public by design, embedded mode only


def seed_demo(session: Session) -> bool:
    """Create the demo tenant unless it exists; returns True when it was created."""
    if session.scalar(select(Tenant.id).where(Tenant.code == DEMO_TENANT)) is not None:
        return False
    tenant = add_tenant(session, DEMO_TENANT, "Демо-сеть")
    store = add_store(session, tenant, DEMO_STORE, "Демо-магазин на Тверской")
    add_pos(session, store, DEMO_POS, token=DEMO_POS_TOKEN)
    return True
