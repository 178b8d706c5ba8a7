"""152-FZ: the log of access to customers' personal data.

Every read or change of a customer's personal data, through the API or the CLI, leaves one
row: which customer, what was done (``Action``), who did it (the actor: ``pos:<store>/<pos>``,
``admin-token:<name>``, ``cli``), through which channel, when, which fields and the request id.
The row holds ids and field names only, never the values. The caller writes it in the same
transaction as the operation, so a failed operation leaves no row and a logged one happened.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from processing.customers.models import PersonalDataAccess
from processing.customers.service import STANDARD_FIELDS


class Action(StrEnum):
    READ = "read"
    REGISTER = "register"
    UPDATE = "update"
    CONSENT = "consent"
    CARD = "card"
    ERASE = "erase"


class Channel(StrEnum):
    API = "api"
    CLI = "cli"


CLI_ACTOR = "cli"

# What an answer shows, by field name: the whole customer record (questionnaire, consents,
# cards and balance), the purchase history, the masked name of an identification.
CUSTOMER_RECORD_FIELDS = (*STANDARD_FIELDS, "extra", "consents", "cards", "balance")
PURCHASE_FIELDS = ("purchases",)
CARD_FIELDS = ("cards",)
MASKED_NAME_FIELDS = ("first_name", "last_name")


def pos_actor(store_code: str, pos_code: str) -> str:
    return f"pos:{store_code}/{pos_code}"


def admin_actor(token_name: str) -> str:
    return f"admin-token:{token_name}"


def record_access(
    session: Session,
    *,
    tenant_id: int,
    customer_id: int,
    action: Action,
    actor: str,
    channel: Channel,
    fields: Iterable[str] = (),
    request_id: str | None = None,
    now: datetime | None = None,
) -> PersonalDataAccess:
    """Log one access to a customer's personal data; ``fields`` are names, never values."""
    row = PersonalDataAccess(
        tenant_id=tenant_id,
        customer_id=customer_id,
        at=now or datetime.now(UTC),
        action=action.value,
        actor=actor,
        channel=channel.value,
        fields=list(dict.fromkeys(fields)),
        request_id=request_id,
    )
    session.add(row)
    session.flush()
    return row


def read_access_log(
    session: Session,
    *,
    tenant_id: int,
    customer_id: int | None = None,
    since: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Sequence[PersonalDataAccess]:
    """The tenant's access log, newest first."""
    stmt = (
        select(PersonalDataAccess)
        .where(PersonalDataAccess.tenant_id == tenant_id)
        .order_by(PersonalDataAccess.id.desc())
        .limit(limit)
        .offset(offset)
    )
    if customer_id is not None:
        stmt = stmt.where(PersonalDataAccess.customer_id == customer_id)
    if since is not None:
        stmt = stmt.where(PersonalDataAccess.at >= since)
    return session.scalars(stmt).all()
