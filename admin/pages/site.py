"""What every admin page shares: the ``pages`` blueprint under ``/admin``, logins and sessions
(Flask-Login over Flask's signed cookie), CSRF on every form (Flask-WTF), what a page requires
(``page``), the action log, HTML error pages and the template filters.

Sessions: the cookie is HttpOnly, SameSite=Lax, Secure whenever the request came over HTTPS
(directly or through the trusted proxies), scoped to ``/admin``; it expires after
``IDLE_LIMIT`` without a request and ``ABSOLUTE_LIMIT`` after the login, and dies at once when
the user is deactivated or its password changes. The JSON APIs, SOAP and the exchange keep
their own authentication and are not CSRF-checked (no cookies there).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    has_request_context,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy import select
from werkzeug.exceptions import HTTPException
from wtforms.fields.choices import SelectChoice

from admin.pages import formats
from config import Settings
from connector.db import app_runtime, db_session, rollback_request_session
from connector.errors import error_for_exception, http_status
from processing.accounts.actions import record_action
from processing.accounts.models import AgentTenant, User
from processing.accounts.roles import AGENT, LICENSOR, ROLE_TITLES
from processing.accounts.service import permissions_of, roles_of
from processing.errors import ConnectorError
from processing.tenants.models import Tenant

log = logging.getLogger(__name__)

IDLE_LIMIT = timedelta(minutes=30)
ABSOLUTE_LIMIT = timedelta(hours=12)
SECRET_KEY_FILE = "admin_secret_key"  # noqa: S105 - a file name
COOKIE_NAME = "loyalty_admin"

pages = Blueprint(
    "pages",
    __name__,
    url_prefix="/admin",
    template_folder="../templates",
    static_folder="../static",
    static_url_path="/static",
)
csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "pages.login"
login_manager.login_message = "Войдите, чтобы открыть эту страницу."
login_manager.login_message_category = "info"

View = TypeVar("View", bound=Callable[..., Any])


# --- who is logged in ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Operator(UserMixin):
    """The person behind the session, read afresh on every request."""

    id: int
    tenant_id: int | None
    email: str
    name: str
    roles: frozenset[str]
    permissions: frozenset[str]

    def get_id(self) -> str:
        return str(self.id)

    @property
    def display_name(self) -> str:
        return self.name or self.email

    @property
    def role_titles(self) -> str:
        return ", ".join(ROLE_TITLES[role] for role in sorted(self.roles) if role in ROLE_TITLES)

    def may(self, permission: str) -> bool:
        return self.tenant_id is not None and permission in self.permissions

    @property
    def is_licensor(self) -> bool:
        return self.tenant_id is None and LICENSOR in self.roles

    @property
    def is_agent(self) -> bool:
        return self.tenant_id is None and AGENT in self.roles


def session_stamp(user: User) -> str:
    """Changes when the password does: a session made before the change is no longer valid."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


@login_manager.user_loader
def _load_operator(user_id: str) -> Operator | None:
    if not user_id.isdigit():
        return None
    db = db_session()
    user = db.get(User, int(user_id))
    if user is None or not user.active or session.get("stamp") != session_stamp(user):
        return None
    ended = user.sessions_valid_after
    if ended is not None and session.get("since_ms", 0) <= int(ended.timestamp() * 1000):
        return None
    if user.tenant_id is not None:
        tenant = db.get(Tenant, user.tenant_id)
        if tenant is None or tenant.suspended_at is not None:
            return None
    roles = roles_of(db, user)
    return Operator(
        id=user.id,
        tenant_id=user.tenant_id,
        email=user.email,
        name=user.name,
        roles=roles,
        permissions=permissions_of(db, user, roles),
    )


def operator() -> Operator:
    return current_user._get_current_object()  # type: ignore[no-any-return]


def start_session(user: User, now: datetime) -> None:
    """A fresh session for ``user`` (nothing of the anonymous one is kept)."""
    session.clear()
    session.permanent = True
    session["since_ms"] = int(now.timestamp() * 1000)
    session["seen"] = int(now.timestamp())
    session["stamp"] = session_stamp(user)
    login_user(
        Operator(
            id=user.id,
            tenant_id=user.tenant_id,
            email=user.email,
            name=user.name,
            roles=frozenset(),
            permissions=frozenset(),
        )
    )


def end_session(*, everywhere: bool = False) -> None:
    """Log out; ``everywhere``: every session the user began until now ends too (a copy of
    this cookie included)."""
    if everywhere and current_user.is_authenticated:
        user = db_session().get(User, operator().id)
        if user is not None:
            user.sessions_valid_after = now()
    logout_user()
    session.clear()


