"""The admin action log: who did what when. Logins (and failed ones), every change, every view
of a customer's personal data, every export. A row holds ids, codes and field names, never the
personal data itself; the caller writes it in the same transaction as the action."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from processing.accounts.models import ActionLogEntry, User

TARGET_LENGTH = 200

ACTION_TITLES = {
    "login": "Вход",
    "login.failed": "Неудачная попытка входа",
    "logout": "Выход",
    "user.add": "Добавлен пользователь",
    "user.active": "Пользователь включён или отключён",
    "user.password": "Изменён пароль",
    "permission.set": "Изменены права роли",
    "tenant.add": "Создана сеть",
    "tenant.tariff": "Изменён тариф",
    "tenant.limits": "Изменены лимиты",
    "tenant.suspend": "Работа сети приостановлена",
    "tenant.resume": "Работа сети возобновлена",
    "tariff.edit": "Изменён тарифный план",
    "agent.assign": "Сеть назначена агенту",
    "store.add": "Добавлен магазин",
    "store.active": "Магазин включён или отключён",
    "store_group.add": "Добавлена группа магазинов",
    "pos.add": "Добавлена касса",
    "pos.reissue": "Выпущен новый токен кассы",
    "pos.revoke": "Токен кассы отозван",
    "credentials.set": "Изменены учётные данные 1С",
    "cashier.set": "Добавлен или переименован кассир",
    "questionnaire.rules": "Изменены правила анкеты",
    "questionnaire.field": "Добавлено поле анкеты",
    "customer.view": "Просмотр анкеты покупателя",
    "customer.search": "Поиск покупателей (показаны персональные данные)",
    "customer.register": "Зарегистрирован покупатель",
    "customer.update": "Изменена анкета покупателя",
    "customer.anonymise": "Покупатель обезличен",
    "card.issue": "Выдана карта",
    "card.template": "Добавлена серия карт",
    "card.generate": "Выпущена партия карт",
    "card.status": "Изменён статус карты",
    "balance.correct": "Корректировка баланса",
    "upload.start": "Загружен файл анкет",
    "upload.load": "Анкеты из файла загружены",
    "upload.cancel": "Загрузка анкет отменена",
    "upload.report": "Выгружен отчёт об ошибках загрузки",
    "program.edit": "Изменена программа лояльности",
}


def record_action(
    session: Session,
    *,
    tenant_id: int | None,
    user_id: int | None,
    action: str,
    now: datetime,
    target: str = "",
    details: dict[str, Any] | None = None,
) -> None:
    if action not in ACTION_TITLES:
        raise ValueError(f"unknown action {action!r}")
    session.add(
        ActionLogEntry(
            tenant_id=tenant_id, user_id=user_id, at=now, action=action,
            target=target[:TARGET_LENGTH], details=details or {},
        )
    )  # fmt: skip


def read_actions(
    session: Session,
    tenant_id: int,
    *,
    since: datetime | None = None,
    action: str | None = None,
    limit: int = 200,
) -> Sequence[tuple[ActionLogEntry, User | None]]:
    """The tenant's log, newest first, with each row's user (None: unknown or deleted)."""
    query = (
        select(ActionLogEntry, User)
        .outerjoin(User, User.id == ActionLogEntry.user_id)
        .where(ActionLogEntry.tenant_id == tenant_id)
        .order_by(ActionLogEntry.at.desc(), ActionLogEntry.id.desc())
        .limit(limit)
    )
    if since is not None:
        query = query.where(ActionLogEntry.at >= since)
    if action:
        query = query.where(ActionLogEntry.action == action)
    return [(row[0], row[1]) for row in session.execute(query)]
