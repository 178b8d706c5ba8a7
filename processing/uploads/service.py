"""The questionnaire upload: customers from an accountant's file, after a column mapping and a
check of every row, loaded as new customers or as changes of the customers their phones name.

The file format lives at the edge (``mappings/questionnaire_file.py`` reads it into a ``Table``
of strings); here are the targets a column may feed, the mapping, the row checks (the rules of
``processing.customers`` and ``processing.cards``, never restated) and the load. A row is
loaded in its own SAVEPOINT, so one that fails at load time leaves nothing half-written. Loading
the same file again changes nothing: only values that differ are written.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from processing.cards.models import Card
from processing.cards.service import (
    STATUS_TITLES,
    CardAlreadyPersonalised,
    CardNotFound,
    CardStatus,
    effective_status,
    issue_card,
    personalise,
)
from processing.customers.models import Customer, QuestionnaireField
from processing.customers.phones import normalise_phone
from processing.customers.questionnaire import extra_fields
from processing.customers.service import (
    CONSENT_TITLES,
    CONSENTS,
    EXTRA_PREFIX,
    FIELD_TITLES,
    STANDARD_FIELDS,
    CustomerRoom,
    EmailTaken,
    clean_extra_value,
    clean_standard_value,
    customer_room,
    register_customer,
    set_consent,
    update_customer,
)
from processing.db import where_in
from processing.errors import Conflict, ConnectorError, InvalidInput, NotFound
from processing.tenants.models import Tenant
from processing.uploads.models import (
    CANCELLED,
    CHECKED,
    CHECKING,
    LOADED,
    LOADING,
    UPLOADED,
    QuestionnaireUpload,
    QuestionnaireUploadError,
)

SOURCE = "import"  # the change-history source of every field an upload writes
PHONE = "phone"
CARD = "card_number"
CONSENT_PREFIX = "consent."
BATCH = 1000  # rows per transaction of the job, and per lookup query
MAX_CELL = 1000  # longer cells are refused without echoing them into the error report
YES = frozenset({"да", "д", "1", "+", "true", "yes", "y", "истина", "v", "✓"})
NO = frozenset({"нет", "н", "0", "-", "false", "no", "n", "ложь"})
GENDERS = {
    "male": {"м", "муж", "мужской", "мужчина", "male", "m"},
    "female": {"ж", "жен", "женский", "женщина", "female", "f"},
}
# Header names (normalised: lower case, letters and digits only) an accountant's file uses.
SYNONYMS: dict[str, set[str]] = {
    "phone": {"телефон", "тел", "номертелефона", "мобильныйтелефон", "мобильный", "phone",
              "телефонмобильный", "mobile", "сотовый"},
    "last_name": {"фамилия", "lastname", "surname", "familyname"},
    "first_name": {"имя", "firstname", "name", "givenname"},
    "middle_name": {"отчество", "middlename", "patronymic"},
    "birth_date": {"датарождения", "деньрождения", "др", "birthdate", "birthday",
                   "dateofbirth", "dob"},
    "gender": {"пол", "gender", "sex"},
    "email": {"email", "емейл", "емэйл", "электроннаяпочта", "почта", "mail",
              "адресэлектроннойпочты"},
    "card_number": {"номеркарты", "карта", "card", "cardnumber", "штрихкодкарты"},
    "consent.processing": {"согласиенаобработку", "согласиенаобработкуперсональныхданных",
                           "согласиеобработка", "согласиепдн", "согласие"},
    "consent.advertising": {"согласиенарассылку", "рассылка", "согласиенарекламу",
                            "согласиенаполучениерассылки", "рекламнаярассылка"},
}  # fmt: skip
# Then by a part of the name, in this order ("согласие на рассылку" before "согласие").
KEYWORDS: tuple[tuple[str, str], ...] = (
    ("рассылк", "consent.advertising"),
    ("реклам", "consent.advertising"),
    ("обработк", "consent.processing"),
    ("телефон", "phone"),
    ("phone", "phone"),
    ("фамил", "last_name"),
    ("отчеств", "middle_name"),
    ("рожд", "birth_date"),
    ("mail", "email"),
    ("почт", "email"),
    ("карт", "card_number"),
)


class UploadNotFound(NotFound):
    code = "UPLOAD_NOT_FOUND"
    message = "Загрузка анкет не найдена."


class UploadMappingInvalid(InvalidInput):
    code = "UPLOAD_MAPPING_INVALID"
    message = "Сопоставление столбцов неверно: укажите столбец с телефоном, каждое поле — один раз."


class UploadWrongStatus(Conflict):
    code = "UPLOAD_WRONG_STATUS"
    message = "Загрузка анкет уже в другом состоянии. Обновите страницу."


@dataclass(frozen=True)
class Table:
    """A file of questionnaires: the column names and the rows, every cell a string."""

    headers: list[str]
    rows: list[list[str]]
    header_row: int = 1  # the file's row number of the headers

    def row_number(self, index: int) -> int:
        return self.header_row + 1 + index


@dataclass(frozen=True)
class Target:
    """What a column may feed: a questionnaire field, the card number or a consent."""

    key: str
    title: str


def targets(session: Session, tenant: Tenant) -> list[Target]:
    """Every target of the tenant's questionnaire, in the order the mapping step shows them."""
    found = [Target(name, FIELD_TITLES[name]) for name in STANDARD_FIELDS]
    found.append(Target(CARD, "Номер карты"))
    found += [Target(CONSENT_PREFIX + kind, CONSENT_TITLES[kind]) for kind in CONSENTS]
    found += [Target(EXTRA_PREFIX + f.code, f.label) for f in extra_fields(session, tenant)]
    return found