def now() -> datetime:
    return datetime.now(UTC)


# --- what a page requires -----------------------------------------------------------------------


@dataclass(frozen=True)
class Requirement:
    """A tenant permission (the user must belong to a tenant and hold it), a platform role
    (the licensor; ``AGENT`` admits the licensor too), or only a login (both None)."""

    permission: str | None = None
    platform_role: str | None = None

    def admits(self, who: Operator) -> bool:
        if self.platform_role == LICENSOR:
            return who.is_licensor
        if self.platform_role == AGENT:
            return who.is_licensor or who.is_agent
        if self.permission is not None:
            return who.may(self.permission)
        return True


REQUIREMENT_ATTRIBUTE = "page_requirement"


def page(
    permission: str | None = None, *, platform_role: str | None = None
) -> Callable[[View], View]:
    """A logged-in page that answers 403 to whoever the requirement does not admit."""
    requirement = Requirement(permission, platform_role)

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not requirement.admits(operator()):
                abort(403)
            return view(*args, **kwargs)

        setattr(guarded, REQUIREMENT_ATTRIBUTE, requirement)
        return guarded  # type: ignore[return-value]

    return decorate


def tenant() -> Tenant:
    """The logged-in user's tenant (pages with a tenant permission only)."""
    tenant_id = operator().tenant_id
    if tenant_id is None:
        abort(403)
    return db_session().get_one(Tenant, tenant_id)


def agent_tenant_ids(who: Operator) -> set[int] | None:
    """The tenants a platform user may see: None means all (the licensor)."""
    if who.is_licensor:
        return None
    rows = db_session().scalars(select(AgentTenant.tenant_id).where(AgentTenant.user_id == who.id))
    return set(rows)


def log_action(action: str, target: str = "", tenant_id: int | None = None, **details: Any) -> None:
    """One row of the action log for the logged-in user, in the request's transaction."""
    who = operator()
    record_action(
        db_session(),
        tenant_id=who.tenant_id if tenant_id is None else tenant_id,
        user_id=who.id,
        action=action,
        now=now(),
        target=target,
        details=details,
    )


def attempt(action: Callable[[], Any]) -> tuple[bool, Any]:
    """Run a domain ``action`` in a savepoint: (True, its result), or (False, the error's Russian
    text) with everything it wrote undone, so the page can show the form again with 200."""
    db = db_session()
    try:
        with db.begin_nested():
            return True, action()
    except ConnectorError as error:
        return False, error.text


class PlainForm(FlaskForm):
    """A form of buttons and fields read from ``request.form``: only its CSRF token to render
    (every POST to the pages is CSRF-checked by the blueprint, see ``_guard``)."""


def choices(pairs: Iterable[tuple[str, str]]) -> list[SelectChoice]:
    """A select's options: (value, Russian label)."""
    return [SelectChoice(value, label) for value, label in pairs]


def safe_next(target: str | None) -> str:
    """A post-login destination inside the admin only (no open redirect)."""
    if target and target.isprintable() and " " not in target and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and parts.path.startswith("/admin/"):
            return target
    return url_for("pages.dashboard")


# --- install ------------------------------------------------------------------------------------


class _SessionInterface(SecureCookieSessionInterface):
    def get_cookie_secure(self, app: Flask) -> bool:
        secure = bool(app.config["SESSION_COOKIE_SECURE"])
        return secure or (has_request_context() and request.is_secure)


def secret_key(settings: Settings) -> str | None:
    """SECRET_KEY; embedded, a key generated once and kept under var/; else None."""
    if settings.secret_key:
        return settings.secret_key
    if not settings.embedded:
        return None
    path = Path(settings.var_dir) / SECRET_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        made = path.with_suffix(".new")
        made.write_text(secrets.token_urlsafe(48))
        made.chmod(0o600)
        made.replace(path)
    return path.read_text().strip()


def install(app: Flask) -> None:
    key = secret_key(app_runtime(app).settings)
    if key:
        app.secret_key = key
    app.config.update(
        SESSION_COOKIE_NAME=COOKIE_NAME,
        SESSION_COOKIE_PATH="/admin",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=IDLE_LIMIT,
        WTF_CSRF_CHECK_DEFAULT=False,  # checked by the pages blueprint only
        WTF_CSRF_TIME_LIMIT=None,  # as long as the session
    )
    app.session_interface = _SessionInterface()
    csrf.init_app(app)
    login_manager.init_app(app)
    app.jinja_env.filters.update(
        money=formats.money,
        local=formats.local_time,
        day=formats.day,
        number=formats.number,
    )
    app.register_blueprint(pages)


