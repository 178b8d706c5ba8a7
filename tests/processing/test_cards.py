from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal
from itertools import product

import pytest
from sqlalchemy.orm import Session

from processing.cards.models import Card
from processing.cards.numbers import ean13_digit, has_valid_check_digit, luhn_digit
from processing.cards.service import (
    TRANSITIONS,
    CardStatus,
    activate_on_first_use,
    add_template,
    attach_to_account,
    card_for_phone,
    card_history,
    change_status,
    customer_account,
    existing_virtual_card,
    find_card,
    generate_cards,
    issue_card,
    personalise,
    replace_card,
    require_active,
    template_for_number,
    virtual_card,
)
from processing.errors import ConnectorError
from processing.ledger.models import Account
from processing.ledger.service import PostingKind, balance, credit, debit
from processing.tenants.models import Tenant
from tests import factories
from tests.factories import T0


def test_known_check_digits() -> None:
    assert luhn_digit("7992739871") == "3"  # the textbook Luhn example 79927398713
    assert ean13_digit("400638133393") == "1"  # EAN-13 4006381333931
    assert has_valid_check_digit("79927398713", "luhn")
    assert not has_valid_check_digit("79927398714", "luhn")
    assert has_valid_check_digit("4006381333931", "ean13")


def _template(session: Session, tenant: Tenant, **overrides: object) -> object:
    values: dict[str, object] = {
        "code": "t5",
        "name": "Карта 5%",
        "card_type": "5%",
        "prefix": "2775",
        "number_length": 13,
        "check_digit": "ean13",
        "range_start": 1,
        "range_end": 1000,
    }
    values.update(overrides)
    return add_template(session, tenant, **values)  # type: ignore[arg-type]


def test_generated_cards_carry_valid_check_digits(session: Session) -> None:
    tenant = factories.tenant(session)
    template = _template(session, tenant)
    cards = generate_cards(session, template, 25, author="admin", now=T0)  # type: ignore[arg-type]
    assert len({card.number for card in cards}) == 25
    for card in cards:
        assert card.number.startswith("2775") and len(card.number) == 13
        assert has_valid_check_digit(card.number, "ean13")
        assert card.status == CardStatus.NEW
    assert cards[0].number == "277500000001" + ean13_digit("277500000001")
    more = generate_cards(session, template, 5, author="admin", now=T0)  # type: ignore[arg-type]
    assert more[0].number[4:12] == "00000026"


def test_wrong_check_digit_and_unknown_series_are_refused(session: Session) -> None:
    tenant = factories.tenant(session)
    _template(session, tenant)
    good = "277500000042" + ean13_digit("277500000042")
    assert template_for_number(session, tenant.id, good).code == "t5"
    wrong = good[:-1] + str((int(good[-1]) + 1) % 10)
    for number in (wrong, "1234567890128", "2775000"):
        with pytest.raises(ConnectorError) as error:
            template_for_number(session, tenant.id, number)
        assert error.value.code == "CARD_NUMBER_INVALID"
    customer = factories.customer(session, tenant)
    with pytest.raises(ConnectorError) as error:
        issue_card(session, tenant, wrong, customer, author="a", now=T0)
    assert error.value.code == "CARD_NUMBER_INVALID"


def test_range_is_enforced(session: Session) -> None:
    tenant = factories.tenant(session)
    template = _template(session, tenant, range_end=3)
    generate_cards(session, template, 3, author="a", now=T0)  # type: ignore[arg-type]
    with pytest.raises(ConnectorError) as error:
        generate_cards(session, template, 1, author="a", now=T0)  # type: ignore[arg-type]
    assert error.value.code == "CARD_RANGE_EXHAUSTED"


ALL = list(CardStatus)


