"""Errors raised by the HTTP plumbing itself, and the mapping of every error to a response.

Every failure leaves as ``{"code", "message", "details"}`` with a stable code and a Russian
message; the HTTP status follows the error's category.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from processing.errors import (
    Conflict,
    ConnectorError,
    Forbidden,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    Refused,
    Unavailable,
)

log = logging.getLogger(__name__)


class RouteNotFound(NotFound):
    code = "ROUTE_NOT_FOUND"
    message = "Адрес не найден. Проверьте URL сервиса в настройках подключения."


class MethodNotAllowed(InvalidInput):
    code = "METHOD_NOT_ALLOWED"
    message = "Этот метод HTTP не поддерживается по данному адресу."


class MalformedJson(InvalidInput):
    code = "MALFORMED_JSON"
    message = "Тело запроса не является корректным JSON в кодировке UTF-8."


class PayloadTooLarge(InvalidInput):
    code = "PAYLOAD_TOO_LARGE"
    message = "Запрос слишком большой. Разбейте данные на несколько запросов."


class HttpError(ConnectorError):
    """A protocol-level refusal that has no error of its own; keeps the HTTP status."""

    code = "HTTP_ERROR"
    message = "Запрос отклонён сервером."

    def __init__(self, status: int) -> None:
        super().__init__(details={"status": status})
        self.status = status


_STATUS_BY_CATEGORY: tuple[tuple[type[ConnectorError], int], ...] = (
    (MethodNotAllowed, 405),
    (PayloadTooLarge, 413),
    (InvalidInput, 400),
    (NotAuthenticated, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (Refused, 422),
    (Unavailable, 503),
)

_FROM_HTTP: dict[int, type[ConnectorError]] = {
    400: InvalidInput,
    404: RouteNotFound,
    405: MethodNotAllowed,
    413: PayloadTooLarge,
}


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
    return response


def _from_http_exception(exc: HTTPException) -> ConnectorError:
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
        return error_response(_from_http_exception(exc))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error")
        return error_response(ConnectorError())
