"""Placing kopecks (shared/protocols/russian-retail-rules.md): largest-remainder spreading of a
receipt-level amount, and splitting a line whose sum does not divide by its quantity."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal


def spread(total: int, weights: Sequence[int], numbers: Sequence[int]) -> list[int]:
    """Split ``total`` kopecks in proportion to ``weights`` (kopecks of the eligible lines).

    Each line gets the floor of its share; the leftover kopecks go one each to the largest
    fractional parts, ties to the larger line sum, then the lower line number. The shares add up
    to ``total`` exactly and, when ``total <= sum(weights)``, none exceeds its weight.
    """
    whole = sum(weights)
    if total == 0 or whole == 0:
        return [0] * len(weights)
    shares = [total * weight // whole for weight in weights]
    leftover = total - sum(shares)
    if not leftover:
        return shares
    remainders = [total * weight % whole for weight in weights]
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], -weights[i], numbers[i]))
    for i in order[:leftover]:
        shares[i] += 1
    return shares


@dataclass(frozen=True)
class Part:
    quantity: Decimal
    price: int  # kopecks per unit
    amount: int  # kopecks


def split_line(
    quantity: Decimal, amount: int, shelf_price: int | None = None
) -> tuple[tuple[Part, ...], Decimal]:
    """How the POS prints a line of ``amount`` kopecks: parts and the price × quantity
    difference in kopecks (non-zero only for weighed goods, at most ½·q kopeck). A weighed line
    keeps its ``shelf_price`` whenever that price still gives the sum (nothing was taken off)."""
    if quantity == quantity.to_integral_value():
        units = int(quantity)
        unit_price, rest = divmod(amount, units)
        if rest == 0:
            return (Part(quantity, unit_price, amount),), Decimal(0)
        return (
            Part(Decimal(units - rest), unit_price, (units - rest) * unit_price),
            Part(Decimal(rest), unit_price + 1, rest * (unit_price + 1)),
        ), Decimal(0)
    price = int((Decimal(amount) / quantity).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if shelf_price is not None and _line_sum(shelf_price, quantity) == amount:
        price = shelf_price
    return (Part(quantity, price, amount),), price * quantity - amount


def _line_sum(price: int, quantity: Decimal) -> int:
    """price × quantity rounded half-up to the kopeck, as the POS rounds a weighed line."""
    return int((price * quantity).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def printed_parts(
    quantity: Decimal,
    amount: int,
    shelf_price: int | None,
    gift_units: int = 0,
    gift_amount: int = 0,
) -> tuple[tuple[Part, ...], Decimal]:
    """The parts a POS prints for a line of ``amount`` kopecks (``split_line``), the gift units
    (``gift_units`` at ``gift_amount`` in all) being a part of their own after the paid ones."""
    if not gift_units:
        return split_line(quantity, amount, shelf_price)
    gift = Part(Decimal(gift_units), gift_amount // gift_units, gift_amount)
    paid_units = quantity - gift_units
    if not paid_units:
        return (gift,), Decimal(0)
    paid, difference = split_line(paid_units, amount - gift_amount, None)
    return (*paid, gift), difference
