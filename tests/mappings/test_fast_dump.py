"""The compiled dump of response schemas gives exactly marshmallow's output."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import marshmallow
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mappings import pos as wire
from mappings.fields import Schema, _dumper

decimals = st.decimals(min_value=Decimal("-99999"), max_value=Decimal("99999"), places=3,
                       allow_nan=False, allow_infinity=False)  # fmt: skip
money = st.one_of(
    st.decimals(min_value=-(10**7), max_value=10**7, places=2, allow_nan=False),
    st.decimals(min_value=-(10**7), max_value=10**7, places=4, allow_nan=False),
    st.integers(min_value=-(10**6), max_value=10**6),
)
maybe_text = st.one_of(st.none(), st.text(max_size=8))
explanation = st.fixed_dictionaries({"rule": st.text(max_size=5), "amount": money,
                                     "text": st.text(max_size=10)})  # fmt: skip
part = st.fixed_dictionaries({"qty": decimals.filter(lambda d: d > 0), "price": money,
                              "sum": money})  # fmt: skip
line = st.fixed_dictionaries(
    {"line": st.integers(1, 999), "qty": decimals, "sum": money, "discount": money,
     "bonus_payment": money, "final_sum": money, "accrual": money,
     "parts": st.lists(part, max_size=2), "price_difference": money,
     "explanation": st.lists(explanation, max_size=2)},
    optional={"unknown": st.text(max_size=3)},
)  # fmt: skip
totals = st.fixed_dictionaries({k: money for k in ("sum", "discount", "bonus_payment",
                                                   "final_sum", "accrual")})  # fmt: skip
receipt_body = st.fixed_dictionaries(
    {"transaction_id": st.text(max_size=8), "kind": st.sampled_from(["sale", "return"]),
     "status": st.text(max_size=5), "replay": st.booleans(), "shift": st.text(max_size=3),
     "number": st.text(max_size=5),
     "sold_at": st.datetimes(timezones=st.just(UTC)), "level": maybe_text,
     "lines": st.lists(line, max_size=3), "totals": totals, "clawback_shortfall": money,
     "notes": st.lists(st.text(max_size=5), max_size=2)},
    optional={"extra": st.integers()},
)  # fmt: skip
level = st.one_of(st.none(), st.fixed_dictionaries(
    {"code": st.text(max_size=4), "name": st.text(max_size=4), "discount_percent": money,
     "manual": st.booleans(), "next_code": maybe_text, "next_name": maybe_text,
     "needed": st.one_of(st.none(), money)}))  # fmt: skip
calculation_body = st.fixed_dictionaries(
    {"calculation_id": st.text(max_size=8), "card_number": maybe_text, "level": level,
     "lines": st.lists(line, max_size=3), "totals": totals, "max_bonus_payment": money,
     "write_off_refusal": maybe_text, "cashier_messages": st.lists(st.text(max_size=4)),
     "customer_messages": st.lists(st.text(max_size=4))},
)  # fmt: skip


def _marshmallow_dump(schema: Schema, body: Any) -> Any:
    return marshmallow.Schema.dump(schema, body)


@pytest.mark.parametrize("schema", [wire.ReceiptOut, wire.CalculationOut, wire.IdentifyOut])
def test_answers_of_the_hot_paths_are_compiled(schema: type[Schema]) -> None:
    assert _dumper(schema) is not None


@settings(max_examples=200, deadline=None)
@given(body=receipt_body)
def test_receipt_answer_is_marshmallows(body: dict[str, Any]) -> None:
    schema = wire.ReceiptOut()
    assert schema.dump(body) == _marshmallow_dump(schema, body)


@settings(max_examples=200, deadline=None)
@given(body=calculation_body)
def test_calculation_answer_is_marshmallows(body: dict[str, Any]) -> None:
    schema = wire.CalculationOut()
    assert schema.dump(body) == _marshmallow_dump(schema, body)


def test_missing_keys_stay_missing_and_objects_are_read_by_attribute() -> None:
    class Obj:
        sum = Decimal("1.005")
        discount = None

    schema = wire.TotalsOut()
    assert schema.dump(Obj()) == _marshmallow_dump(schema, Obj()) == {
        "sum": Decimal("1.01"), "discount": None,
    }  # fmt: skip
    assert schema.dump({}) == {}


def test_schemas_it_does_not_know_fall_back_to_marshmallow() -> None:
    class Hooked(Schema):
        at = marshmallow.fields.DateTime(format="%d.%m.%Y")

    assert _dumper(Hooked) is None
    moment = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert Hooked().dump({"at": moment}) == {"at": "23.11.2026"}
