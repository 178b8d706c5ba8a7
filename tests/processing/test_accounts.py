"""Admin accounts: users of a tenant or of the platform, argon2 passwords checked without an
oracle for unknown e-mails, roles by the market's names, and what each role may do with a
tenant's own changes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from argon2 import PasswordHasher
from sqlalchemy.orm import Session

from processing.accounts import service as accounts
from processing.accounts.roles import PERMISSIONS
from processing.accounts.service import (
    add_user,
    authenticate,
    permissions_of,
    roles_of,
    set_permission,
)
from processing.errors import ConnectorError
from tests import factories

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
PASSWORD = "Kassa-2026-secret"


def test_a_user_logs_in_by_e_mail_in_any_case(session: Session) -> None:
    tenant = factories.tenant(session)
    user = add_user(
        session, tenant, " Ivanova@Shop.RU ", PASSWORD, ["cashier"], name="Иванова", now=NOW
    )
    assert user.email == "ivanova@shop.ru" and user.password_hash.startswith("$argon2")
    assert PASSWORD not in user.password_hash
    assert authenticate(session, "IVANOVA@shop.ru", PASSWORD, now=NOW) is user
    assert user.last_login_at == NOW
    assert authenticate(session, "ivanova@shop.ru", PASSWORD + "x", now=NOW) is None
    assert authenticate(session, "nobody@shop.ru", PASSWORD, now=NOW) is None
    assert authenticate(session, "not an e-mail", PASSWORD, now=NOW) is None
    user.active = False
    assert authenticate(session, "ivanova@shop.ru", PASSWORD, now=NOW) is None


def test_an_unknown_e_mail_pays_the_same_verification(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    verified: list[str] = []
    real = accounts._HASHER

    class Counting:
        def verify(self, stored: str, password: str) -> bool:
            verified.append(stored)
            return real.verify(stored, password)

    monkeypatch.setattr(accounts, "_HASHER", Counting())
    assert authenticate(session, "nobody@shop.ru", PASSWORD, now=NOW) is None
    assert verified == [accounts._DUMMY_HASH]


def test_an_outdated_hash_is_replaced_at_login(session: Session) -> None:
    tenant = factories.tenant(session)
    user = add_user(session, tenant, "a@shop.ru", PASSWORD, ["admin"], now=NOW)
    user.password_hash = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    old = user.password_hash
    assert authenticate(session, "a@shop.ru", PASSWORD, now=NOW) is user
    assert user.password_hash != old and accounts._HASHER.verify(user.password_hash, PASSWORD)


@pytest.mark.parametrize(
    ("email", "password", "roles", "platform", "code"),
    [
        ("no-at-sign", PASSWORD, ["admin"], False, "ACCOUNT_EMAIL_INVALID"),
        ("a@shop.ru", "short", ["admin"], False, "ACCOUNT_PASSWORD_WEAK"),
        ("a@shop.ru", PASSWORD, [], False, "ACCOUNT_ROLE_INVALID"),
        ("a@shop.ru", PASSWORD, ["licensor"], False, "ACCOUNT_ROLE_INVALID"),
        ("a@shop.ru", PASSWORD, ["cashier"], True, "ACCOUNT_ROLE_INVALID"),
        ("a@shop.ru", PASSWORD, ["owner"], False, "ACCOUNT_ROLE_INVALID"),
    ],
)
def test_a_wrong_account_is_refused(
    session: Session, email: str, password: str, roles: list[str], platform: bool, code: str
) -> None:
    tenant = None if platform else factories.tenant(session)
    with pytest.raises(ConnectorError) as refused:
        add_user(session, tenant, email, password, roles, now=NOW)
    assert refused.value.code == code


def test_an_e_mail_is_one_account_across_the_service(session: Session) -> None:
    add_user(session, factories.tenant(session), "a@shop.ru", PASSWORD, ["admin"], now=NOW)
    other = factories.tenant(session, "other")
    with pytest.raises(ConnectorError) as refused:
        add_user(session, other, "A@shop.ru", PASSWORD, ["guest"], now=NOW)
    assert refused.value.code == "ACCOUNT_EXISTS"


def test_roles_grant_their_defaults_and_a_tenant_adjusts_them(session: Session) -> None:
    tenant, other = factories.tenant(session), factories.tenant(session, "other")
    cashier = add_user(session, tenant, "c@shop.ru", PASSWORD, ["cashier"], now=NOW)
    both = add_user(session, tenant, "m@shop.ru", PASSWORD, ["cashier", "marketer"], now=NOW)
    elsewhere = add_user(session, other, "c@other.ru", PASSWORD, ["cashier"], now=NOW)
    assert permissions_of(session, cashier) == {"customers.find", "customers.register"}
    assert "programs.edit" in permissions_of(session, both)
    assert "customers.view" not in permissions_of(session, both)
    set_permission(session, tenant, "cashier", "customers.register", False)
    set_permission(session, tenant, "cashier", "cards.block", True)
    assert permissions_of(session, cashier) == {"customers.find", "cards.block"}
    assert permissions_of(session, elsewhere) == {"customers.find", "customers.register"}
    assert roles_of(session, both) == {"cashier", "marketer"}
    with pytest.raises(ConnectorError) as refused:
        set_permission(session, tenant, "cashier", "everything", True)
    assert refused.value.code == "ACCOUNT_PERMISSION_UNKNOWN"


def test_platform_users(session: Session) -> None:
    licensor = add_user(session, None, "owner@saas.ru", PASSWORD, ["licensor"], now=NOW)
    agent = add_user(session, None, "agent@partner.ru", PASSWORD, ["agent"], now=NOW)
    assert licensor.tenant_id is None and permissions_of(session, licensor) == PERMISSIONS
    assert permissions_of(session, agent) == frozenset()
