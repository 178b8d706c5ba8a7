"""The one exception hierarchy of the service.

Every error carries a stable ``code`` (listed in ``docs/errors.md``) and a Russian ``message``
that a cashier or accountant can act on. The category classes below say what kind of failure it
is; the faces map a category to an HTTP status, a JSON body or a SOAP fault, so the domain never
mentions a transport.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class ConnectorError(Exception):
    """Base of every error the service reports to a caller."""

    code: ClassVar[str] = "INTERNAL_ERROR"
    message: ClassVar[str] = (
        "Внутренняя ошибка сервиса. Повторите операцию; если ошибка повторяется, "
        "сообщите в поддержку номер запроса."
    )

    def __init__(
        self, message: str | None = None, *, details: Mapping[str, Any] | None = None
    ) -> None:
        self.text = message or self.message
        self.details: dict[str, Any] = dict(details or {})
        super().__init__(self.text)


class InvalidInput(ConnectorError):
    """The request itself is wrong: fields missing, values out of range, malformed data."""

    code = "VALIDATION_ERROR"
    message = "Некорректные данные запроса. Проверьте поля, указанные в details."


class NotFound(ConnectorError):
    code = "NOT_FOUND"
    message = "Объект не найден."


class Conflict(ConnectorError):
    """The request contradicts what is already stored (duplicates, state changed meanwhile)."""

    code = "CONFLICT"
    message = "Операция противоречит уже сохранённым данным."


class NotAuthenticated(ConnectorError):
    code = "UNAUTHORIZED"
    message = "Требуется авторизация: укажите действующий токен или логин и пароль."


class Forbidden(ConnectorError):
    code = "FORBIDDEN"
    message = "Недостаточно прав для этой операции."


class Refused(ConnectorError):
    """A well-formed request that the loyalty rules refuse (card blocked, limit reached ...)."""

    code = "OPERATION_REFUSED"
    message = "Операция отклонена правилами программы лояльности."


class Unavailable(ConnectorError):
    code = "SERVICE_UNAVAILABLE"
    message = "Сервис временно недоступен. Повторите операцию через несколько секунд."


class TooManyRequests(ConnectorError):
    """Refused for a while (too many attempts); ``retry_after_s`` says for how long."""

    code = "TOO_MANY_REQUESTS"
    message = "Слишком много попыток. Повторите позже."
    retry_after_s: int | None = None
