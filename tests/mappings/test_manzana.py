"""The Manzana face's pure readers: a return cheque's items matched to the sale's lines, and
payment ids read as payment kinds."""

from __future__ import annotations

from decimal import Decimal

import pytest
from lxml import etree

from mappings.manzana import bonus_message, payment_kind, returned_lines
from processing.errors import ConnectorError
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
    assert returned_lines(_cheque(("g-1", "2")), SOLD).lines == (
        ReturnLineInput(1, D(1)), ReturnLineInput(3, D(1)),
    )  # fmt: skip
    # two items of the same goods draw from the same lines, no unit twice
    both = returned_lines(_cheque(("g-1", "1"), ("G-1", "2"), ("g-2", "0.5")), SOLD)
    assert both.lines == (
        ReturnLineInput(1, D(1)), ReturnLineInput(2, D("0.5")), ReturnLineInput(3, D(2)),
    )  # fmt: skip
    assert [item.draws for item in both.items] == [((1, D(1)),), ((3, D(2)),), ((2, D("0.5")),)]
    assert returned_lines(_cheque(), SOLD).lines == ()  # no items: the whole receipt
    # sent again: what this return took is counted as still there, the lines come out the same
    after = [(1, "g-1", D(2), D(2)), (3, "g-1", D(2), D(1))]
    again = returned_lines(_cheque(("g-1", "2")), after, {1: D(1), 3: D(1)})
    assert again.lines == (ReturnLineInput(1, D(1)), ReturnLineInput(3, D(1)))


@pytest.mark.parametrize(
    ("items", "code", "words"),
    [
        ((("g-1", "4"),), "RETURN_EXCEEDS_SALE", "осталось меньше"),  # 3 left
        ((("g-1", "2"), ("g-1", "2")), "RETURN_EXCEEDS_SALE", "Item 2"),
        ((("g-9", "1"),), "VALIDATION_ERROR", "нет товара g-9"),
        ((("g-1", "NaN"),), "VALIDATION_ERROR", "Item 1, Quantity: Ожидается число"),
        ((("g-1", "1e999999999"),), "VALIDATION_ERROR", "Item 1, Quantity"),
        ((("g-1", "-1"),), "VALIDATION_ERROR", "Количество — больше нуля"),
        ((("g-1", "0.0001"),), "VALIDATION_ERROR", "не более 3 знаков"),
    ],
)
def test_what_the_sale_cannot_give_back_is_refused(
    items: tuple[tuple[str, str], ...], code: str, words: str
) -> None:
    with pytest.raises(ConnectorError) as refused:
        returned_lines(_cheque(*items), SOLD)
    assert refused.value.code == code and words in refused.value.text, refused.value.text


def test_payment_ids_and_messages() -> None:
    assert [payment_kind(i) for i in ("Cash", " карта ", "СБП", "gift", "7", None)] == [
        "cash", "card", "sbp", "certificate", "other", "other",
    ]  # fmt: skip
    assert bonus_message(("Начислено", D("45.96")), ("Списано", D(0))) == "OK. Начислено: 45,96"
    assert bonus_message(("Списано", D("3")), ("Начислено", D("10.5"))) == (
        "OK. Списано: 3,00. Начислено: 10,50"
    )
    assert bonus_message(("Списано", D(0))) == "OK"


def test_a_comment_inside_a_value_does_not_cut_it() -> None:
    from mappings.manzana import text

    found = etree.fromstring(f'<C xmlns="{NS}"><Number>K<!-- x -->1</Number><POS> p1 </POS></C>')
    assert (text(found, "Number"), text(found, "POS"), text(found, "None")) == ("K1", "p1", None)
