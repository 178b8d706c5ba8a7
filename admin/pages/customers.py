"""Customers at the desk and in the back office: search, a customer's page, registering one with
a card, the questionnaire form (the tenant's extra fields, both consents with source and time),
cards (issue, replace, block), balance correction with a reason, and 152-FZ anonymisation.

Who sees what: a cashier finds a customer by phone or card and sees the cards and the balance,
never the questionnaire; whoever may view personal data sees it all, and every such view is in
the action log and the personal-data access log.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers.response import Response as BaseResponse

from admin.pages.ledger_view import account_view, purchases
from admin.pages.site import PlainForm, attempt, log_action, now, operator, page, pages, tenant
from connector.db import db_session
from connector.logs import current_request_id
from processing.cards.models import Card
from processing.cards.search import search_customers
from processing.cards.service import (
    STATUS_TITLES,
    CardStatus,
    customer_account,
    issue_card,
)
from processing.customers.access import Accessor, Action, Channel, record_access, user_actor
from processing.customers.erasure import erase_customer, require_confirmation
from processing.customers.models import Customer, QuestionnaireField
from processing.customers.service import (
    CONSENT_TITLES,
    CONSENTS,
    EXTRA_PREFIX,
    NAME_FIELDS,
    STANDARD_FIELDS,
    customer_history,
    extra_definitions,
    get_customer,
    masked_name,
    register_customer,
    set_consent,
    update_customer,
)
from processing.customers.service import (
    FIELD_TITLES as SERVICE_FIELD_TITLES,
)
from processing.errors import ConnectorError
from processing.ledger.service import correct
from processing.money import is_whole_kopecks

SOURCE = "admin"
SEARCH_FIELDS = ("last_name", "first_name", "middle_name", "phone", "email", "birth_date")
# The questionnaire's own names and the history's names of consent changes.
FIELD_TITLES = {
    **SERVICE_FIELD_TITLES,
    **{f"consent.{kind}": title for kind, title in CONSENT_TITLES.items()},
}
GENDERS = {"": "не указан", "female": "женский", "male": "мужской"}
SOURCE_TITLES = {
    "pos": "касса",
    "1c": "1С",
    "admin": "админка",
    "import": "загрузка анкет",
    "api": "API",
    "cli": "командная строка",
    "system": "система",
}
MAX_CORRECTION = Decimal("10000000")


def _author() -> str:
    return user_actor(operator().id)


def _access(customer: Customer, action: Action, fields: Iterable[str]) -> None:
    """One row of the 152-FZ access log for this request's user."""
    record_access(
        db_session(),
        Accessor(_author(), Channel.PAGES, current_request_id()),
        tenant_id=customer.tenant_id,
        customer_id=customer.id,
        action=action,
        fields=fields,
        now=now(),
    )


def _log_view(customer: Customer, fields: tuple[str, ...]) -> None:
    """A view of personal data: in the action log and the 152-FZ access log."""
    log_action("customer.view", str(customer.id))
    _access(customer, Action.READ, fields)


@pages.route("/customers")
@page("customers.find")
def customers() -> str:
    text = request.args.get("q", "").strip()
    who = operator()
    personal = who.may("customers.view")
    found = search_customers(db_session(), tenant(), text, personal=personal) if text else []
    if personal and found:  # the list shows their names, phones, e-mails and birth dates
        log_action("customer.search", "", found=len(found))
        for customer in found:
            _access(customer, Action.READ, SEARCH_FIELDS)
    return render_template(
        "pages/customers.html",
        q=text,
        found=found,
        personal=personal,
        masked={c.id: masked_name(c.first_name, c.last_name) for c in found},
        form=PlainForm(),
        genders=GENDERS,
        consents=CONSENT_TITLES,
        may_register=who.may("customers.register"),
    )


def _questionnaire_values(definitions: dict[str, QuestionnaireField]) -> dict[str, Any]:
    """The form's questionnaire fields as the domain takes them (an empty field clears it)."""
    values: dict[str, Any] = {}
    for field in STANDARD_FIELDS:
        if field in request.form:
            values[field] = request.form.get(field, "").strip() or None
    for code, definition in definitions.items():
        name = EXTRA_PREFIX + code
        if name not in request.form:
            continue
        raw = request.form.get(name, "").strip()
        if definition.kind == "boolean":
            values[name] = {"": None, "yes": True, "no": False}.get(raw)
        else:
            values[name] = raw or None
    return values


def _consents() -> dict[str, bool]:
    return {kind: request.form.get(f"consent.{kind}") == "yes" for kind in CONSENTS}


@pages.route("/customers/register", methods=["POST"])
@page("customers.register")
def customer_register() -> BaseResponse | str:
    owner, db = tenant(), db_session()
    values = {
        field: request.form.get(field, "").strip() or None for field in ("phone", *NAME_FIELDS)
    }
    card_number = request.form.get("card", "").strip()
    moment = now()

    def register() -> Customer:
        made = register_customer(
            db, owner, values, source=SOURCE, author=_author(), consents=_consents(), now=moment
        )
        if card_number:
            issue_card(db, owner, card_number, made, author=_author(), now=moment)
        return made

    done, result = attempt(register)
    if not done:
        flash(result, "error")
        return redirect(url_for("pages.customers", q=values.get("phone") or ""))
    log_action("customer.register", str(result.id))
    if card_number:
        log_action("card.issue", str(result.id))
    flash("Покупатель зарегистрирован.", "success")
    return redirect(url_for("pages.customer", customer_id=result.id))


def _amount(raw: str) -> Decimal | None:
    """A signed sum of roubles typed by a person (``-150,50``), or None when it is not one."""
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        return None
    if not amount.is_finite() or not is_whole_kopecks(amount) or abs(amount) > MAX_CORRECTION:
        return None
    return amount


