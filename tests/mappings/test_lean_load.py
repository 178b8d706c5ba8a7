"""The lean receipt loader answers exactly as marshmallow, or leaves the body to it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import marshmallow
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import EXCLUDE, RAISE, ValidationError

from mappings.lean import load_receipt
from mappings.pos import ReceiptSchema

any_junk = st.one_of(
    st.none(), st.booleans(), st.floats(allow_nan=True), st.lists(st.integers(), max_size=1),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=1),
)  # fmt: skip
texts = st.one_of(st.text(max_size=70), st.just(""), st.text(min_size=250, max_size=260), any_junk)
moneyish = st.one_of(
    st.decimals(min_value=0, max_value=10**6, places=2),
    st.decimals(min_value=-5, max_value=5, places=3),
    st.integers(min_value=-3, max_value=10**9),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.sampled_from(["1.00", "abc"]),
    st.sampled_from([Decimal("1E+40"), 10**31, Decimal("1" * 30 + ".001")]),  # beyond 28 digits
    any_junk,
)
quantities = st.one_of(
    st.decimals(min_value=0, max_value=10**6, places=3),
    st.decimals(min_value=0, max_value=2, places=4),
    st.integers(min_value=-2, max_value=200_000),
    any_junk,
)
valid_line = st.fixed_dictionaries(
    {"goods": st.text(min_size=1, max_size=64), "qty": st.decimals(min_value="0.001",
     max_value=1000, places=3), "price": st.decimals(min_value=0, max_value=10**5, places=2),
     "sum": st.decimals(min_value=0, max_value=10**5, places=2)},
    optional={"line": st.integers(1, 9999), "no_discount": st.booleans(),
              "barcode": st.text(max_size=64), "seller": st.text(max_size=64),
              "final_sum": st.integers(0, 10**5)},
)  # fmt: skip


def _unique_numbers(lines: list[dict[str, Any]]) -> bool:
    numbers = [line["line"] for line in lines if line.get("line")]
    return len(numbers) == len(set(numbers))


any_line = st.one_of(
    valid_line,
    st.fixed_dictionaries(
        {},
        optional={"goods": texts, "qty": quantities, "price": moneyish, "sum": moneyish,
                  "line": st.one_of(st.integers(-1, 10_001), any_junk),
                  "no_discount": st.one_of(st.booleans(), any_junk), "barcode": texts,
                  "seller": texts, "final_sum": moneyish, "groups": st.just(["g"]),
                  "unknown": st.integers()},
    ),
    any_junk,
)  # fmt: skip
valid_body = st.fixed_dictionaries(
    {"cashier": st.text(min_size=1, max_size=64), "number": st.text(min_size=1, max_size=64),
     "lines": st.lists(valid_line, min_size=1, max_size=4)},
    optional={"card_number": st.text(min_size=1, max_size=64), "shift": st.text(max_size=32),
              "pay_bonus": st.decimals(min_value=0, max_value=10**4, places=2),
              "sold_at": st.just("2026-05-01T12:00:00"), "pos": st.just("pos-1"),
              "transaction_id": st.text(min_size=1, max_size=64), "coupons": st.just([]),
              "cashier_name": st.text(max_size=255)},
).filter(lambda body: _unique_numbers(body["lines"]))  # fmt: skip
any_body = st.one_of(
    valid_body,
    st.fixed_dictionaries(
        {},
        optional={"cashier": texts, "number": texts, "shift": texts, "card_number": texts,
                  "card_track": texts, "card_nfc": texts, "phone": texts,
                  "cashier_name": texts, "sold_at": st.one_of(texts, st.just("2026-13-01")),
                  "transaction_id": texts, "currency": st.sampled_from(["RUB", "USD", None]),
                  "store": texts, "pos": texts, "pay_bonus": moneyish,
                  "coupons": st.sampled_from([[], ["c-1"], None, "x"]),
                  "certificates": st.sampled_from([[], ["s"]]),
                  "payments": st.sampled_from([[], [{"type": "cash", "sum": 1}]]),
                  "calculation_id": texts, "lines": st.one_of(st.lists(any_line, max_size=3),
                                                              any_junk),
                  "something_else": st.integers()},
    ),
    any_junk,
)  # fmt: skip


def _marshmallow(body: Any, unknown: str) -> Any:
    try:
        return marshmallow.Schema.load(ReceiptSchema(), body, unknown=unknown)  # type: ignore[arg-type]
    except ValidationError:
        return None


@settings(max_examples=600, deadline=None)
@given(body=any_body)
def test_lean_answers_only_what_marshmallow_loads_and_loads_it_the_same(body: Any) -> None:
    for unknown in (EXCLUDE, RAISE):
        lean = load_receipt(body, unknown_allowed=unknown == EXCLUDE)
        if lean is not None:
            assert lean == _marshmallow(body, unknown)


@settings(max_examples=200, deadline=None)
@given(body=valid_body)
def test_lean_answers_the_common_shape(body: dict[str, Any]) -> None:
    lean = load_receipt(body, unknown_allowed=True)
    assert lean is not None
    assert lean == _marshmallow(body, EXCLUDE)


def test_schema_load_goes_through_the_lean_loader_and_keeps_marshmallow_errors() -> None:
    body = {"cashier": "c-1", "number": "7", "pay_bonus": Decimal("10.00"),
            "lines": [{"goods": "g", "qty": Decimal("0.347"), "price": 459,
                       "sum": Decimal("159.27")}]}  # fmt: skip
    assert load_receipt(body, unknown_allowed=True) is not None
    assert ReceiptSchema().load(body, unknown=EXCLUDE) == _marshmallow(body, EXCLUDE)
    bad = {**body, "pay_bonus": Decimal("10.001")}
    assert load_receipt(bad, unknown_allowed=True) is None
    try:
        ReceiptSchema().load(bad, unknown=EXCLUDE)
    except ValidationError as error:
        assert "pay_bonus" in error.messages
    else:
        raise AssertionError("a fraction of a kopeck must be refused")
