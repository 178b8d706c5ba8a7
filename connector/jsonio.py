"""JSON in and out: ``Decimal`` both ways, UTF-8 BOM tolerated.

Flask's default provider writes ``Decimal`` as a string; money must go out as a JSON number
with two decimals (the schema quantizes, simplejson writes the digits as they are). Incoming
numbers with a fraction are parsed as ``Decimal`` so no sum ever passes through float.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

import simplejson
from flask.json.provider import DefaultJSONProvider

BOM = "\ufeff"


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def loads_body(data: str | bytes) -> Any:
    """Parse a request body; raises ``ValueError`` (``UnicodeDecodeError`` included) when it is
    not UTF-8 JSON. 1C's ``ЗаписьJSON`` with default settings starts the text with a BOM."""
    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data.removeprefix(BOM)
    return simplejson.loads(text, use_decimal=True, allow_nan=False)


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
