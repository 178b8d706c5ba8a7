"""``/api/v1/admin/settings``, ``/api/v1/admin/questionnaire`` and ``/api/v1/admin/tariff``: the
tenant's processing policies, its questionnaire rules and extra fields (checked by
``processing/tenants/settings.py``), and its tariff, read-only: a tariff or feature changes
through the platform's CLI only, never with a tenant's token."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import RAISE

from admin.auth import admin_tenant
from admin.manage_api import management_blueprint
from connector.db import db_session
from mappings import admin as wire
from processing.customers.questionnaire import add_extra_field, questionnaire, set_questionnaire
from processing.tenants.models import TariffPreset
from processing.tenants.settings import tenant_settings, update_settings

blp = management_blueprint(
    "admin_settings",
    __name__,
    "Management: processing settings, questionnaire rules and extra fields, tariff",
)

SETTINGS_EXAMPLE = {
    "phone_write_off": False,
    "phone_level_discount": True,
    "return_policy": "cap_at_zero",
    "rollback_window_hours": 24,
    "sums_tolerance": 0.01,
    "line_sum_tolerance": 0.01,
    "sold_at_ahead_minutes": 10,
    "offline_window_days": 30,
}
FIELD_EXAMPLE = {
    "code": "pet",
    "label": "Домашний питомец",
    "kind": "choice",
    "choices": ["кошка", "собака", "нет"],
}
QUESTIONNAIRE_EXAMPLE = {
    "policy": "accrual_only",
    "required": ["last_name", "first_name", "phone", "extra.pet"],
    "fields": [FIELD_EXAMPLE],
}


@blp.route("/settings")
class ProcessingSettings(MethodView):
    @blp.response(200, wire.SettingsOut, example=SETTINGS_EXAMPLE)
    def get(self) -> dict[str, Any]:
        """The tenant's processing policies (see docs/pos-api.md for what each does)."""
        return tenant_settings(admin_tenant())

    @blp.arguments(
        wire.SettingsIn,
        unknown=RAISE,
        example={"phone_level_discount": True, "sums_tolerance": 0.05},
    )
    @blp.response(
        200,
        wire.SettingsChangedOut,
        example={**SETTINGS_EXAMPLE, "sums_tolerance": 0.05,
                 "changed": ["phone_level_discount", "sums_tolerance"]},
    )  # fmt: skip
    @blp.alt_response(400, description="VALIDATION_ERROR: details.fields.json names the field")
    def patch(self, data: dict[str, Any]) -> dict[str, Any]:
        """Change the given policies; all or none. Receipts of this node follow at once, other
        nodes within 10 s. Answers every policy and the names that ``changed``."""
        tenant = admin_tenant()
        changed = update_settings(db_session(), tenant, data)
        return {**tenant_settings(tenant), "changed": changed}


@blp.route("/questionnaire")
class QuestionnaireRules(MethodView):
    @blp.response(200, wire.QuestionnaireRulesOut, example=QUESTIONNAIRE_EXAMPLE)
    def get(self) -> dict[str, Any]:
        """The policy for customers whose questionnaire is unfilled, the fields a filled one
        must have, and the tenant's extra fields."""
        return wire.questionnaire_body(questionnaire(db_session(), admin_tenant()))

    @blp.arguments(
        wire.QuestionnaireIn,
        unknown=RAISE,
        example={key: QUESTIONNAIRE_EXAMPLE[key] for key in ("policy", "required")},
    )
    @blp.response(200, wire.QuestionnaireRulesOut, example=QUESTIONNAIRE_EXAMPLE)
    @blp.alt_response(400, description="VALIDATION_ERROR: details.fields.json names the field")
    def put(self, data: dict[str, Any]) -> dict[str, Any]:
        """Set the policy (``nothing``: no accrual and no bonus payment until the questionnaire
        and the processing consent are filled; ``accrual_only``; ``full``) and the required
        fields (standard names, ``extra.<code>`` for extra fields)."""
        found = set_questionnaire(db_session(), admin_tenant(), data["policy"], data["required"])
        return wire.questionnaire_body(found)


@blp.route("/questionnaire/fields")
class QuestionnaireFields(MethodView):
    @blp.arguments(wire.ExtraFieldIn, unknown=RAISE, example=FIELD_EXAMPLE)
    @blp.response(201, wire.ExtraFieldOut, example=FIELD_EXAMPLE)
    @blp.alt_response(400, description="VALIDATION_ERROR")
    @blp.alt_response(409, description="CODE_EXISTS")
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Add an extra questionnaire field (1C and POS send it in ``extra``)."""
        field = add_extra_field(
            db_session(), admin_tenant(), data["code"], data["label"], data["kind"],
            data["choices"],
        )  # fmt: skip
        return wire.extra_field_body(field)


@blp.route("/tariff")
class Tariff(MethodView):
    @blp.response(
        200,
        wire.TariffOut,
        example={
            "tariff": "network", "title": "Сетевой", "addons": ["informer"],
            "features": ["bonus", "certificates", "discount_server", "gifts", "levels", "sms"],
            "quotas": {"sms_per_month": 500},
            "limits": {"stores": 20, "pos": None, "customers": None},
        },
    )  # fmt: skip
    def get(self) -> dict[str, Any]:
        """The tenant's tariff, add-ons, features, monthly quotas and limits (null: unlimited).
        Read-only: the platform changes them (``loyalty-connector tenant tariff``)."""
        tenant = admin_tenant()
        preset = db_session().get(TariffPreset, tenant.tariff)
        return wire.tariff_body(tenant, preset.title if preset else tenant.tariff)
