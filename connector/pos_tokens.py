"""The calling POS from its token, for every face a POS calls (JSON and SOAP): each token is
bound to one tenant, store and POS."""

from __future__ import annotations

from functools import partial

from sqlalchemy.orm import Session

from connector.logs import current_request_id
from processing.customers.access import Accessor, Channel, pos_actor
from processing.errors import InvalidInput
from processing.receipts.inputs import PosContext
from processing.tenants.callers import caller_by_token, caller_rows


def context_for_token(session: Session, token: str) -> PosContext | None:
    """The POS the token names (None: unknown or revoked)."""
    found = caller_by_token(session, token.strip())
    if found is None:
        return None
    caller, rows = found
    return PosContext(caller, partial(caller_rows, session, caller, rows))


class PosMismatch(InvalidInput):
    code = "POS_MISMATCH"
    message = "Магазин или касса в запросе не совпадают с токеном кассы."


def pos_accessor(ctx: PosContext) -> Accessor:
    """The calling POS as the 152-FZ log names it (either face)."""
    caller = ctx.caller
    return Accessor(
        pos_actor(caller.store_code, caller.pos_code), Channel.API, current_request_id()
    )
