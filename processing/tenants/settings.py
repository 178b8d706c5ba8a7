"""What a tenant's administrator sets without Python: the processing policies (identification by
phone, returns, rollbacks, the tolerances of receipt sums, how far a receipt's time may stray).
The questionnaire rules live with the customers (``processing/customers/questionnaire.py``).

Each value is checked here, the one place its rule lives. A refusal names its fields as the
API's validation errors do (``details.fields.json.<field>``: a list of Russian messages), so the
API, the CLI and the admin pages report it alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from processing.errors import InvalidInput
from processing.money import is_whole_kopecks
from processing.tenants.models import Tenant

RETURN_POLICIES = ("cap_at_zero", "allow_negative")
MAX_TOLERANCE = Decimal("100.00")


class _Bad(Exception):
    """One field's value is refused; the message is Russian."""


def invalid_fields(errors: Mapping[str, list[str]]) -> InvalidInput:
    """VALIDATION_ERROR naming each refused field with its messages."""
    text = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in errors.items())
    return InvalidInput(
        f"Недопустимые значения. {text}", details={"fields": {"json": dict(errors)}}
    )


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Bad("Ожидается true или false.")
    return value


def _return_policy(value: Any) -> str:
    if value not in RETURN_POLICIES:
        raise _Bad(
            "Политика возвратов: cap_at_zero (баланс не уходит ниже нуля) или allow_negative "
            "(баланс может уйти в минус на невозвращённое начисление)."
        )
    return str(value)


def _whole(low: int, high: int, unit: str) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise _Bad(f"Целое число от {low} до {high} ({unit}).")
        return value

    return parse


def _tolerance(value: Any) -> Decimal:
    """Rubles, whole kopecks, from 0.00 to 100.00; float is refused like everywhere else."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise _Bad("Ожидается сумма в рублях, например 0.05.")
    amount = Decimal(value)
    if not is_whole_kopecks(amount) or not 0 <= amount <= MAX_TOLERANCE:
        raise _Bad("Сумма от 0,00 до 100,00 ₽ с точностью до копейки.")
    return amount


# The processing policies, in the order they are shown, with the parser that checks each.
SETTINGS: dict[str, Callable[[Any], Any]] = {
    "phone_write_off": _flag,
    "phone_level_discount": _flag,
    "return_policy": _return_policy,
    "rollback_window_hours": _whole(0, 720, "часов после чека; 0 — отмена чеков запрещена"),
    "sums_tolerance": _tolerance,
    "line_sum_tolerance": _tolerance,
    "sold_at_ahead_minutes": _whole(0, 1440, "минут"),
    "offline_window_days": _whole(1, 365, "дней"),
}


def tenant_settings(tenant: Tenant) -> dict[str, Any]:
    """The tenant's processing policies by name (``SETTINGS``)."""
    return {name: getattr(tenant, name) for name in SETTINGS}


def update_settings(session: Session, tenant: Tenant, values: Mapping[str, Any]) -> list[str]:
    """Set the given policies; all or none: any refused value refuses the whole change. Returns
    the names whose value changed, in ``SETTINGS`` order."""
    parsed: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, value in values.items():
        parse = SETTINGS.get(name)
        try:
            if parse is None:
                raise _Bad("Неизвестная настройка.")
            parsed[name] = parse(value)
        except _Bad as bad:
            errors[name] = [str(bad)]
    if errors:
        raise invalid_fields(errors)
    changed = [
        name for name in SETTINGS if name in parsed and getattr(tenant, name) != parsed[name]
    ]
    for name in changed:
        setattr(tenant, name, parsed[name])
    session.flush()
    return changed
