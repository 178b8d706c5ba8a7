"""A tenant's logins per service: set independently, found only for their own tenant and service,
kept as salted hashes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from processing.errors import ConnectorError
from processing.tenants import credentials
from processing.tenants.credentials import credential_for, password_matches, set_credentials
from processing.tenants.models import ServiceCredential
from tests import factories

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(credentials, "PBKDF2_ROUNDS", 1_000)


def test_each_service_has_its_own_login(session: Session) -> None:
    tenant = factories.tenant(session)
    set_credentials(session, tenant, "discount_server", "retail", "Shops-pass-1", now=NOW)
    set_credentials(session, tenant, "exchange", " 1c-site ", "Exchange-pass-1", now=NOW)
    stored = {
        row.service: row
        for row in session.scalars(
            select(ServiceCredential).where(ServiceCredential.tenant_id == tenant.id)
        )
    }
    assert {service: row.username for service, row in stored.items()} == {
        "discount_server": "retail",
        "exchange": "1c-site",
    }
    assert password_matches("Shops-pass-1", stored["discount_server"].password_hash)
    assert not password_matches("Exchange-pass-1", stored["discount_server"].password_hash)
    assert password_matches("Exchange-pass-1", stored["exchange"].password_hash)
    assert "Exchange-pass-1" not in stored["exchange"].password_hash

    later = datetime(2026, 12, 2, tzinfo=UTC)
    set_credentials(session, tenant, "exchange", "1c-site", "Exchange-pass-2", now=later)
    _tenant, exchange = credential_for(session, tenant.code, "exchange")
    _tenant, shops = credential_for(session, tenant.code, "discount_server")
    assert exchange is not None and shops is not None
    assert password_matches("Exchange-pass-2", exchange.password_hash)
    assert not password_matches("Exchange-pass-1", exchange.password_hash)
    assert exchange.updated_at == later
    assert shops.updated_at == NOW and password_matches("Shops-pass-1", shops.password_hash)


def test_a_credential_is_found_only_for_its_tenant_and_service(session: Session) -> None:
    acme, other = factories.tenant(session, "acme"), factories.tenant(session, "other")
    set_credentials(session, other, "exchange", "1c-site", "Exchange-pass-1", now=NOW)
    set_credentials(session, acme, "discount_server", "retail", "Shops-pass-1", now=NOW)

    assert credential_for(session, "acme", "exchange") == (acme, None)
    found_tenant, found = credential_for(session, "other", "exchange")
    assert found_tenant is other and found is not None
    assert (found.tenant_id, found.service) == (other.id, "exchange")
    assert credential_for(session, "other", "discount_server") == (other, None)
    assert credential_for(session, "nobody", "exchange") == (None, None)


@pytest.mark.parametrize(
    ("username", "password"),
    [("", "Long-enough-1"), ("   ", "Long-enough-1"), ("user:name", "Long-enough-1"),
     ("user", "seven77")],
)  # fmt: skip
def test_refused_logins_store_nothing(session: Session, username: str, password: str) -> None:
    tenant = factories.tenant(session)
    with pytest.raises(ConnectorError) as refused:
        set_credentials(session, tenant, "exchange", username, password, now=NOW)
    assert refused.value.code == "VALIDATION_ERROR"
    assert session.scalars(select(ServiceCredential)).all() == []


def test_an_unknown_service_is_refused_with_its_code(session: Session) -> None:
    tenant = factories.tenant(session)
    with pytest.raises(ConnectorError) as refused:
        set_credentials(session, tenant, "pos", "user", "Long-enough-1", now=NOW)
    assert refused.value.code == "UNKNOWN_SERVICE"
    assert refused.value.details["services"] == ["discount_server", "exchange"]
    with pytest.raises(ConnectorError) as refused:
        credential_for(session, tenant.code, "discount-server")
    assert refused.value.code == "UNKNOWN_SERVICE"
    assert session.scalars(select(ServiceCredential)).all() == []
