"""Errors raised by the HTTP plumbing itself, and the mapping of every error to a response.

Every failure leaves as ``{"code", "message", "details"}`` with a stable code and a Russian
message; the HTTP status follows the error's category. Database failures are mapped here too:
a lost connection or a transaction conflict is 503 with ``Retry-After``, a value the database
cannot hold is 400, anything else 500.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import psycopg
from flask import Flask, Response, jsonify
from marshmallow import fields
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException, InternalServerError

from mappings.fields import Schema
from processing.errors import (
    Conflict,
    ConnectorError,
    Forbidden,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    Refused,
    TooManyRequests,
    Unavailable,
)

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5


class RouteNotFound(NotFound):
    code = "ROUTE_NOT_FOUND"
    message = "Адрес не найден. Проверьте URL сервиса в настройках подключения."


class MethodNotAllowed(InvalidInput):
    code = "METHOD_NOT_ALLOWED"
    message = "Этот метод HTTP не поддерживается по данному адресу."


class MalformedJson(InvalidInput):
    code = "MALFORMED_JSON"
    message = "Тело запроса не является корректным JSON в кодировке UTF-8."


class JsonTooDeep(InvalidInput):
    code = "JSON_TOO_DEEP"
    message = "Слишком глубокая вложенность объектов и массивов в JSON."


class PayloadTooLarge(InvalidInput):
    code = "PAYLOAD_TOO_LARGE"
    message = "Запрос слишком большой. Разбейте данные на несколько запросов."


class DatabaseUnavailable(Unavailable):
    message = "База данных временно недоступна. Повторите операцию через несколько секунд."


class ValueNotStorable(InvalidInput):
    message = (
        "Значение не помещается в базу данных: слишком длинная строка, слишком большое число "
        "или недопустимый символ. Проверьте данные запроса."
    )


class HttpError(ConnectorError):
    """A protocol-level refusal that has no error of its own; keeps the HTTP status."""

    code = "HTTP_ERROR"
    message = "Запрос отклонён сервером."

    def __init__(self, status: int) -> None:
        super().__init__(details={"status": status})
        self.status = status


class RoutingRefusal(HTTPException):
    """Carries one of our errors through werkzeug's URL matching, which lets only HTTP
    exceptions out of a converter."""

    def __init__(self, error: ConnectorError) -> None:
        super().__init__()
        self.error = error
        self.code = http_status(error)


class ErrorSchema(Schema):
    """The body of every error answer, for the OpenAPI document (``error_body`` builds it)."""

    code = fields.String(
        required=True,
        metadata={"description": "stable code, listed in docs/errors.md", "example": "NOT_FOUND"},
    )
    message = fields.String(
        required=True,
        metadata={"description": "Russian text for the cashier, accountant or 1C administrator"},
    )
    details = fields.Dict(
        required=True,
        metadata={
            "description": "structured context; validation errors: "
            "fields.<location>.<field> -> list of messages"
        },
    )


_STATUS_BY_CATEGORY: tuple[tuple[type[ConnectorError], int], ...] = (
    (MethodNotAllowed, 405),
    (PayloadTooLarge, 413),
    (InvalidInput, 400),
    (NotAuthenticated, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (Refused, 422),
    (TooManyRequests, 429),
    (Unavailable, 503),
)

_FROM_HTTP: dict[int, type[ConnectorError]] = {
    400: InvalidInput,
    404: RouteNotFound,
    405: MethodNotAllowed,
    413: PayloadTooLarge,
}

# SQLSTATEs of a value the column or type cannot hold (too long, out of range, malformed,
# not encodable): the request's fault.
_UNSTORABLE_SQLSTATES = frozenset({"22001", "22003", "22007", "22008", "22021", "22P02", "22P05"})


def http_status(error: ConnectorError) -> int:
    if isinstance(error, HttpError):
        return error.status
    for category, status in _STATUS_BY_CATEGORY:
        if isinstance(error, category):
            return status
    return 500


def error_body(error: ConnectorError) -> dict[str, Any]:
    return {"code": error.code, "message": error.text, "details": error.details}


def error_response(error: ConnectorError) -> Response:
    response = jsonify(error_body(error))
    response.status_code = http_status(error)
    challenge = getattr(error, "challenge", None)
    if response.status_code == 401 and challenge:
        response.headers["WWW-Authenticate"] = challenge
    if response.status_code == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    retry_after = getattr(error, "retry_after_s", None)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _driver_error(exc: BaseException) -> BaseException:
    return exc.orig if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None else exc


def _database_error(exc: BaseException) -> ConnectorError | None:
    """Our error for a failure of the database or its driver (through SQLAlchemy or the raw
    psycopg connection of the hot paths); None for anything else."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return DatabaseUnavailable()
    if isinstance(exc, sa_exc.TimeoutError):  # no pooled connection came free in time
        return DatabaseUnavailable()
    driver = _driver_error(exc)
    if isinstance(driver, sqlite3.OperationalError):
        # SQLite reports a missing table as "operational" too; only a lock is worth a retry.
        return DatabaseUnavailable() if "locked" in str(driver) else None
    if isinstance(driver, psycopg.OperationalError | psycopg.InterfaceError):
        return DatabaseUnavailable()  # connection lost, serialization failure, deadlock, ...
    if isinstance(driver, psycopg.DataError) and (
        driver.sqlstate is None or driver.sqlstate in _UNSTORABLE_SQLSTATES
    ):
        return ValueNotStorable()  # no SQLSTATE: psycopg refused a NUL before sending
    return None


def error_for_exception(exc: BaseException) -> ConnectorError:
    """Our error for an exception that is not one of ours, logged: a database failure by its
    cause, anything else ``INTERNAL_ERROR``."""
    error = _database_error(exc)
    if error is None:
        log.error("unhandled error", exc_info=exc)
        return ConnectorError()
    if isinstance(error, Unavailable):
        log.error("database unavailable", exc_info=exc)
    else:
        sqlstate = getattr(_driver_error(exc), "sqlstate", None)
        log.warning("database refused a value of the request (SQLSTATE %s)", sqlstate)
    return error


def _from_http_exception(exc: HTTPException) -> ConnectorError:
    if isinstance(exc, RoutingRefusal):
        return exc.error
    original = getattr(exc, "original_exception", None)
    if isinstance(exc, InternalServerError) and original is not None:
        # An exception outside the view (an after_request hook): Flask wraps it in a 500.
        return original if isinstance(original, ConnectorError) else error_for_exception(original)
    status = exc.code or 500
    error_class = _FROM_HTTP.get(status)
    if error_class is not None:
        return error_class()
    return HttpError(status)


def register_error_handlers(app: Flask) -> None:
    """Install after flask-smorest's ``Api`` so ours replace its HTTPException handler."""

    @app.errorhandler(ConnectorError)
    def _connector_error(error: ConnectorError) -> Response:
        if http_status(error) >= 500:
            log.error("request failed: %s", error.code)
        return error_response(error)

    @app.errorhandler(HTTPException)
    def _http_exception(exc: HTTPException) -> Response:
        response = error_response(_from_http_exception(exc))
        for name, value in exc.get_headers():  # Allow on a 405 (RFC 9110)
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        return error_response(error_for_exception(exc))
