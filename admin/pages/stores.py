"""Stores, store groups and POS terminals of the tenant, and the logins its 1C uses for the
discount server and the exchange. A POS token is shown once, on the page that made it; after
that it can only be revoked or replaced."""

from __future__ import annotations

from flask import flash, make_response, redirect, render_template, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers.response import Response as BaseResponse
from wtforms import BooleanField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Optional

from admin.pages.site import attempt, choices, log_action, now, page, pages, tenant
from connector.db import db_session
from processing.tenants.credentials import SERVICES, set_credentials
from processing.tenants.models import Cashier, ServiceCredential, Store
from processing.tenants.service import (
    IssuedPos,
    add_pos,
    add_store,
    add_store_group,
    ensure_cashier,
    get_store,
    reissue_pos_token,
    revoke_pos,
    set_store_active,
    tenant_store_groups,
    tenant_stores,
)

SERVICE_TITLES = {
    "discount_server": "Сервер скидок 1С:Розница",
    "exchange": "Обмен с 1С (CommerceML)",
}
CODE_HINT = "Латинские буквы, цифры, «-» и «_», например msk-1."
ZONES = (
    "Europe/Kaliningrad",
    "Europe/Moscow",
    "Europe/Samara",
    "Asia/Yekaterinburg",
    "Asia/Omsk",
    "Asia/Novosibirsk",
    "Asia/Krasnoyarsk",
    "Asia/Irkutsk",
    "Asia/Yakutsk",
    "Asia/Vladivostok",
    "Asia/Magadan",
    "Asia/Kamchatka",
)
REQUIRED = "Заполните поле."


class StoreForm(FlaskForm):
    code = StringField("Код", validators=[DataRequired(REQUIRED), Length(max=64)])
    name = StringField("Название", validators=[DataRequired(REQUIRED), Length(max=255)])
    timezone = SelectField(
        "Часовой пояс", choices=choices((zone, zone) for zone in ZONES), default="Europe/Moscow"
    )
    city = StringField("Город", validators=[Optional(), Length(max=255)])
    address = StringField("Адрес", validators=[Optional(), Length(max=500)])


class PosForm(FlaskForm):
    code = StringField("Код кассы", validators=[DataRequired(REQUIRED), Length(max=64)])


class GroupForm(FlaskForm):
    code = StringField("Код группы", validators=[DataRequired(REQUIRED), Length(max=64)])
    name = StringField("Название", validators=[DataRequired(REQUIRED), Length(max=255)])
    stores = SelectMultipleField("Магазины", choices=[], validate_choice=True)


class CredentialsForm(FlaskForm):
    service = SelectField("Сервис", choices=choices(SERVICE_TITLES.items()))
    username = StringField("Пользователь", validators=[DataRequired(REQUIRED), Length(max=100)])
    password = PasswordField("Пароль", validators=[DataRequired(REQUIRED), Length(max=200)])


class CashierForm(FlaskForm):
    code = StringField(
        "Код кассира (как его передаёт касса)", validators=[DataRequired(REQUIRED), Length(max=64)]
    )
    name = StringField("Имя", validators=[DataRequired(REQUIRED), Length(max=255)])


class ActiveForm(FlaskForm):
    active = BooleanField("Магазин работает")


def _page(**forms: FlaskForm) -> str:
    db, owner = db_session(), tenant()
    stores = tenant_stores(db, owner)
    group_form = forms.get("group_form") or GroupForm(prefix="group", formdata=None)
    group_form.stores.choices = choices((store.code, store.name) for store in stores)
    cashiers = db.scalars(
        select(Cashier).where(Cashier.tenant_id == owner.id).order_by(Cashier.code)
    )
    cashier_form = forms.get("cashier_form") or CashierForm(prefix="cashier", formdata=None)
    credentials = {
        row.service: row
        for row in db.scalars(
            select(ServiceCredential).where(ServiceCredential.tenant_id == owner.id)
        )
    }
    store_form = forms.get("store_form") or StoreForm(prefix="store", formdata=None)
    credentials_form = forms.get("credentials_form") or CredentialsForm(
        prefix="cred", formdata=None
    )
    return render_template(
        "pages/stores.html",
        stores=stores,
        groups=tenant_store_groups(db, owner),
        store_form=store_form,
        group_form=group_form,
        credentials_form=credentials_form,
        cashiers=list(cashiers),
        cashier_form=cashier_form,
        credentials=credentials,
        service_titles=SERVICE_TITLES,
        code_hint=CODE_HINT,
    )


@pages.route("/stores")
@page("settings.manage")
def stores() -> str:
    return _page()


@pages.route("/stores/add", methods=["POST"])
@page("settings.manage")
def store_add() -> BaseResponse | str:
    form = StoreForm(prefix="store")
    if form.validate_on_submit():
        done, result = attempt(
            lambda: add_store(
                db_session(),
                tenant(),
                form.code.data,
                form.name.data,
                form.timezone.data,
                address=form.address.data or None,
                city=form.city.data or None,
            )
        )
        if done:
            log_action("store.add", result.code)
            flash(f"Магазин «{result.name}» добавлен.", "success")
            return redirect(url_for("pages.store", store_code=result.code))
        form.form_errors.append(result)
    return _page(store_form=form)


