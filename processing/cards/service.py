"""Card templates and numbers, status transitions, issue, activation, personalisation,
replacement, shared accounts and virtual cards."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from processing.cards.models import Card, CardStatusChange, CardTemplate
from processing.cards.numbers import CHECK_DIGITS, build_number, has_valid_check_digit, luhn_digit
from processing.customers.models import Customer
from processing.customers.service import find_by_phone
from processing.db import lock_rows
from processing.errors import Conflict, InvalidInput, NotFound, Refused
from processing.ledger.models import Account
from processing.ledger.service import open_account, transfer_all
from processing.programs.models import Program
from processing.programs.rules import SLOTS
from processing.tenants.models import Tenant
from processing.tenants.service import CodeExists, check_code

MAX_BATCH = 100_000
MAX_VALIDITY_DAYS = 36_600  # a hundred years
MAX_SERIAL_DIGITS = 18  # serials are stored as BIGINT
VIRTUAL_PREFIX = "99"  # virtual cards: "99" + 10 random digits + Luhn digit
VIRTUAL_SERIAL_DIGITS = 10


class CardStatus(StrEnum):
    NEW = "new"
    ACTIVE = "active"
    BLOCKED = "blocked"
    CLOSED = "closed"
    FINISHED = "finished"


STATUS_TITLES = {
    CardStatus.NEW: "Новая",
    CardStatus.ACTIVE: "Активна",
    CardStatus.BLOCKED: "Заблокирована",
    CardStatus.CLOSED: "Закрыта",
    CardStatus.FINISHED: "Завершена",
}

TRANSITIONS = frozenset(
    {
        (CardStatus.NEW, CardStatus.ACTIVE),  # activation or issue
        (CardStatus.NEW, CardStatus.CLOSED),  # a blank card lost, spoiled or withdrawn
        (CardStatus.ACTIVE, CardStatus.BLOCKED),
        (CardStatus.BLOCKED, CardStatus.ACTIVE),
        (CardStatus.ACTIVE, CardStatus.CLOSED),  # lost or replaced
        (CardStatus.BLOCKED, CardStatus.CLOSED),
        (CardStatus.ACTIVE, CardStatus.FINISHED),  # program or validity ended
        (CardStatus.BLOCKED, CardStatus.FINISHED),
    }
)


class CardNotFound(NotFound):
    code = "CARD_NOT_FOUND"
    message = "Карта не найдена."


class CardNumberInvalid(InvalidInput):
    code = "CARD_NUMBER_INVALID"
    message = "Неверный номер карты: проверьте цифры (не сходится контрольная цифра или серия)."


class CardExists(Conflict):
    code = "CARD_EXISTS"
    message = "Карта с таким номером уже есть."


class CardTransitionRefused(Refused):
    code = "CARD_STATUS_TRANSITION_REFUSED"
    message = "Такая смена статуса карты невозможна."


class CardBlocked(Refused):
    code = "CARD_BLOCKED"
    message = "Карта заблокирована. Начисление и оплата бонусами недоступны."


class CardNotActive(Refused):
    code = "CARD_NOT_ACTIVE"
    message = "Карта не активна: начисление и оплата бонусами недоступны."


class CardAlreadyPersonalised(Conflict):
    code = "CARD_ALREADY_PERSONALISED"
    message = "Карта уже привязана к другому покупателю."


class CardRangeExhausted(Refused):
    code = "CARD_RANGE_EXHAUSTED"
    message = "В серии карт не осталось свободных номеров."


def add_template(
    session: Session,
    tenant: Tenant,
    *,
    code: str,
    name: str,
    card_type: str,
    prefix: str,
    number_length: int,
    check_digit: str = "luhn",
    range_start: int = 1,
    range_end: int | None = None,
    programs: Sequence[Program] = (),
    validity_days: int | None = None,
) -> CardTemplate:
    code = check_code("code", code)
    if check_digit not in CHECK_DIGITS:
        raise InvalidInput(f"Контрольная цифра: {', '.join(CHECK_DIGITS)}.")
    if not re.fullmatch(r"\d{0,17}", prefix):
        raise InvalidInput("Префикс номера — до 17 цифр.")
    if check_digit == "ean13" and number_length != 13:
        raise InvalidInput("Для EAN-13 длина номера — 13 цифр.")
    serial_digits = number_length - len(prefix) - (0 if check_digit == "none" else 1)
    if not 4 <= number_length <= 32 or not 1 <= serial_digits <= MAX_SERIAL_DIGITS:
        raise InvalidInput(
            "Длина номера не вмещает префикс, порядковый номер и контрольную цифру (порядковый "
            f"номер — от 1 до {MAX_SERIAL_DIGITS} цифр).",
            details={"field": "number_length"},
        )
    capacity = 10**serial_digits - 1
    end = capacity if range_end is None else range_end
    if not 0 <= range_start <= end <= capacity:
        raise InvalidInput(f"Диапазон номеров серии — от 0 до {capacity}.")
    if validity_days is not None and not 1 <= validity_days <= MAX_VALIDITY_DAYS:
        raise InvalidInput(
            f"Срок действия карты — от 1 до {MAX_VALIDITY_DAYS} дней.",
            details={"field": "validity_days"},
        )
    exists = select(CardTemplate.id).where(
        CardTemplate.tenant_id == tenant.id, CardTemplate.code == code
    )
    if session.scalar(exists) is not None:
        raise CodeExists(f"Серия карт с кодом «{code}» уже есть.", details={"card_template": code})
    template = CardTemplate(
        tenant_id=tenant.id,
        code=code,
        name=name.strip() or code,
        card_type=card_type,
        prefix=prefix,
        number_length=number_length,
        check_digit=check_digit,
        range_start=range_start,
        range_end=end,
        next_serial=range_start,
        validity_days=validity_days,
    )
    session.add(template)
    session.flush()
    set_template_programs(session, template, programs)
    return template


def set_template_programs(
    session: Session, template: CardTemplate, programs: Sequence[Program]
) -> None:
    """The programs a card series carries (at most one discount and one bonus program): for
    its cards they replace the tenant's programs of the same slot, and apply to no other card."""
    slots: dict[str, str] = {}
    for program in programs:
        if program.tenant_id != template.tenant_id:
            raise NotFound("Программа не найдена.", details={"program": program.code})
        slot = SLOTS[program.kind]
        if slot in slots:
            raise InvalidInput(
                f"Серия может нести одну программу скидки и одну бонусную: «{slots[slot]}» и "
                f"«{program.code}» — обе {'скидочные' if slot == 'discount' else 'бонусные'}.",
                details={"field": "programs"},
            )
        slots[slot] = program.code
    template.programs = list(programs)
    session.flush()


