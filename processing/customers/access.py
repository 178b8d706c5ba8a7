"""152-FZ: the log of access to customers' personal data.

Every read or change of a customer's personal data, through the API or the CLI, leaves one
row: which customer, what was done (``Action``), who did it (the actor: ``pos:<store>/<pos>``,
``admin-token:<name>``, ``cli``), through which channel, when, which fields and the request id.
The row holds ids and field names only, never the values. The caller writes it in the same
transaction as the operation, so a failed operation leaves no row and a logged one happened.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Table, insert, select
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
    PAGES = "pages"  # the admin pages


CLI_ACTOR = "cli"
_ACCESS_LOG = cast(Table, PersonalDataAccess.__table__)

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


def user_actor(user_id: int) -> str:
    """A person logged in to the admin pages (its e-mail is in the accounts, not in logs)."""
    return f"user:{user_id}"


@dataclass(frozen=True)
class Accessor:
    """Who reads or changes personal data: the actor, the channel and the request id."""

    actor: str
    channel: Channel
    request_id: str | None = None


def access_values(
    accessor: Accessor, *, tenant_id: int, action: Action, fields: Iterable[str], now: datetime
) -> dict[str, Any]:
    """A log row's values but the customer's id: what every writer of the log stores."""
    return {
        "tenant_id": tenant_id,
        "at": now,
        "action": action.value,
        "actor": accessor.actor,
        "channel": accessor.channel.value,
        "fields": list(dict.fromkeys(fields)),
        "request_id": accessor.request_id,
    }


def record_access(
    session: Session,
    accessor: Accessor,
    *,
    tenant_id: int,
    customer_id: int,
    action: Action,
    fields: Iterable[str] = (),
    now: datetime | None = None,
) -> None:
    """Log one access to a customer's personal data; ``fields`` are names, never values.

    One INSERT, not a unit-of-work flush of a new object (the rows of the session are flushed
    first, the customer's among them).
    """
    values = access_values(
        accessor, tenant_id=tenant_id, action=action, fields=fields, now=now or datetime.now(UTC)
    )
    session.flush()
    session.execute(insert(_ACCESS_LOG), {**values, "customer_id": customer_id})


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
