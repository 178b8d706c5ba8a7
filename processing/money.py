"""Money arithmetic: ``Decimal`` rubles in code, integer kopecks in storage.

Every rounding here is explicit ``ROUND_HALF_UP``; no library default is trusted.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

KOPECK = Decimal("0.01")
UNIT = Decimal(1)


def round_money(value: Decimal) -> Decimal:
    """Round to the kopeck, half up (54-FZ receipts)."""
    return value.quantize(KOPECK, rounding=ROUND_HALF_UP)


def is_whole_kopecks(value: Decimal) -> bool:
    if not value.is_finite():
        return False
    if value.as_tuple().exponent >= -2:  # type: ignore[operator]
        return True  # also beyond decimal's 28 digits, where quantize cannot go
    try:
        return value == value.quantize(KOPECK, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return False  # more than 28 digits with fractions of a kopeck


def to_kopecks(value: Decimal | int) -> int:
    """Exact conversion of rubles to kopecks; a fraction of a kopeck is an error, not rounded.
    Whole rubles may be given as ``int``; float is refused."""
    if type(value) is Decimal:  # the common case, checked by the exact comparison below
        scaled = value.scaleb(2)
        try:
            kopecks = int(scaled)
        except (ValueError, OverflowError):  # NaN, infinity
            kopecks = None
        if kopecks is not None and kopecks == scaled:
            return kopecks
        raise ValueError(f"{value} is not a whole number of kopecks")
    if isinstance(value, int) and not isinstance(value, bool):
        return value * 100
    if not isinstance(value, Decimal):
        raise TypeError(f"money must be Decimal, got {type(value).__name__}")
    if not is_whole_kopecks(value):
        raise ValueError(f"{value} is not a whole number of kopecks")
    return int(value.scaleb(2))


def from_kopecks(kopecks: int) -> Decimal:
    return Decimal(kopecks).scaleb(-2)


def money_text(value: Decimal) -> str:
    """Rubles with exactly two decimals, for messages and error details."""
    return f"{round_money(value):.2f}"


def rubles_text(value: Decimal) -> str:
    """Rubles for a cashier's or customer's message: two decimals, a decimal comma («45,96»)."""
    return money_text(value).replace(".", ",")


def kopecks_text(kopecks: int) -> str:
    return rubles_text(from_kopecks(kopecks))


def proportional_share(
    total: Decimal,
    taken: Decimal,
    part: Decimal,
    whole: Decimal,
    last: bool,
    quantum: Decimal = KOPECK,
) -> Decimal:
    """``part`` of ``whole``'s share of ``total``, of which ``taken`` is gone already (a return
    of some units, of some of a receipt): rounded half up to the ``quantum`` (the kopeck; a
    whole ``UNIT`` for counters) and never more than what is left (in size: a total may be
    negative); the last share is exactly what is left, so the shares add up to ``total``."""
    if last or whole == 0:
        return total - taken
    share = (total * part / whole).quantize(quantum, rounding=ROUND_HALF_UP)
    return min(share, total - taken) if total >= 0 else max(share, total - taken)