def get_template(session: Session, tenant: Tenant, code: str) -> CardTemplate:
    template = session.scalar(
        select(CardTemplate).where(CardTemplate.tenant_id == tenant.id, CardTemplate.code == code)
    )
    if template is None:
        raise NotFound("Серия карт не найдена.", details={"template": code})
    return template


def _log_status(
    session: Session,
    card: Card,
    old: str | None,
    new: str,
    reason: str | None,
    author: str,
    now: datetime,
) -> None:
    session.add(
        CardStatusChange(
            card_id=card.id,
            old_status=old,
            new_status=new,
            reason=reason,
            author=author,
            changed_at=now,
        )
    )


def generate_cards(
    session: Session, template: CardTemplate, count: int, *, author: str, now: datetime
) -> list[Card]:
    """Pre-printed cards (status Новая) with the template's next serial numbers."""
    if not 1 <= count <= MAX_BATCH:
        raise InvalidInput(f"За один раз можно выпустить от 1 до {MAX_BATCH} карт.")
    template = session.scalars(
        lock_rows(select(CardTemplate).where(CardTemplate.id == template.id)).execution_options(
            populate_existing=True
        )
    ).one()
    if template.next_serial + count - 1 > template.range_end:
        raise CardRangeExhausted(
            details={"free": max(template.range_end - template.next_serial + 1, 0)}
        )
    numbers = [
        build_number(template.prefix, serial, template.number_length, template.check_digit)
        for serial in range(template.next_serial, template.next_serial + count)
    ]
    _refuse_taken_numbers(session, template.tenant_id, numbers)
    cards = [
        Card(
            tenant_id=template.tenant_id,
            number=number,
            template_id=template.id,
            status=CardStatus.NEW,
            is_virtual=False,
        )
        for number in numbers
    ]
    template.next_serial += count
    session.add_all(cards)
    session.flush()
    for card in cards:
        _log_status(session, card, None, CardStatus.NEW, "выпуск", author, now)
    session.flush()
    return cards


