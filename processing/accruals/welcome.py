"""The welcome bonus: once per customer, on registration or once the questionnaire is filled
(``rules.welcome.on`` of the bonus program). The faces enqueue the job after a registration
(trigger ``registration``) and after a change of the questionnaire or consents (trigger
``questionnaire``) when ``welcome_due`` says so; the job checks again and credits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from processing.accruals.models import EventAccrual
from processing.accruals.service import accrue_event, already_credited, event_rules
from processing.customers.models import Customer
from processing.customers.service import missing_questionnaire_fields
from processing.programs.rules import WelcomeBonus
from processing.tenants.models import Tenant

WELCOME = "welcome"
REGISTRATION = "registration"
QUESTIONNAIRE = "questionnaire"
TRIGGERS = (REGISTRATION, QUESTIONNAIRE)
REASON = "Приветственные бонусы"


def welcome_due(
    session: Session, tenant: Tenant, customer: Customer, trigger: str, now: datetime
) -> WelcomeBonus | None:
    """The welcome settings when ``trigger`` should credit the customer's welcome bonus now;
    None when the program has none, the trigger is not the one configured, the questionnaire
    is still unfilled (``on: questionnaire``) or the bonus was credited already."""
    if trigger not in TRIGGERS:
        raise ValueError(f"unknown welcome trigger {trigger!r}")
    rules = event_rules(session, tenant, now)
    welcome = rules.welcome if rules is not None else None
    if welcome is None:
        return None
    if welcome.on == REGISTRATION and trigger != REGISTRATION:
        return None
    if welcome.on == QUESTIONNAIRE and missing_questionnaire_fields(tenant, customer):
        return None
    if already_credited(session, customer.id, WELCOME):
        return None
    return welcome


def grant_welcome(
    session: Session, customer_id: int, trigger: str, now: datetime
) -> EventAccrual | None:
    """Credit the customer's welcome bonus if it is due (once per customer, however often this
    runs); None when nothing was credited."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        return None
    tenant = session.get_one(Tenant, customer.tenant_id)
    welcome = welcome_due(session, tenant, customer, trigger, now)
    if welcome is None:
        return None
    return accrue_event(session, tenant, customer, WELCOME, welcome.bonus, reason=REASON, now=now)
