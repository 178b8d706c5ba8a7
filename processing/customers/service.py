"""Registering and updating customers, consents, the change history and the questionnaire.

Every change of a field (registration included) writes a ``CustomerChange`` row: old → new,
source and author. Consents are fields too (``consent.processing``, ``consent.advertising``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Select, delete, func, or_, select
from sqlalchemy.orm import Session

from processing.customers.models import Customer, CustomerChange, QuestionnaireField
from processing.customers.phones import normalise_phone
from processing.errors import Conflict, InvalidInput, NotFound
from processing.tenants.models import Tenant
from processing.tenants.service import CustomerLimitReached, lock_tenant, refuse_over_limit
from processing.validation import email_address

NAME_FIELDS = ("last_name", "first_name", "middle_name")
STANDARD_FIELDS = (*NAME_FIELDS, "phone", "email", "birth_date", "gender")
# How the questionnaire's fields and the consents are named to Russian readers (forms, uploads).
FIELD_TITLES = {
    "last_name": "Фамилия",
    "first_name": "Имя",
    "middle_name": "Отчество",
    "phone": "Телефон",
    "email": "E-mail",
    "birth_date": "Дата рождения",
    "gender": "Пол",
}
CONSENT_TITLES = {
    "processing": "Согласие на обработку персональных данных",
    "advertising": "Согласие на рекламные рассылки",
}
SOURCES = ("pos", "1c", "admin", "import", "api", "cli", "system")
CONSENTS = ("processing", "advertising")
EXTRA_PREFIX = "extra."
MAX_EXTRA_TEXT = 500  # a tenant's own text field of the questionnaire


class CustomerNotFound(NotFound):
    code = "CUSTOMER_NOT_FOUND"
    message = "Покупатель не найден."


class PhoneTaken(Conflict):
    code = "PHONE_ALREADY_REGISTERED"
    message = "Этот номер телефона уже зарегистрирован у другого покупателя."


class EmailTaken(Conflict):
    code = "EMAIL_ALREADY_REGISTERED"
    message = "Этот e-mail уже зарегистрирован у другого покупателя."


class InvalidCustomerField(InvalidInput):
    code = "INVALID_CUSTOMER_FIELD"
    message = "Неверное значение поля анкеты покупателя."


def _bad(field: str, message: str) -> InvalidCustomerField:
    return InvalidCustomerField(message, details={"field": field})


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def clean_standard_value(field: str, value: Any) -> Any:
    """A standard questionnaire field's value as it is stored (``InvalidCustomerField``)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if field in NAME_FIELDS:
        if not isinstance(value, str) or len(value.strip()) > 100:
            raise _bad(field, "Имя, фамилия и отчество — строки не длиннее 100 символов.")
        return value.strip()
    if field == "phone":
        return normalise_phone(str(value))
    if field == "email":
        email = email_address(str(value))
        if email is None:
            raise _bad(field, f"«{value}» не похоже на адрес e-mail.")
        return email
    if field == "birth_date":
        return _parse_date(field, value)
    if field == "gender":
        if value not in ("male", "female"):
            raise _bad(field, "Пол: male или female.")
        return value
    raise _bad(field, f"Неизвестное поле анкеты «{field}».")


def _parse_date(field: str, value: Any) -> date:
    if isinstance(value, datetime):
        raise _bad(field, "Ожидается дата без времени (ГГГГ-ММ-ДД).")
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise _bad(field, "Ожидается дата в формате ГГГГ-ММ-ДД.") from exc


def clean_extra_value(definition: QuestionnaireField, value: Any) -> Any:
    field = EXTRA_PREFIX + definition.code
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if definition.kind == "string":
        text = str(value).strip()
        if len(text) > MAX_EXTRA_TEXT:
            raise _bad(field, f"Поле «{definition.label}»: не длиннее {MAX_EXTRA_TEXT} символов.")
        return text
    if definition.kind == "number":
        try:
            number = Decimal(str(value))
        except InvalidOperation as exc:
            raise _bad(field, f"Поле «{definition.label}»: ожидается число.") from exc
        if not number.is_finite() or isinstance(value, bool):
            raise _bad(field, f"Поле «{definition.label}»: ожидается число.")
        return str(number)
    if definition.kind == "date":
        return _parse_date(field, value).isoformat()
    if definition.kind == "boolean":
        if not isinstance(value, bool):
            raise _bad(field, f"Поле «{definition.label}»: ожидается да/нет (true/false).")
        return value
    if value not in definition.choices:
        raise _bad(field, f"Поле «{definition.label}»: допустимо {', '.join(definition.choices)}.")
    return value