def _refuse_taken_numbers(session: Session, tenant_id: int, numbers: list[str]) -> None:
    """Another series with an overlapping prefix, or a card made from a typed number, may hold
    some of these numbers already."""
    for start in range(0, len(numbers), 5000):
        taken = session.scalars(
            select(Card.number)
            .where(Card.tenant_id == tenant_id, Card.number.in_(numbers[start : start + 5000]))
            .limit(5)
        ).all()
        if taken:
            raise CardExists(
                "Часть номеров уже занята другими картами (выданными вручную или другой серией с "
                "похожим префиксом). Проверьте диапазоны серий.",
                details={"numbers": list(taken)},
            )


def tenant_templates(session: Session, tenant: Tenant) -> Sequence[CardTemplate]:
    """The tenant's card series by code, with the programs each carries."""
    return session.scalars(
        select(CardTemplate)
        .where(CardTemplate.tenant_id == tenant.id)
        .order_by(CardTemplate.code)
        .options(selectinload(CardTemplate.programs))
    ).all()


def template_for_number(session: Session, tenant_id: int, number: str) -> CardTemplate:
    """The template a number belongs to; a wrong check digit or unknown series is refused."""
    for template in session.scalars(
        select(CardTemplate).where(CardTemplate.tenant_id == tenant_id)
    ):
        if len(number) == template.number_length and number.startswith(template.prefix):
            if has_valid_check_digit(number, template.check_digit):
                return template
            raise CardNumberInvalid(details={"number": number})
    raise CardNumberInvalid(details={"number": number})


def find_card(session: Session, tenant_id: int, number: str) -> Card:
    card = session.scalar(select(Card).where(Card.tenant_id == tenant_id, Card.number == number))
    if card is None:
        raise CardNotFound(details={"number": number})
    return card


def card_history(session: Session, card: Card) -> list[CardStatusChange]:
    return list(
        session.scalars(
            select(CardStatusChange)
            .where(CardStatusChange.card_id == card.id)
            .order_by(CardStatusChange.id)
        )
    )


def change_status(
    session: Session,
    card: Card,
    new: CardStatus,
    *,
    reason: str | None,
    author: str,
    now: datetime,
) -> None:
    old = CardStatus(card.status)
    if (old, new) not in TRANSITIONS:
        raise CardTransitionRefused(
            f"Карту в статусе «{STATUS_TITLES[old]}» нельзя перевести в «{STATUS_TITLES[new]}».",
            details={"from": old.value, "to": new.value},
        )
    card.status = new
    _log_status(session, card, old, new, reason, author, now)
    session.flush()


def customer_account(session: Session, customer: Customer) -> Account | None:
    """The customer's main account: the first one opened for them."""
    return session.scalar(
        select(Account).where(Account.customer_id == customer.id).order_by(Account.id).limit(1)
    )


def _activate(
    session: Session, card: Card, customer: Customer | None, *, author: str, now: datetime
) -> None:
    if card.account_id is None:
        account = customer_account(session, customer) if customer else None
        card.account_id = (
            account or open_account(session, card.tenant_id, customer.id if customer else None)
        ).id
    card.activated_at = now
    template = session.get(CardTemplate, card.template_id) if card.template_id else None
    if template is not None and template.validity_days:
        card.valid_until = now + timedelta(days=template.validity_days)
    change_status(session, card, CardStatus.ACTIVE, reason="активация", author=author, now=now)


def _new_card_by_number(session: Session, tenant_id: int, number: str) -> Card:
    """An unused card with this number: a pre-printed one, or one made now from its series."""
    card = session.scalar(select(Card).where(Card.tenant_id == tenant_id, Card.number == number))
    if card is None:
        template = template_for_number(session, tenant_id, number)
        card = Card(
            tenant_id=tenant_id,
            number=number,
            template_id=template.id,
            status=CardStatus.NEW,
            is_virtual=False,
        )
        session.add(card)
        session.flush()
    return card


