"""POS bearer tokens: each token is bound to one tenant, store and POS."""

from __future__ import annotations

from flask import g, request

from connector.db import db_session
from connector.pos_tokens import PosMismatch, context_for_token
from processing.errors import NotAuthenticated
from processing.receipts.inputs import PosContext


class BearerRequired(NotAuthenticated):
    challenge = 'Bearer realm="loyalty-connector"'
    message = "Нужен токен кассы: заголовок Authorization: Bearer <токен>."


def pos_context() -> PosContext:
    """The calling POS (cached for the request); 401 without a valid token."""
    if "pos_context" in g:
        context: PosContext = g.pos_context
        return context
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise BearerRequired()
    found = context_for_token(db_session(), token)
    if found is None:
        raise BearerRequired("Токен кассы не найден или отозван.")
    g.pos_context = found
    return found


def check_named_pos(context: PosContext, store: str | None, pos: str | None) -> None:
    """A body may name its store and POS; they must be the token's."""
    caller = context.caller
    if (store and store != caller.store_code) or (pos and pos != caller.pos_code):
        raise PosMismatch(details={"store": caller.store_code, "pos": caller.pos_code})
