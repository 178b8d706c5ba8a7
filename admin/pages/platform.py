"""The platform's pages. The licensor: every tenant with its usage against its limits, new
tenants with their first administrator, tariff changes, limits, suspension, the tariff presets
(Стартовый, Сетевой, Информер) and which agent looks after which tenant. An agent: only its
tenants — their connection status and POS tokens, never customer data."""

from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from werkzeug.wrappers.response import Response as BaseResponse
from wtforms import EmailField, IntegerField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from admin.pages.site import (
    PlainForm,
    agent_tenant_ids,
    attempt,
    choices,
    log_action,
    now,
    operator,
    page,
    pages,
)
from admin.pages.stores import ZONES
from connector.db import db_session
from processing.accounts.roles import ADMIN, AGENT, LICENSOR
from processing.accounts.service import add_user, agent_tenants, agents, set_agent_tenant
from processing.receipts.models import Receipt
from processing.reports.usage import usage_of
from processing.tenants.credentials import SERVICES
from processing.tenants.models import Pos, ServiceCredential, TariffPreset, Tenant
from processing.tenants.service import (
    add_tenant,
    change_tariff,
    edit_preset,
    get_tenant,
    reissue_pos_token,
    set_addon,
    set_limits,
    set_suspended,
    tenant_stores,
)
from sync.log import read_runs

REQUIRED = "Заполните поле."
LIMIT = [Optional(), NumberRange(0, 10_000_000, "От 0 до 10 000 000.")]
FEATURE_TITLES = {
    "bonus": "Бонусы",
    "levels": "Уровни и скидки",
    "promotions": "Акции",
    "coupons": "Купоны",
    "gifts": "Подарки",
    "certificates": "Подарочные сертификаты",
    "discount_server": "Сервер скидок 1С:Розница",
    "sms": "SMS",
    "email": "E-mail",
    "message_templates": "Шаблоны сообщений",
    "message_schedule": "Расписание рассылок",
    "delivery_control": "Контроль доставки",
}


def _tariffs() -> list[TariffPreset]:
    return list(
        db_session().scalars(select(TariffPreset).order_by(TariffPreset.kind, TariffPreset.code))
    )


class TenantForm(FlaskForm):
    code = StringField("Код сети", validators=[DataRequired(REQUIRED), Length(max=64)])
    name = StringField("Название", validators=[DataRequired(REQUIRED), Length(max=255)])
    tariff = SelectField("Тариф", choices=[])
    timezone = SelectField(
        "Часовой пояс", choices=choices((z, z) for z in ZONES), default="Europe/Moscow"
    )
    admin_email = EmailField("Администратор сети: e-mail", validators=[DataRequired(REQUIRED)])
    admin_password = PasswordField(
        "Администратор сети: пароль", validators=[DataRequired(REQUIRED)]
    )


class LimitsForm(FlaskForm):
    max_stores = IntegerField("Магазинов", validators=LIMIT)
    max_pos = IntegerField("Касс", validators=LIMIT)
    max_customers = IntegerField("Покупателей", validators=LIMIT)


class TariffChoiceForm(FlaskForm):
    tariff = SelectField("Тариф", choices=[])


def _base_choices() -> list[SelectChoice]:
    return choices((t.code, t.title) for t in _tariffs() if t.kind == "base")


@pages.route("/platform/tenants")
@page(platform_role=LICENSOR)
def tenants(form: TenantForm | None = None) -> str:
    db = db_session()
    rows = list(db.scalars(select(Tenant).order_by(Tenant.name)))
    if form is None:
        form = TenantForm()
        form.tariff.choices = _base_choices()
    return render_template(
        "pages/platform_tenants.html",
        tenants=rows,
        usage=usage_of(db, rows),
        form=form,
        tariffs=_tariffs(),
        features=FEATURE_TITLES,
    )


