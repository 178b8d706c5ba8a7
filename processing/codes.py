"""Code formats of coupons and gift certificates: what a code of a series looks like, how many
codes the format holds, random codes, the check of a given one, and the storing of a batch of
new random codes. EAN-13 check digits are the cards' own (``processing.cards.numbers``)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from processing.cards.numbers import ean13_digit, has_valid_check_digit
from processing.db import insert_column_ignore, lock_rows
from processing.errors import ConnectorError, InvalidInput
from processing.tenants.models import Tenant

NUMERIC, ALNUM, EAN13, GS1 = "numeric", "alnum", "ean13", "gs1"
FORMATS = (NUMERIC, ALNUM, EAN13, GS1)
DIGITS = "0123456789"
# Latin capitals and digits without the look-alikes 0 O 1 I L: a code read aloud or typed from
# paper is not mistaken.
ALNUM_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
EAN13_LENGTH = 13
MIN_LENGTH, MAX_LENGTH = 4, 20
# GS1 Global Coupon Number (AI 255): the issuer's GS1 company prefix and the coupon reference
# (12 digits, the series' prefix), their check digit, then a serial of 4 to 12 digits.
GCN_BASE = 12
GCN_MIN_SERIAL, GCN_MAX_SERIAL = 4, 12
GCN_AI = "255"
# Symbology identifiers a scanner may put before GS1 data (GS1 DataBar, GS1-128, GS1 DataMatrix).
SYMBOLOGY_IDS = ("]E0", "]C1", "]D2", "]Q3")
MAX_PREFIX = 15
# A batch may fill at most this share of the codes still free in the format: the rest stays
# unguessable, and random codes rarely collide.
MAX_FILL_DIVISOR = 10
# A batch is drawn in rounds of ROUND codes (one statement each on PostgreSQL, an array), so a
# batch of a million codes never sits in memory at once.
ROUND = 20_000
MAX_FRUITLESS_ROUNDS = 20


@dataclass(frozen=True)
class CodeFormat:
    kind: str
    length: int  # in all: prefix, random part and a check digit
    prefix: str

    @property
    def alphabet(self) -> str:
        return ALNUM_ALPHABET if self.kind == ALNUM else DIGITS

    @property
    def random_length(self) -> int:
        return self.length - len(self.prefix) - (1 if self.kind in (EAN13, GS1) else 0)

    @property
    def space(self) -> int:
        """How many distinct codes the format holds."""
        space: int = len(self.alphabet) ** self.random_length
        return space

    def random_code(self) -> str:
        value, alphabet, chars = secrets.randbelow(self.space), self.alphabet, []
        for _ in range(self.random_length):
            value, index = divmod(value, len(alphabet))
            chars.append(alphabet[index])
        if self.kind == GS1:  # the check digit closes the base, the serial follows
            return self.prefix + ean13_digit(self.prefix) + "".join(chars)
        body = self.prefix + "".join(chars)
        return body + ean13_digit(body) if self.kind == EAN13 else body

    def matches(self, code: str) -> bool:
        if len(code) != self.length or not code.startswith(self.prefix):
            return False
        if any(ch not in self.alphabet for ch in code[len(self.prefix) :]):
            return False
        if self.kind == GS1:
            return code[GCN_BASE] == ean13_digit(self.prefix)
        return self.kind != EAN13 or has_valid_check_digit(code, EAN13)


def normalise_code(code: str) -> str:
    """A code as typed or scanned: blanks dropped (none is part of a code), letters in
    capitals; a GS1 coupon number without its application identifier, whether printed
    ``(255)…`` or read after a scanner's symbology identifier (``]e0255…``)."""
    found = "".join(code.split()).upper()
    if found.startswith(f"({GCN_AI})"):
        return found[len(GCN_AI) + 2 :]
    if found.startswith(SYMBOLOGY_IDS) and found[3:].startswith(GCN_AI):
        return found[3 + len(GCN_AI) :]
    return found