def issue_card(
    session: Session, tenant: Tenant, number: str, customer: Customer, *, author: str, now: datetime
) -> Card:
    """Hand a new card to a customer: personalised and active, on the customer's account."""
    card = _new_card_by_number(session, tenant.id, number)
    if card.status != CardStatus.NEW:
        raise CardExists(details={"number": number})
    card.customer_id = customer.id
    _activate(session, card, customer, author=author, now=now)
    return card


def activate_on_first_use(session: Session, card: Card, *, now: datetime) -> None:
    """A pre-printed card used at a POS for the first time becomes active, still anonymous.

    Two first receipts on one blank card can arrive at once: the card's row is locked and read
    again, so the second one finds the account the first has opened instead of opening its own."""
    if card.status != CardStatus.NEW:
        return
    session.scalar(
        lock_rows(select(Card).where(Card.id == card.id)).execution_options(populate_existing=True)
    )
    if card.status == CardStatus.NEW:
        _activate(session, card, None, author="pos", now=now)


def personalise(
    session: Session, card: Card, customer: Customer, *, author: str, now: datetime
) -> None:
    """Attach an anonymous card to a customer. If the customer already has an account, the
    card's bonus moves there and the card joins it."""
    if card.customer_id is not None and card.customer_id != customer.id:
        raise CardAlreadyPersonalised(details={"number": card.number})
    if customer.tenant_id != card.tenant_id:
        raise NotFound("Покупатель не найден.")
    card.customer_id = customer.id
    existing = customer_account(session, customer)
    if card.account_id is None:
        card.account_id = existing.id if existing else None
    elif existing is None:
        account = session.get_one(Account, card.account_id)
        account.customer_id = customer.id
    elif existing.id != card.account_id:
        attach_to_account(session, card, existing, author=author, now=now)
    session.flush()


def attach_to_account(
    session: Session, card: Card, account: Account, *, author: str, now: datetime
) -> None:
    """Make ``card`` use ``account`` (family or master account); any bonus on the card's
    previous account, when no other card uses it, moves along."""
    if account.tenant_id != card.tenant_id:
        raise NotFound("Счёт не найден.")
    previous = card.account_id
    card.account_id = account.id
    session.flush()
    if previous is None or previous == account.id:
        return
    still_used = session.scalar(select(Card.id).where(Card.account_id == previous).limit(1))
    if still_used is None:
        transfer_all(
            session, previous, account.id, now=now, reason="объединение счетов", author=author
        )


def block(session: Session, card: Card, *, reason: str, author: str, now: datetime) -> None:
    change_status(session, card, CardStatus.BLOCKED, reason=reason, author=author, now=now)


def unblock(session: Session, card: Card, *, reason: str, author: str, now: datetime) -> None:
    change_status(session, card, CardStatus.ACTIVE, reason=reason, author=author, now=now)


def close(session: Session, card: Card, *, reason: str, author: str, now: datetime) -> None:
    """Lost or withdrawn: the account and its bonus stay with the customer."""
    change_status(session, card, CardStatus.CLOSED, reason=reason, author=author, now=now)


def effective_status(card: Card, now: datetime) -> CardStatus:
    """The status a card answers with: past its validity date it is Завершена, even before the
    daily job records it."""
    status = CardStatus(card.status)
    expired = card.valid_until is not None and card.valid_until <= now
    if expired and status in (CardStatus.ACTIVE, CardStatus.BLOCKED):
        return CardStatus.FINISHED
    return status


def finish_expired(session: Session, now: datetime, batch: int = 500) -> int:
    """Record Завершена for up to ``batch`` cards past their validity date; returns how many
    (0: none left). The account and its bonus stay with the customer."""
    cards = session.scalars(
        lock_rows(
            select(Card)
            .where(
                Card.status.in_([CardStatus.ACTIVE, CardStatus.BLOCKED]),
                Card.valid_until <= now,
            )
            .order_by(Card.id)
            .limit(batch)
        )
    ).all()
    for card in cards:
        change_status(
            session, card, CardStatus.FINISHED, reason="истёк срок действия", author="system",
            now=now,
        )  # fmt: skip
    return len(cards)


