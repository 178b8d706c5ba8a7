"""The Manzana face's pure readers: a return cheque's items matched to the sale's lines, and
payment ids read as payment kinds."""

from __future__ import annotations

from decimal import Decimal

import pytest
from lxml import etree

from mappings.manzana import bonus_message, payment_kind, returned_lines
from processing.errors import InvalidInput
from processing.receipts.inputs import ReturnLineInput

D = Decimal
NS = "http://loyalty.manzanagroup.ru/loyalty.xsd"
# The sale: g-1 on lines 1 and 3 (2 units each, 1 already returned from line 1), g-2 on line 2.
SOLD = [(1, "G-1", D(2), D(1)), (2, "g-2", D("0.5"), D(0)), (3, "g-1", D(2), D(0))]


def _cheque(*items: tuple[str, str]) -> etree._Element:
    body = "".join(f"<Item><Article>{goods}</Article><Quantity>{qty}</Quantity></Item>"
                   for goods, qty in items)  # fmt: skip
    return etree.fromstring(f'<ChequeRequest xmlns="{NS}">{body}</ChequeRequest>')


def test_an_item_takes_what_is_left_of_its_goods_lines_in_order() -> None:
    # 2 units of g-1: the 1 left on line 1, then 1 of line 3
    assert returned_lines(_cheque(("g-1", "2")), SOLD) == (
        ReturnLineInput(1, D(1)), ReturnLineInput(3, D(1)),
    )  # fmt: skip
    # two items of the same goods draw from the same lines, no unit twice
    assert returned_lines(_cheque(("g-1", "1"), ("G-1", "2"), ("g-2", "0.5")), SOLD) == (
        ReturnLineInput(1, D(1)), ReturnLineInput(2, D("0.5")), ReturnLineInput(3, D(2)),
    )  # fmt: skip
    assert returned_lines(_cheque(), SOLD) == ()  # no items: the whole receipt


@pytest.mark.parametrize(
    ("items", "words"),
    [
        ((("g-1", "4"),), "нет товара g-1"),  # 3 left
        ((("g-1", "2"), ("g-1", "2")), "Позиция 2"),
        ((("g-9", "1"),), "нет товара g-9"),
        ((("g-1", "NaN"),), "Quantity — число больше нуля"),
        ((("g-1", "-1"),), "Quantity — число больше нуля"),
    ],
)
def test_what_the_sale_cannot_give_back_is_refused(
    items: tuple[tuple[str, str], ...], words: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        returned_lines(_cheque(*items), SOLD)
    assert words in refused.value.text


def test_payment_ids_and_messages() -> None:
    assert [payment_kind(i) for i in ("Cash", " карта ", "СБП", "gift", "7", None)] == [
        "cash", "card", "sbp", "certificate", "other", "other",
    ]  # fmt: skip
    assert bonus_message(("Начислено", D("45.96")), ("Списано", D(0))) == "OK. Начислено: 45,96"
    assert bonus_message(("Списано", D("3")), ("Начислено", D("10.5"))) == (
        "OK. Списано: 3,00. Начислено: 10,50"
    )
    assert bonus_message(("Списано", D(0))) == "OK"
