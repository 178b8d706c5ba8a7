"""HTTP Basic logins of a tenant's 1C to one of its services (the discount server, the exchange):
``authenticate`` checks them against the tenant's credential for that service.

Logins are hardened: every failure costs one PBKDF2 check (an unknown tenant or user is checked
against a dummy hash), so timing reveals no valid names; after ``MAX_FAILED_LOGINS`` failures per
service, tenant code and client address within ``FAILED_LOGIN_WINDOW_S`` further attempts get
``TOO_MANY_ATTEMPTS`` (429) without a password check until the window passes. A request without
credentials is no guess and counts nothing (1C may call without them first).
"""

from __future__ import annotations

import hashlib
import hmac

from flask import request
from sqlalchemy.orm import Session

from connector.throttle import LoginThrottle, login_throttle
from processing.cache import ProcessCache
from processing.errors import NotAuthenticated
from processing.tenants.credentials import DUMMY_PASSWORD_HASH, credential_for, password_matches
from processing.tenants.models import ServiceCredential, Tenant
from processing.tenants.service import refuse_suspended

REALM = "loyalty-connector"
CREDENTIAL_CACHE_S = 300.0
MAX_FAILED_LOGINS = 10
FAILED_LOGIN_WINDOW_S = 600.0
LOGIN_THROTTLE = "basic-login"


class BasicRequired(NotAuthenticated):
    challenge = f'Basic realm="{REALM}"'
    message = "Нужны логин и пароль (HTTP Basic)."


_VERIFIED = ProcessCache[tuple[str, str], bool](
    "basic-logins", CREDENTIAL_CACHE_S, watches=(ServiceCredential,)
)
"""(stored hash, SHA-256 of the password) → verified: PBKDF2 is slow on purpose and 1C
authenticates twice per call. Only a verification whose request committed is remembered."""


def _password_ok(session: Session, password: str, stored_hash: str) -> bool:
    key = (stored_hash, hashlib.sha256(password.encode("utf-8")).hexdigest())
    if _VERIFIED.get(key):
        return True
    if not password_matches(password, stored_hash):
        return False
    _VERIFIED.stage(session, key, True)
    return True


def basic_login_throttle() -> LoginThrottle:
    """The app's throttle of failed HTTP Basic logins (all services; keys name the service)."""
    return login_throttle(LOGIN_THROTTLE, limit=MAX_FAILED_LOGINS, window_s=FAILED_LOGIN_WINDOW_S)


def authenticate(
    session: Session, tenant_code: str, service: str, *, message: str, missing: str | None = None
) -> Tenant:
    """The tenant whose ``service`` credential the request's HTTP Basic login matches.

    Raises ``BasicRequired`` with ``message`` for a wrong login (with ``missing``, or a general
    text, when the request sent none) and ``TooManyAttempts`` once the attempt is throttled.
    """
    auth = request.authorization
    if auth is None or auth.type != "basic" or not auth.username or auth.password is None:
        raise BasicRequired(missing)
    throttle = basic_login_throttle()
    attempt = f"{service} {tenant_code} {request.remote_addr}"
    throttle.check(attempt)
    tenant, credential = credential_for(session, tenant_code, service)
    user_known = credential is not None and hmac.compare_digest(
        auth.username.encode("utf-8"), credential.username.encode("utf-8")
    )
    # An unknown tenant or user pays the same PBKDF2 as a wrong password: no timing oracle.
    stored_hash = credential.password_hash if credential and user_known else None
    verified = _password_ok(session, auth.password, stored_hash or DUMMY_PASSWORD_HASH)
    if tenant is None or stored_hash is None or not verified:
        throttle.failed(attempt)
        raise BasicRequired(message)
    refuse_suspended(tenant)
    return tenant
