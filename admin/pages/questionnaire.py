"""The tenant's questionnaire: what an unfilled questionnaire allows, the fields a filled one must
have, and the tenant's own extra fields (shown on every customer's form and in the upload's
mapping)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers.response import Response as BaseResponse

from admin.pages.customers import FIELD_TITLES
from admin.pages.site import PlainForm, attempt, log_action, page, pages, tenant
from connector.db import db_session
from processing.customers.questionnaire import add_extra_field, questionnaire, set_questionnaire
from processing.customers.service import EXTRA_PREFIX, STANDARD_FIELDS
from processing.errors import ConnectorError

POLICY_TITLES = {
    "full": "без ограничений", "accrual_only": "только начисление бонусов",
    "nothing": "ни начисления, ни оплаты бонусами",
}  # fmt: skip
KIND_TITLES = {
    "string": "текст",
    "number": "число",
    "date": "дата",
    "boolean": "да/нет",
    "choice": "список",
}


def _page(field_errors: dict[str, str] | None = None) -> str:
    found = questionnaire(db_session(), tenant())
    return render_template(
        "pages/questionnaire.html", questionnaire=found, form=PlainForm(), policies=POLICY_TITLES,
        kinds=KIND_TITLES, standard=[(f, FIELD_TITLES[f]) for f in STANDARD_FIELDS],
        extra_prefix=EXTRA_PREFIX, errors=field_errors or {}, values=request.form,
    )  # fmt: skip


@pages.route("/questionnaire")
@page("settings.manage")
def questionnaire_page() -> str:
    return _page()


def _field_errors(error_text: str, details: dict[str, Any]) -> dict[str, str]:
    """The domain's messages by the field they name (``details.fields.json``)."""
    fields = details.get("fields", {}).get("json", {})
    return {name: "; ".join(messages) for name, messages in fields.items()} or {"": error_text}


@pages.route("/questionnaire/rules", methods=["POST"])
@page("settings.manage")
def questionnaire_rules() -> BaseResponse | str:
    policy, required = request.form.get("policy", ""), request.form.getlist("required")
    db, owner = db_session(), tenant()
    try:
        with db.begin_nested():
            set_questionnaire(db, owner, policy, required)
    except ConnectorError as error:
        return _page(_field_errors(error.text, error.details))
    log_action("questionnaire.rules", "", policy=policy, required=required)
    flash("Правила анкеты сохранены.", "success")
    return redirect(url_for("pages.questionnaire_page"))


@pages.route("/questionnaire/fields", methods=["POST"])
@page("settings.manage")
def questionnaire_field_add() -> BaseResponse | str:
    form = request.form
    choices = [line.strip() for line in form.get("choices", "").splitlines() if line.strip()]
    done, result = attempt(
        lambda: add_extra_field(
            db_session(), tenant(), form.get("code", "").strip(), form.get("label", ""),
            form.get("kind", ""), choices,
        )
    )  # fmt: skip
    if not done:
        return _page({"field": result})
    log_action("questionnaire.field", result.code)
    flash(f"Поле «{result.label}» добавлено в анкету.", "success")
    return redirect(url_for("pages.questionnaire_page"))
