"""Loyalty programs: every program of the tenant with its state (pause, resume, archive) and its
versions with dates and store scope; a new program. A bonus or level program's new version is
edited as a form that starts from the current version's rules and changes only the fields it
shows (other rules, such as welcome bonuses or goods lists, carry over); the domain's validation
messages are shown next to the field they name. A promotion's or fixed discount's rules are
edited as their JSON document (docs/promotions.md), checked by the same domain rules."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers.response import Response as BaseResponse

from admin.pages import formats
from admin.pages.site import PlainForm, attempt, log_action, now, operator, page, pages, tenant
from connector.db import db_session
from processing.errors import ConnectorError
from processing.programs.models import Program, ProgramVersion
from processing.programs.rules import LIFETIME_FROM, WINDOW_KINDS
from processing.programs.service import (
    PROMOTION,
    STATUS_TITLES,
    add_program,
    add_version,
    get_program,
    level_codes,
    set_program_status,
    tenant_programs,
)
from processing.tenants.service import tenant_store_groups, tenant_stores

FORMS = ("bonus", "discount_level")  # kinds edited field by field; the others as JSON
KIND_TITLES = {
    "bonus": "Бонусная программа", "discount_level": "Уровни (накопительная скидка)",
    "fixed_discount": "Фиксированная скидка по карте", "promotion": "Акция",
}  # fmt: skip
WINDOW_TITLES = {
    "rolling_days": "скользящий период в днях",
    "calendar_month": "календарный месяц",
    "calendar_quarter": "календарный квартал",
    "calendar_year": "календарный год",
}
LIFETIME_FROM_TITLES = {"accrual": "от начисления", "activation": "от активации"}
LEVEL_ROWS = 6  # rows of the levels table: the current levels and blank ones to add
# The bonus rules the form edits: name → (label, hint).
BONUS_FIELDS = {
    "accrual_percent": ("Процент начисления", "например 3 или 2,5"),
    "max_payment_percent": ("Максимальная оплата бонусами, % чека", "например 50"),
    "activation_delay_days": ("Бонусы становятся доступны через, дней", "0 — сразу"),
    "lifetime_days": ("Срок жизни бонусов, дней", "пусто — бессрочно"),
}


def _current(program: Program) -> ProgramVersion | None:
    moment = now()
    live = [
        v
        for v in program.versions
        if v.effective_from <= moment and (v.effective_to is None or v.effective_to > moment)
    ]
    return max(live or program.versions, key=lambda v: v.effective_from, default=None)


@pages.route("/programs")
@page("programs.edit")
def programs() -> str:
    found = list(tenant_programs(db_session(), tenant()))
    return render_template(
        "pages/programs.html", programs=found, kinds=KIND_TITLES, statuses=STATUS_TITLES,
        current={p.id: _current(p) for p in found}, form=PlainForm(),
    )  # fmt: skip


def _may_edit(program: Program) -> None:
    """Promotions are the marketers' (``promotions.edit``) on top of the programs' right."""
    if program.kind == PROMOTION and not operator().may("promotions.edit"):
        abort(403)


@pages.route("/programs", methods=["POST"])
@page("programs.edit")
def program_add() -> BaseResponse | str:
    kind = request.form.get("kind", "")
    if kind == PROMOTION and not operator().may("promotions.edit"):
        abort(403)
    done, result = attempt(
        lambda: add_program(
            db_session(), tenant(), kind, request.form.get("code", "").strip(),
            request.form.get("name", ""),
        )
    )  # fmt: skip
    if not done:
        flash(result, "error")
        return redirect(url_for("pages.programs"))
    log_action("program.edit", result.code, created=kind)
    flash(f"Программа «{result.name}» создана: добавьте её первую версию.", "success")
    return redirect(url_for("pages.program", program_code=result.code))


@pages.route("/programs/<program_code>/status", methods=["POST"])
@page("programs.edit")
def program_status(program_code: str) -> BaseResponse:
    found = get_program(db_session(), tenant(), program_code)
    _may_edit(found)
    status = request.form.get("status", "")
    done, result = attempt(lambda: set_program_status(db_session(), found, status))
    if done:
        log_action("program.edit", found.code, status=status)
        flash(f"Программа «{found.name}»: {STATUS_TITLES.get(status, status)}.", "success")
    else:
        flash(result, "error")
    return redirect(url_for("pages.program", program_code=found.code))


def _number(raw: str) -> str:
    """A number as a person types it (``2,5``, ``1 000``) in the rules' form (``2.5``)."""
    return raw.strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")


def _bonus_rules(base: dict[str, Any], form: Any) -> dict[str, Any]:
    rules = dict(base)
    for name in ("accrual_percent", "max_payment_percent"):
        rules[name] = _number(form.get(name, ""))
    for name in ("activation_delay_days", "lifetime_days"):
        raw = _number(form.get(name, ""))
        rules[name] = int(raw) if raw.lstrip("-").isdigit() else (raw or None)
    if rules["activation_delay_days"] is None:
        rules["activation_delay_days"] = 0
    rules["lifetime_from"] = form.get("lifetime_from", "accrual")
    by_level = {}
    for key, value in form.items():
        if key.startswith("level_percent.") and _number(value):
            by_level[key.removeprefix("level_percent.")] = _number(value)
    rules["accrual_percent_by_level"] = by_level
    return rules


