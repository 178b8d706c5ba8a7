"""The blueprint of every management module (``/api/v1/admin/...``): the tenant admin token is
checked before the request body is read, so a caller without a valid token learns nothing from
validation and costs no parsing."""

from __future__ import annotations

from flask import request

from admin.auth import admin_caller
from connector.api import Blueprint

URL_PREFIX = "/api/v1/admin"


def _authenticate() -> None:
    if request.method != "OPTIONS":  # as the blueprint's own check of the token's presence
        admin_caller()


def management_blueprint(name: str, import_name: str, description: str) -> Blueprint:
    blp = Blueprint(name, import_name, url_prefix=URL_PREFIX, description=description)
    blp.before_request(_authenticate)
    return blp