@pages.route("/store-groups/add", methods=["POST"])
@page("settings.manage")
def store_group_add() -> BaseResponse | str:
    form = GroupForm(prefix="group")
    owner = tenant()
    form.stores.choices = choices((s.code, s.name) for s in tenant_stores(db_session(), owner))
    if form.validate_on_submit():
        chosen = [get_store(db_session(), owner, code) for code in form.stores.data]
        done, result = attempt(
            lambda: add_store_group(db_session(), owner, form.code.data, form.name.data, chosen)
        )
        if done:
            log_action("store_group.add", result.code)
            flash(f"Группа «{result.name}» добавлена.", "success")
            return redirect(url_for("pages.stores"))
        form.form_errors.append(result)
    return _page(group_form=form)


@pages.route("/credentials", methods=["POST"])
@page("settings.manage")
def credentials_set() -> BaseResponse | str:
    form = CredentialsForm(prefix="cred")
    if form.validate_on_submit() and form.service.data in SERVICES:
        done, result = attempt(
            lambda: set_credentials(
                db_session(),
                tenant(),
                form.service.data,
                form.username.data,
                form.password.data,
                now=now(),
            )
        )
        if done:
            log_action("credentials.set", form.service.data)
            flash(f"Учётные данные «{SERVICE_TITLES[form.service.data]}» сохранены.", "success")
            return redirect(url_for("pages.stores"))
        form.password.errors = [*form.password.errors, result]
    return _page(credentials_form=form)


@pages.route("/cashiers", methods=["POST"])
@page("settings.manage")
def cashier_set() -> BaseResponse | str:
    """Add a cashier ahead of its first receipt, or rename one (the receipts keep the code)."""
    form = CashierForm(prefix="cashier")
    if form.validate_on_submit():
        done, result = attempt(
            lambda: ensure_cashier(db_session(), tenant().id, form.code.data, form.name.data)
        )
        if done:
            log_action("cashier.set", result.code)
            flash(f"Кассир {result.code} — {result.name}.", "success")
            return redirect(url_for("pages.stores"))
        form.form_errors.append(result)
    return _page(cashier_form=form)


def _store(code: str) -> Store:
    return get_store(db_session(), tenant(), code)


def _store_page(
    store: Store, pos_form: PosForm | None = None, issued: IssuedPos | None = None
) -> BaseResponse:
    response = make_response(
        render_template(
            "pages/store.html",
            store=store,
            pos_form=pos_form or PosForm(formdata=None),
            active_form=ActiveForm(formdata=None, active=store.active),
            issued=issued,
        )
    )
    if issued is not None:  # the token is on this page only: no cache may keep it
        response.headers["Cache-Control"] = "no-store"
    return response


@pages.route("/stores/<store_code>")
@page("settings.manage")
def store(store_code: str) -> BaseResponse:
    return _store_page(_store(store_code))


@pages.route("/stores/<store_code>/active", methods=["POST"])
@page("settings.manage")
def store_active(store_code: str) -> BaseResponse:
    form = ActiveForm()
    found = _store(store_code)
    done, result = attempt(
        lambda: set_store_active(db_session(), tenant(), found, bool(form.active.data))
    )
    if done:
        log_action("store.active", found.code, active=found.active)
        flash(
            "Магазин включён." if found.active else "Магазин отключён: его кассы не обслуживаются.",
            "success",
        )
    else:
        flash(result, "error")
    return redirect(url_for("pages.store", store_code=store_code))


@pages.route("/stores/<store_code>/pos", methods=["POST"])
@page("settings.manage")
def pos_add(store_code: str) -> BaseResponse:
    found = _store(store_code)
    form = PosForm()
    if form.validate_on_submit():
        done, result = attempt(lambda: add_pos(db_session(), found, form.code.data))
        if done:
            log_action("pos.add", f"{found.code}/{result.pos.code}")
            return _store_page(found, issued=result)
        form.code.errors = [*form.code.errors, result]
    return _store_page(found, pos_form=form)


@pages.route("/stores/<store_code>/pos/<pos_code>/reissue", methods=["POST"])
@page("settings.manage")
def pos_reissue(store_code: str, pos_code: str) -> BaseResponse:
    found = _store(store_code)
    issued = reissue_pos_token(db_session(), found, pos_code)
    log_action("pos.reissue", f"{found.code}/{pos_code}")
    return _store_page(found, issued=issued)


@pages.route("/stores/<store_code>/pos/<pos_code>/revoke", methods=["POST"])
@page("settings.manage")
def pos_revoke(store_code: str, pos_code: str) -> BaseResponse:
    found = _store(store_code)
    revoke_pos(db_session(), found, pos_code, now())
    log_action("pos.revoke", f"{found.code}/{pos_code}")
    flash(f"Токен кассы {pos_code} отозван: касса больше не обслуживается.", "success")
    return redirect(url_for("pages.store", store_code=store_code))