def _require_token() -> None:
    """The form's own check besides the blueprint's (a form posted without one is refused)."""


def _customer(customer_id: int) -> Customer:
    return get_customer(db_session(), tenant(), customer_id)


def _cards(customer: Customer) -> list[Card]:
    query = select(Card).where(Card.customer_id == customer.id).order_by(Card.id)
    return list(db_session().scalars(query))


def _customer_page(
    customer: Customer, errors: dict[str, str] | None = None, status: int = 200
) -> tuple[str, int]:
    who, db = operator(), db_session()
    personal = who.may("customers.view")
    definitions = extra_definitions(db, customer.tenant_id)
    account = customer_account(db, customer)
    ledger = account_view(db, account.id if account else None, now())
    context: dict[str, Any] = {
        "customer": customer,
        "cards": _cards(customer),
        "statuses": STATUS_TITLES,
        "account": account,
        "balance": ledger["balance"],
        "personal": personal,
        "masked": masked_name(customer.first_name, customer.last_name),
        "form": PlainForm(),
        "errors": errors or {},
        "definitions": definitions,
        "field_titles": FIELD_TITLES,
        "genders": GENDERS,
        "consents": CONSENT_TITLES,
        "sources": SOURCE_TITLES,
        "extra_prefix": EXTRA_PREFIX,
        "blocked": CardStatus.BLOCKED,
        "active": CardStatus.ACTIVE,
    }
    if personal:
        _log_view(customer, ("questionnaire", "history", "purchases"))
        context.update(ledger)
        context["history"] = customer_history(db, customer)
        context["purchases"] = purchases(db, customer_id=customer.id)
    return render_template("pages/customer.html", **context), status


@pages.route("/customers/<int:customer_id>")
@page("customers.find")
def customer(customer_id: int) -> tuple[str, int]:
    return _customer_page(_customer(customer_id))


@pages.route("/customers/<int:customer_id>/questionnaire", methods=["POST"])
@page("customers.edit")
def customer_edit(customer_id: int) -> BaseResponse | tuple[str, int]:
    found, db = _customer(customer_id), db_session()
    values = _questionnaire_values(extra_definitions(db, found.tenant_id))
    consents = _consents()
    moment = now()

    def save() -> list[str]:
        changed = update_customer(db, found, values, source=SOURCE, author=_author(), now=moment)
        for kind, given in consents.items():
            if given != getattr(found, f"{kind}_consent") or (
                given and getattr(found, f"{kind}_consent_at") is None
            ):
                set_consent(db, found, kind, given, source=SOURCE, author=_author(), now=moment)
                changed.append(f"consent.{kind}")
        return changed

    try:
        with db.begin_nested():
            changed = save()
    except ConnectorError as error:  # shown next to its field; nothing of the form is kept
        db.refresh(found)
        return _customer_page(found, errors={str(error.details.get("field", "")): error.text})
    if changed:
        log_action("customer.update", str(found.id), fields=changed)
        _access(found, Action.UPDATE, changed)
    flash("Анкета сохранена." if changed else "Анкета не изменилась.", "success")
    return redirect(url_for("pages.customer", customer_id=found.id))


@pages.route("/customers/<int:customer_id>/cards", methods=["POST"])
@page("customers.register")
def customer_card_issue(customer_id: int) -> BaseResponse:
    found, owner = _customer(customer_id), tenant()
    number = request.form.get("card", "").strip()
    done, result = attempt(
        lambda: issue_card(db_session(), owner, number, found, author=_author(), now=now())
    )
    if done:
        log_action("card.issue", str(found.id))
        flash("Карта выдана.", "success")
    else:
        flash(result, "error")
    return redirect(url_for("pages.customer", customer_id=found.id))


@pages.route("/customers/<int:customer_id>/balance", methods=["POST"])
@page("balance.correct")
def customer_balance(customer_id: int) -> BaseResponse:
    found, db = _customer(customer_id), db_session()
    account = customer_account(db, found)
    reason = request.form.get("reason", "").strip()
    raw = (
        request.form.get("amount", "")
        .strip()
        .replace(" ", "")
        .replace("\u00a0", "")
        .replace(",", ".")
    )
    amount = _amount(raw)
    if account is None or amount is None or amount == 0 or not reason:
        flash(
            "Укажите сумму корректировки (например 150,00 или -150,00) и причину."
            if account is not None
            else "У покупателя ещё нет бонусного счёта.",
            "error",
        )
        return redirect(url_for("pages.customer", customer_id=found.id))
    done, result = attempt(
        lambda: correct(db, account.id, amount, reason=reason, author=_author(), now=now())
    )
    if done:
        log_action("balance.correct", str(found.id), amount=str(amount))
        flash("Баланс скорректирован.", "success")
    else:
        flash(result, "error")
    return redirect(url_for("pages.customer", customer_id=found.id))


@pages.route("/customers/<int:customer_id>/anonymise", methods=["POST"])
@page("customers.anonymise")
def customer_anonymise(customer_id: int) -> BaseResponse:
    found = _customer(customer_id)

    def erase() -> None:
        require_confirmation(found, request.form.get("confirm", ""))
        erase_customer(
            db_session(),
            found,
            actor=_author(),
            channel=Channel.PAGES,
            request_id=current_request_id(),
            now=now(),
        )

    done, result = attempt(erase)
    if done:
        log_action("customer.anonymise", str(found.id))
        flash(
            "Персональные данные покупателя удалены (обезличен). Бонусы и покупки сохранены.",
            "success",
        )
    else:
        flash(result, "error")
    return redirect(url_for("pages.customer", customer_id=found.id))
