"""The birthday bonus: once a year, from ``days_before`` the birthday up to the day itself, in
the time zone of the program's ``rules.birthday``. The daily job looks at the whole window, so
a day the job did not run is caught up the next day; the event ``birthday:<year>`` (the year of
the birthday being celebrated) keeps it to once a year. Born on 29 February: the 28th in a
common year."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import exists, extract, or_, select
from sqlalchemy.orm import Session

from processing.accruals.models import EventAccrual
from processing.accruals.service import accrue_event, event_rules
from processing.customers.models import Customer
from processing.programs.rules import BirthdayBonus
from processing.tenants.models import Tenant

BATCH = 500
REASON = "Бонусы ко дню рождения"


def birthday_event(year: int) -> str:
    return f"birthday:{year}"


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def birthdays_in_window(today: date, days_before: int) -> dict[int, set[int]]:
    """The birthdays (``month * 100 + day``) celebrated from ``today`` to ``days_before`` days
    later, by the year they are celebrated in."""
    found: dict[int, set[int]] = {}
    for offset in range(days_before + 1):
        day = today + timedelta(days=offset)
        codes = found.setdefault(day.year, set())
        codes.add(day.month * 100 + day.day)
        if (day.month, day.day) == (2, 28) and not _is_leap(day.year):
            codes.add(229)
    return found


def birthday_rules(session: Session, tenant: Tenant, now: datetime) -> BirthdayBonus | None:
    rules = event_rules(session, tenant, now)
    return rules.birthday if rules is not None else None


def birthday_batch(
    session: Session, tenant: Tenant, birthday: BirthdayBonus, after_id: int, now: datetime,
    batch: int = BATCH,
) -> tuple[int | None, int]:  # fmt: skip
    """Credit the next ``batch`` customers (ids above ``after_id``) whose birthday is in the
    window and who have not had this year's bonus. Answers the checkpoint (None: none left)
    and how many were credited."""
    today = now.astimezone(ZoneInfo(birthday.timezone)).date()
    window = birthdays_in_window(today, birthday.days_before)
    born = extract("month", Customer.birth_date) * 100 + extract("day", Customer.birth_date)
    due = [
        born.in_(sorted(codes))
        & ~exists().where(
            EventAccrual.customer_id == Customer.id, EventAccrual.event == birthday_event(year)
        )
        for year, codes in window.items()
    ]
    customers = session.scalars(
        select(Customer)
        .where(
            Customer.tenant_id == tenant.id,
            Customer.id > after_id,
            Customer.birth_date.is_not(None),
            Customer.processing_consent.is_(True),
            Customer.anonymised_at.is_(None),
            or_(*due),
        )
        .order_by(Customer.id)
        .limit(batch)
    ).all()
    if not customers:
        return None, 0
    credited = 0
    for customer in customers:
        if customer.birth_date is None:  # selected with one; typed as optional
            continue
        code = customer.birth_date.month * 100 + customer.birth_date.day
        year = next(year for year, codes in window.items() if code in codes)
        if accrue_event(
            session, tenant, customer, birthday_event(year), birthday.bonus, reason=REASON,
            now=now,
        ):  # fmt: skip
            credited += 1
    return customers[-1].id, credited
