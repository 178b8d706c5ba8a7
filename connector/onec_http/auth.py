"""POS bearer tokens: each token is bound to one tenant, store and POS."""

from __future__ import annotations

from flask import g, request
from sqlalchemy import select

from connector.db import db_session
from processing.errors import InvalidInput, NotAuthenticated
from processing.receipts.inputs import PosContext
from processing.tenants.models import Pos, Store, Tenant
from processing.tenants.service import hash_token


class BearerRequired(NotAuthenticated):
    challenge = 'Bearer realm="loyalty-connector"'
    message = "Нужен токен кассы: заголовок Authorization: Bearer <токен>."


class PosMismatch(InvalidInput):
    code = "POS_MISMATCH"
    message = "Магазин или касса в запросе не совпадают с токеном кассы."


def pos_context() -> PosContext:
    """The calling POS (cached for the request); 401 without a valid token."""
    if "pos_context" in g:
        context: PosContext = g.pos_context
        return context
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise BearerRequired()
    row = (
        db_session()
        .execute(
            select(Pos, Store, Tenant)
            .join(Store, Store.id == Pos.store_id)
            .join(Tenant, Tenant.id == Pos.tenant_id)
            .where(Pos.token_hash == hash_token(token.strip()))
        )
        .one_or_none()
    )
    if row is None:
        raise BearerRequired("Токен кассы не найден или отозван.")
    pos, store, tenant = row
    g.pos_context = PosContext(tenant=tenant, store=store, pos=pos)
    return g.pos_context  # type: ignore[no-any-return]


def check_named_pos(context: PosContext, store: str | None, pos: str | None) -> None:
    """A body may name its store and POS; they must be the token's."""
    if (store and store != context.store.code) or (pos and pos != context.pos.code):
        raise PosMismatch(details={"store": context.store.code, "pos": context.pos.code})