@pytest.mark.parametrize(("old", "new"), list(product(ALL, ALL)))
def test_every_status_transition(session: Session, old: CardStatus, new: CardStatus) -> None:
    tenant = factories.tenant(session)
    card = Card(tenant_id=tenant.id, number="1", status=old, is_virtual=False)
    session.add(card)
    session.flush()
    if (old, new) in TRANSITIONS:
        change_status(session, card, new, reason="тест", author="a", now=T0)
        assert card.status == new
        history = card_history(session, card)
        assert [(h.old_status, h.new_status, h.author) for h in history] == [(old, new, "a")]
    else:
        with pytest.raises(ConnectorError) as error:
            change_status(session, card, new, reason="тест", author="a", now=T0)
        assert error.value.code == "CARD_STATUS_TRANSITION_REFUSED"
        assert card.status == old and card_history(session, card) == []


def test_only_active_cards_accrue_and_pay(session: Session) -> None:
    tenant = factories.tenant(session)
    card = Card(tenant_id=tenant.id, number="1", status=CardStatus.ACTIVE, is_virtual=False)
    require_active(card, T0)
    card.valid_until = T0
    with pytest.raises(ConnectorError) as error:
        require_active(card, T0)
    assert error.value.code == "CARD_NOT_ACTIVE"
    for status, code in [
        (CardStatus.BLOCKED, "CARD_BLOCKED"),
        (CardStatus.NEW, "CARD_NOT_ACTIVE"),
        (CardStatus.CLOSED, "CARD_NOT_ACTIVE"),
        (CardStatus.FINISHED, "CARD_NOT_ACTIVE"),
    ]:
        card.status, card.valid_until = status, None
        with pytest.raises(ConnectorError) as error:
            require_active(card, T0)
        assert error.value.code == code


def _number(serial: int) -> str:
    body = f"2775{serial:08d}"
    return body + ean13_digit(body)


def test_issue_activates_on_the_customers_account(session: Session) -> None:
    tenant = factories.tenant(session)
    _template(session, tenant, validity_days=730)
    customer = factories.customer(session, tenant)
    first = issue_card(session, tenant, _number(1), customer, author="a", now=T0)
    second = issue_card(session, tenant, _number(2), customer, author="a", now=T0)
    assert first.status == second.status == CardStatus.ACTIVE
    assert first.account_id == second.account_id == customer_account(session, customer).id  # type: ignore[union-attr]
    assert first.valid_until == T0 + timedelta(days=730)
    with pytest.raises(ConnectorError) as error:
        issue_card(session, tenant, _number(1), customer, author="a", now=T0)
    assert error.value.code == "CARD_EXISTS"


def test_pre_printed_card_activates_on_first_use_and_is_personalised_later(
    session: Session,
) -> None:
    tenant = factories.tenant(session)
    template = _template(session, tenant)
    [card] = generate_cards(session, template, 1, author="a", now=T0)  # type: ignore[arg-type]
    activate_on_first_use(session, card, now=T0)
    assert card.status == CardStatus.ACTIVE and card.customer_id is None
    assert card.account_id is not None
    credit(session, card.account_id, Decimal("40.00"), PostingKind.ACCRUAL, now=T0)

    customer = factories.customer(session, tenant)
    own = issue_card(session, tenant, _number(500), customer, author="a", now=T0)
    assert own.account_id is not None
    credit(session, own.account_id, Decimal("60.00"), PostingKind.ACCRUAL, now=T0)
    personalise(session, card, customer, author="admin", now=T0)
    # The anonymous card's bonus moved to the customer's account, which the card now uses.
    assert card.customer_id == customer.id and card.account_id == own.account_id
    assert balance(session, own.account_id, T0).active == Decimal("100.00")
    other = factories.customer(session, tenant, "+79035550000")
    with pytest.raises(ConnectorError) as error:
        personalise(session, card, other, author="admin", now=T0)
    assert error.value.code == "CARD_ALREADY_PERSONALISED"


