"""Cards: the tenant's card templates (series) with counts by status, a new template, generating a
series of pre-printed cards, finding a card by number, and a card's page: its status and the
changes the domain allows (block, unblock, close, replace), its history, and for whoever may see
personal data its ledger with lots and expiry dates and its purchases."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from werkzeug.wrappers.response import Response as BaseResponse
from wtforms import IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from admin.pages.ledger_view import account_view, purchases
from admin.pages.site import (
    PlainForm,
    attempt,
    choices,
    log_action,
    now,
    operator,
    page,
    pages,
    tenant,
)
from connector.db import db_session
from processing.cards.models import Card, CardTemplate
from processing.cards.numbers import CHECK_DIGITS
from processing.cards.service import (
    MAX_BATCH,
    STATUS_TITLES,
    CardStatus,
    add_template,
    block,
    card_history,
    close,
    find_card,
    generate_cards,
    get_template,
    replace_card,
    tenant_templates,
    unblock,
)
from processing.customers.access import user_actor
from processing.customers.models import Customer
from processing.customers.service import masked_name

REQUIRED = "Заполните поле."
CHECK_DIGIT_TITLES = {"luhn": "Луна (Luhn)", "ean13": "EAN-13", "none": "без контрольной цифры"}


class TemplateForm(FlaskForm):
    code = StringField("Код серии", validators=[DataRequired(REQUIRED), Length(max=64)])
    name = StringField("Название", validators=[DataRequired(REQUIRED), Length(max=255)])
    card_type = StringField(
        "Надпись на карте (тип)", validators=[DataRequired(REQUIRED), Length(max=64)]
    )
    prefix = StringField("Префикс номера", validators=[Length(max=17)])
    number_length = IntegerField(
        "Длина номера", validators=[DataRequired(REQUIRED), NumberRange(4, 32, "От 4 до 32 цифр.")]
    )
    check_digit = SelectField(
        "Контрольная цифра",
        choices=choices((code, CHECK_DIGIT_TITLES.get(code, code)) for code in CHECK_DIGITS),
    )
    validity_days = IntegerField("Срок действия, дней (пусто — бессрочно)", validators=[Optional()])


class GenerateForm(FlaskForm):
    count = IntegerField(
        "Сколько карт выпустить",
        validators=[DataRequired(REQUIRED), NumberRange(1, MAX_BATCH, f"От 1 до {MAX_BATCH}.")],
    )


def _counts(tenant_id: int) -> dict[int, dict[str, int]]:
    rows = db_session().execute(
        select(Card.template_id, Card.status, func.count())
        .where(Card.tenant_id == tenant_id)
        .group_by(Card.template_id, Card.status)
    )
    counts: dict[int, dict[str, int]] = {}
    for template_id, status, count in rows:
        if template_id is not None:
            counts.setdefault(template_id, {})[status] = count
    return counts


def _cards_page(
    template_form: TemplateForm | None = None, generate_error: str | None = None
) -> str:
    owner = tenant()
    return render_template(
        "pages/cards.html",
        templates=tenant_templates(db_session(), owner),
        counts=_counts(owner.id),
        statuses=STATUS_TITLES,
        template_form=template_form or TemplateForm(formdata=None),
        generate_form=GenerateForm(formdata=None),
        generate_error=generate_error,
        check_digits=CHECK_DIGIT_TITLES,
        may_manage=operator().may("cards.manage"),
    )


@pages.route("/cards")
@page("customers.find")
def cards() -> BaseResponse | str:
    number = request.args.get("number", "").strip()
    if number:
        card = db_session().scalar(
            select(Card).where(Card.tenant_id == tenant().id, Card.number == number)
        )
        if card is not None:
            return redirect(url_for("pages.card", number=card.number))
        flash("Карта с таким номером не найдена.", "error")
    if not operator().may("cards.manage"):
        return render_template("pages/cards_search.html")
    return _cards_page()


@pages.route("/cards/templates", methods=["POST"])
@page("cards.manage")
def card_template_add() -> BaseResponse | str:
    form = TemplateForm()
    if form.validate_on_submit():
        done, result = attempt(
            lambda: add_template(
                db_session(),
                tenant(),
                code=form.code.data,
                name=form.name.data,
                card_type=form.card_type.data,
                prefix=form.prefix.data or "",
                number_length=form.number_length.data,
                check_digit=form.check_digit.data,
                validity_days=form.validity_days.data,
            )
        )
        if done:
            log_action("card.template", result.code)
            flash(f"Серия «{result.name}» добавлена.", "success")
            return redirect(url_for("pages.cards"))
        form.form_errors.append(result)
    return _cards_page(template_form=form)


@pages.route("/cards/templates/<template_code>/generate", methods=["POST"])
@page("cards.manage")
def card_generate(template_code: str) -> BaseResponse | str:
    template = get_template(db_session(), tenant(), template_code)
    form = GenerateForm()
    if not form.validate_on_submit():
        return _cards_page(generate_error="; ".join(form.count.errors) or "Укажите число карт.")
    done, result = attempt(
        lambda: generate_cards(db_session(), template, form.count.data, author=_author(), now=now())
    )
    if not done:
        return _cards_page(generate_error=result)
    log_action("card.generate", template.code, count=len(result))
    flash(
        f"Выпущено карт: {len(result)}, номера с {result[0].number} по {result[-1].number}.",
        "success",
    )
    return redirect(url_for("pages.cards"))


def _author() -> str:
    return user_actor(operator().id)


def _card(number: str) -> Card:
    return find_card(db_session(), tenant().id, number)


@pages.route("/cards/<number>")
@page("customers.find")
def card(number: str) -> str:
    found, db, who = _card(number), db_session(), operator()
    customer = db.get(Customer, found.customer_id) if found.customer_id else None
    template = db.get(CardTemplate, found.template_id) if found.template_id else None
    context: dict[str, Any] = {
        "card": found,
        "template": template,
        "customer": customer,
        "statuses": STATUS_TITLES,
        "history": card_history(db, found),
        "form": PlainForm(),
        "status": CardStatus,
        "masked": masked_name(customer.first_name, customer.last_name) if customer else None,
    }
    ledger = account_view(db, found.account_id, now())
    context["balance"] = ledger["balance"]
    if who.may("customers.view"):
        context.update(ledger)
        context["purchases"] = purchases(db, card_id=found.id)
    return render_template("pages/card.html", **context)


@pages.route("/cards/<number>/status", methods=["POST"])
@page("cards.block")
def card_status(number: str) -> BaseResponse:
    found = _card(number)
    reason = request.form.get("reason", "").strip()
    change = {"block": block, "unblock": unblock, "close": close}.get(
        request.form.get("change", "")
    )
    if change is None or not reason:
        flash("Укажите действие и причину.", "error")
        return redirect(url_for("pages.card", number=number))
    done, result = attempt(
        lambda: change(db_session(), found, reason=reason, author=_author(), now=now())
    )
    if done:
        log_action("card.status", found.number, status=found.status)
        flash(f"Карта: {STATUS_TITLES[CardStatus(found.status)].lower()}.", "success")
    else:
        flash(result, "error")
    return redirect(url_for("pages.card", number=number))


@pages.route("/cards/<number>/replace", methods=["POST"])
@page("customers.register")
def card_replace(number: str) -> BaseResponse:
    found = _card(number)
    new_number = request.form.get("new_card", "").strip()
    reason = request.form.get("reason", "").strip() or "замена карты"
    done, result = attempt(
        lambda: replace_card(
            db_session(), found, new_number, reason=reason, author=_author(), now=now()
        )
    )
    if done:
        log_action("card.status", found.number, change="replace", new=result.number)
        flash("Карта заменена: баланс и история перешли на новую карту.", "success")
        return redirect(url_for("pages.card", number=result.number))
    flash(result, "error")
    return redirect(url_for("pages.card", number=number))