@pages.before_request
def _guard() -> ResponseReturnValue | None:
    if request.endpoint == "pages.static":
        return None
    if not current_app_secret():
        return _error_page(503, "Страницы администрирования не настроены: задайте SECRET_KEY.")
    if request.method == "POST":
        csrf.protect()
    if current_user.is_authenticated:
        moment = int(now().timestamp())
        since, seen = session.get("since_ms", 0) // 1000, session.get("seen", 0)
        if (
            moment - seen > IDLE_LIMIT.total_seconds()
            or moment - since > ABSOLUTE_LIMIT.total_seconds()
        ):
            end_session()
            return redirect(url_for("pages.login", expired=1))
        session["seen"] = moment
    return None


def current_app_secret() -> bool:
    return bool(current_app.secret_key)


@pages.after_request
def _security_headers(response: Response) -> Response:
    """No framing (the forms change money and personal data), no type sniffing, no admin
    URLs in other sites' Referer."""
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


@pages.context_processor
def _context() -> dict[str, Any]:
    who = operator() if current_user.is_authenticated else None
    zone = formats.DEFAULT_ZONE
    if who is not None and who.tenant_id is not None:
        zone = formats.zone_of(db_session().get(Tenant, who.tenant_id))
    return {
        "who": who,
        "nav": navigation(who) if who else [],
        "zone": zone,
        "ROLE_TITLES": ROLE_TITLES,
    }


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    title: str


# The menu: each item shows when the page's requirement admits the user.
MENU = (
    NavItem("pages.dashboard", "Главная"),
    NavItem("pages.tenants", "Сети"),
    NavItem("pages.tariffs", "Тарифы"),
    NavItem("pages.agent_tenants_page", "Мои сети"),
    NavItem("pages.stores", "Магазины и кассы"),
    NavItem("pages.questionnaire_page", "Анкета"),
    NavItem("pages.customers", "Покупатели"),
    NavItem("pages.cards", "Карты"),
    NavItem("pages.programs", "Программы"),
    NavItem("pages.uploads", "Загрузка анкет"),
    NavItem("pages.sync_runs", "Журнал обмена"),
    NavItem("pages.users", "Пользователи"),
    NavItem("pages.actions", "Журнал действий"),
)


def navigation(who: Operator) -> list[NavItem]:
    """The menu items whose page admits ``who``."""
    shown = []
    for item in MENU:
        requirement = getattr(
            current_app.view_functions.get(item.endpoint), REQUIREMENT_ATTRIBUTE, None
        )
        if requirement is not None and requirement.admits(who):
            shown.append(item)
    return shown


# --- errors as pages ----------------------------------------------------------------------------

_TITLES = {
    400: "Запрос не принят",
    403: "Нет доступа",
    404: "Не найдено",
    405: "Действие недоступно",
    413: "Файл слишком большой",
    429: "Слишком много попыток",
    503: "Сервис временно недоступен",
}
_TEXTS = {
    403: "У вашей роли нет доступа к этой странице или действию. Обратитесь к администратору сети.",
    404: "Такой страницы или записи нет.",
    405: "Это действие так не выполняется.",
    413: "Файл больше допустимого размера.",
}


def _error_page(status: int, text: str) -> tuple[str, int]:
    # The page's menu reads the database: a failed statement must not fail it again.
    rollback_request_session()
    title = _TITLES.get(status, "Ошибка")
    return render_template("pages/error.html", title=title, text=text, status=status), status


@pages.errorhandler(CSRFError)
def _csrf_error(_error: CSRFError) -> tuple[str, int]:
    return _error_page(
        400, "Форма устарела или открыта в другом окне: обновите страницу и повторите."
    )


@pages.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> tuple[str, int]:
    status = error.code or 500
    return _error_page(status, _TEXTS.get(status, error.description or ""))


# Texts written for API clients that a person on a page cannot act on.
_PAGE_TEXTS = {
    "VALIDATION_ERROR": "Некорректные данные в адресе или форме: проверьте введённое и повторите.",
}


@pages.errorhandler(ConnectorError)
def _domain_error(error: ConnectorError) -> tuple[str, int]:
    return _error_page(http_status(error), _PAGE_TEXTS.get(error.code, error.text))


@pages.errorhandler(Exception)
def _unexpected(exc: Exception) -> tuple[str, int]:
    error = error_for_exception(exc)
    return _error_page(http_status(error), error.text)
