"""What a POS reads from a card (typed number, magnetic track, NFC payload) → a card number.

UNVERIFIED in shared/protocols: the exact track and NFC formats of each POS. This accepts the
common ones: ISO 7813 track 2 (``;NUMBER=...?``), track 1 (``%BNUMBER^...``), a bare number,
and an NFC payload whose text carries the number (NDEF text record or digits only).
"""

from __future__ import annotations

import re

_TRACK2 = re.compile(r";?(\d{4,32})=")
_TRACK1 = re.compile(r"%?B(\d{4,32})\^")
_DIGITS = re.compile(r"\d{4,32}")


def normalise_card_number(raw: str) -> str:
    """A typed or scanned number: spaces and dashes dropped."""
    return re.sub(r"[\s-]", "", raw)


def card_number_from_track(raw: str) -> str | None:
    text = raw.strip()
    for pattern in (_TRACK2, _TRACK1):
        match = pattern.search(text)
        if match:
            return match.group(1)
    bare = normalise_card_number(text.strip(";?%"))
    return bare if bare.isdigit() else None


def card_number_from_nfc(raw: str) -> str | None:
    """The longest digit run in the payload (an NDEF text record holds the printed number)."""
    runs = _DIGITS.findall(raw)
    return max(runs, key=len) if runs else None
