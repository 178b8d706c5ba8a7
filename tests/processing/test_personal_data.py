"""152-FZ in the domain: the personal-data access log and erasure (anonymisation)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from processing.customers.access import (
    Accessor,
    Action,
    Channel,
    read_access_log,
    record_access,
)
from processing.customers.erasure import ErasureNotConfirmed, erase_customer, require_confirmation
from processing.customers.models import Customer, PersonalDataAccess
from processing.customers.service import (
    add_questionnaire_field,
    anonymise_customer,
    customer_history,
    find_by_phone,
    update_customer,
)
from processing.ledger.models import Account
from processing.ledger.service import PostingKind, balance, credit, open_account
from tests import factories
from tests.factories import T0


def test_access_log_reads_back_by_tenant_customer_and_time(session: Session) -> None:
    acme, other = factories.tenant(session), factories.tenant(session, "other")
    first = factories.customer(session, acme)
    second = factories.customer(session, acme, phone="+79031112233")
    stranger = factories.customer(session, other)
    record_access(
        session, Accessor("pos:s1/p1", Channel.API, "req-1"), tenant_id=acme.id,
        customer_id=first.id, action=Action.READ, fields=["phone", "phone", "email"], now=T0,
    )  # fmt: skip
    record_access(
        session, Accessor("cli", Channel.CLI), tenant_id=acme.id, customer_id=second.id,
        action=Action.UPDATE, fields=["email"], now=T0 + timedelta(hours=1),
    )  # fmt: skip
    record_access(
        session, Accessor("cli", Channel.CLI), tenant_id=other.id, customer_id=stranger.id,
        action=Action.READ, now=T0,
    )  # fmt: skip

    newest, oldest = read_access_log(session, tenant_id=acme.id)
    assert (newest.customer_id, newest.action, newest.channel) == (second.id, "update", "cli")
    assert (oldest.actor, oldest.fields, oldest.request_id) == (
        "pos:s1/p1", ["phone", "email"], "req-1",
    )  # fmt: skip
    assert oldest.at == T0
    [only] = read_access_log(session, tenant_id=acme.id, customer_id=first.id)
    assert only.id == oldest.id
    [later] = read_access_log(session, tenant_id=acme.id, since=T0 + timedelta(minutes=1))
    assert later.id == newest.id
    [paged] = read_access_log(session, tenant_id=acme.id, limit=1, offset=1)
    assert paged.id == oldest.id


def test_anonymise_reports_what_it_destroyed_and_keeps_the_ledger(session: Session) -> None:
    tenant = factories.tenant(session)
    add_questionnaire_field(session, tenant, "pet", "Питомец", "string")
    customer = factories.customer(
        session, tenant, email="ivan@example.ru", birth_date="1990-02-03", **{"extra.pet": "кот"}
    )
    update_customer(session, customer, {"middle_name": "Сергеевич"}, source="1c", author="op")
    history_rows = len(customer_history(session, customer))
    account = open_account(session, tenant.id, customer.id)
    credit(session, account.id, Decimal("250.00"), PostingKind.OPENING, now=T0)

    result = anonymise_customer(session, customer, now=T0 + timedelta(days=1))

    assert result.erased_fields == [
        "last_name", "first_name", "middle_name", "phone", "email", "birth_date",
        "extra.pet", "consent.processing",
    ]  # fmt: skip
    assert result.history_removed == history_rows > 0
    assert (result.anonymised_at, result.already_anonymised) == (T0 + timedelta(days=1), False)
    session.expire_all()
    stored = session.get_one(Customer, customer.id)
    assert all(
        getattr(stored, name) is None
        for name in (
            "last_name", "first_name", "middle_name", "phone", "email", "birth_date", "gender",
            "processing_consent_at", "processing_consent_source", "advertising_consent_at",
            "advertising_consent_source",
        )
    )  # fmt: skip
    assert stored.extra == {} and stored.processing_consent is False
    assert customer_history(session, stored) == []
    assert find_by_phone(session, tenant, "+79161234567") is None
    # The ledger stays, on the same (now anonymous) customer.
    assert session.get_one(Account, account.id).customer_id == customer.id
    assert balance(session, account.id, T0 + timedelta(days=2)).total == Decimal("250.00")

    again = anonymise_customer(session, stored, now=T0 + timedelta(days=5))
    assert (again.erased_fields, again.history_removed, again.already_anonymised) == ([], 0, True)
    assert again.anonymised_at == T0 + timedelta(days=1)


def test_erasure_logs_field_names_never_values(session: Session) -> None:
    tenant = factories.tenant(session)
    customer = factories.customer(session, tenant, email="ivan@example.ru")
    erase_customer(session, customer, actor="admin-token:Поддержка", channel=Channel.API, now=T0)
    row = session.scalars(select(PersonalDataAccess)).one()
    assert (row.action, row.actor, row.channel, row.customer_id) == (
        "erase", "admin-token:Поддержка", "api", customer.id,
    )  # fmt: skip
    assert row.fields == ["last_name", "first_name", "phone", "email", "consent.processing"]
    stored = " ".join(str(value) for value in vars(row).values())
    for value in ("Иван", "Петров", "9161234567", "ivan@example.ru"):
        assert value not in stored


@pytest.mark.parametrize(
    ("customer_id", "confirm"),
    [(7, None), (7, ""), (7, 0), (7, "abc"), (7, [7]), (7, 8), (7, "8"), (1, True), (7, 7.0)],
)
def test_erasure_refuses_without_the_id_repeated(customer_id: int, confirm: object) -> None:
    with pytest.raises(ErasureNotConfirmed) as raised:
        require_confirmation(Customer(id=customer_id, tenant_id=1), confirm)
    assert f"({customer_id})" in raised.value.text


@pytest.mark.parametrize("confirm", [7, "7", " 7 "])
def test_erasure_accepts_the_id_as_number_or_digits(confirm: object) -> None:
    require_confirmation(Customer(id=7, tenant_id=1), confirm)
