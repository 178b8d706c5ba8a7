"""The questionnaire rules a tenant's administrator sets: the policy for an unfilled
questionnaire, the fields a filled one must have, the tenant's extra fields. Refusals name their
fields as the API's validation errors do (``details.fields.json.<field>``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from processing.customers.models import QuestionnaireField
from processing.customers.service import EXTRA_PREFIX, STANDARD_FIELDS, add_questionnaire_field
from processing.tenants.models import Tenant
from processing.tenants.service import QUESTIONNAIRE_POLICIES, CodeExists, set_questionnaire_rules
from processing.tenants.settings import invalid_fields

MAX_LABEL = 255


@dataclass(frozen=True)
class Questionnaire:
    policy: str  # what an unfilled questionnaire allows: nothing, accrual_only or full
    required: list[str]  # standard field names and ``extra.<code>``
    fields: list[QuestionnaireField]  # the tenant's extra fields


def extra_fields(session: Session, tenant: Tenant) -> list[QuestionnaireField]:
    return list(
        session.scalars(
            select(QuestionnaireField)
            .where(QuestionnaireField.tenant_id == tenant.id)
            .order_by(QuestionnaireField.code)
        )
    )


def questionnaire(session: Session, tenant: Tenant) -> Questionnaire:
    return Questionnaire(
        tenant.questionnaire_policy,
        list(tenant.questionnaire_required),
        extra_fields(session, tenant),
    )


def set_questionnaire(
    session: Session, tenant: Tenant, policy: str, required: Sequence[str]
) -> Questionnaire:
    """The policy for customers whose questionnaire is unfilled and the fields a filled one
    must have: standard fields, or ``extra.<code>`` of the tenant's extra fields."""
    errors: dict[str, list[str]] = {}
    if policy not in QUESTIONNAIRE_POLICIES:
        errors["policy"] = [
            "Политика незаполненной анкеты: nothing (ни начисления, ни оплаты бонусами), "
            "accrual_only (только начисление) или full (без ограничений)."
        ]
    extra = (EXTRA_PREFIX + field.code for field in extra_fields(session, tenant))
    known = {*STANDARD_FIELDS, *extra}
    unknown = [name for name in required if name not in known]
    if unknown:
        errors["required"] = [
            f"Нет такого поля анкеты: {', '.join(unknown)}. Стандартные поля: "
            f"{', '.join(STANDARD_FIELDS)}; дополнительные указываются как {EXTRA_PREFIX}<код>."
        ]
    if errors:
        raise invalid_fields(errors)
    set_questionnaire_rules(session, tenant, policy, list(required))
    return questionnaire(session, tenant)


def add_extra_field(
    session: Session,
    tenant: Tenant,
    code: str,
    label: str,
    kind: str,
    choices: Sequence[str] | None = None,
) -> QuestionnaireField:
    """A tenant-defined questionnaire field (``add_questionnaire_field`` checks its code, kind
    and choices); its code is unique within the tenant."""
    label = label.strip()
    if not label or len(label) > MAX_LABEL:
        raise invalid_fields({"label": [f"Название поля — от 1 до {MAX_LABEL} символов."]})
    taken = select(QuestionnaireField.id).where(
        QuestionnaireField.tenant_id == tenant.id, QuestionnaireField.code == code
    )
    if session.scalar(taken) is not None:
        raise CodeExists(
            f"Поле анкеты с кодом «{code}» уже есть.", details={"questionnaire_field": code}
        )
    return add_questionnaire_field(session, tenant, code, label, kind, list(choices or []))
