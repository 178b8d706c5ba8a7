"""flask-smorest wiring: the OpenAPI document, Swagger UI served from vendored assets, and the
request parser that turns bad input into our 400 errors instead of webargs' 422."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn

import flask_smorest
from flask import Flask, Request
from marshmallow import EXCLUDE, RAISE, ValidationError
from marshmallow import Schema as MarshmallowSchema
from webargs import core
from webargs.flaskparser import FlaskParser

from connector.errors import MalformedJson
from connector.jsonio import loads_body
from processing.errors import InvalidInput

API_PREFIX = "/api"
DOCS_ASSETS_URL = "/api/docs/static/"
SWAGGER_UI_DIR = Path(__file__).parent / "static" / "swagger-ui"
API_KEY = "connector.api"

# 1C sends JSON with an explicit content type, but hand-written clients often send text/plain
# or nothing; a body in those is still read as JSON. Forms are never JSON.
_JSON_ALSO = {"", "text/plain"}


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
        data = req.get_data(cache=True)
        if not data or not (core.is_json(req.mimetype) or req.mimetype in _JSON_ALSO):
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


class Blueprint(flask_smorest.Blueprint):
    """Every API blueprint: parses with ``ConnectorParser``."""

    ARGUMENTS_PARSER = ConnectorParser()

    def arguments(self, schema: Any, *args: Any, **kwargs: Any) -> Any:
        """One schema instance per endpoint: given a class, webargs builds a new instance on
        every request (a deep copy of every field)."""
        if isinstance(schema, type):
            schema = schema()
        return super().arguments(schema, *args, **kwargs)


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
    api = flask_smorest.Api(app)
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