def add_questionnaire_field(
    session: Session,
    tenant: Tenant,
    code: str,
    label: str,
    kind: str,
    choices: list[str] | None = None,
) -> QuestionnaireField:
    if kind not in ("string", "number", "date", "boolean", "choice"):
        raise InvalidInput("Тип поля: string, number, date, boolean или choice.")
    if code in STANDARD_FIELDS or not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", code):
        raise InvalidInput(f"Код поля «{code}» недопустим или совпадает со стандартным.")
    if kind == "choice" and not choices:
        raise InvalidInput("Для поля-списка укажите варианты.")
    definition = QuestionnaireField(
        tenant_id=tenant.id, code=code, label=label, kind=kind, choices=list(choices or [])
    )
    session.add(definition)
    session.flush()
    return definition


def extra_definitions(session: Session, tenant_id: int) -> dict[str, QuestionnaireField]:
    """The tenant's extra questionnaire fields by code."""
    rows = session.scalars(
        select(QuestionnaireField).where(QuestionnaireField.tenant_id == tenant_id)
    )
    return {row.code: row for row in rows}


def _check_source(source: str, author: str) -> None:
    if source not in SOURCES:
        raise InvalidInput(f"Неизвестный источник изменения «{source}».")
    if not author.strip():
        raise InvalidInput("Укажите автора изменения.")


def _refuse_taken(session: Session, customer: Customer, wanted: Mapping[str, str | None]) -> None:
    """Refuse a phone or e-mail another customer of the tenant has (one query for both). The
    session's other customers are flushed already: no autoflush of this one's pending fields."""
    asked = {field: value for field, value in wanted.items() if value is not None}
    if not asked:
        return
    columns = {"phone": Customer.phone, "email": Customer.email}
    with session.no_autoflush:
        rows = session.execute(
            select(Customer.phone, Customer.email).where(
                Customer.tenant_id == customer.tenant_id,
                Customer.id != customer.id,
                or_(*(columns[field] == value for field, value in asked.items())),
            )
        ).all()
    for field, value in asked.items():
        if any(getattr(row, field) == value for row in rows):
            raise (PhoneTaken if field == "phone" else EmailTaken)(details={field: value})


def _record(
    session: Session,
    customer: Customer,
    field: str,
    old: Any,
    new: Any,
    source: str,
    author: str,
    now: datetime,
) -> None:
    session.add(
        CustomerChange(
            customer_id=customer.id,
            field=field,
            old_value=_as_text(old),
            new_value=_as_text(new),
            source=source,
            author=author,
            changed_at=now,
        )
    )


def _apply(
    session: Session,
    customer: Customer,
    values: Mapping[str, Any],
    source: str,
    author: str,
    now: datetime,
) -> list[str]:
    definitions = extra_definitions(session, customer.tenant_id)
    extra = dict(customer.extra or {})
    updates: list[tuple[str, Any, Any]] = []  # field, old, new: every value cleaned first
    for field, raw in values.items():
        if field.startswith(EXTRA_PREFIX):
            definition = definitions.get(field.removeprefix(EXTRA_PREFIX))
            if definition is None:
                raise _bad(field, f"Неизвестное поле анкеты «{field}».")
            new = clean_extra_value(definition, raw)
            old = extra.get(definition.code)
            if new != old:
                extra[definition.code] = new
                updates.append((field, old, new))
            continue
        new = clean_standard_value(field, raw)
        old = getattr(customer, field)
        if new != old:
            updates.append((field, old, new))
    _refuse_taken(session, customer, {f: new for f, _, new in updates if f in ("phone", "email")})
    for field, old, new in updates:
        if not field.startswith(EXTRA_PREFIX):
            setattr(customer, field, new)
        _record(session, customer, field, old, new, source, author, now)
    customer.extra = extra
    return [field for field, _, _ in updates]


