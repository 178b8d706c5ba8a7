"""1C's "exchange with website" (Обмен с сайтом, CommerceML): ``/exchange/<tenant>/1c``.

1C:УТ 11, КА 2 and 1C:Розница call this address with ``type`` and ``mode`` in the query string
(shared/protocols/commerceml-exchange.md), on GET or POST alike:

- ``checkauth`` (HTTP Basic with the tenant's ``exchange`` credentials) opens an exchange session
  and answers ``success``, the cookie's name and value and ``sessid=``; later calls name the
  session by that cookie or by ``sessid`` in the URL. Basic alone also works: such a sender
  continues its last open session (``init`` opens one when there is none).
- ``init`` answers ``zip=yes`` and ``file_limit=`` (the largest body we take).
- ``file`` appends the raw body to the session's file of that name (after ``init`` only).
- ``import`` starts the import job of a file (or of a member of the uploaded zip) and answers
  ``progress`` while it runs, ``success`` when done, ``failure`` with the reason when not. In the
  embedded default the job runs inline inside the call, so 1C sees ``success`` at once.
- ``complete`` / ``deactivate`` close the exchange (``success``).
- ``type=sale``: ``query`` answers an empty orders document (we keep no orders), ``success`` and
  ``file`` answer ``success``, so 1C's exchange of orders never fails on us.

Answers are plain text in UTF-8, or windows-1251 when the client asks (``Accept-Charset`` or
``charset=windows-1251`` in the URL). Every refusal is ``failure`` and a reason a 1C operator
can act on, never an HTML page; nothing is stored by a refused call.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, request
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.exceptions import RequestEntityTooLarge

from connector.basic_auth import BasicRequired, authenticate
from connector.db import app_runtime, db_session
from connector.errors import error_for_exception
from mappings import archive
from processing.errors import ConnectorError, InvalidInput
from processing.tenants.models import Tenant
from sync import commerceml, exchange
from sync.models import ExchangeSession, SyncRun

COOKIE = "loyalty_exchange"
SERVICE = "exchange"
TYPES = ("catalog", "sale")
CML_VERSION = "2.08"

blp = Blueprint("exchange", __name__, url_prefix="/exchange")


class ExchangeModeUnknown(InvalidInput):
    code = "EXCHANGE_MODE_UNKNOWN"
    message = (
        "Неизвестная команда обмена (type/mode): проверьте, что узел обмена настроен на обмен "
        "с сайтом (CommerceML)."
    )


class ExchangeNoSession(InvalidInput):
    code = "EXCHANGE_NO_SESSION"
    message = (
        "Сеанс обмена не найден или устарел: начните обмен заново (mode=checkauth, затем init)."
    )


class ExchangeNotInitialised(InvalidInput):
    code = "EXCHANGE_NOT_INITIALISED"
    message = "Файл получен до команды init: начните обмен заново (checkauth, init, file)."


class ExchangeBodyTooLarge(InvalidInput):
    code = "EXCHANGE_BODY_TOO_LARGE"
    message = (
        "Часть файла больше file_limit, названного в ответе на init: проверьте настройки "
        "обмена или начните обмен заново."
    )


def _wants_cp1251() -> bool:
    asked = (request.args.get("charset") or request.args.get("encoding") or "").lower()
    if asked:
        return "1251" in asked
    best = request.accept_charsets.best_match(["utf-8", "windows-1251", "cp1251"])
    return best in ("windows-1251", "cp1251")


def _text(*lines: str, status: int = 200) -> Response:
    charset = "windows-1251" if _wants_cp1251() else "utf-8"
    body = "\n".join(lines).encode(charset, errors="replace")
    return Response(body, status=status, content_type=f"text/plain; charset={charset}")


def _failure(error: ConnectorError) -> Response:
    db_session().rollback()  # a refused call stores nothing
    if isinstance(error, BasicRequired) and request.authorization is None:
        response = _text("failure", error.text, status=401)
        response.headers["WWW-Authenticate"] = error.challenge
        return response
    return _text("failure", error.text)


class ExchangeAddressUnknown(InvalidInput):
    code = "EXCHANGE_ADDRESS_UNKNOWN"
    message = (
        "Адрес обмена неверен: укажите в узле обмена https://<сервер>/exchange/<код сети>/1c "
        "(запросы GET или POST)."
    )


_ANY_METHOD = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@blp.route("/", defaults={"rest": ""}, methods=_ANY_METHOD)
@blp.route("/<path:rest>", methods=_ANY_METHOD)
def elsewhere(rest: str) -> Response:
    """Anything else under /exchange/ answers in the protocol's text form too."""
    return _failure(ExchangeAddressUnknown(details={"path": rest[:200]}))


def file_limit() -> int:
    """The largest ``mode=file`` piece, as ``init`` names it: one byte under the body limit.
    1C cuts a file into pieces of exactly this size, and behind gunicorn or waitress (input
    terminated by the server) Werkzeug cannot tell a body of exactly ``MAX_CONTENT_LENGTH`` from
    a longer one and refuses it."""
    return app_runtime().settings.max_body_bytes - 1


@blp.route("/<tenant_code>/1c", methods=_ANY_METHOD)
def exchange_endpoint(tenant_code: str) -> Response:
    if request.method not in ("GET", "POST") or "\x00" in tenant_code:
        return _failure(ExchangeAddressUnknown(details={"method": request.method}))
    try:
        return _dispatch(tenant_code)
    except ConnectorError as error:
        return _failure(error)
    except RequestEntityTooLarge:
        return _failure(ExchangeBodyTooLarge(details={"limit": file_limit()}))
    except Exception as exc:  # the protocol's text form, never an HTML page
        return _failure(error_for_exception(exc))


