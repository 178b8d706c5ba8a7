"""152-FZ erasure on request: a confirmed anonymisation of one customer, logged as such.

The personal data and its change history are destroyed (``anonymise_customer``); the ledger,
cards and receipts stay, anonymous, under the same customer id. The erasure writes an
``erase`` row to the personal-data access log in the same transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from processing.customers.access import Accessor, Action, Channel, record_access
from processing.customers.models import Customer
from processing.customers.service import Anonymisation, anonymise_customer
from processing.errors import InvalidInput


class ErasureNotConfirmed(InvalidInput):
    code = "ERASURE_NOT_CONFIRMED"
    message = (
        "Удаление персональных данных необратимо: подтвердите его, указав в поле confirm "
        "номер покупателя."
    )


def require_confirmation(customer: Customer, confirm: object) -> None:
    """The caller repeats the customer's id (a number, or its digits as a string), so a
    mistyped URL erases nobody."""
    confirmed = (isinstance(confirm, int) and not isinstance(confirm, bool)) or isinstance(
        confirm, str
    )
    if not confirmed or str(confirm).strip() != str(customer.id):
        raise ErasureNotConfirmed(
            "Удаление персональных данных необратимо: подтвердите его, указав в поле confirm "
            f"номер покупателя ({customer.id}).",
            details={"customer_id": customer.id},
        )


def erase_customer(
    session: Session,
    customer: Customer,
    *,
    actor: str,
    channel: Channel,
    request_id: str | None = None,
    now: datetime | None = None,
) -> Anonymisation:
    """Anonymise ``customer`` and log the erasure; erasing twice is harmless."""
    now = now or datetime.now(UTC)
    result = anonymise_customer(session, customer, now=now)
    record_access(
        session, Accessor(actor, channel, request_id), tenant_id=customer.tenant_id,
        customer_id=customer.id, action=Action.ERASE, fields=result.erased_fields, now=now,
    )  # fmt: skip
    return result
