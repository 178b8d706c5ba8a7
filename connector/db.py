"""The request's database session: one per request, committed when the response is a success
and rolled back otherwise. Handlers and domain operations never commit themselves.

A commit that fails turns the success into our error answer (a lost connection or a
serialization failure: 503 with ``Retry-After``): the client must never believe a receipt was
stored when it may not be.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, current_app, g
from sqlalchemy.orm import Session

from connector.errors import error_for_exception, error_response
from sync.runtime import RUNTIME_KEY, Runtime

log = logging.getLogger(__name__)

_SESSION = "db_session"


def app_runtime(app: Flask | None = None) -> Runtime:
    runtime: Runtime = (app or current_app).extensions[RUNTIME_KEY]
    return runtime


def db_session() -> Session:
    if _SESSION not in g:
        setattr(g, _SESSION, app_runtime().session())
    session: Session = g.get(_SESSION)
    return session


def _rollback(session: Session) -> None:
    """Roll back after a failure; on a connection that is gone this fails too, and closing
    the session at teardown releases it either way."""
    try:
        session.rollback()
    except Exception:
        log.warning("rollback failed", exc_info=True)


def rollback_request_session() -> None:
    """Roll back the request's session, if it has one, so an error page can still read the
    database after a failed statement."""
    session: Session | None = g.get(_SESSION)
    if session is not None:
        _rollback(session)


def init_sessions(app: Flask) -> None:
    @app.after_request
    def _commit_or_rollback(response: Response) -> Response:
        session: Session | None = g.get(_SESSION)
        if session is None:
            return response
        if response.status_code >= 400:
            _rollback(session)
            return response
        try:
            session.commit()
        except Exception as exc:
            error = error_for_exception(exc)
            _rollback(session)
            return error_response(error)
        return response

    @app.teardown_appcontext
    def _close(_exc: BaseException | None) -> None:
        session: Session | None = g.pop(_SESSION, None)
        if session is not None:
            session.close()