def _normalised(name: str) -> str:
    return re.sub(r"[^0-9a-zа-я]", "", name.lower().replace("ё", "е"))


def suggest_mapping(headers: Sequence[str], found: Sequence[Target]) -> dict[int, str]:
    """A guess of each column's target from its name; each target at most once."""
    by_name: dict[str, str] = {}
    for target in found:
        by_name.setdefault(_normalised(target.title), target.key)
        if target.key.startswith(EXTRA_PREFIX):
            by_name.setdefault(_normalised(target.key.removeprefix(EXTRA_PREFIX)), target.key)
    for key, names in SYNONYMS.items():
        for name in names:
            by_name.setdefault(name, key)
    known = {target.key for target in found}
    mapping: dict[int, str] = {}
    for index, header in enumerate(headers):
        name = _normalised(header)
        guess = by_name.get(name) or next((k for part, k in KEYWORDS if part in name), None)
        if guess in known and guess not in mapping.values():
            mapping[index] = guess
    return mapping


def check_mapping(
    mapping: Mapping[int, str], headers: Sequence[str], found: Sequence[Target]
) -> None:
    """Refuse a mapping without a phone column, with a target twice, an unknown target or a
    column the file does not have (``UploadMappingInvalid``)."""
    known = {target.key: target.title for target in found}
    problems = []
    if PHONE not in mapping.values():
        problems.append("укажите столбец с телефоном")
    counts: dict[str, int] = defaultdict(int)
    for column, key in mapping.items():
        if not 0 <= column < len(headers):
            problems.append(f"в файле нет столбца №{column + 1}")
        if key not in known:
            problems.append(f"неизвестное поле «{key}»")
        counts[key] += 1
    problems += [f"поле «{known.get(k, k)}» выбрано для нескольких столбцов"
                 for k, n in counts.items() if n > 1]  # fmt: skip
    if problems:
        raise UploadMappingInvalid(
            "Сопоставление столбцов неверно: " + "; ".join(problems) + ".",
            details={"problems": problems},
        )


def create_upload(
    session: Session, tenant: Tenant, *, file_name: str, data: bytes, head: Table, author: str,
    now: datetime,
) -> QuestionnaireUpload:  # fmt: skip
    """Store a file whose ``head`` was read (so it is readable), with a suggested mapping."""
    upload = QuestionnaireUpload(
        tenant_id=tenant.id,
        author=author.strip()[:100] or "?",
        file_name=file_name[-255:],
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
        mapping=_stored(suggest_mapping(head.headers, targets(session, tenant))),
        status=UPLOADED,
        created_at=now,
    )
    session.add(upload)
    session.flush()
    return upload