@dataclass
class CustomerRoom:
    """How many more customers the tenant's limit admits (None: no limit), counted once for a
    batch of registrations that holds the tenant's lock (``customer_room``)."""

    left: int | None


def _customer_count(tenant: Tenant) -> Select[int]:
    return select(func.count()).select_from(Customer).where(Customer.tenant_id == tenant.id)


def customer_room(session: Session, tenant: Tenant) -> CustomerRoom:
    """Lock the tenant and count its customers once, for a batch of registrations."""
    lock_tenant(session, tenant)
    if tenant.max_customers is None:
        return CustomerRoom(None)
    return CustomerRoom(
        max(0, tenant.max_customers - (session.scalar(_customer_count(tenant)) or 0))
    )


def register_customer(
    session: Session,
    tenant: Tenant,
    values: Mapping[str, Any],
    *,
    source: str,
    author: str,
    consents: Mapping[str, bool] | None = None,
    now: datetime | None = None,
    room: CustomerRoom | None = None,
) -> Customer:
    """Create a customer with questionnaire ``values`` (standard names and ``extra.<code>``).
    The tariff's customer limit is counted now, or taken from a batch's ``room``."""
    now = now or datetime.now(UTC)
    _check_source(source, author)
    if room is None:
        lock_tenant(session, tenant)
        refuse_over_limit(
            session, tenant.max_customers, _customer_count(tenant), CustomerLimitReached
        )
    elif room.left is not None:
        if room.left <= 0:
            raise CustomerLimitReached(details={"limit": tenant.max_customers})
        room.left -= 1
    customer = Customer(tenant_id=tenant.id, extra={}, created_at=now)
    session.add(customer)
    session.flush()
    _apply(session, customer, values, source, author, now)
    for kind, given in (consents or {}).items():
        set_consent(session, customer, kind, given, source=source, author=author, now=now)
    session.flush()
    return customer


def update_customer(
    session: Session,
    customer: Customer,
    values: Mapping[str, Any],
    *,
    source: str,
    author: str,
    now: datetime | None = None,
) -> list[str]:
    """Change the given fields; returns the names of the fields that really changed."""
    now = now or datetime.now(UTC)
    _check_source(source, author)
    changed = _apply(session, customer, values, source, author, now)
    session.flush()
    return changed


def set_consent(
    session: Session,
    customer: Customer,
    kind: str,
    given: bool,
    *,
    source: str,
    author: str,
    now: datetime | None = None,
) -> None:
    """Give or withdraw a consent; the timestamp and source are kept even when withdrawn."""
    now = now or datetime.now(UTC)
    _check_source(source, author)
    if kind not in CONSENTS:
        raise InvalidInput(f"Неизвестное согласие «{kind}»: processing или advertising.")
    old = getattr(customer, f"{kind}_consent")
    if old == given and getattr(customer, f"{kind}_consent_at") is not None:
        return
    setattr(customer, f"{kind}_consent", given)
    setattr(customer, f"{kind}_consent_at", now)
    setattr(customer, f"{kind}_consent_source", source)
    _record(session, customer, f"consent.{kind}", old, given, source, author, now)
    session.flush()


def missing_questionnaire_fields(tenant: Tenant, customer: Customer) -> list[str]:
    """Required fields still empty, plus ``consent.processing`` when it is not given."""
    return missing_fields(tenant.questionnaire_required, customer, customer.processing_consent)


def missing_fields(required: Sequence[str], customer: Any, consent: bool) -> list[str]:
    """``required`` fields (standard names or ``extra.<code>``) that ``customer`` leaves empty,
    plus ``consent.processing`` when it is not given."""
    missing = []
    for field in required:
        if field.startswith(EXTRA_PREFIX):
            value = (customer.extra or {}).get(field.removeprefix(EXTRA_PREFIX))
        else:
            value = getattr(customer, field, None)
        if value is None or value == "":
            missing.append(field)
    if not consent:
        missing.append("consent.processing")
    return missing


