"""flask-smorest wiring: the OpenAPI document, Swagger UI served from vendored assets, and the
request parser that turns bad input into our 400 errors instead of webargs' 422.

The document describes what the service really answers: every error response carries our
``{"code", "message", "details"}`` body, and every operation names the token it needs (the
POS token for ``connector.onec_http``, the tenant admin token for ``admin``); a request
without one is refused before its body is read. URLs are checked here too: ids in paths are
bounded like the id columns, and NUL is refused in paths and query strings (PostgreSQL cannot
compare it).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

import flask_smorest
from flask import Flask, Request, request
from marshmallow import EXCLUDE, RAISE, ValidationError
from marshmallow import Schema as MarshmallowSchema
from webargs import core
from webargs.flaskparser import FlaskParser
from werkzeug.routing import IntegerConverter, Map

from connector.errors import ErrorSchema, MalformedJson, RoutingRefusal
from connector.jsonio import BAD_STRING, loads_body, visible
from processing.errors import InvalidInput, NotAuthenticated, NotFound

API_PREFIX = "/api"
DOCS_ASSETS_URL = "/api/docs/static/"
SWAGGER_UI_DIR = Path(__file__).parent / "static" / "swagger-ui"
API_KEY = "connector.api"
MAX_ID = 2**31 - 1  # id columns are 32-bit integers

POS_AUTH = "posToken"
ADMIN_AUTH = "tenantAdminToken"
Security = list[dict[str, list[str]]]
SECURITY_SCHEMES = {
    POS_AUTH: {
        "type": "http",
        "scheme": "bearer",
        "description": "The POS token printed by `loyalty-connector pos add`: one tenant, "
        "store and POS.",
    },
    ADMIN_AUTH: {
        "type": "http",
        "scheme": "bearer",
        "description": "A tenant admin token (`loyalty-connector admin-token add`).",
    },
}
_JSON = "application/json"

_CHALLENGES = {
    POS_AUTH: 'Bearer realm="loyalty-connector"',
    ADMIN_AUTH: 'Bearer realm="loyalty-connector-admin"',
}
_NO_TOKEN = {
    POS_AUTH: "Нужен токен кассы: заголовок Authorization: Bearer <токен>.",
    ADMIN_AUTH: "Нужен токен администратора тенанта: Authorization: Bearer <токен>.",
}


class TokenRequired(NotAuthenticated):
    """No bearer token of ``scheme``: refused before the body is read. Whether a token is
    valid is the handler's check, which refuses an unknown one with its own ``message``."""

    def __init__(self, scheme: str = POS_AUTH, message: str | None = None) -> None:
        super().__init__(message or _NO_TOKEN[scheme])
        self.challenge = _CHALLENGES[scheme]


class ConnectorParser(FlaskParser):
    DEFAULT_VALIDATION_STATUS = 400
    # Cash software may send fields of its own: ignore them in bodies, refuse them in queries.
    DEFAULT_UNKNOWN_BY_LOCATION = {  # noqa: RUF012 - webargs reads this class attribute
        "json": EXCLUDE,
        "query": RAISE,
        "form": EXCLUDE,
        "headers": EXCLUDE,
        "cookies": EXCLUDE,
        "files": EXCLUDE,
        "view_args": RAISE,
        "querystring": RAISE,
        "json_or_form": EXCLUDE,
    }

    def _raw_load_json(self, req: Request) -> Any:
        """The body as JSON whatever its content type (1C sends ``application/json``,
        hand-written clients often ``text/plain`` or none), so no body is silently ignored;
        an absent body reads as ``{}``."""
        data = req.get_data(cache=True)
        if not data:
            return core.missing
        try:
            return loads_body(data)
        except ValueError as exc:
            raise MalformedJson() from exc

    def handle_error(
        self,
        error: ValidationError,
        req: Request,
        schema: MarshmallowSchema,
        *,
        error_status_code: int | None,
        error_headers: Any,
    ) -> NoReturn:
        messages: dict[str, Any] = error.normalized_messages()  # type: ignore[no-untyped-call]
        raise InvalidInput(details={"fields": messages})


def default_security(import_name: str) -> Security:
    """The token a blueprint's operations need unless it says: the POS/1C face takes the POS
    token, the admin face the tenant admin token, anything else declares its own."""
    if import_name.startswith("connector.onec_http."):
        return [{POS_AUTH: []}]
    if import_name.partition(".")[0] == "admin":
        return [{ADMIN_AUTH: []}]
    return []


def _error_content() -> dict[str, Any]:
    return {_JSON: {"schema": ErrorSchema}}


