from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from processing.customers.models import Customer
from processing.customers.phones import normalise_phone
from processing.customers.service import (
    add_questionnaire_field,
    anonymise_customer,
    customer_history,
    find_by_phone,
    loyalty_allowance,
    missing_questionnaire_fields,
    register_customer,
    set_consent,
    update_customer,
)
from processing.errors import ConnectorError
from processing.tenants.service import set_questionnaire_rules
from tests import factories
from tests.factories import T0


@pytest.mark.parametrize(
    "raw",
    ["+7 916 123-45-67", "8 (916) 123-45-67", "89161234567", "79161234567", "9161234567",
     "+7(916)1234567", " 8-916-123-45-67 "],
)  # fmt: skip
def test_phones_normalise_to_plus_seven(raw: str) -> None:
    assert normalise_phone(raw) == "+79161234567"


@pytest.mark.parametrize(
    "raw", ["", "12345", "+1 212 555 0101", "+7 916 123 45 6", "8916123456789", "8916abc4567"]
)
def test_bad_phones_are_refused(raw: str) -> None:
    with pytest.raises(ConnectorError) as error:
        normalise_phone(raw)
    assert error.value.code == "INVALID_PHONE"


def test_duplicate_phone_and_email_per_tenant_are_refused(session: Session) -> None:
    tenant = factories.tenant(session)
    factories.customer(session, tenant, "8 916 123 45 67", email="Ivan@Example.ru")
    with pytest.raises(ConnectorError) as error:
        factories.customer(session, tenant, "+79161234567")
    assert error.value.code == "PHONE_ALREADY_REGISTERED"
    with pytest.raises(ConnectorError) as error:
        factories.customer(session, tenant, "+79160000000", email="ivan@example.ru")
    assert error.value.code == "EMAIL_ALREADY_REGISTERED"
    other = factories.tenant(session, "other")
    assert factories.customer(session, other, "+79161234567").phone == "+79161234567"
    second = factories.customer(session, tenant, "+79160000002")
    with pytest.raises(ConnectorError) as error:  # a free phone, a taken e-mail: nothing changes
        update_customer(session, second, {"phone": "+79160000003", "email": "IVAN@example.ru"},
                        source="admin", author="t")  # fmt: skip
    assert error.value.code == "EMAIL_ALREADY_REGISTERED" and second.phone == "+79160000002"
    first = session.scalars(
        select(Customer).where(Customer.tenant_id == tenant.id, Customer.phone == "+79161234567")
    ).one()
    assert update_customer(session, first, {"phone": "8 916 123-45-67", "email": "ivan@example.ru"},
                           source="admin", author="t") == []  # fmt: skip


def test_registration_and_every_change_write_history(session: Session) -> None:
    tenant = factories.tenant(session)
    customer = factories.customer(session, tenant, birth_date="1990-02-03")
    assert customer.birth_date == date(1990, 2, 3)
    created = {(c.field, c.old_value, c.new_value) for c in customer_history(session, customer)}
    assert created == {
        ("first_name", None, "Иван"),
        ("last_name", None, "Петров"),
        ("phone", None, "+79161234567"),
        ("birth_date", None, "1990-02-03"),
        ("consent.processing", "false", "true"),
    }
    later = T0 + timedelta(days=1)
    changed = update_customer(
        session,
        customer,
        {"first_name": "Иван", "phone": "8 903 000 11 22", "email": "i@p.ru"},
        source="pos",
        author="cashier-7",
        now=later,
    )
    assert changed == ["phone", "email"]
    last = customer_history(session, customer)[-2:]
    assert [(c.field, c.old_value, c.new_value, c.source, c.author) for c in last] == [
        ("phone", "+79161234567", "+79030001122", "pos", "cashier-7"),
        ("email", None, "i@p.ru", "pos", "cashier-7"),
    ]
    assert last[0].changed_at == later


def test_consents_are_separate_with_timestamp_and_source(session: Session) -> None:
    tenant = factories.tenant(session)
    customer = factories.customer(session, tenant)
    assert customer.processing_consent and not customer.advertising_consent
    later = T0 + timedelta(hours=3)
    set_consent(session, customer, "advertising", True, source="1c", author="admin", now=later)
    assert customer.advertising_consent_at == later
    assert customer.advertising_consent_source == "1c"
    set_consent(session, customer, "processing", False, source="api", author="site", now=later)
    assert not customer.processing_consent and customer.processing_consent_at == later
    fields = [c.field for c in customer_history(session, customer)]
    assert fields.count("consent.advertising") == 1 and fields.count("consent.processing") == 2
    with pytest.raises(ConnectorError):
        set_consent(session, customer, "sms", True, source="api", author="x")


def test_questionnaire_policy_nothing_accrual_only_full(session: Session) -> None:
    tenant = factories.tenant(session)
    add_questionnaire_field(session, tenant, "pet", "Домашний питомец", "choice", ["кот", "пёс"])
    set_questionnaire_rules(session, tenant, "nothing", ["birth_date", "extra.pet"])
    customer = register_customer(
        session, tenant, {"phone": "+79160000001"}, source="pos", author="c1", now=T0
    )
    assert missing_questionnaire_fields(tenant, customer) == [
        "birth_date",
        "extra.pet",
        "consent.processing",
    ]

    def allowance(customer: Customer | None) -> str:
        missing = missing_questionnaire_fields(tenant, customer) if customer else None
        return loyalty_allowance(tenant.questionnaire_policy, missing)

    assert allowance(customer) == "nothing"
    set_questionnaire_rules(session, tenant, "accrual_only", ["birth_date", "extra.pet"])
    assert allowance(customer) == "accrual_only"
    assert allowance(None) == "accrual_only"
    update_customer(
        session, customer, {"birth_date": "1985-01-01", "extra.pet": "кот"},
        source="admin", author="a",
    )  # fmt: skip
    assert allowance(customer) == "accrual_only"  # consent still missing
    set_consent(session, customer, "processing", True, source="admin", author="a")
    assert allowance(customer) == "full"


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"birth_date": "31.12.1990"}, "birth_date"),
        ({"gender": "other"}, "gender"),
        ({"extra.pet": "хомяк"}, "extra.pet"),
        ({"extra.unknown": "x"}, "extra.unknown"),
        ({"nickname": "x"}, "nickname"),
    ],
)
def test_bad_fields_are_refused_and_nothing_changes(
    session: Session, values: dict[str, str], field: str
) -> None:
    tenant = factories.tenant(session)
    add_questionnaire_field(session, tenant, "pet", "Питомец", "choice", ["кот"])
    customer = factories.customer(session, tenant)
    before = len(customer_history(session, customer))
    with pytest.raises(ConnectorError) as error:
        update_customer(session, customer, values, source="admin", author="a")
    assert error.value.details["field"] == field
    assert len(customer_history(session, customer)) == before


def test_find_by_phone_in_any_format(session: Session) -> None:
    tenant = factories.tenant(session)
    customer = factories.customer(session, tenant)
    assert find_by_phone(session, tenant, "8 (916) 123-45-67") is customer
    assert find_by_phone(session, factories.tenant(session, "b"), "89161234567") is None


def test_anonymise_destroys_personal_data_and_history(session: Session) -> None:
    tenant = factories.tenant(session)
    customer = factories.customer(session, tenant, email="a@b.ru")
    anonymise_customer(session, customer, now=T0)
    assert (customer.phone, customer.email, customer.first_name) == (None, None, None)
    assert customer.anonymised_at == T0
    assert customer_history(session, customer) == []
