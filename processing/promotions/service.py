"""The tenant's promotion combination groups. Promotions are programs of kind ``promotion``:
they are created, versioned, paused and archived by the program operations
(``processing/programs/service.py``); a dry run on a receipt is
``processing/receipts/dry_run.py``."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from processing.promotions.rules import parse_groups
from processing.tenants.models import Tenant


def promotion_groups(tenant: Tenant) -> list[dict[str, Any]]:
    """The tenant's combination groups as stored (with the default group if none is set)."""
    return [
        {"code": g.code, "name": g.name or g.code, "mode": g.mode, "order": g.order,
         "level_discount": g.level_discount}
        for g in parse_groups(tenant.promotion_groups)
    ]  # fmt: skip


def set_promotion_groups(session: Session, tenant: Tenant, groups: Any) -> list[dict[str, Any]]:
    """Replace the tenant's combination groups (checked: ``INVALID_PROGRAM_RULES`` names the
    field); promotions naming a group that is gone fall back to the default group."""
    parse_groups(groups)
    tenant.promotion_groups = list(groups)
    session.flush()
    return promotion_groups(tenant)