def _stored(mapping: Mapping[int, str]) -> dict[str, Any]:
    return {str(column): key for column, key in sorted(mapping.items())}


def column_mapping(upload: QuestionnaireUpload) -> dict[int, str]:
    return {int(column): key for column, key in (upload.mapping or {}).items()}


def get_upload(session: Session, tenant: Tenant, upload_id: int) -> QuestionnaireUpload:
    upload = session.get(QuestionnaireUpload, upload_id)
    if upload is None or upload.tenant_id != tenant.id:
        raise UploadNotFound(details={"upload": upload_id})
    return upload


def _require(upload: QuestionnaireUpload, *statuses: str) -> None:
    if upload.status not in statuses:
        raise UploadWrongStatus(details={"status": upload.status})


def _reset(session: Session, upload: QuestionnaireUpload, status: str) -> None:
    upload.status = status
    upload.rows_done = upload.valid = upload.invalid = 0
    upload.created = upload.updated = upload.unchanged = 0
    upload.finished_at = None
    session.execute(
        delete(QuestionnaireUploadError).where(QuestionnaireUploadError.upload_id == upload.id)
    )
    session.flush()


def set_mapping(
    session: Session,
    upload: QuestionnaireUpload,
    mapping: Mapping[int, str],
    headers: Sequence[str],
) -> None:
    """Change the mapping before loading; an earlier check is forgotten."""
    _require(upload, UPLOADED, CHECKED)
    tenant = session.get_one(Tenant, upload.tenant_id)
    check_mapping(mapping, headers, targets(session, tenant))
    upload.mapping = _stored(mapping)
    _reset(session, upload, UPLOADED)


def begin_check(session: Session, upload: QuestionnaireUpload) -> None:
    _require(upload, UPLOADED, CHECKED)
    if PHONE not in column_mapping(upload).values():
        raise UploadMappingInvalid("Укажите, в каком столбце телефон.")
    _reset(session, upload, CHECKING)


def begin_load(session: Session, upload: QuestionnaireUpload) -> None:
    """Load the valid rows (checked again as they load)."""
    _require(upload, CHECKED)
    _reset(session, upload, LOADING)


def cancel(session: Session, upload: QuestionnaireUpload, now: datetime) -> None:
    """«Не загружать ничего»: no customer is written; a running check stops at its next batch."""
    _require(upload, UPLOADED, CHECKING, CHECKED)
    upload.status = CANCELLED
    upload.finished_at = now
    session.flush()


def errors_page(
    session: Session, upload: QuestionnaireUpload, offset: int, limit: int
) -> list[QuestionnaireUploadError]:
    return list(
        session.scalars(
            select(QuestionnaireUploadError)
            .where(QuestionnaireUploadError.upload_id == upload.id)
            .order_by(QuestionnaireUploadError.row_number)
            .offset(max(offset, 0))
            .limit(max(min(limit, 1000), 0))
        )
    )


def error_rows(
    session: Session, upload: QuestionnaireUpload, table: Table
) -> Iterator[tuple[list[str], str]]:
    """The invalid rows as they are in the file, each with its message, in file order."""
    found = session.execute(
        select(QuestionnaireUploadError.row_number, QuestionnaireUploadError.message).where(
            QuestionnaireUploadError.upload_id == upload.id
        )
    )
    messages = {number: message for number, message in found}
    for index, row in enumerate(table.rows):
        message = messages.get(table.row_number(index))
        if message is not None:
            yield row, message


# --- rows -------------------------------------------------------------------------------------


@dataclass
class RowPlan:
    """What a row asks for, its values cleaned by the questionnaire rules."""

    number: int
    phone: str | None = None
    values: dict[str, Any] = field(default_factory=dict)  # standard names and extra.<code>
    consents: dict[str, bool] = field(default_factory=dict)
    card: str | None = None
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Rows:
    """A file under a mapping, ready to be checked or loaded batch by batch."""

    table: Table
    mapping: dict[int, str]
    definitions: dict[str, QuestionnaireField]
    repeats: dict[int, list[str]]  # row index -> "repeats row N" messages

    @classmethod
    def of(cls, session: Session, upload: QuestionnaireUpload, table: Table) -> Rows:
        mapping = {c: k for c, k in column_mapping(upload).items() if c < len(table.headers)}
        tenant = session.get_one(Tenant, upload.tenant_id)
        definitions = {f.code: f for f in extra_fields(session, tenant)}
        return cls(table, mapping, definitions, _repeats(table, mapping))


