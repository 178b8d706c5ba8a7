"""Structured (JSON lines) logging with request ids.

Logs never carry personal data (152-FZ): the access line holds the method, the path without
its query string and with card numbers masked (``/api/v1/cards/*********0012/block``), the
status and the duration; bodies, query strings and headers are never logged. Messages and
exception texts may quote data (a database error repeats the row it refused), so the handler's
formatter masks what looks like personal data in them before the line is written.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from typing import Any, TextIO

from flask import Flask, Response, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

REQUEST_ID_HEADER = "X-Request-ID"
_CLIENT_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_HANDLER_MARK = "_connector_handler"
# Path arguments that are personal data: the card number of /cards/<number>/...
_PERSONAL_PATH_ARGS = frozenset({"number"})
_KEPT_DIGITS = 4

_DIGIT_RUN = re.compile(r"(?<!\d)\d{7,}(?!\d)")  # card numbers, phones, normalised or not
_RU_PHONE = re.compile(r"(?:\+7|(?<!\d)8)[\s(-]*\d{3}[\s)-]*\d{3}[\s-]*\d{2}[\s-]*\d{2}(?!\d)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Our own texts are English (Russian only in ConnectorError messages, logged by code): any
# Cyrillic in a log line or an exception is data: names, addresses, questionnaire answers.
_CYRILLIC = re.compile(r"[А-Яа-яЁё]+")
# SQLAlchemy repeats a failed statement's parameters; PostgreSQL the values of the row.
_SQL_PARAMETERS = re.compile(r"^\[parameters: .*$", re.MULTILINE)
_PG_ROW_VALUES = re.compile(r"(Key \([^)]*\)=|Failing row contains )\(.*\)")

access_log = logging.getLogger("connector.access")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context() and "request_id" in g:
            record.request_id = g.request_id
        return True


def mask_number(number: str) -> str:
    """A card number or phone for a log line: its last four digits only when it is long
    enough for them not to identify it (``*********0012``)."""
    if len(number) < 2 * _KEPT_DIGITS:
        return "*" * len(number)
    return "*" * (len(number) - _KEPT_DIGITS) + number[-_KEPT_DIGITS:]


def redact(text: str) -> str:
    """Mask what may be personal data in a free text: digit runs of card-number or phone
    length, Russian phone numbers in any format, e-mail addresses, Cyrillic words, and the
    values a database error repeats."""
    text = _SQL_PARAMETERS.sub("[parameters: hidden]", text)
    text = _PG_ROW_VALUES.sub(r"\1(hidden)", text)
    text = _EMAIL.sub("<e-mail>", text)
    text = _RU_PHONE.sub("<phone>", text)
    text = _DIGIT_RUN.sub(lambda match: mask_number(match.group()), text)
    return _CYRILLIC.sub("<text>", text)


class RedactingJsonFormatter(JsonFormatter):
    """JSON lines whose message and exception text pass through ``redact``."""

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        for key in ("message", "exc_info", "stack_info"):
            value = log_data.get(key)
            if isinstance(value, str):
                log_data[key] = redact(value)
        return log_data


def json_handler(stream: TextIO) -> logging.Handler:
    """The service's log handler: redacted JSON lines with request ids, onto ``stream``."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        RedactingJsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger", "asctime": "time"},
        )
    )
    handler.addFilter(RequestIdFilter())
    return handler


def configure_logging(level: str) -> None:
    """JSON lines on stderr; idempotent, so app factories in tests do not stack handlers."""
    root = logging.getLogger()
    root.setLevel(level)
    if any(getattr(handler, _HANDLER_MARK, False) for handler in root.handlers):
        return
    handler = json_handler(sys.stderr)
    setattr(handler, _HANDLER_MARK, True)
    root.addHandler(handler)


def loggable_path() -> str:
    """The request path with card numbers masked: by route where the route is known, and any
    long digit run otherwise (a mistyped URL may still carry a card number)."""
    args = request.view_args or {}
    personal = {str(args[name]) for name in _PERSONAL_PATH_ARGS.intersection(args)}
    segments = [mask_number(part) if part in personal else part for part in request.path.split("/")]
    return _DIGIT_RUN.sub(lambda match: mask_number(match.group()), "/".join(segments))


def current_request_id() -> str | None:
    return g.get("request_id") if has_request_context() else None


def init_request_ids(app: Flask) -> None:
    @app.before_request
    def _start() -> None:
        client_id = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = client_id if _CLIENT_REQUEST_ID.fullmatch(client_id) else uuid.uuid4().hex
        g.request_started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        request_id = g.get("request_id") or uuid.uuid4().hex
        response.headers[REQUEST_ID_HEADER] = request_id
        started = g.get("request_started")
        duration_ms = round((time.perf_counter() - started) * 1000, 1) if started else None
        access_log.info(
            "request",
            extra={
                "method": request.method,
                "path": loggable_path(),
                "status": response.status_code,
                "duration_ms": duration_ms,
            },
        )
        return response
