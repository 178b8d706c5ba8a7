"""JSON in and out: ``Decimal`` both ways, UTF-8 BOM tolerated, hostile bodies refused.

Flask's default provider writes ``Decimal`` as a string; money must go out as a JSON number
with two decimals (the schema quantizes, simplejson writes the digits as they are). Incoming
numbers with a fraction are parsed as ``Decimal`` so no sum ever passes through float.

A body that no field could hold is refused here, once, before any schema, handler or database
sees it: a number beyond ``NUMBER_BOUNDS`` (``1e999999`` as an ``int`` hangs a worker), a
string or key with NUL (PostgreSQL refuses it) or a lone surrogate (UTF-8 cannot encode it),
and objects or arrays nested deeper than ``MAX_DEPTH``. Numbers are bounded as they are parsed
(a decimal context, at C speed); the parsed body is walked only when its text shows an escape
that may be NUL or a surrogate, or more containers than ``MAX_DEPTH``.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from itertools import chain
from typing import Any
from uuid import UUID

import simplejson
from flask.json.provider import DefaultJSONProvider

from connector.errors import JsonTooDeep
from mappings.fields import (
    NUMBER_BOUNDS,
    NUMBER_OUT_OF_BOUNDS,
    bounded_decimal,
    integer_literal_in_bounds,
)
from processing.errors import InvalidInput

BOM = "\ufeff"
MAX_DEPTH = 32
BAD_STRING = "Строка содержит недопустимый символ (NUL или одиночный суррогат UTF-16)."
_CONTAINERS = (dict, list)

_BAD_CHAR = re.compile("[\x00\ud800-\udfff]")
# In JSON text NUL and lone surrogates can only be escapes (a str body may hold the characters
# themselves; bytes that encode a surrogate are not UTF-8).
_BAD_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")


class _OutOfBounds(ArithmeticError):
    """An integer beyond ``NUMBER_BOUNDS`` met by the fast parse."""


_REFUSED = object()  # a number out of bounds, in the parse that reports where


def _fast_int(literal: str) -> int:
    if not integer_literal_in_bounds(literal):
        raise _OutOfBounds(literal)
    return int(literal)


def _reported_float(literal: str) -> Any:
    value = bounded_decimal(literal)
    return _REFUSED if value is None else value


def _reported_int(literal: str) -> Any:
    return int(literal) if integer_literal_in_bounds(literal) else _REFUSED


def visible(text: str) -> str:
    """``text`` with NUL and lone surrogates written as ``\\uXXXX``: safe to echo back."""
    return _BAD_CHAR.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def loads_body(data: str | bytes) -> Any:
    """Parse a request body; raises ``ValueError`` (``UnicodeDecodeError`` included) when it is
    not UTF-8 JSON, ``InvalidInput`` or ``JsonTooDeep`` when it is JSON that no field could hold.
    1C's ``ЗаписьJSON`` with default settings starts the text with a BOM."""
    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data.removeprefix(BOM)
    try:
        try:
            body = simplejson.loads(
                text, parse_float=NUMBER_BOUNDS.create_decimal, parse_int=_fast_int, allow_nan=False
            )
        except ArithmeticError:  # a number out of bounds: parse again to report where
            body = simplejson.loads(
                text, parse_float=_reported_float, parse_int=_reported_int, allow_nan=False
            )
            _refuse_unfit_values(body)
    except RecursionError as exc:  # the C scanner recurses per level
        raise JsonTooDeep(details={"max_depth": MAX_DEPTH}) from exc
    if ("\\u" in text and _BAD_ESCAPE.search(text)) or (
        isinstance(data, str) and _BAD_CHAR.search(text)
    ):
        _refuse_unfit_values(body)
    elif text.count("{") + text.count("[") > MAX_DEPTH:
        _check_depth(body)
    return body


def _check_depth(body: Any) -> None:
    level = [body] if type(body) in _CONTAINERS else []
    for _ in range(MAX_DEPTH):
        children = chain.from_iterable(
            [node.values() if type(node) is dict else node for node in level]
        )
        level = [child for child in children if type(child) in _CONTAINERS]
        if not level:
            return
    raise JsonTooDeep(details={"max_depth": MAX_DEPTH})


def _note(problems: dict[Any, Any], path: tuple[Any, ...], message: str) -> None:
    node = problems
    for key in path[:-1]:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            return  # two keys that read alike once made visible: one report is enough
    node.setdefault(path[-1] if path else "_schema", []).append(message)


def _refuse_unfit_values(body: Any) -> None:
    """Raise ``InvalidInput`` naming every number out of bounds and every bad string by its
    path, the way marshmallow names fields (``details.fields.json.lines.0.price``)."""
    problems: dict[Any, Any] = {}
    stack: list[tuple[Any, tuple[Any, ...]]] = [(body, ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, dict | list):
            if len(path) >= MAX_DEPTH:
                raise JsonTooDeep(details={"max_depth": MAX_DEPTH})
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str) and _BAD_CHAR.search(key):
                    _note(problems, (*path, visible(key)), BAD_STRING)
                else:
                    stack.append((item, (*path, key)))
        elif value is _REFUSED:
            _note(problems, path, NUMBER_OUT_OF_BOUNDS)
        elif isinstance(value, str) and _BAD_CHAR.search(value):
            _note(problems, path, BAD_STRING)
    if problems:
        raise InvalidInput(details={"fields": {"json": problems}})


class ConnectorJSONProvider(DefaultJSONProvider):
    ensure_ascii = False
    sort_keys = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        kwargs.setdefault("ensure_ascii", self.ensure_ascii)
        kwargs.setdefault("sort_keys", self.sort_keys)
        kwargs.pop("default", None)
        return simplejson.dumps(obj, use_decimal=True, default=_default, **kwargs)

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads_body(s)