@pages.route("/platform/tenants/add", methods=["POST"])
@page(platform_role=LICENSOR)
def tenant_add() -> BaseResponse | str:
    form = TenantForm()
    form.tariff.choices = _base_choices()
    if form.validate_on_submit():

        def create() -> Tenant:
            db = db_session()
            made = add_tenant(db, form.code.data, form.name.data, form.tariff.data)
            made.timezone = form.timezone.data
            add_user(db, made, form.admin_email.data, form.admin_password.data, [ADMIN], now=now())
            return made

        done, result = attempt(create)
        if done:
            log_action("tenant.add", result.code, tenant_id=None)
            flash(f"Сеть «{result.name}» создана, её администратор может войти.", "success")
            return redirect(url_for("pages.tenant_page", code=result.code))
        form.form_errors.append(result)
    return tenants(form)


def _tenant_page(found: Tenant, limits: LimitsForm | None = None) -> str:
    db = db_session()
    choice = TariffChoiceForm(formdata=None, tariff=found.tariff)
    choice.tariff.choices = _base_choices()
    assigned = agent_tenants(db)
    return render_template(
        "pages/platform_tenant.html",
        tenant=found,
        usage=usage_of(db, [found])[found.id],
        limits=limits or LimitsForm(formdata=None, obj=found),
        choice=choice,
        plain=PlainForm(),
        addons=[t for t in _tariffs() if t.kind == "addon"],
        agents=agents(db),
        assigned={user_id for user_id, ids in assigned.items() if found.id in ids},
        features=FEATURE_TITLES,
    )


@pages.route("/platform/tenants/<code>")
@page(platform_role=LICENSOR)
def tenant_page(code: str) -> str:
    return _tenant_page(get_tenant(db_session(), code))


@pages.route("/platform/tenants/<code>/tariff", methods=["POST"])
@page(platform_role=LICENSOR)
def tenant_tariff(code: str) -> BaseResponse:
    found = get_tenant(db_session(), code)
    form = TariffChoiceForm()
    form.tariff.choices = _base_choices()
    if form.validate_on_submit():
        change_tariff(db_session(), found, form.tariff.data)
        log_action("tenant.tariff", found.code, tenant_id=found.id, tariff=found.tariff)
        flash("Тариф изменён: лимиты и возможности сети взяты из тарифа.", "success")
    return redirect(url_for("pages.tenant_page", code=code))


@pages.route("/platform/tenants/<code>/addons/<addon>", methods=["POST"])
@page(platform_role=LICENSOR)
def tenant_addon(code: str, addon: str) -> BaseResponse:
    found = get_tenant(db_session(), code)
    enabled = addon not in found.addons
    set_addon(db_session(), found, addon, enabled=enabled)
    log_action("tenant.tariff", found.code, tenant_id=found.id, addon=addon, enabled=enabled)
    flash("Дополнение подключено." if enabled else "Дополнение отключено.", "success")
    return redirect(url_for("pages.tenant_page", code=code))


@pages.route("/platform/tenants/<code>/limits", methods=["POST"])
@page(platform_role=LICENSOR)
def tenant_limits(code: str) -> BaseResponse | str:
    found = get_tenant(db_session(), code)
    form = LimitsForm()
    if form.validate_on_submit():
        done, result = attempt(
            lambda: set_limits(
                db_session(),
                found,
                max_stores=form.max_stores.data,
                max_pos=form.max_pos.data,
                max_customers=form.max_customers.data,
            )
        )
        if done:
            log_action("tenant.limits", found.code, tenant_id=found.id)
            flash("Лимиты сохранены.", "success")
            return redirect(url_for("pages.tenant_page", code=code))
        form.form_errors.append(result)
    return _tenant_page(found, limits=form)


@pages.route("/platform/tenants/<code>/suspend", methods=["POST"])
@page(platform_role=LICENSOR)
def tenant_suspend(code: str) -> BaseResponse:
    found = get_tenant(db_session(), code)
    suspend = found.suspended_at is None
    set_suspended(db_session(), found, suspend, now())
    log_action("tenant.suspend" if suspend else "tenant.resume", found.code, tenant_id=found.id)
    flash("Работа сети приостановлена." if suspend else "Работа сети возобновлена.", "success")
    return redirect(url_for("pages.tenant_page", code=code))