def _level_rules(base: dict[str, Any], form: Any) -> dict[str, Any]:
    rules = dict(base)
    rules["basis"] = form.get("basis", "sum")
    window: dict[str, Any] = {"kind": form.get("window_kind", "")}
    days = _number(form.get("window_days", ""))
    if days:
        window["days"] = int(days) if days.isdigit() else days
    if form.get("window_previous") == "yes":
        window["previous"] = True
    rules["window"] = window
    levels = []
    for i in range(LEVEL_ROWS):
        code = form.get(f"levels.{i}.code", "").strip()
        if not code:
            continue
        levels.append(
            {
                "code": code,
                "name": form.get(f"levels.{i}.name", "").strip() or code,
                "threshold": _number(form.get(f"levels.{i}.threshold", "")) or "0",
                "discount_percent": _number(form.get(f"levels.{i}.discount_percent", "")) or "0",
            }
        )
    rules["levels"] = levels
    return rules


def _json_rules(raw: str) -> tuple[dict[str, Any], str | None]:
    """The rules document typed into the page, or why it is not one."""
    try:
        document = json.loads(raw, parse_float=str)  # never a float: the rules take decimal text
    except json.JSONDecodeError as error:
        return {}, f"Правила — не JSON: строка {error.lineno}, позиция {error.colno}."
    if not isinstance(document, dict):
        return {}, "Правила — JSON-объект в фигурных скобках."
    return document, None


def _form_field(path: str) -> str:
    """The form field a rules path names: ``rules.levels[1].threshold`` → ``levels.1.threshold``."""
    name = path.removeprefix("rules.").replace("[", ".").replace("]", "")
    return {"window.kind": "window_kind", "window.days": "window_days"}.get(name, name)


def _program_page(
    program: Program, errors: dict[str, str] | None = None, values: Any = None
) -> str:
    db, owner = db_session(), tenant()
    current = _current(program)
    rules = current.rules if current else {}
    return render_template(
        "pages/program.html",
        program=program,
        kinds=KIND_TITLES,
        current=current,
        rules=rules,
        values=values,
        errors=errors or {},
        form=PlainForm(),
        stores=tenant_stores(db, owner),
        groups=tenant_store_groups(db, owner),
        levels=sorted(level_codes(db, owner.id)),
        windows=WINDOW_TITLES,
        lifetime_from=LIFETIME_FROM_TITLES,
        bonus_fields=BONUS_FIELDS,
        level_rows=LEVEL_ROWS,
        statuses=STATUS_TITLES,
        json_form=program.kind not in FORMS,
        rules_json=json.dumps(rules, ensure_ascii=False, indent=2),
        tomorrow=formats.local_date(owner, now()) + timedelta(days=1),
    )


def _program(code: str) -> Program:
    program = get_program(db_session(), tenant(), code)
    _may_edit(program)
    return program


@pages.route("/programs/<program_code>")
@page("programs.edit")
def program(program_code: str) -> str:
    return _program_page(_program(program_code))


@pages.route("/programs/<program_code>/versions", methods=["POST"])
@page("programs.edit")
def program_version(program_code: str) -> BaseResponse | str:
    found, db, owner = _program(program_code), db_session(), tenant()
    form = request.form
    zone = formats.zone_of(owner)
    errors: dict[str, str] = {}
    starts = formats.day_start(form.get("effective_from"), zone)
    ends = formats.day_start(form.get("effective_to"), zone) if form.get("effective_to") else None
    if starts is None:
        errors["effective_from"] = "Укажите дату начала действия версии."
    if form.get("effective_to") and ends is None:
        errors["effective_to"] = "Неверная дата окончания."
    current = _current(found)
    base = dict(current.rules) if current else {}
    rules: dict[str, Any]
    if found.kind == "bonus":
        rules = _bonus_rules(base, form)
        if form.get("lifetime_from") not in LIFETIME_FROM:
            errors["lifetime_from"] = "Выберите, от чего считается срок жизни."
    elif found.kind == "discount_level":
        rules = _level_rules(base, form)
        if form.get("window_kind") not in WINDOW_KINDS:
            errors["window_kind"] = "Выберите период."
    else:
        rules, problem = _json_rules(form.get("rules", ""))
        if problem:
            errors["rules"] = problem
    store_codes = set(form.getlist("stores"))
    group_codes = set(form.getlist("groups"))
    stores = [s for s in tenant_stores(db, owner) if s.code in store_codes]
    groups = [g for g in tenant_store_groups(db, owner) if g.code in group_codes]
    if not errors and starts is not None:
        try:
            with db.begin_nested():
                version = add_version(
                    db, found, rules, starts, ends, stores=stores, store_groups=groups
                )
        except ConnectorError as error:
            path = str(error.details.get("field", ""))
            errors["rules" if found.kind not in FORMS else _form_field(path)] = error.text
        else:
            log_action("program.edit", found.code, version=version.id)
            flash("Новая версия программы сохранена.", "success")
            return redirect(url_for("pages.program", program_code=found.code))
    db.expire(found)
    return _program_page(found, errors=errors, values=form)