def test_replacement_moves_balance_and_history(session: Session) -> None:
    tenant = factories.tenant(session)
    _template(session, tenant)
    customer = factories.customer(session, tenant)
    old = issue_card(session, tenant, _number(10), customer, author="a", now=T0)
    assert old.account_id is not None
    credit(session, old.account_id, Decimal("250.00"), PostingKind.ACCRUAL, now=T0)
    debit(session, old.account_id, Decimal("50.00"), PostingKind.WRITE_OFF, now=T0)

    new = replace_card(session, old, _number(11), reason="утеряна", author="admin", now=T0)
    assert old.status == CardStatus.CLOSED and old.replaced_by_id == new.id
    assert new.status == CardStatus.ACTIVE and new.customer_id == customer.id
    assert new.account_id == old.account_id
    assert balance(session, new.account_id, T0).active == Decimal("200.00")  # type: ignore[arg-type]
    assert card_history(session, old)[-1].reason == "замена: утеряна"
    assert find_card(session, tenant.id, _number(11)) is new
    with pytest.raises(ConnectorError) as error:
        replace_card(session, old, _number(12), reason="x", author="a", now=T0)
    assert error.value.code == "CARD_STATUS_TRANSITION_REFUSED"
    with pytest.raises(ConnectorError) as error:
        replace_card(session, new, _number(10), reason="x", author="a", now=T0)
    assert error.value.code == "CARD_EXISTS"


def test_family_cards_share_one_account(session: Session) -> None:
    tenant = factories.tenant(session)
    _template(session, tenant)
    parent = factories.customer(session, tenant)
    child = factories.customer(session, tenant, "+79035550000")
    master = issue_card(session, tenant, _number(1), parent, author="a", now=T0)
    family = issue_card(session, tenant, _number(2), child, author="a", now=T0)
    assert master.account_id is not None and family.account_id is not None
    credit(session, family.account_id, Decimal("30.00"), PostingKind.ACCRUAL, now=T0)
    attach_to_account(
        session, family, session.get_one(Account, master.account_id), author="a", now=T0
    )
    credit(session, master.account_id, Decimal("70.00"), PostingKind.ACCRUAL, now=T0)
    assert family.account_id == master.account_id
    assert balance(session, master.account_id, T0).active == Decimal("100.00")
    debit(session, family.account_id, Decimal("100.00"), PostingKind.WRITE_OFF, now=T0)
    assert balance(session, master.account_id, T0).total == Decimal("0.00")


def test_virtual_card_per_customer_usable_by_phone(session: Session) -> None:
    tenant = factories.tenant(session)
    customer = factories.customer(session, tenant)
    # A read never writes: an unsaved stand-in with the customer's (here: no) account.
    seen = card_for_phone(session, tenant, "8 916 123-45-67", author="pos", now=T0, create=False)
    assert (seen.id, seen.number, seen.customer_id) == (None, "", customer.id)
    assert seen not in session and existing_virtual_card(session, customer) is None
    card = card_for_phone(session, tenant, "8 916 123-45-67", author="pos", now=T0, create=True)
    assert card.customer_id == customer.id
    assert card.is_virtual and card.status == CardStatus.ACTIVE
    assert has_valid_check_digit(card.number, "luhn") and card.number.startswith("99")
    assert virtual_card(session, customer, author="pos", now=T0) is card
    assert card.account_id == customer_account(session, customer).id  # type: ignore[union-attr]
    again = card_for_phone(session, tenant, "+79161234567", author="pos", now=T0, create=False)
    assert again is card
    with pytest.raises(ConnectorError) as error:
        card_for_phone(session, tenant, "+79990000000", author="pos", now=T0, create=False)
    assert error.value.code == "CARD_NOT_FOUND"


def test_virtual_card_numbers_are_random_not_sequential(session: Session) -> None:
    tenant = factories.tenant(session)
    numbers = [
        virtual_card(
            session, factories.customer(session, tenant, phone=f"+7916000{i:04d}"),
            author="t", now=T0,
        ).number
        for i in range(8)
    ]  # fmt: skip
    serials = sorted(int(number[2:12]) for number in numbers)
    assert len(set(numbers)) == 8
    assert all(has_valid_check_digit(number, "luhn") for number in numbers)
    assert any(b - a > 1000 for a, b in itertools.pairwise(serials))  # not a counter