def _dispatch(tenant_code: str) -> Response:
    kind = (request.args.get("type") or "").strip().lower()
    mode = (request.args.get("mode") or "").strip().lower()
    if kind not in TYPES:
        raise ExchangeModeUnknown(details={"type": kind, "mode": mode})
    session = db_session()
    now = datetime.now(UTC)
    if mode == "checkauth":
        return _checkauth(session, _tenant(session, tenant_code), kind, now)
    current, secret = _session(session, tenant_code, kind, now, create=mode == "init")
    if mode == "init":
        current.initialised = True
        lines = ["zip=yes", f"file_limit={file_limit()}"]
        if secret:
            lines.append(f"sessid={secret}")
        response = _text(*lines)
        if secret and secret != request.cookies.get(COOKIE):
            response.set_cookie(COOKIE, secret, httponly=True, samesite="Lax")
        return response
    if kind == "sale":
        return _sale(mode, now)
    if mode == "file":
        return _file(session, current, now)
    if mode == "import":
        return _import(session, current, now)
    if mode in ("complete", "deactivate", "success"):
        current.completed_at = now
        return _text("success")
    raise ExchangeModeUnknown(details={"type": kind, "mode": mode})


def _tenant(session: Session, tenant_code: str) -> Tenant:
    return authenticate(
        session, tenant_code, SERVICE,
        message="Неверный логин или пароль обмена с сайтом: проверьте настройки узла обмена.",
        missing="Нужны логин и пароль обмена с сайтом (настройки узла обмена в 1С).",
    )  # fmt: skip


def _checkauth(session: Session, tenant: Tenant, kind: str, now: datetime) -> Response:
    opened = exchange.open_session(session, tenant.id, kind, now)
    response = _text(
        "success", COOKIE, opened.secret, f"sessid={opened.secret}",
        f"timestamp={int(now.timestamp())}",
    )  # fmt: skip
    response.set_cookie(COOKIE, opened.secret, httponly=True, samesite="Lax")
    return response


def _session(
    session: Session, tenant_code: str, kind: str, now: datetime, *, create: bool
) -> tuple[ExchangeSession, str | None]:
    """The call's exchange session and its secret when known: by its cookie or ``sessid``, else
    (Basic alone) the last open one, or a new one for ``init``; a cookie names a session only of
    the tenant in the URL."""
    secret = request.cookies.get(COOKIE) or request.args.get("sessid")
    tenant = None
    if request.authorization is not None or not secret:
        tenant = _tenant(session, tenant_code)
    if secret:
        tenant_id = tenant.id if tenant is not None else _tenant_id(session, tenant_code)
        found = exchange.find_session(session, tenant_id, secret, kind, now) if tenant_id else None
        if found is not None:
            return found, secret
        if tenant is None:
            raise ExchangeNoSession()
    if tenant is None:
        raise ExchangeNoSession()
    found = exchange.latest_session(session, tenant.id, kind, now)
    if found is not None:
        return found, None
    if create:
        opened = exchange.open_session(session, tenant.id, kind, now)
        return opened.exchange, opened.secret
    raise ExchangeNoSession()


def _tenant_id(session: Session, tenant_code: str) -> int | None:
    return session.scalar(select(Tenant.id).where(Tenant.code == tenant_code))


def _file(session: Session, current: ExchangeSession, now: datetime) -> Response:
    if not current.initialised:
        raise ExchangeNotInitialised()
    name = exchange.safe_name(request.args.get("filename"))
    limit = file_limit()
    if (request.content_length or 0) > limit:
        raise ExchangeBodyTooLarge(details={"limit": limit})
    if not exchange.is_kept(name):
        request.stream.read()  # pictures: accepted and dropped
        return _text("success")
    exchange.append(
        session, current, name, request.stream,
        max_bytes=app_runtime().settings.exchange_max_file_bytes, now=now,
    )  # fmt: skip
    return _text("success")


def _import(session: Session, current: ExchangeSession, now: datetime) -> Response:
    tenant = session.get_one(Tenant, current.tenant_id)
    filename = request.args.get("filename") or ""
    try:
        run = commerceml.start_import(session, tenant, current.id, filename, now)
    except archive.ARCHIVE_ERRORS as error:  # an uploaded zip refused: logged for support
        session.rollback()
        commerceml.record_refusal(session, tenant.id, current.id, filename, error.text, now)
        session.commit()
        raise
    commerceml.restart_if_lost(session, run, now)
    session.commit()  # the job is dispatched now (and, embedded, has run inline)
    session.refresh(run)
    return _run_answer(run)


def _run_answer(run: SyncRun) -> Response:
    if run.status == commerceml.DONE:
        return _text("success")
    if run.status == commerceml.FAILED:
        return _text("failure", run.message or "Загрузка не удалась: см. журнал обмена.")
    return _text("progress", f"Загружено {run.progress}% файла {run.file_name}")


def _sale(mode: str, now: datetime) -> Response:
    if mode == "query":
        root = etree.Element("КоммерческаяИнформация")
        root.set("ВерсияСхемы", CML_VERSION)
        root.set("ДатаФормирования", now.strftime("%Y-%m-%dT%H:%M:%S"))
        charset = "windows-1251" if _wants_cp1251() else "utf-8"
        body = etree.tostring(root, xml_declaration=True, encoding=charset)
        return Response(body, content_type=f"application/xml; charset={charset}")
    if mode == "file":
        request.stream.read()  # 1C's changes to orders: we keep no orders
    if mode in ("success", "file", "import", "complete", "deactivate"):
        return _text("success")
    raise ExchangeModeUnknown(details={"type": "sale", "mode": mode})