def _cell(row: Sequence[str], column: int) -> str:
    # NUL cannot be stored in PostgreSQL text; no questionnaire value needs it
    return row[column].replace("\x00", "").strip() if column < len(row) else ""


def _blank(row: Sequence[str]) -> bool:
    return not any(cell.strip() for cell in row)


def _key_of(target: str, text: str) -> str | None:
    text = text.strip()
    if not text or len(text) > MAX_CELL:
        return None
    try:
        value = clean_standard_value(target, text) if target != CARD else _card_number(text)
    except ConnectorError:
        return None
    return str(value) if value else None


def _repeats(table: Table, mapping: Mapping[int, str]) -> dict[int, list[str]]:
    """Phones, e-mails and card numbers met earlier in the file: the later rows are refused."""
    unique = {"phone": "Телефон", "email": "E-mail", CARD: "Номер карты"}
    columns = [(c, k) for c, k in mapping.items() if k in unique]
    first: dict[tuple[str, str], int] = {}
    found: dict[int, list[str]] = defaultdict(list)
    for index, row in enumerate(table.rows):
        for column, target in columns:
            key = _key_of(target, _cell(row, column))
            if key is None:
                continue
            earlier = first.setdefault((target, key), index)
            if earlier != index:
                found[index].append(
                    f"{unique[target]} {key} уже есть в строке {table.row_number(earlier)} файла"
                )
    return dict(found)


def _card_number(text: str) -> str:
    return re.sub(r"\s", "", text)


def _consent(text: str) -> bool | None:
    word = text.strip().lower()
    if not word:
        return None
    if word in YES:
        return True
    if word in NO:
        return False
    raise InvalidInput(f"«{text}»: укажите да или нет (1/0, +/-).")


_DOTTED_DATE = re.compile(r"(\d{1,2})[./](\d{1,2})[./](\d{4})")


def _date(text: str) -> Any:
    match = _DOTTED_DATE.fullmatch(text.strip())
    if match is None:
        return text  # ISO (ГГГГ-ММ-ДД) is read by the questionnaire rules themselves
    day, month, year = (int(part) for part in match.groups())
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise InvalidInput(f"«{text}»: такой даты нет.") from exc


def _gender(text: str) -> str:
    word = text.strip().lower().rstrip(".")
    for gender, words in GENDERS.items():
        if word in words:
            return gender
    raise InvalidInput(f"«{text}»: укажите пол «м» или «ж».")


def _extra(definition: QuestionnaireField, text: str) -> Any:
    if definition.kind == "boolean":
        return _consent(text)
    if definition.kind == "date":
        return _date(text)
    if definition.kind == "number":
        compact = re.sub(r"\s", "", text)
        return (
            compact.replace(",", ".") if compact.count(",") == 1 and "." not in compact else compact
        )
    return text


def _standard(target: str, text: str) -> Any:
    if target == "birth_date":
        return _date(text)
    if target == "gender":
        return _gender(text)
    return text


def parse_row(rows: Rows, index: int) -> RowPlan:
    """A row's values, checked by the questionnaire rules alone (no database)."""
    table = rows.table
    row = table.rows[index]
    plan = RowPlan(table.row_number(index))
    for column, target in rows.mapping.items():
        text = _cell(row, column)
        header = table.headers[column] or f"Столбец {column + 1}"
        if not text:
            continue
        if len(text) > MAX_CELL:
            plan.errors.append(f"{header}: значение длиннее {MAX_CELL} символов")
            continue
        try:
            _take(rows, plan, target, text)
        except ConnectorError as exc:
            plan.errors.append(f"{header}: {exc.text.rstrip('.')}")
    phone_columns = [c for c, k in rows.mapping.items() if k == PHONE]
    if phone_columns and not _cell(row, phone_columns[0]):
        header = table.headers[phone_columns[0]] or "Телефон"
        plan.errors.append(f"{header}: не заполнен, без телефона анкету не загрузить")
    plan.errors += rows.repeats.get(index, [])
    return plan


