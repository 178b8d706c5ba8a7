"""A promotion tried on a receipt before it is saved: what it would give and why, with the
tenant's groups, nothing written (the management API's dry run)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from processing.engine.calculate import calculate
from processing.engine.model import Balances, CustomerFacts, PromotionFacts, Result, Rules
from processing.promotions.book import PromotionBook
from processing.promotions.rules import parse_groups, parse_promotion
from processing.receipts.claims import wall_clock
from processing.receipts.inputs import ReceiptInput
from processing.receipts.rows import with_catalog
from processing.tenants.models import Tenant


def dry_run(
    session: Session,
    tenant: Tenant,
    rules: Any,
    receipt: ReceiptInput,
    *,
    at: datetime,
    timezone: str,
    facts: PromotionFacts | None = None,
) -> Result:
    """A promotion's rules evaluated alone on a receipt, with the tenant's groups: what it
    would give and why, nothing written; its goods as a sale sees them (the catalog's groups,
    brands, suppliers and marks). Without ``facts`` the receipt is anonymous at ``at`` in the
    store's ``timezone``."""
    promotion = parse_promotion(rules, code="dry-run", name="Проверка акции")
    book = PromotionBook([promotion], parse_groups(tenant.promotion_groups))
    card = CustomerFacts(card_active=facts is not None, allowance="full")
    return calculate(
        with_catalog(session, tenant.id, receipt), Rules(promotions=book), Balances(), card,
        facts or PromotionFacts(local_time=wall_clock(timezone, at), payments=receipt.payments),
    )  # fmt: skip