def masked_name(first_name: str | None, last_name: str | None) -> str | None:
    """The name a cashier may see: "Иван П."."""
    if not first_name:
        return None
    return f"{first_name} {last_name[0]}." if last_name else first_name


def loyalty_allowance(policy: str, missing: Sequence[str] | None) -> str:
    """What the customer may get: "full" once nothing of the questionnaire is ``missing``
    (``missing_fields``), the tenant's ``policy`` while it is unfilled ("nothing" or
    "accrual_only"). ``None``: no customer (an anonymous pre-printed card), unfilled too."""
    return "full" if missing is not None and not missing else policy


def accrues_outside_receipts(tenant: Tenant, customer: Customer) -> bool:
    """Whether bonus may be credited to ``customer`` outside a receipt (welcome, birthday, a
    mass accrual). Such a credit is addressed to a known person, so besides what the
    questionnaire policy allows (``loyalty_allowance``: not "nothing") it needs the processing
    consent under every policy, and an erased customer gets nothing."""
    if customer.anonymised_at is not None or not customer.processing_consent:
        return False
    missing = missing_questionnaire_fields(tenant, customer)
    return loyalty_allowance(tenant.questionnaire_policy, missing) != "nothing"


def get_customer(session: Session, tenant: Tenant, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None or customer.tenant_id != tenant.id:
        raise CustomerNotFound()
    return customer


def find_by_phone(session: Session, tenant: Tenant, phone: str) -> Customer | None:
    return session.scalar(
        select(Customer).where(
            Customer.tenant_id == tenant.id, Customer.phone == normalise_phone(phone)
        )
    )


def customer_history(session: Session, customer: Customer) -> list[CustomerChange]:
    return list(
        session.scalars(
            select(CustomerChange)
            .where(CustomerChange.customer_id == customer.id)
            .order_by(CustomerChange.id)
        )
    )


@dataclass(frozen=True)
class Anonymisation:
    """What ``anonymise_customer`` destroyed: the names of the fields that held a value, how
    many change-history rows went, and since when the customer is anonymous."""

    erased_fields: list[str]
    history_removed: int
    anonymised_at: datetime
    already_anonymised: bool


def _filled_fields(customer: Customer) -> list[str]:
    filled = [name for name in STANDARD_FIELDS if getattr(customer, name) is not None]
    filled += [
        EXTRA_PREFIX + code for code, value in (customer.extra or {}).items() if value is not None
    ]
    for kind in CONSENTS:
        if getattr(customer, f"{kind}_consent") or getattr(customer, f"{kind}_consent_at"):
            filled.append(f"consent.{kind}")
    return filled


def anonymise_customer(
    session: Session, customer: Customer, now: datetime | None = None
) -> Anonymisation:
    """152-FZ deletion: destroy personal data and its history; the ledger stays, anonymous.

    The questionnaire (standard and extra fields), both consents with their dates and sources,
    and every change-history row go; the customer row, its cards, accounts, postings and
    receipts stay under the same id. Repeating it is harmless (nothing left to erase)."""
    now = now or datetime.now(UTC)
    already = customer.anonymised_at is not None
    erased = _filled_fields(customer)
    for field in STANDARD_FIELDS:
        setattr(customer, field, None)
    customer.extra = {}
    for kind in CONSENTS:
        setattr(customer, f"{kind}_consent", False)
        setattr(customer, f"{kind}_consent_at", None)
        setattr(customer, f"{kind}_consent_source", None)
    if customer.anonymised_at is None:
        customer.anonymised_at = now
    removed = session.execute(
        delete(CustomerChange).where(CustomerChange.customer_id == customer.id)
    )
    session.flush()
    return Anonymisation(
        erased_fields=erased,
        history_removed=int(removed.rowcount),  # type: ignore[attr-defined]
        anonymised_at=customer.anonymised_at,
        already_anonymised=already,
    )