def _take(rows: Rows, plan: RowPlan, target: str, text: str) -> None:
    if target == PHONE:
        plan.phone = normalise_phone(text)
        plan.values[PHONE] = plan.phone
    elif target == CARD:
        plan.card = _card_number(text)
    elif target.startswith(CONSENT_PREFIX):
        given = _consent(text)
        if given is not None:
            plan.consents[target.removeprefix(CONSENT_PREFIX)] = given
    elif target.startswith(EXTRA_PREFIX):
        definition = rows.definitions.get(target.removeprefix(EXTRA_PREFIX))
        if definition is None:
            raise InvalidInput("такого поля анкеты больше нет")
        value = clean_extra_value(definition, _extra(definition, text))
        if value is not None:
            plan.values[target] = value
    else:
        value = clean_standard_value(target, _standard(target, text))
        if value is not None:
            plan.values[target] = value


@dataclass
class Found:
    """What the database holds for the phones, e-mails and cards of a batch."""

    by_phone: dict[str, Customer]
    email_owner: dict[str, int]
    cards: dict[str, Card]


def _lookup(session: Session, tenant_id: int, plans: Sequence[RowPlan]) -> Found:
    phones = [p.phone for p in plans if p.phone]
    emails = [p.values["email"] for p in plans if "email" in p.values]
    numbers = [p.card for p in plans if p.card]
    found = Found({}, {}, {})
    for condition in where_in(session, Customer.phone, phones):
        for customer in session.scalars(
            select(Customer).where(Customer.tenant_id == tenant_id, condition)
        ):
            found.by_phone[customer.phone or ""] = customer
    for condition in where_in(session, Customer.email, emails):
        for customer_id, email in session.execute(
            select(Customer.id, Customer.email).where(Customer.tenant_id == tenant_id, condition)
        ):
            found.email_owner[email or ""] = customer_id
    for condition in where_in(session, Card.number, numbers):
        for card in session.scalars(select(Card).where(Card.tenant_id == tenant_id, condition)):
            found.cards[card.number] = card
    return found


def _check_against(plan: RowPlan, found: Found, now: datetime) -> None:
    """The rules that need the tenant's data: e-mail and card of another customer, the card's
    existence and status."""
    customer = found.by_phone.get(plan.phone or "")
    owner_id = customer.id if customer is not None else None
    email = plan.values.get("email")
    if email is not None and found.email_owner.get(email, owner_id) != owner_id:
        plan.errors.append(f"E-mail: {EmailTaken.message.rstrip('.')}")
    if plan.card is None:
        return
    card = found.cards.get(plan.card)
    if card is None:
        plan.errors.append(f"Номер карты {plan.card}: {CardNotFound.message.rstrip('.').lower()}")
        return
    status = effective_status(card, now)
    if status not in (CardStatus.NEW, CardStatus.ACTIVE):
        plan.errors.append(
            f"Карта {plan.card} в статусе «{STATUS_TITLES[status]}»: привязать её нельзя"
        )
    elif card.customer_id is not None and card.customer_id != owner_id:
        plan.errors.append(f"Карта {plan.card}: {CardAlreadyPersonalised.message.rstrip('.')}")


def _batch(
    session: Session, upload: QuestionnaireUpload, rows: Rows, now: datetime
) -> tuple[list[int], list[RowPlan], Found]:
    start = upload.rows_done
    indexes = [
        i for i in range(start, min(start + BATCH, len(rows.table.rows)))
        if not _blank(rows.table.rows[i])
    ]  # fmt: skip
    plans = [parse_row(rows, i) for i in indexes]
    found = _lookup(session, upload.tenant_id, [p for p in plans if not p.errors])
    for plan in plans:
        if not plan.errors:
            _check_against(plan, found, now)
    return indexes, plans, found


def _message(errors: Sequence[str]) -> str:
    return "; ".join(errors).replace("\x00", "") + "."


