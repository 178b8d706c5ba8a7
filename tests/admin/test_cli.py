"""The management CLI against the test database (committed: each command is its own
transaction): the same domain functions as the management API, plus tariffs and features,
which only the platform changes."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from config import Settings
from connector.app import create_app
from connector.cli import main
from processing.cards.models import CardTemplate
from processing.programs.models import Program
from processing.tenants.models import Pos, Tenant
from sync.runtime import Runtime
from tests.connector.onec_http.world import BONUS

pytestmark = pytest.mark.committed


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("REDIS_URL", raising=False)
    runner = CliRunner()
    for args in (
        ["tenant", "add", "acme", "Acme", "--tariff", "start"],
        ["store", "add", "acme", "s1", "Первый"],
        ["store", "add", "acme", "s2", "Второй"],
    ):
        assert runner.invoke(main, args).exit_code == 0
    return runner


def ok(cli: CliRunner, *args: str) -> str:
    result = cli.invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def refused(cli: CliRunner, *args: str) -> Result:
    result = cli.invoke(main, list(args))
    assert result.exit_code == 1, result.output
    return result


def _tenant(engine: Engine) -> Tenant:
    with Session(engine) as session:
        return session.scalars(select(Tenant)).one()


def test_tariff_addon_and_features_are_the_platforms(cli: CliRunner, engine: Engine) -> None:
    assert "tariff start" in ok(cli, "tenant", "show", "acme")
    shown = ok(cli, "tenant", "tariff", "acme", "network")
    assert "tariff network" in shown and "stores 20" in shown
    shown = ok(cli, "tenant", "addon", "acme", "informer", "--on")
    assert "add-ons: informer" in shown and "sms_per_month 500" in shown
    assert "sms" in _tenant(engine).features
    ok(cli, "tenant", "addon", "acme", "informer", "--off")
    assert "sms" not in _tenant(engine).features
    ok(cli, "tenant", "features", "acme", "levels, bonus")
    assert _tenant(engine).features == ["bonus", "levels"]
    assert "TARIFF_NOT_FOUND" in refused(cli, "tenant", "tariff", "acme", "gold").output
    assert "TARIFF_NOT_FOUND" in refused(cli, "tenant", "addon", "acme", "sms", "--on").output
    assert "Missing option" in cli.invoke(main, ["tenant", "addon", "acme", "informer"]).output
    assert "VALIDATION_ERROR" in refused(cli, "tenant", "features", "acme", "bonus,magic").output
    assert "TENANT_NOT_FOUND" in refused(cli, "tenant", "tariff", "nobody", "network").output
    assert _tenant(engine).features == ["bonus", "levels"]


def test_pos_revoke_and_reissue(cli: CliRunner, settings: Settings, engine: Engine) -> None:
    token = ok(cli, "pos", "add", "acme", "s1", "p1").split()[-1]
    client = create_app(runtime=Runtime(settings, engine=engine)).test_client()

    def identify(bearer: str) -> int:
        headers = {"Authorization": f"Bearer {bearer}"}
        return client.post(
            "/api/v1/identify", json={"phone": "+79160000000"}, headers=headers
        ).status_code

    assert identify(token) == 404  # a valid POS: no such customer
    assert re.search(
        r"POS p1 of s1 revoked at \d{4}-", ok(cli, "pos", "revoke", "acme", "s1", "p1")
    )
    assert "p1  revoked" in ok(cli, "store", "list", "acme")
    # CliRunner runs in this process, so the CLI's flush has cleared its callers cache (another
    # node refuses the token once its cached entry expires, tested in test_manage_stores).
    assert identify(token) == 401
    new = re.search(r"\(shown once\): (\S+)", ok(cli, "pos", "reissue", "acme", "s1", "p1"))
    assert new is not None
    assert identify(new.group(1)) == 404 and identify(token) == 401
    assert "p1  active" in ok(cli, "store", "list", "acme")
    with Session(engine) as session:
        assert session.scalars(select(Pos.revoked_at)).one() is None
    assert "POS_NOT_FOUND" in refused(cli, "pos", "revoke", "acme", "s1", "p9").output
    assert "STORE_NOT_FOUND" in refused(cli, "pos", "reissue", "acme", "s9", "p1").output


def test_programs_versions_and_store_groups(cli: CliRunner, engine: Engine, tmp_path: Path) -> None:
    assert "moscow" in ok(
        cli, "store-group", "add", "acme", "moscow", "Москва", "--stores", "s1,s2"
    )
    assert "moscow  Москва  stores: s1, s2" in ok(cli, "store-group", "list", "acme")
    assert "s1  Первый  [Europe/Moscow]  groups: moscow" in ok(cli, "store", "list", "acme")
    ok(cli, "program", "add", "acme", "bonus", "bonus", "Бонусы")
    rules = tmp_path / "bonus.json"
    rules.write_text(json.dumps({**BONUS, "accrual_percent": 2.5}), encoding="utf-8")
    added = ok(
        cli, "program", "version-add", "acme", "bonus", "--rules", f"@{rules}",
        "--from", "2026-01-01T00:00:00+03:00", "--store-groups", "moscow",
    )  # fmt: skip
    assert "added from 2025-12-31 21:00 UTC" in added
    ok(
        cli, "program", "version-add", "acme", "bonus", "--rules", json.dumps(BONUS),
        "--from", "2026-06-01T00:00:00Z", "--stores", "s2",
    )  # fmt: skip
    listed = ok(cli, "program", "list", "acme")
    assert "bonus  bonus  Бонусы" in listed
    assert "2025-12-31 21:00 UTC -> 2026-06-01 00:00 UTC  group moscow" in listed
    assert "2026-06-01 00:00 UTC -> open  s2" in listed
    with Session(engine) as session:
        program = session.scalars(select(Program)).one()
        assert program.versions[0].rules["accrual_percent"] == "2.5"  # never a float

    def version_add(*extra: str) -> str:
        args = ("program", "version-add", "acme", "bonus", "--from", "2027-01-01T00:00:00Z")
        return refused(cli, *args, *extra).output

    assert "INVALID_PROGRAM_RULES" in version_add("--rules", '{"lifetime_days": 0}')
    assert "rules.lifetime_days" in version_add("--rules", '{"lifetime_days": 0}')
    assert "MALFORMED_JSON" in version_add("--rules", "{lifetime")
    assert "cannot read" in version_add("--rules", f"@{tmp_path / 'missing.json'}")
    assert "STORE_NOT_FOUND" in version_add("--rules", "{}", "--stores", "s9")
    assert "STORE_GROUP_NOT_FOUND" in version_add("--rules", "{}", "--store-groups", "spb")
    naive = refused(
        cli, "program", "version-add", "acme", "bonus", "--rules", "{}", "--from", "2027-01-01"
    ).output
    assert "VALIDATION_ERROR: effective_from" in naive
    assert (
        "PROGRAM_NOT_FOUND"
        in refused(
            cli,
            "program",
            "version-add",
            "acme",
            "nope",
            "--rules",
            "{}",
            "--from",
            "2027-01-01T00:00Z",
        ).output
    )
    assert (
        "VALIDATION_ERROR" in refused(cli, "program", "add", "acme", "cashback", "cb", "К").output
    )
    assert "CODE_EXISTS" in refused(cli, "store-group", "add", "acme", "moscow", "М").output


def test_card_series_with_validity_and_programs(cli: CliRunner, engine: Engine) -> None:
    ok(cli, "program", "add", "acme", "fixed_discount", "fixed5", "Скидка 5%")
    ok(cli, "program", "add", "acme", "bonus", "bonus", "Бонусы")
    ok(
        cli, "cards", "template-add", "acme", "gold", "--name", "Золотая", "--type", "5%",
        "--prefix", "4600", "--length", "13", "--check-digit", "ean13", "--range-end", "100",
        "--validity-days", "730", "--programs", "fixed5",
    )  # fmt: skip
    listed = ok(cli, "cards", "template-list", "acme")
    assert "gold  Золотая  prefix 4600, 13 digits, ean13, serials 1-100 (100 free)" in listed
    assert "validity 730 days, programs: fixed5" in listed
    assert "carries: bonus, fixed5" in ok(
        cli, "cards", "template-programs", "acme", "gold", "bonus,fixed5"
    )
    assert "carries: no programs" in ok(cli, "cards", "template-programs", "acme", "gold", "")
    assert "NOT_FOUND" in refused(cli, "cards", "template-programs", "acme", "nope", "").output
    assert (
        "PROGRAM_NOT_FOUND"
        in refused(cli, "cards", "template-programs", "acme", "gold", "nope").output
    )
    with Session(engine) as session:
        template = session.scalars(select(CardTemplate)).one()
        assert (template.validity_days, template.programs) == (730, [])


def test_questionnaire(cli: CliRunner, engine: Engine) -> None:
    added = ok(
        cli, "questionnaire", "field-add", "acme", "pet", "Питомец", "--kind", "choice",
        "--choices", "кошка,собака",
    )  # fmt: skip
    assert "extra.pet (choice) added" in added
    shown = ok(cli, "questionnaire", "set", "acme", "accrual_only", "--required", "phone,extra.pet")
    assert "Policy: accrual_only" in shown and "Required: phone, extra.pet" in shown
    assert "extra.pet  choice (кошка, собака)  Питомец" in ok(cli, "questionnaire", "show", "acme")
    bad = refused(cli, "questionnaire", "set", "acme", "sometimes", "--required", "extra.cat")
    assert "VALIDATION_ERROR" in bad.output and "policy:" in bad.output
    assert "required: Нет такого поля анкеты: extra.cat" in bad.output
    assert (
        "CODE_EXISTS"
        in refused(
            cli, "questionnaire", "field-add", "acme", "pet", "Снова", "--kind", "string"
        ).output
    )
    tenant = _tenant(engine)
    assert (tenant.questionnaire_policy, tenant.questionnaire_required) == (
        "accrual_only", ["phone", "extra.pet"],
    )  # fmt: skip


def test_settings(cli: CliRunner, engine: Engine) -> None:
    assert "sums_tolerance = 0.01" in ok(cli, "settings", "show", "acme")
    changed = ok(
        cli, "settings", "set", "acme", "sums_tolerance=0.05", "phone_write_off=true",
        "return_policy=allow_negative", "offline_window_days=30",
    )  # fmt: skip
    assert "Changed: phone_write_off, return_policy, sums_tolerance." in changed
    assert "phone_write_off = true" in changed
    assert "Nothing changed." in ok(cli, "settings", "set", "acme", "sums_tolerance=0.05")
    out_of_range = refused(cli, "settings", "set", "acme", "offline_window_days=400").output
    assert "VALIDATION_ERROR" in out_of_range and "offline_window_days" in out_of_range
    assert "Целое число от 1 до 365" in out_of_range
    typo = refused(cli, "settings", "set", "acme", "sum_tolerance=1", "phone_write_off=false")
    assert "VALIDATION_ERROR: sum_tolerance" in typo.output
    assert "NAME=VALUE" in refused(cli, "settings", "set", "acme", "sums_tolerance").output
    tenant = _tenant(engine)
    assert (tenant.sums_tolerance, tenant.phone_write_off) == (Decimal("0.05"), True)


def test_promotion_status_and_groups(cli: CliRunner, engine: Engine) -> None:
    ok(cli, "tenant", "tariff", "acme", "network")  # promotions come with the network tariff
    ok(cli, "program", "add", "acme", "promotion", "sale", "Распродажа")
    groups = '[{"code": "coupons", "mode": "multiply", "order": 10}]'
    shown = json.loads(ok(cli, "program", "groups", "acme", "--set", groups))
    assert [(g["code"], g["mode"]) for g in shown] == [("coupons", "multiply"), ("main", "max")]
    assert json.loads(ok(cli, "program", "groups", "acme")) == shown
    assert (
        "INVALID_PROGRAM_RULES"
        in refused(
            cli, "program", "groups", "acme", "--set", '[{"code": "x", "mode": "often"}]'
        ).output
    )
    assert "sale is paused" in ok(cli, "program", "status", "acme", "sale", "paused")
    ok(cli, "program", "status", "acme", "sale", "archived")
    assert "PROGRAM_ARCHIVED" in refused(cli, "program", "status", "acme", "sale", "active").output
    with Session(engine) as session:
        assert session.scalars(select(Program)).one().status == "archived"


def test_user_add(cli: CliRunner, engine: Engine) -> None:
    from processing.accounts.models import User

    added = cli.invoke(
        main,
        ["user", "add", "Boss@Acme.ru", "--tenant", "acme", "--role", "admin", "--role", "manager",
         "--name", "Директор", "--password", "Acme-admin-2026"],
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "boss@acme.ru" in added.output and "Администратор" in added.output
    platform = cli.invoke(
        main, ["user", "add", "root@saas.ru", "--role", "licensor", "--password", "Saas-root-2026"]
    )
    assert platform.exit_code == 0 and "the platform" in platform.output
    again = cli.invoke(
        main, ["user", "add", "boss@acme.ru", "--tenant", "acme", "--role", "guest",
               "--password", "Acme-admin-2026"],
    )  # fmt: skip
    assert again.exit_code != 0 and "ACCOUNT_EXISTS" in again.output
    with Session(engine) as session:
        users = {u.email: u.tenant_id for u in session.scalars(select(User))}
        acme = session.scalars(select(Tenant).where(Tenant.code == "acme")).one()
    assert users == {"boss@acme.ru": acme.id, "root@saas.ru": None}
    reset = cli.invoke(main, ["user", "password", "BOSS@acme.ru", "--password", "Acme-new-2026!"])
    assert reset.exit_code == 0 and "boss@acme.ru" in reset.output
    missing = cli.invoke(
        main, ["user", "password", "nobody@acme.ru", "--password", "Whatever-2026"]
    )
    assert missing.exit_code != 0 and "no user" in missing.output
    from processing.accounts.service import authenticate

    with Session(engine) as session:
        assert authenticate(session, "boss@acme.ru", "Acme-new-2026!", now=datetime.now(UTC))
