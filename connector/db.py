"""The request's database session: one per request, committed when the response is a success
and rolled back otherwise. Handlers and domain operations never commit themselves."""

from __future__ import annotations

from flask import Flask, Response, current_app, g
from sqlalchemy.orm import Session

from sync.runtime import RUNTIME_KEY, Runtime

_SESSION = "db_session"


def app_runtime(app: Flask | None = None) -> Runtime:
    runtime: Runtime = (app or current_app).extensions[RUNTIME_KEY]
    return runtime


def db_session() -> Session:
    if _SESSION not in g:
        setattr(g, _SESSION, app_runtime().session())
    session: Session = g.get(_SESSION)
    return session


def init_sessions(app: Flask) -> None:
    @app.after_request
    def _commit_or_rollback(response: Response) -> Response:
        session: Session | None = g.get(_SESSION)
        if session is not None:
            if response.status_code < 400:
                session.commit()
            else:
                session.rollback()
        return response

    @app.teardown_appcontext
    def _close(_exc: BaseException | None) -> None:
        session: Session | None = g.pop(_SESSION, None)
        if session is not None:
            session.close()
