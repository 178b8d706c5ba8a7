"""The logins with which a tenant's 1C calls our services, one per service: setting them and
finding them. Only a salted PBKDF2 hash of a password is kept; ``DUMMY_PASSWORD_HASH`` lets a
login for an unknown tenant or user pay the same check as a wrong password."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from processing.errors import InvalidInput
from processing.tenants.models import ServiceCredential, Tenant

SERVICES = ("discount_server", "exchange")
"""``discount_server``: 1C:Retail's discount server (SOAP); ``exchange``: 1C's "exchange with
website" (CommerceML over HTTP)."""

PBKDF2_ROUNDS = 240_000
SALT_BYTES = 16
DIGEST_BYTES = 32  # SHA-256
MIN_PASSWORD_LENGTH = 8


class UnknownService(InvalidInput):
    code = "UNKNOWN_SERVICE"
    message = "Неизвестная служба: логин и пароль задаются для дисконтного сервера или обмена."


def _encode_hash(salt: bytes, digest: bytes) -> str:
    encoded = [base64.b64encode(part).decode() for part in (salt, digest)]
    return f"pbkdf2_sha256${PBKDF2_ROUNDS}${encoded[0]}${encoded[1]}"


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, PBKDF2_ROUNDS)
    return _encode_hash(salt, digest)


DUMMY_PASSWORD_HASH = _encode_hash(
    secrets.token_bytes(SALT_BYTES), secrets.token_bytes(DIGEST_BYTES)
)
"""A hash with ``hash_password``'s parameters that no password matches (its digest is random):
a login for an unknown tenant or user is checked against it, so that a failure costs the same
PBKDF2 work whether or not the name exists and timing does not reveal valid names."""


def password_matches(password: str, stored: str) -> bool:
    try:
        scheme, rounds, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "pbkdf2_sha256":
        return False
    candidate = hashlib.pbkdf2_hmac(
        "sha256", password.encode("utf-8"), base64.b64decode(salt), int(rounds)
    )
    return hmac.compare_digest(candidate, base64.b64decode(digest))


def _check_service(service: str) -> None:
    if service not in SERVICES:
        raise UnknownService(details={"service": service, "services": list(SERVICES)})


def set_credentials(
    session: Session, tenant: Tenant, service: str, username: str, password: str, *, now: datetime
) -> ServiceCredential:
    """The user and password the tenant's 1C sends to ``service`` (replacing earlier ones)."""
    _check_service(service)
    if not username.strip() or ":" in username:
        raise InvalidInput("Имя пользователя не может быть пустым или содержать «:».")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"Пароль — не короче {MIN_PASSWORD_LENGTH} символов.")
    credential = session.get(ServiceCredential, (tenant.id, service))
    if credential is None:
        credential = ServiceCredential(tenant_id=tenant.id, service=service)
        session.add(credential)
    credential.username = username.strip()
    credential.password_hash = hash_password(password)
    credential.updated_at = now
    session.flush()
    return credential


def credential_for(
    session: Session, tenant_code: str, service: str
) -> tuple[Tenant | None, ServiceCredential | None]:
    """The tenant with this code and its credential for ``service``; either may be missing."""
    _check_service(service)
    row = session.execute(
        select(Tenant, ServiceCredential)
        .outerjoin(
            ServiceCredential,
            (ServiceCredential.tenant_id == Tenant.id) & (ServiceCredential.service == service),
        )
        .where(Tenant.code == tenant_code)
    ).one_or_none()
    if row is None:
        return None, None
    return row[0], row[1]
