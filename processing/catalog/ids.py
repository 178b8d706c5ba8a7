"""1C identities of catalog objects: a GUID (``xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx``), and for
goods with characteristics ``GUID#characteristicGUID``. Stored in lower case, so an id 1C
writes in upper case names the same object."""

from __future__ import annotations

import re

_GUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_GUID_RE = re.compile(_GUID, re.IGNORECASE)
_GOODS_RE = re.compile(f"{_GUID}(?:#{_GUID})?", re.IGNORECASE)


def parse_guid(text: str) -> str | None:
    """A 1C GUID in its stored form (lower case); None for anything else."""
    text = text.strip()
    return text.lower() if _GUID_RE.fullmatch(text) else None


def parse_goods_id(text: str) -> str | None:
    """A goods id (``GUID`` or ``GUID#characteristicGUID``) in its stored form; None for
    anything else."""
    text = text.strip()
    return text.lower() if _GOODS_RE.fullmatch(text) else None
