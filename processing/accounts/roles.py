"""The roles as the issue and the market name them, the permissions, and what each role may do
unless its tenant decided otherwise (``RolePermission``)."""

from __future__ import annotations

LICENSOR, AGENT = "licensor", "agent"
ADMIN, MARKETER, MANAGER, OPERATOR, CASHIER, GUEST = (
    "admin", "marketer", "manager", "operator", "cashier", "guest",
)  # fmt: skip

ROLE_TITLES = {
    LICENSOR: "Лицензиар",
    AGENT: "Агент",
    ADMIN: "Администратор",
    MARKETER: "Маркетолог",
    MANAGER: "Руководитель",
    OPERATOR: "Бухгалтер/Оператор",
    CASHIER: "Кассир",
    GUEST: "Гость",
}
PLATFORM_ROLES = frozenset((LICENSOR, AGENT))  # of users without a tenant
TENANT_ROLES = frozenset(ROLE_TITLES) - PLATFORM_ROLES

PERMISSION_TITLES = {
    "users.manage": "Пользователи и роли",
    "settings.manage": "Настройки, магазины, кассы, учётные данные обмена",
    "programs.edit": "Программы лояльности",
    "promotions.edit": "Акции",
    "segments.edit": "Сегменты",
    "reports.view": "Отчёты",
    "sync_log.view": "Журнал обмена",
    "cards.manage": "Шаблоны и выпуск карт",
    "cards.block": "Блокировка карт",
    "balance.correct": "Корректировка баланса",
    "customers.find": "Поиск покупателя по телефону или карте",
    "customers.register": "Регистрация покупателя, выдача и замена карты",
    "customers.view": "Анкеты покупателей (персональные данные)",
    "customers.edit": "Изменение анкет",
    "customers.anonymise": "Обезличивание по 152-ФЗ",
    "questionnaires.upload": "Загрузка анкет (CSV, XLSX)",
    "actions.view": "Журнал действий",
    "certificates.withdraw": "Списание подарочных сертификатов",
}
PERMISSIONS = frozenset(PERMISSION_TITLES)

_READ = frozenset({"reports.view", "sync_log.view"})
DEFAULTS: dict[str, frozenset[str]] = {
    ADMIN: PERMISSIONS,
    MARKETER: frozenset({"programs.edit", "promotions.edit", "segments.edit"}) | _READ,
    MANAGER: _READ | frozenset({"cards.block", "balance.correct", "customers.find"}),
    OPERATOR: frozenset(
        {
            "customers.find",
            "customers.register",
            "customers.view",
            "customers.edit",
            "questionnaires.upload",
            "certificates.withdraw",
        }
    ),
    CASHIER: frozenset({"customers.find", "customers.register"}),
    GUEST: _READ,
}
"""What a tenant role may do by default. The platform roles are not a tenant's to change: the
licensor manages every tenant, an agent sees the tenants assigned to it."""