def replace_card(
    session: Session, old: Card, new_number: str, *, reason: str, author: str, now: datetime
) -> Card:
    """Replace a lost or damaged card with an unused one: the new card takes over the
    customer and the account (so balance and history), the old one is closed."""
    if old.status not in (CardStatus.ACTIVE, CardStatus.BLOCKED):
        raise CardTransitionRefused(
            f"Карту в статусе «{STATUS_TITLES[CardStatus(old.status)]}» нельзя заменить.",
            details={"from": old.status, "to": CardStatus.CLOSED.value},
        )
    new = _new_card_by_number(session, old.tenant_id, new_number)
    if new.status != CardStatus.NEW or new.id == old.id:
        raise CardExists("Новая карта уже используется.", details={"number": new_number})
    new.customer_id = old.customer_id
    new.account_id = old.account_id
    _activate(session, new, None, author=author, now=now)
    old.replaced_by_id = new.id
    change_status(
        session, old, CardStatus.CLOSED, reason=f"замена: {reason}", author=author, now=now
    )
    return new


def _virtual_number(session: Session, tenant_id: int) -> str:
    """A free number of the virtual series: random (so numbers cannot be enumerated), with a
    Luhn check digit."""
    for _ in range(20):
        serial = secrets.randbelow(10**VIRTUAL_SERIAL_DIGITS)
        body = f"{VIRTUAL_PREFIX}{serial:0{VIRTUAL_SERIAL_DIGITS}d}"
        number = body + luhn_digit(body)
        taken = select(Card.id).where(Card.tenant_id == tenant_id, Card.number == number)
        if session.scalar(taken) is None:
            return number
    raise CardRangeExhausted("Не удалось подобрать свободный номер виртуальной карты.")


def existing_virtual_card(session: Session, customer: Customer) -> Card | None:
    return session.scalar(
        select(Card).where(Card.customer_id == customer.id, Card.is_virtual.is_(True))
    )


def virtual_card(session: Session, customer: Customer, *, author: str, now: datetime) -> Card:
    """The customer's virtual card (made at registration or on the first committed receipt), so
    a phone number identifies them. The customer's row is locked first: two first receipts by
    one phone at once make one card and one account."""
    card = existing_virtual_card(session, customer)
    if card is not None:
        return card
    session.scalar(lock_rows(select(Customer.id).where(Customer.id == customer.id)))
    card = existing_virtual_card(session, customer)
    if card is not None:
        return card
    card = Card(
        tenant_id=customer.tenant_id,
        number=_virtual_number(session, customer.tenant_id),
        status=CardStatus.NEW,
        customer_id=customer.id,
        is_virtual=True,
    )
    session.add(card)
    session.flush()
    _log_status(session, card, None, CardStatus.NEW, "виртуальная карта", author, now)
    _activate(session, card, customer, author=author, now=now)
    return card


def card_for_phone(
    session: Session, tenant: Tenant, phone: str, *, author: str, now: datetime, create: bool
) -> Card:
    """Identification by phone: the customer's virtual card. A read (``create`` false) never
    writes: a customer without one gets an unsaved stand-in (no number, the customer's account)
    that is made real by the first commit (``create``)."""
    customer = find_by_phone(session, tenant, phone)
    if customer is None:
        raise CardNotFound("Покупатель с таким телефоном не найден.")
    if create:
        return virtual_card(session, customer, author=author, now=now)
    card = existing_virtual_card(session, customer)
    if card is not None:
        return card
    account = customer_account(session, customer)
    return Card(
        tenant_id=customer.tenant_id, number="", status=CardStatus.ACTIVE,
        customer_id=customer.id, account_id=account.id if account else None, is_virtual=True,
    )  # fmt: skip


def require_active(card: Card, now: datetime) -> None:
    """Only an active card, within its validity, accrues and pays."""
    if card.status == CardStatus.BLOCKED:
        raise CardBlocked(details={"number": card.number})
    if card.status != CardStatus.ACTIVE or (card.valid_until and card.valid_until <= now):
        raise CardNotActive(details={"number": card.number, "status": card.status})


def card_account_id(card: Card) -> int:
    """The account an activated card accrues to and pays from."""
    if card.account_id is None:
        raise CardNotActive(details={"number": card.number, "status": card.status})
    return card.account_id