class Blueprint(flask_smorest.Blueprint):
    """Every API blueprint: parses with ``ConnectorParser``, documents its security and our
    error body, and refuses a request without the token its security names. ``security``
    overrides ``default_security`` (``[]``: no token)."""

    ARGUMENTS_PARSER = ConnectorParser()

    def __init__(self, *args: Any, security: Security | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.security = default_security(self.import_name) if security is None else security
        self._prepare_doc_cbks.append(self._prepare_security_and_errors_doc)
        self.before_request(self._require_token)

    def _require_token(self) -> None:
        """401 before the body is parsed: an anonymous caller learns nothing from validation
        and costs no parsing."""
        if not self.security or request.method == "OPTIONS":
            return
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise TokenRequired(next(iter(self.security[0])))

    def arguments(self, schema: Any, *args: Any, **kwargs: Any) -> Any:
        """One schema instance per endpoint: given a class, webargs builds a new instance on
        every request (a deep copy of every field)."""
        if isinstance(schema, type):
            schema = schema()
        return super().arguments(schema, *args, **kwargs)

    def _prepare_security_and_errors_doc(
        self, doc: dict[str, Any], doc_info: Mapping[str, Any], **kwargs: Any
    ) -> dict[str, Any]:
        if "requestBody" in doc:
            doc["requestBody"]["required"] = False  # an absent body reads as {}
        responses: dict[Any, Any] = doc.setdefault("responses", {})
        for status, response in responses.items():
            if str(status)[0] in "45" and isinstance(response, dict):
                response.setdefault("content", _error_content())
        if self.security:
            responses.setdefault(
                401,
                {"description": "UNAUTHORIZED: no valid token", "content": _error_content()},
            )
        responses.setdefault(
            503,
            {
                "description": "SERVICE_UNAVAILABLE: the database is unreachable or the "
                "transaction conflicted; retry after Retry-After seconds",
                "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                "content": _error_content(),
            },
        )
        doc["security"] = self.security
        return doc


class ConnectorApi(flask_smorest.Api):
    """flask-smorest's Api documenting our error body instead of its own."""

    ERROR_SCHEMA = ErrorSchema


class IdConverter(IntegerConverter):
    """Flask's ``int`` converter bounded like the id columns: a larger id names no object
    (and PostgreSQL would refuse to compare it), so it is NOT_FOUND before any query."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)

    def to_python(self, value: str) -> Any:
        digits = value.lstrip("0")
        if len(digits) > len(str(MAX_ID)) or (digits and int(digits) > MAX_ID):
            raise RoutingRefusal(NotFound(details={"id": value[:20]}))
        return super().to_python(value)


TEXT_PROTOCOL_BLUEPRINTS = frozenset({"exchange"})


def _refuse_nul_in_url() -> None:
    """NUL can reach a path or query value percent-encoded; PostgreSQL cannot hold it. (Lone
    surrogates cannot: werkzeug decodes URLs with replacement characters.) The exchange with
    1C answers in its own text protocol and refuses such values itself."""
    if request.blueprint in TEXT_PROTOCOL_BLUEPRINTS:
        return
    path = {
        name: [BAD_STRING]
        for name, value in (request.view_args or {}).items()
        if isinstance(value, str) and "\x00" in value
    }
    query = {
        visible(name): [BAD_STRING]
        for name, value in request.args.items(multi=True)
        if "\x00" in name or "\x00" in value
    }
    if path or query:
        located = {"path": path, "query": query}
        raise InvalidInput(
            details={"fields": {key: found for key, found in located.items() if found}}
        )


def init_api(app: Flask) -> flask_smorest.Api:
    app.config.update(
        API_TITLE="Loyalty connector for 1C",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=API_PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        OPENAPI_SWAGGER_UI_URL=DOCS_ASSETS_URL,
        OPENAPI_SWAGGER_UI_CONFIG={"validatorUrl": None},
    )
    app.url_map.converters["int"] = IdConverter
    app.before_request(_refuse_nul_in_url)
    api = ConnectorApi(app)
    for name, scheme in SECURITY_SCHEMES.items():
        api.spec.components.security_scheme(name, scheme)
    assets = flask_smorest.Blueprint(
        "swagger_ui_assets",
        __name__,
        static_folder=str(SWAGGER_UI_DIR),
        static_url_path=DOCS_ASSETS_URL.rstrip("/"),
    )
    app.register_blueprint(assets)
    app.extensions[API_KEY] = api
    return api


def get_api(app: Flask) -> flask_smorest.Api:
    api: flask_smorest.Api = app.extensions[API_KEY]
    return api