def code_format(kind: str, length: int | None, prefix: str) -> CodeFormat:
    """The format of a new series; ``length`` is ignored (13) for EAN-13."""
    if kind not in FORMATS:
        raise InvalidInput(f"Формат кода: {', '.join(FORMATS)}.", details={"field": "code_format"})
    if kind == GS1:
        return _gcn_format(length, prefix)
    if kind == EAN13:
        length = EAN13_LENGTH
    elif length is None or not MIN_LENGTH <= length <= MAX_LENGTH:
        raise InvalidInput(
            f"Длина кода — от {MIN_LENGTH} до {MAX_LENGTH} символов вместе с префиксом.",
            details={"field": "code_length"},
        )
    prefix_chars = r"[0-9A-Z]" if kind == ALNUM else r"\d"
    if not re.fullmatch(f"{prefix_chars}{{0,{MAX_PREFIX}}}", prefix):
        what = "латинские заглавные буквы и цифры" if kind == ALNUM else "цифры"
        raise InvalidInput(
            f"Префикс кода — до {MAX_PREFIX} символов: {what}.", details={"field": "prefix"}
        )
    found = CodeFormat(kind, length, prefix)
    if found.random_length < 1:
        raise InvalidInput(
            "Префикс не оставляет места для случайной части кода.", details={"field": "prefix"}
        )
    return found


def _gcn_format(length: int | None, prefix: str) -> CodeFormat:
    if not re.fullmatch(rf"\d{{{GCN_BASE}}}", prefix):
        raise InvalidInput(
            "Для кода GS1 (GCN) префикс — 12 цифр: префикс компании GS1 и номер купона.",
            details={"field": "prefix"},
        )
    low, high = GCN_BASE + 1 + GCN_MIN_SERIAL, GCN_BASE + 1 + GCN_MAX_SERIAL
    if length is None or not low <= length <= high:
        raise InvalidInput(
            f"Длина кода GS1 (GCN) — от {low} до {high} цифр: 12 цифр префикса, контрольная "
            f"цифра и серийный номер от {GCN_MIN_SERIAL} до {GCN_MAX_SERIAL} цифр.",
            details={"field": "code_length"},
        )
    return CodeFormat(GS1, length, prefix)


def store_new_codes(
    session: Session,
    model: Any,
    fixed: Mapping[str, Any],
    fmt: CodeFormat,
    count: int,
    space_too_small: type[ConnectorError],
) -> None:
    """``count`` new rows of ``model`` (a table with ``tenant_id`` and ``code``, unique
    together): the ``fixed`` values and a random code of ``fmt`` each, none equal to a code the
    tenant already has there. Refused up front with ``space_too_small`` when the batch would
    fill more than a tenth of the codes the format still has free. Batches of one tenant are
    serialised on its row: two series sharing a code space could otherwise each pass the check
    on the same count."""
    session.execute(lock_rows(select(Tenant.id).where(Tenant.id == fixed["tenant_id"])))
    taken = (
        session.scalar(
            select(func.count())
            .select_from(model)
            .where(
                model.tenant_id == fixed["tenant_id"],
                func.length(model.code) == fmt.length,
                model.code.startswith(fmt.prefix, autoescape=True),
            )
        )
        or 0
    )
    if count * MAX_FILL_DIVISOR > fmt.space - taken:
        raise space_too_small(details={"space": fmt.space, "taken": taken, "count": count})

    def insert(codes: list[str]) -> int:
        return insert_column_ignore(session, model, fixed, "code", codes, ["tenant_id", "code"])

    if not _draw_new_codes(fmt, count, insert):
        raise space_too_small(details={"space": fmt.space, "count": count})


def _draw_new_codes(fmt: CodeFormat, count: int, insert: Callable[[list[str]], int]) -> bool:
    """Draw random codes of ``fmt`` in rounds and hand each round to ``insert``, which stores
    the codes not yet taken and says how many it stored, until ``count`` are stored. False when
    rounds kept storing nothing: the space is full (series of other formats sharing it), which
    must not loop for ever."""
    remaining, fruitless = count, 0
    while remaining:
        codes: set[str] = set()
        while len(codes) < min(ROUND, remaining):
            codes.add(fmt.random_code())
        inserted = insert(sorted(codes))
        # A round may lose all its few codes to collisions; many in a row only if full.
        fruitless = 0 if inserted else fruitless + 1
        if fruitless == MAX_FRUITLESS_ROUNDS:
            return False
        remaining -= inserted
    return True