@pages.route("/platform/tenants/<code>/agents", methods=["POST"])
@page(platform_role=LICENSOR)
def tenant_agents(code: str) -> BaseResponse:
    db = db_session()
    found = get_tenant(db, code)
    wanted = set(request.form.getlist("agent"))
    for agent in agents(db):
        set_agent_tenant(db, agent, found, str(agent.id) in wanted)
    log_action("agent.assign", found.code, tenant_id=found.id, agents=sorted(wanted))
    flash("Агенты сети сохранены.", "success")
    return redirect(url_for("pages.tenant_page", code=code))


@pages.route("/platform/tariffs", methods=["GET", "POST"])
@page(platform_role=LICENSOR)
def tariffs() -> BaseResponse | str:
    db = db_session()
    presets = _tariffs()
    form = PlainForm()
    if request.method == "POST":
        code = request.form.get("code", "")

        def number(name: str) -> int | None:
            raw = request.form.get(name, "").strip().replace(" ", "").replace("\u00a0", "")
            if not raw:
                return None
            return int(raw) if raw.isdigit() else -1  # -1: refused by the domain's range check

        done, result = attempt(
            lambda: edit_preset(
                db,
                code,
                title=request.form.get("title", ""),
                max_stores=number("max_stores"),
                max_pos=number("max_pos"),
                max_customers=number("max_customers"),
                features=request.form.getlist("feature"),
                quotas={
                    kind: value
                    for kind in ("sms", "email")
                    if (value := number(f"quota_{kind}")) is not None
                },
            )
        )
        if done:
            log_action("tariff.edit", code, tenant_id=None)
            flash(f"Тариф «{result.title}» сохранён. Сети получат его при смене тарифа.", "success")
            return redirect(url_for("pages.tariffs"))
        flash(result, "error")
    return render_template(
        "pages/platform_tariffs.html", presets=presets, features=FEATURE_TITLES, form=form
    )


# --- agents -------------------------------------------------------------------------------------


def _visible_tenant(code: str) -> Tenant:
    """A tenant the agent looks after; 404 for any other (as for an unknown one)."""
    found = db_session().scalar(select(Tenant).where(Tenant.code == code))
    visible = agent_tenant_ids(operator())
    if found is None or (visible is not None and found.id not in visible):
        abort(404)
    return found


@pages.route("/platform/my-tenants")
@page(platform_role=AGENT)
def agent_tenants_page() -> str:
    db = db_session()
    visible = agent_tenant_ids(operator())
    query = select(Tenant).order_by(Tenant.name)
    if visible is not None:
        query = query.where(Tenant.id.in_(visible))
    rows = list(db.scalars(query))
    return render_template("pages/agent_tenants.html", tenants=rows, usage=usage_of(db, rows))


@pages.route("/platform/my-tenants/<code>")
@page(platform_role=AGENT)
def agent_tenant(code: str, issued: object = None) -> str:
    db = db_session()
    found = _visible_tenant(code)
    credentials = set(
        db.scalars(select(ServiceCredential.service).where(ServiceCredential.tenant_id == found.id))
    )
    stores = tenant_stores(db, found)
    last_seen = dict(
        db.execute(
            select(
                Pos.id,
                select(func.max(Receipt.sold_at)).where(Receipt.pos_id == Pos.id).scalar_subquery(),
            ).where(Pos.tenant_id == found.id)
        ).all()
    )
    runs = read_runs(db, tenant_id=found.id, limit=1)
    return render_template(
        "pages/agent_tenant.html",
        tenant=found,
        stores=stores,
        credentials=credentials,
        services=SERVICES,
        last_seen=last_seen,
        last_run=runs[0] if runs else None,
        issued=issued,
        plain=PlainForm(),
    )


@pages.route(
    "/platform/my-tenants/<code>/stores/<store_code>/pos/<pos_code>/reissue", methods=["POST"]
)
@page(platform_role=AGENT)
def agent_pos_reissue(code: str, store_code: str, pos_code: str) -> BaseResponse:
    found = _visible_tenant(code)
    target = next((s for s in tenant_stores(db_session(), found) if s.code == store_code), None)
    if target is None:
        abort(404)
    issued = reissue_pos_token(db_session(), target, pos_code)
    log_action("pos.reissue", f"{store_code}/{pos_code}", tenant_id=found.id)
    response = make_response(agent_tenant(code, issued=issued))
    response.headers["Cache-Control"] = "no-store"  # the token is on this page only
    return response