def _record_errors(session: Session, upload: QuestionnaireUpload, plans: Sequence[RowPlan]) -> None:
    bad = [
        {"upload_id": upload.id, "row_number": p.number, "message": _message(p.errors)}
        for p in plans if p.errors
    ]  # fmt: skip
    if bad:
        session.execute(insert(QuestionnaireUploadError), bad)
    upload.invalid += len(bad)


def _advance(upload: QuestionnaireUpload, rows: Rows, now: datetime, final: str) -> bool:
    upload.rows_total = len(rows.table.rows)
    upload.rows_done = min(upload.rows_done + BATCH, upload.rows_total)
    if upload.rows_done < upload.rows_total:
        return True
    upload.status = final
    upload.finished_at = now
    return False


def check_rows(session: Session, upload: QuestionnaireUpload, rows: Rows, now: datetime) -> bool:
    """Check the next batch of rows (from ``rows_done``); False once the file is checked."""
    _indexes, plans, _found = _batch(session, upload, rows, now)
    _record_errors(session, upload, plans)
    upload.valid += sum(1 for p in plans if not p.errors)
    more = _advance(upload, rows, now, CHECKED)
    session.flush()
    return more


def load_rows(session: Session, upload: QuestionnaireUpload, rows: Rows, now: datetime) -> bool:
    """Check and load the next batch of rows; False once the whole file is done."""
    _indexes, plans, found = _batch(session, upload, rows, now)
    tenant = session.get_one(Tenant, upload.tenant_id)
    room = customer_room(session, tenant)  # the tariff's limit, counted once per batch
    for plan in plans:
        if plan.errors:
            continue
        try:
            with session.begin_nested():
                outcome = _load_row(session, tenant, upload.author, plan, found, now, room)
        except ConnectorError as exc:
            plan.errors.append(exc.text.rstrip("."))
            continue
        except IntegrityError:
            plan.errors.append(
                "Данные покупателя изменились во время загрузки; загрузите файл ещё раз"
            )
            continue
        setattr(upload, outcome, getattr(upload, outcome) + 1)
    _record_errors(session, upload, plans)
    upload.valid += sum(1 for p in plans if not p.errors)
    more = _advance(upload, rows, now, LOADED)
    session.flush()
    return more


def _differs(customer: Customer, key: str, value: Any) -> bool:
    if key.startswith(EXTRA_PREFIX):
        return bool((customer.extra or {}).get(key.removeprefix(EXTRA_PREFIX)) != value)
    return bool(getattr(customer, key) != value)


def _load_row(
    session: Session,
    tenant: Tenant,
    author: str,
    plan: RowPlan,
    found: Found,
    now: datetime,
    room: CustomerRoom,
) -> str:
    """Write one valid row; answers which counter it adds to: created, updated or unchanged."""
    customer = found.by_phone.get(plan.phone or "")
    if customer is None:
        customer = register_customer(
            session, tenant, plan.values, source=SOURCE, author=author, consents=plan.consents,
            now=now, room=room,
        )  # fmt: skip
        found.by_phone[customer.phone or ""] = customer
        _bind_card(session, plan, customer, found, author, now)
        return "created"
    changed = False
    changes = {k: v for k, v in plan.values.items() if _differs(customer, k, v)}
    if changes:
        changed = bool(
            update_customer(session, customer, changes, source=SOURCE, author=author, now=now)
        )
    for kind, given in plan.consents.items():
        if (
            getattr(customer, f"{kind}_consent") != given
            or getattr(customer, f"{kind}_consent_at") is None
        ):
            set_consent(session, customer, kind, given, source=SOURCE, author=author, now=now)
            changed = True
    changed = _bind_card(session, plan, customer, found, author, now) or changed
    return "updated" if changed else "unchanged"


def _bind_card(
    session: Session, plan: RowPlan, customer: Customer, found: Found, author: str, now: datetime
) -> bool:
    """Give the row's card to the customer: an unused card is issued, an anonymous one in use is
    personalised; a card the customer already holds changes nothing."""
    card = found.cards.get(plan.card or "")
    if card is None or card.customer_id == customer.id:
        return False
    if card.status == CardStatus.NEW:
        issue_card(session, session.get_one(Tenant, customer.tenant_id), card.number, customer,
                   author=author, now=now)  # fmt: skip
    else:
        personalise(session, card, customer, author=author, now=now)
    return True
