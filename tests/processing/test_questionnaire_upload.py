"""The questionnaire upload's domain: mapping, row checks, load, re-upload, cancel."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from processing.cards.models import Card, CardStatusChange
from processing.cards.service import CardStatus, add_template, block, generate_cards, issue_card
from processing.customers.models import Customer, CustomerChange
from processing.customers.questionnaire import add_extra_field
from processing.tenants.models import Tenant
from processing.uploads.models import QuestionnaireUpload
from processing.uploads.service import (
    Rows,
    Table,
    UploadMappingInvalid,
    UploadNotFound,
    UploadWrongStatus,
    begin_check,
    begin_load,
    cancel,
    check_mapping,
    check_rows,
    create_upload,
    errors_page,
    get_upload,
    load_rows,
    set_mapping,
    suggest_mapping,
    targets,
)
from tests import factories
from tests.factories import T0

HEADERS = ["Телефон", "Фамилия", "Имя", "Дата рождения", "E-mail", "Номер карты",
           "Согласие на обработку", "Согласие на рассылку", "Любимый цвет"]  # fmt: skip


def _cards(session: Session, tenant: Tenant, count: int = 5) -> list[Card]:
    template = add_template(session, tenant, code="main", name="Основная", card_type="5%",
                            prefix="2775", number_length=13)  # fmt: skip
    return generate_cards(session, template, count, author="admin", now=T0)


def _upload(session: Session, tenant: Tenant, table: Table) -> QuestionnaireUpload:
    return create_upload(session, tenant, file_name="анкеты.csv", data=b"file", head=table,
                         author="Бухгалтер", now=T0)  # fmt: skip


def _run(session: Session, upload: QuestionnaireUpload, table: Table, load: bool) -> None:
    if load:
        begin_load(session, upload)
    else:
        begin_check(session, upload)
    rows = Rows.of(session, upload, table)
    step = load_rows if load else check_rows
    while step(session, upload, rows, T0):
        pass


def _check_and_load(session: Session, tenant: Tenant, table: Table) -> QuestionnaireUpload:
    upload = _upload(session, tenant, table)
    _run(session, upload, table, load=False)
    _run(session, upload, table, load=True)
    return upload


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def tenant(session: Session) -> Tenant:
    owner = factories.tenant(session)
    add_extra_field(session, owner, "color", "Любимый цвет", "choice", ["красный", "синий"])
    return owner


def test_mapping_is_guessed_from_russian_and_english_headers(
    session: Session, tenant: Tenant
) -> None:
    found = targets(session, tenant)
    headers = [*HEADERS, "Отчество", "Пол", "Примечание", "phone"]
    assert suggest_mapping(headers, found) == {
        0: "phone", 1: "last_name", 2: "first_name", 3: "birth_date", 4: "email",
        5: "card_number", 6: "consent.processing", 7: "consent.advertising",
        8: "extra.color", 9: "middle_name", 10: "gender",
    }  # fmt: skip
    titles = {t.key: t.title for t in found}
    assert titles["consent.advertising"] == "Согласие на рекламные рассылки"
    assert titles["extra.color"] == "Любимый цвет"


def test_mapping_needs_a_phone_and_each_target_once(session: Session, tenant: Tenant) -> None:
    found = targets(session, tenant)
    with pytest.raises(UploadMappingInvalid, match="телефон"):
        check_mapping({1: "last_name"}, HEADERS, found)
    with pytest.raises(UploadMappingInvalid, match="нескольких") as caught:
        check_mapping({0: "phone", 1: "last_name", 2: "last_name"}, HEADERS, found)
    assert caught.value.code == "UPLOAD_MAPPING_INVALID"
    with pytest.raises(UploadMappingInvalid):
        check_mapping({0: "phone", 99: "email"}, HEADERS, found)
    check_mapping({0: "phone", 8: "extra.color"}, HEADERS, found)


def test_check_reports_every_bad_row_in_russian(session: Session, tenant: Tenant) -> None:
    cards = _cards(session, tenant)
    factories.customer(session, tenant, phone="+79160000001", email="taken@example.ru")
    block_me = cards[2]
    factories.customer(session, tenant, phone="+79160000002")
    other = session.scalars(select(Customer).where(Customer.phone == "+79160000002")).one()
    issue_card(session, tenant, cards[3].number, other, author="admin", now=T0)
    issue_card(session, tenant, block_me.number, other, author="admin", now=T0)
    block(session, block_me, reason="утеряна", author="admin", now=T0)
    rows = [
        ["8 (916) 111-11-11", "Иванов", "Иван", "01.02.1990", "", cards[0].number, "да", "нет",
         "синий"],  # ok
        ["12345", "", "", "", "", "", "", "", ""],  # bad phone
        ["", "Петров", "", "", "", "", "", "", ""],  # no phone
        ["+79161111111", "", "", "", "", "", "", "", ""],  # repeats row 2
        ["9162222222", "", "", "31.02.1990", "not-mail", "", "может", "", "зелёный"],
        ["9163333333", "", "", "", "taken@example.ru", "2775999", "", "", ""],
        ["9164444444", "", "", "", "", cards[3].number, "", "", ""],  # another's card
        ["9165555555", "", "", "", "", block_me.number, "", "", ""],  # blocked
        ["", "", "", "", "", "", "", "", ""],  # blank: skipped
    ]  # fmt: skip
    table = Table(HEADERS, rows)
    upload = _upload(session, tenant, table)
    _run(session, upload, table, load=False)
    assert (upload.status, upload.valid, upload.invalid) == ("checked", 1, 7)
    assert upload.rows_total == upload.rows_done == 9
    messages = {e.row_number: e.message for e in errors_page(session, upload, 0, 100)}
    assert sorted(messages) == [3, 4, 5, 6, 7, 8, 9]
    assert "Неверный номер телефона" in messages[3]
    assert "не заполнен" in messages[4]
    assert "+79161111111 уже есть в строке 2" in messages[5]
    assert "такой даты нет" in messages[6] and "e-mail" in messages[6]
    assert "да или нет" in messages[6] and "Любимый цвет" in messages[6]
    assert "E-mail: Этот e-mail уже зарегистрирован" in messages[7]
    assert "карта не найдена" in messages[7]
    assert "привязана к другому покупателю" in messages[8]
    assert "Заблокирована" in messages[9]
    assert [e.row_number for e in errors_page(session, upload, 2, 2)] == [5, 6]
    assert _count(session, Customer) == 2  # the check writes no customer


def test_load_creates_and_updates_with_history_and_cards(session: Session, tenant: Tenant) -> None:
    cards = _cards(session, tenant)
    known = factories.customer(session, tenant, phone="+79160000001", middle_name="Иванович")
    rows = [
        ["+7 916 000-00-01", "Сидоров", "", "", "k@example.ru", cards[0].number, "", "да", ""],
        ["89161234000", "Новикова", "Анна", "1990-02-01", "", cards[1].number, "1", "", "красный"],
        ["9161234001", "", "", "", "", "", "", "", ""],
    ]  # fmt: skip
    table = Table(HEADERS, rows)
    upload = _check_and_load(session, tenant, table)
    assert (upload.status, upload.created, upload.updated, upload.unchanged) == (
        "loaded", 2, 1, 0)  # fmt: skip
    assert upload.invalid == 0 and upload.finished_at == T0
    session.refresh(known)
    # Only the filled cells change; the first name and the middle name stay.
    assert (known.last_name, known.first_name, known.middle_name, known.email) == (
        "Сидоров", "Иван", "Иванович", "k@example.ru")  # fmt: skip
    assert known.advertising_consent and known.advertising_consent_source == "import"
    history = session.scalars(
        select(CustomerChange).where(CustomerChange.customer_id == known.id,
                                     CustomerChange.source == "import")
    ).all()  # fmt: skip
    assert {c.field for c in history} == {"last_name", "email", "consent.advertising"}
    assert {c.author for c in history} == {"Бухгалтер"}
    anna = session.scalars(select(Customer).where(Customer.phone == "+79161234000")).one()
    assert (anna.first_name, anna.birth_date, anna.extra) == (
        "Анна", date(1990, 2, 1), {"color": "красный"})  # fmt: skip
    assert anna.processing_consent and anna.processing_consent_at == T0
    assert not anna.advertising_consent
    for card, owner in ((cards[0], known), (cards[1], anna)):
        session.refresh(card)
        assert (card.customer_id, card.status) == (owner.id, CardStatus.ACTIVE)


def test_the_same_file_loaded_again_changes_nothing(session: Session, tenant: Tenant) -> None:
    cards = _cards(session, tenant)
    factories.customer(session, tenant, phone="+79160000001")
    rows = [
        ["+79160000001", "Сидоров", "", "02.03.1985", "K@Example.ru", cards[0].number, "да", "нет",
         "синий"],
        ["9161234000", "Новикова", "Анна", "", "", "", "нет", "+", ""],
    ]  # fmt: skip
    table = Table(HEADERS, rows)
    _check_and_load(session, tenant, table)
    before = (_count(session, Customer), _count(session, CustomerChange),
              _count(session, CardStatusChange))  # fmt: skip
    again = _check_and_load(session, tenant, table)
    assert (again.created, again.updated, again.unchanged, again.invalid) == (0, 0, 2, 0)
    assert (_count(session, Customer), _count(session, CustomerChange),
            _count(session, CardStatusChange)) == before  # fmt: skip


def test_a_row_failing_at_load_time_leaves_nothing_half_written(
    session: Session, tenant: Tenant
) -> None:
    cards = _cards(session, tenant)
    rows = [
        ["9161234000", "Первый", "", "", "", cards[0].number, "", "", ""],
        ["9161234001", "Второй", "", "", "", cards[1].number, "", "", ""],
    ]  # fmt: skip
    table = Table(HEADERS, rows)
    upload = _upload(session, tenant, table)
    _run(session, upload, table, load=False)
    tenant.max_customers = 1  # the tariff changes between the check and the load
    session.flush()
    _run(session, upload, table, load=True)
    assert (upload.created, upload.invalid) == (1, 1)
    assert _count(session, Customer) == 1
    second = session.get_one(Card, cards[1].id)
    assert (second.customer_id, second.status) == (None, CardStatus.NEW)
    [error] = errors_page(session, upload, 0, 10)
    assert error.row_number == 3 and "лимит покупателей" in error.message


def test_cancel_writes_nothing_and_mapping_is_then_locked(session: Session, tenant: Tenant) -> None:
    table = Table(HEADERS, [["9161234000", "Первый", "", "", "", "", "", "", ""]])
    upload = _upload(session, tenant, table)
    _run(session, upload, table, load=False)
    cancel(session, upload, T0)
    assert upload.status == "cancelled" and _count(session, Customer) == 0
    with pytest.raises(UploadWrongStatus):
        begin_load(session, upload)
    with pytest.raises(UploadWrongStatus):
        set_mapping(session, upload, {0: "phone"}, HEADERS)


def test_set_mapping_resets_the_check(session: Session, tenant: Tenant) -> None:
    table = Table(HEADERS, [["9161234000", "x" * 101, "", "", "", "", "", "", ""]])
    upload = _upload(session, tenant, table)
    _run(session, upload, table, load=False)
    assert upload.invalid == 1
    set_mapping(session, upload, {0: "phone"}, HEADERS)
    assert (upload.status, upload.invalid, errors_page(session, upload, 0, 10)) == (
        "uploaded", 0, [])  # fmt: skip
    _run(session, upload, table, load=False)
    assert (upload.valid, upload.invalid) == (1, 0)


def test_an_upload_of_another_tenant_is_not_found(session: Session, tenant: Tenant) -> None:
    upload = _upload(session, tenant, Table(HEADERS, []))
    other = factories.tenant(session, "other")
    assert get_upload(session, tenant, upload.id) is upload
    with pytest.raises(UploadNotFound):
        get_upload(session, other, upload.id)


CELL = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", "да", "нет", "+7916", "8 916 123-45-67", "31.02.2000", "01.01.1990",
                     "a@b.ru", "2775000000012", "синий", "\x00", "=1+1", " " * 3]),
    st.text(min_size=1001, max_size=1100),
)  # fmt: skip
ROW = st.lists(CELL, min_size=0, max_size=12)


SLOW_FIXTURES = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


@settings(max_examples=40, deadline=None, suppress_health_check=SLOW_FIXTURES)
@given(rows=st.lists(ROW, max_size=8))
def test_malformed_rows_never_break_the_check_and_cancel_writes_nothing(
    session: Session, tenant: Tenant, rows: list[list[str]]
) -> None:
    fitted = [(row + [""] * len(HEADERS))[: len(HEADERS)] for row in rows]
    table = Table(HEADERS, fitted)
    with session.begin_nested() as savepoint:
        customers = _count(session, Customer)
        upload = _upload(session, tenant, table)
        _run(session, upload, table, load=False)
        assert upload.valid + upload.invalid <= len(rows)
        assert upload.rows_done == len(rows)
        cancel(session, upload, T0)
        assert _count(session, Customer) == customers
        savepoint.rollback()
