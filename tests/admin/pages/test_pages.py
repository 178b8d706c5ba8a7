"""What the pages do: stores and POS (the token shown once), customers at the desk and in the
back office, users and role rights, the licensor's tenants and tariffs, the agent's view, the
sync log and the dashboard."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from processing.accounts.models import ActionLogEntry, RolePermission, User
from processing.accounts.roles import ADMIN, AGENT, CASHIER, GUEST, LICENSOR, MANAGER, OPERATOR
from processing.cards.models import Card
from processing.customers.models import Customer, CustomerChange, PersonalDataAccess
from processing.customers.service import add_questionnaire_field
from processing.ledger.models import Account
from processing.tenants.models import Pos, Store, TariffPreset, Tenant
from processing.tenants.service import hash_token
from sync.models import SyncLogEntry, SyncRun
from tests.admin.pages.conftest import People, log_in, post, signed_in, text
from tests.connector.onec_http.world import World

NBSP = "\u00a0"


def _actions(session: Session) -> list[str]:
    return list(session.scalars(select(ActionLogEntry.action).order_by(ActionLogEntry.id)))


# --- stores and POS -------------------------------------------------------------------------------


def test_a_new_pos_token_is_shown_once_and_works(
    client: FlaskClient, session: Session, people: People, world: World
) -> None:
    signed_in(client, people[ADMIN])
    made = post(
        client,
        "/admin/stores/add",
        {
            "store-code": "msk-2",
            "store-name": "Магазин на Арбате",
            "store-timezone": "Europe/Moscow",
            "store-city": "Москва",
        },
    )
    assert made.status_code == 302 and made.headers["Location"] == "/admin/stores/msk-2"
    page = post(client, "/admin/stores/msk-2/pos", {"code": "kassa-1"})
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    token = text(page).split('id="token">')[1].split("<")[0]
    assert len(token) >= 32
    pos = session.scalar(select(Pos).where(Pos.code == "kassa-1"))
    assert pos is not None and pos.token_hash == hash_token(token)
    assert token not in text(client.get("/admin/stores/msk-2"))
    replaced = post(client, "/admin/stores/msk-2/pos/kassa-1/reissue")
    new_token = text(replaced).split('id="token">')[1].split("<")[0]
    session.refresh(pos)
    assert new_token != token and pos.token_hash == hash_token(new_token)
    post(client, "/admin/stores/msk-2/pos/kassa-1/revoke")
    session.refresh(pos)
    assert pos.revoked_at is not None
    assert _actions(session)[-4:] == ["store.add", "pos.add", "pos.reissue", "pos.revoke"]
    assert all(
        token not in str(e.details) + e.target for e in session.scalars(select(ActionLogEntry))
    )


def test_store_form_errors_are_shown_in_russian_and_nothing_is_stored(
    client: FlaskClient, session: Session, people: People
) -> None:
    signed_in(client, people[ADMIN])
    response = post(
        client,
        "/admin/stores/add",
        {
            "store-code": "магазин 1",
            "store-name": "Первый",
            "store-timezone": "Europe/Moscow",
        },
    )
    assert response.status_code == 200
    assert "латинские" in text(response).lower() or "Код" in text(response)
    assert session.scalar(select(Store).where(Store.name == "Первый")) is None
    taken = post(
        client,
        "/admin/stores/add",
        {
            "store-code": "s1",
            "store-name": "Дубль",
            "store-timezone": "Europe/Moscow",
        },
    )
    assert "уже" in text(taken)


def test_pos_limit_of_the_tariff_is_explained(
    client: FlaskClient, session: Session, people: People, world: World
) -> None:
    session.get_one(Tenant, world.tenant_id).max_pos = 2
    session.flush()
    signed_in(client, people[ADMIN])
    response = post(client, "/admin/stores/s1/pos", {"code": "p3"})
    assert response.status_code == 200 and 'id="token"' not in text(response)
    assert "лимит" in text(response).lower()


def test_store_group_and_credentials(client: FlaskClient, session: Session, people: People) -> None:
    signed_in(client, people[ADMIN])
    assert (
        post(
            client,
            "/admin/store-groups/add",
            {
                "group-code": "moscow",
                "group-name": "Москва",
                "group-stores": ["s1"],
            },
        ).status_code
        == 302
    )
    assert "Москва" in text(client.get("/admin/stores"))
    short = post(
        client,
        "/admin/credentials",
        {
            "cred-service": "exchange",
            "cred-username": "1c",
            "cred-password": "short",
        },
    )
    assert short.status_code == 200 and "Пароль" in text(short)
    saved = post(
        client,
        "/admin/credentials",
        {
            "cred-service": "exchange",
            "cred-username": "1c",
            "cred-password": "a-long-password-1",
        },
    )
    assert saved.status_code == 302
    assert "пользователь <b>1c</b>" in text(client.get("/admin/stores"))
    post(client, "/admin/cashiers", {"cashier-code": "c-01", "cashier-name": "Иванова"})
    post(client, "/admin/cashiers", {"cashier-code": "c-01", "cashier-name": "Иванова М."})
    assert "<td>c-01</td><td>Иванова М.</td>" in text(client.get("/admin/stores"))
    bad = post(client, "/admin/cashiers", {"cashier-code": "касса 1", "cashier-name": "x"})
    assert bad.status_code == 200 and 'class="field-error"' in text(bad)


# --- customers ------------------------------------------------------------------------------------


def test_cashier_finds_by_phone_registers_and_issues_a_card_but_sees_no_questionnaire(
    client: FlaskClient, session: Session, people: People, world: World
) -> None:
    signed_in(client, people[CASHIER])
    blank = world.blank[0]
    made = post(
        client,
        "/admin/customers/register",
        {
            "phone": "+7 (912) 345-67-89",
            "last_name": "Смирнова",
            "first_name": "Анна",
            "card": blank,
            "consent.processing": "yes",
        },
    )
    assert made.status_code == 302
    customer = session.scalar(select(Customer).where(Customer.phone == "+79123456789"))
    assert customer is not None and customer.processing_consent and not customer.advertising_consent
    card = session.scalar(select(Card).where(Card.number == blank))
    assert card is not None and card.customer_id == customer.id and card.status == "active"
    found = text(client.get("/admin/customers?q=8 912 345 67 89"))
    assert "А. С." in found or "Анна С." in found or "С." in found
    assert "Смирнова" not in found and "+79123456789" not in found
    page = text(client.get(f"/admin/customers/{customer.id}"))
    assert blank in page and "Смирнова" not in page and 'id="questionnaire"' not in page
    assert f'/admin/customers/{customer.id}"' not in text(client.get("/admin/customers?q=Смирнова"))
    assert (
        session.scalar(select(PersonalDataAccess).where(PersonalDataAccess.channel == "pages"))
        is None
    )


def test_operator_fills_the_questionnaire_with_extra_fields_and_history(
    client: FlaskClient, session: Session, people: People, world: World
) -> None:
    tenant = session.get_one(Tenant, world.tenant_id)
    add_questionnaire_field(session, tenant, "pet", "Питомец", "choice", ["кошка", "собака"])
    add_questionnaire_field(session, tenant, "kids", "Есть дети", "boolean")
    session.flush()
    signed_in(client, people[OPERATOR])
    url = f"/admin/customers/{world.customer_id}"
    page = text(client.get(url))
    assert "Питомец" in page and "Есть дети" in page
    bad = post(
        client, url + "/questionnaire", {"email": "not-an-email", "birth_date": "1990-05-17"}
    )
    assert bad.status_code == 200 and "не похоже на адрес" in text(bad)
    customer = session.get_one(Customer, world.customer_id)
    session.refresh(customer)
    assert customer.birth_date != date(1990, 5, 17)  # nothing of a refused form is kept
    saved = post(
        client,
        url + "/questionnaire",
        {
            "email": "Anna@Example.RU",
            "birth_date": "1990-05-17",
            "gender": "female",
            "extra.pet": "кошка",
            "extra.kids": "yes",
            "consent.processing": "yes",
            "consent.advertising": "yes",
        },
    )
    assert saved.status_code == 302
    session.refresh(customer)
    assert customer.email == "anna@example.ru" and customer.birth_date == date(1990, 5, 17)
    assert customer.extra == {"pet": "кошка", "kids": True}
    assert customer.advertising_consent and customer.advertising_consent_source == "admin"
    changes = session.scalars(
        select(CustomerChange.field).where(CustomerChange.customer_id == customer.id)
    ).all()
    assert {"email", "birth_date", "extra.pet", "consent.advertising"} <= set(changes)
    page = text(client.get(url))
    assert "История изменений" in page and "админка" in page
    views = session.scalars(
        select(PersonalDataAccess).where(
            PersonalDataAccess.customer_id == customer.id, PersonalDataAccess.channel == "pages"
        )
    ).all()
    assert {v.action for v in views} == {"read", "update"}
    assert all(v.actor == f"user:{people[OPERATOR].id}" for v in views)
    assert "customer.view" in _actions(session) and "customer.update" in _actions(session)


def test_search_by_name_email_and_card_for_whoever_sees_personal_data(
    client: FlaskClient, session: Session, people: People, world: World
) -> None:
    customer = session.get_one(Customer, world.customer_id)
    customer.last_name, customer.email = "Ёлкина", "elkina@shop.ru"
    session.flush()
    signed_in(client, people[ADMIN])
    for query in ("ёлк", "ЁЛКИНА", "elkina@shop.ru", world.card):
        assert f"/admin/customers/{customer.id}" in text(
            client.get(f"/admin/customers?q={query}")
        ), query
    reads = session.scalars(
        select(PersonalDataAccess).where(PersonalDataAccess.customer_id == customer.id)
    ).all()
    assert len(reads) == 4 and all(r.action == "read" and "phone" in r.fields for r in reads)
    assert _actions(session).count("customer.search") == 4


def test_manager_blocks_a_card_and_corrects_the_balance_with_a_reason(
    client: FlaskClient, session: Session, people: People, world: World
) -> None:
    signed_in(client, people[MANAGER])
    url = f"/admin/customers/{world.customer_id}"
    no_reason = post(
        client,
        f"/admin/cards/{world.card}/status",
        {"change": "block", "reason": ""},
        follow_redirects=True,
    )
    assert "Укажите действие и причину" in text(no_reason)
    post(client, f"/admin/cards/{world.card}/status", {"change": "block", "reason": "утеряна"})
    card = session.scalar(select(Card).where(Card.number == world.card))
    assert card is not None and card.status == "blocked"
    account = session.get_one(Account, world.account_id)
    before = account.balance
    bad = post(
        client,
        f"{url}/balance",
        {"amount": "12,345", "reason": "ошибка кассира"},
        follow_redirects=True,
    )
    assert "Укажите сумму" in text(bad)
    post(client, f"{url}/balance", {"amount": "-1 000,50", "reason": ""})
    session.refresh(account)
    assert account.balance == before  # no reason, no correction
    post(client, f"{url}/balance", {"amount": "150,25", "reason": "ошибка кассира"})
    session.refresh(account)
    assert account.balance == before + Decimal("150.25")
    assert f"{(before + Decimal('150.25')):.2f}".replace(".", ",")[-6:] in text(client.get(url))
    assert _actions(session)[-2:] == ["card.status", "balance.correct"]


def test_anonymisation_needs_the_customer_number(
    client: FlaskClient, session: Session, people: People, world: World
) -> None:
    signed_in(client, people[ADMIN])
    url = f"/admin/customers/{world.customer_id}/anonymise"
    refused = post(client, url, {"confirm": "1"}, follow_redirects=True)
    assert "подтвердите" in text(refused)
    customer = session.get_one(Customer, world.customer_id)
    assert customer.anonymised_at is None
    post(client, url, {"confirm": str(world.customer_id)})
    session.refresh(customer)
    assert customer.anonymised_at is not None and customer.phone is None


# --- users and rights -----------------------------------------------------------------------------


def test_admin_adds_a_user_and_changes_role_rights(
    client: FlaskClient, session: Session, people: People, world: World
) -> None:
    signed_in(client, people[ADMIN])
    weak = post(
        client,
        "/admin/users/add",
        {"email": "new@acme.ru", "roles": ["cashier"], "password": "123"},
    )
    assert "Пароль слишком короткий" in text(weak)
    added = post(
        client,
        "/admin/users/add",
        {
            "email": "New@Acme.ru",
            "name": "Ольга",
            "roles": ["cashier", "operator"],
            "password": "a-long-password-2",
        },
    )
    assert added.status_code == 302
    user = session.scalar(select(User).where(User.email == "new@acme.ru"))
    assert user is not None and user.tenant_id == world.tenant_id
    grants = [
        f"{role}:{p}" for role, p in (("cashier", "customers.find"), ("cashier", "sync_log.view"))
    ]
    post(client, "/admin/roles", {"grant": grants})
    rows = {(r.role, r.permission): r.allowed for r in session.scalars(select(RolePermission))}
    assert rows[("cashier", "sync_log.view")] is True
    assert rows[("cashier", "customers.register")] is False
    assert ("admin", "users.manage") not in rows
    post(client, f"/admin/users/{people[GUEST].id}/active")
    session.refresh(people[GUEST])
    assert people[GUEST].active is False
    short = post(
        client,
        f"/admin/users/{people[OPERATOR].id}/password",
        {"password": "1"},
        follow_redirects=True,
    )
    assert "Пароль слишком короткий" in text(short)
    post(client, f"/admin/users/{people[OPERATOR].id}/password", {"password": "reset-password-7"})
    assert (
        log_in(
            FlaskClient(client.application), people[OPERATOR].email, "reset-password-7"
        ).status_code
        == 302
    )
    own = post(client, f"/admin/users/{people[ADMIN].id}/active", follow_redirects=True)
    assert "самого себя" in text(own)
    log = text(client.get("/admin/actions"))
    assert "Добавлен пользователь" in log and "Изменены права роли" in log


# --- platform -------------------------------------------------------------------------------------


def test_licensor_creates_a_tenant_with_its_administrator_and_manages_it(
    client: FlaskClient, session: Session, people: People, world: World
) -> None:
    signed_in(client, people[LICENSOR])
    made = post(
        client,
        "/admin/platform/tenants/add",
        {
            "code": "beta",
            "name": "Бета",
            "tariff": "start",
            "timezone": "Asia/Yekaterinburg",
            "admin_email": "owner@beta.ru",
            "admin_password": "a-long-password-3",
        },
    )
    assert made.status_code == 302
    beta = session.scalar(select(Tenant).where(Tenant.code == "beta"))
    assert beta is not None and beta.tariff == "start" and beta.timezone == "Asia/Yekaterinburg"
    owner = session.scalar(select(User).where(User.email == "owner@beta.ru"))
    assert owner is not None and owner.tenant_id == beta.id
    post(
        client,
        "/admin/platform/tenants/beta/limits",
        {"max_stores": "7", "max_pos": "", "max_customers": "100"},
    )
    session.refresh(beta)
    assert (beta.max_stores, beta.max_pos, beta.max_customers) == (7, None, 100)
    post(client, "/admin/platform/tenants/beta/tariff", {"tariff": "network"})
    post(client, "/admin/platform/tenants/beta/addons/informer")
    session.refresh(beta)
    assert beta.tariff == "network" and beta.addons == ["informer"] and "sms" in beta.features
    post(client, "/admin/platform/tenants/beta/suspend")
    session.refresh(beta)
    assert beta.suspended_at is not None
    post(client, "/admin/platform/tenants/acme/agents", {"agent": []})
    assert "Вам пока не назначены сети" in text(
        signed_in(FlaskClient(client.application), people[AGENT]).get("/admin/platform/my-tenants")
    )


def test_licensor_edits_a_tariff_preset(
    client: FlaskClient, session: Session, people: People
) -> None:
    signed_in(client, people[LICENSOR])
    saved = post(
        client,
        "/admin/platform/tariffs",
        {
            "code": "start",
            "title": "Стартовый",
            "max_stores": "3",
            "max_pos": "6",
            "max_customers": "",
            "quota_sms": "1 000",
            "feature": ["bonus", "levels"],
        },
    )
    assert saved.status_code == 302
    preset = session.get_one(TariffPreset, "start")
    assert (preset.max_stores, preset.max_pos, preset.max_customers) == (3, 6, None)
    assert preset.features == ["bonus", "levels"] and preset.quotas == {"sms": 1000}
    bad = post(
        client,
        "/admin/platform/tariffs",
        {"code": "start", "title": "x", "max_stores": "-5"},
        follow_redirects=True,
    )
    assert "Лимит" in text(bad)


def test_agent_sees_its_tenants_connection_and_pos_but_no_customers(
    client: FlaskClient, session: Session, people: People, world: World, other: World
) -> None:
    signed_in(client, people[AGENT])
    listing = text(client.get("/admin/platform/my-tenants"))
    assert "Сеть acme" in listing and "Сеть other" not in listing
    page = text(client.get("/admin/platform/my-tenants/acme"))
    assert "p1" in page and "не настроен" in page
    assert client.get("/admin/platform/my-tenants/other").status_code == 404
    assert client.get(f"/admin/customers/{world.customer_id}").status_code == 403
    issued = post(client, "/admin/platform/my-tenants/acme/stores/s1/pos/p2/reissue")
    assert issued.headers["Cache-Control"] == "no-store"
    token = text(issued).split('id="token">')[1].split("<")[0]
    pos = session.scalar(select(Pos).where(Pos.tenant_id == world.tenant_id, Pos.code == "p2"))
    assert pos is not None and pos.token_hash == hash_token(token)


# --- sync log and dashboard -----------------------------------------------------------------------


def test_sync_log_filters_and_a_running_run_refreshes(
    client: FlaskClient, session: Session, people: People, world: World
) -> None:
    now = datetime.now(UTC)
    running = SyncRun(
        tenant_id=world.tenant_id,
        source="commerceml",
        file_name="offers.xml",
        stored_name="offers.xml",
        status="running",
        progress=40,
        started_at=now,
        counts={},
        errors=[],
        warnings=[],
    )
    failed = SyncRun(
        tenant_id=world.tenant_id,
        source="commerceml",
        file_name="import.xml",
        stored_name="import.xml",
        status="failed",
        started_at=now,
        counts={"created": 1200},
        error_count=1,
        warnings=[],
        errors=[
            {
                "path": "Каталог/Товары/Товар[17]",
                "id": "bd72",
                "message": "Не указано наименование.",
            }
        ],
        message="Файл повреждён",
    )
    session.add_all([running, failed])
    session.flush()
    session.add_all(
        [
            SyncLogEntry(
                tenant_id=world.tenant_id,
                at=now,
                exchange="discount_server",
                operation="Рассчитать",
                level="error",
                message="Неизвестная карта",
                counts={},
            ),
            SyncLogEntry(
                tenant_id=world.tenant_id,
                at=now,
                exchange="commerceml",
                operation="import",
                level="info",
                message="Файл принят",
                counts={},
                run_id=failed.id,
            ),
        ]
    )
    session.flush()
    signed_in(client, people[GUEST])
    log = text(client.get("/admin/sync-log"))
    assert 'http-equiv="refresh"' in log and "идёт, 40%" in log and f"1{NBSP}200" in log
    errors_only = text(client.get("/admin/sync-log?level=error"))
    assert "Неизвестная карта" in errors_only and "Файл принят" not in errors_only
    other_day = text(client.get("/admin/sync-log?since=2020-01-01&until=2020-01-02"))
    assert "Записей нет." in other_day
    page = text(client.get(f"/admin/sync-log/runs/{failed.id}"))
    assert "Не указано наименование." in page and "Файл повреждён" in page and "Файл принят" in page
    assert 'http-equiv="refresh"' not in page
    assert 'http-equiv="refresh"' in text(client.get(f"/admin/sync-log/runs/{running.id}"))


def test_dashboard_shows_usage_and_money_in_russian(
    client: FlaskClient, session: Session, people: People, world: World
) -> None:
    tenant = session.get_one(Tenant, world.tenant_id)
    tenant.max_pos = 4
    session.flush()
    signed_in(client, people[ADMIN])
    page = text(client.get("/admin/"))
    assert "Кассы" in page and "из 4" in page and "Сегодня" in page and "0,00" in page
    assert "Обменов с 1С ещё не было." in page
    signed_in(FlaskClient(client.application), people[CASHIER])


# --- programs -------------------------------------------------------------------------------------


def test_marketer_adds_a_bonus_version_keeping_the_rules_the_form_does_not_show(
    client: FlaskClient, session: Session, people: People, world: World
) -> None:
    from processing.programs.models import Program, ProgramVersion

    program = session.scalar(
        select(Program).where(Program.tenant_id == world.tenant_id, Program.kind == "bonus")
    )
    assert program is not None
    current = session.scalars(
        select(ProgramVersion).where(ProgramVersion.program_id == program.id)
    ).one()
    current.rules = {**current.rules, "welcome": {"amount": "100"}}
    session.flush()
    signed_in(client, people["marketer"])
    page = text(client.get("/admin/programs/bonus"))
    assert 'value="3"' in page and "Процент начисления для уровня gold" in page
    bad = post(
        client,
        "/admin/programs/bonus/versions",
        {
            "effective_from": "2030-01-01",
            "accrual_percent": "abc",
            "max_payment_percent": "50",
            "activation_delay_days": "0",
            "lifetime_days": "365",
            "lifetime_from": "accrual",
        },
    )
    assert bad.status_code == 200
    assert 'data-field="accrual_percent"' in text(bad)
    assert session.scalars(
        select(ProgramVersion).where(ProgramVersion.program_id == program.id)
    ).all() == [current]
    saved = post(
        client,
        "/admin/programs/bonus/versions",
        {
            "effective_from": "2030-01-01",
            "accrual_percent": "4,5",
            "max_payment_percent": "30",
            "activation_delay_days": "1",
            "lifetime_days": "",
            "lifetime_from": "accrual",
            "level_percent.gold": "8",
            "stores": ["s1"],
        },
    )
    assert saved.status_code == 302
    session.expire_all()
    versions = session.scalars(
        select(ProgramVersion)
        .where(ProgramVersion.program_id == program.id)
        .order_by(ProgramVersion.effective_from)
    ).all()
    assert len(versions) == 2
    new = versions[1]
    assert new.rules["accrual_percent"] == "4.5" and new.rules["lifetime_days"] is None
    assert new.rules["accrual_percent_by_level"] == {"gold": "8"}
    assert new.rules["welcome"] == {"amount": "100"}
    assert [s.code for s in new.stores] == ["s1"]
    assert versions[0].effective_to == new.effective_from
    assert new.effective_from.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Moscow")).hour == 0


def test_level_program_form_shows_the_domains_message_next_to_the_level(
    client: FlaskClient, session: Session, people: People, world: World
) -> None:
    signed_in(client, people[ADMIN])
    page = text(client.get("/admin/programs/levels"))
    assert 'name="levels.0.code"' in page
    bad = post(
        client,
        "/admin/programs/levels/versions",
        {
            "effective_from": "2030-01-01",
            "basis": "sum",
            "window_kind": "rolling_days",
            "window_days": "",
            "levels.0.code": "base",
            "levels.0.threshold": "0",
            "levels.0.discount_percent": "0",
        },
    )
    assert 'data-field="window_days"' in text(bad) and "Укажите число дней" in text(bad)


# --- cards ----------------------------------------------------------------------------------------


def test_admin_adds_a_series_generates_cards_and_a_replacement_keeps_the_balance(
    client: FlaskClient, session: Session, people: People, world: World
) -> None:
    signed_in(client, people[ADMIN])
    bad = post(
        client,
        "/admin/cards/templates",
        {
            "code": "gold",
            "name": "Золотая",
            "card_type": "5%",
            "prefix": "12345678901234",
            "number_length": "13",
            "check_digit": "ean13",
        },
    )
    assert bad.status_code == 200 and "Длина номера не вмещает" in text(bad)
    made = post(
        client,
        "/admin/cards/templates",
        {
            "code": "gold",
            "name": "Золотая",
            "card_type": "5%",
            "prefix": "2779",
            "number_length": "13",
            "check_digit": "ean13",
        },
    )
    assert made.status_code == 302
    too_many = post(client, "/admin/cards/templates/gold/generate", {"count": "100001"})
    assert "От 1 до" in text(too_many)
    generated = post(
        client, "/admin/cards/templates/gold/generate", {"count": "3"}, follow_redirects=True
    )
    assert "Выпущено карт: 3" in text(generated)
    fresh = session.scalars(
        select(Card.number).where(Card.number.like("2779%")).order_by(Card.number)
    ).all()
    assert len(fresh) == 3
    assert (
        client.get(f"/admin/cards?number={world.card}").headers["Location"]
        == f"/admin/cards/{world.card}"
    )
    page = text(client.get(f"/admin/cards/{world.card}"))
    assert "Активна" in page and "1" + NBSP + "000,00" in page and "начальный остаток" in page
    replaced = post(
        client, f"/admin/cards/{world.card}/replace", {"new_card": fresh[0], "reason": "утеряна"}
    )
    assert replaced.headers["Location"] == f"/admin/cards/{fresh[0]}"
    new_page = text(client.get(f"/admin/cards/{fresh[0]}"))
    assert "1" + NBSP + "000,00" in new_page
    old = session.scalar(select(Card).where(Card.number == world.card))
    assert old is not None and old.status == "closed"


def test_cashier_finds_a_card_but_sees_no_ledger_details(
    client: FlaskClient, session: Session, people: People, world: World
) -> None:
    signed_in(client, people[CASHIER])
    assert "Серии" not in text(client.get("/admin/cards"))
    page = text(client.get(f"/admin/cards/{world.card}"))
    assert "1" + NBSP + "000,00" in page and "Движения бонусов" not in page and "Петров" not in page


def test_admin_adds_an_extra_field_and_makes_it_required(
    client: FlaskClient, session: Session, people: People, world: World
) -> None:
    signed_in(client, people[ADMIN])
    bad = post(
        client,
        "/admin/questionnaire/fields",
        {"code": "Pet!", "label": "Питомец", "kind": "string"},
    )
    assert bad.status_code == 200 and "недопустим" in text(bad)
    no_choices = post(
        client, "/admin/questionnaire/fields", {"code": "pet", "label": "Питомец", "kind": "choice"}
    )
    assert "варианты" in text(no_choices)
    made = post(
        client,
        "/admin/questionnaire/fields",
        {
            "code": "pet",
            "label": "Питомец",
            "kind": "choice",
            "choices": "кошка\r\nсобака\r\n",
        },
    )
    assert made.status_code == 302
    saved = post(
        client,
        "/admin/questionnaire/rules",
        {"policy": "accrual_only", "required": ["phone", "extra.pet"]},
    )
    assert saved.status_code == 302
    tenant = session.get_one(Tenant, world.tenant_id)
    session.refresh(tenant)
    assert tenant.questionnaire_policy == "accrual_only" and tenant.questionnaire_required == [
        "phone",
        "extra.pet",
    ]
    refused = post(
        client, "/admin/questionnaire/rules", {"policy": "all", "required": ["extra.nope"]}
    )
    assert "Политика незаполненной анкеты" in text(refused) and "Нет такого поля анкеты" in text(
        refused
    )
    assert "Питомец" in text(client.get(f"/admin/customers/{world.customer_id}"))


def test_marketer_creates_a_promotion_edits_its_json_and_pauses_it(
    client: FlaskClient, session: Session, people: People, world: World
) -> None:
    from processing.programs.models import Program, ProgramVersion

    signed_in(client, people["marketer"])
    made = post(
        client, "/admin/programs", {"kind": "promotion", "code": "sale", "name": "Распродажа"}
    )
    assert made.headers["Location"] == "/admin/programs/sale"
    page = text(client.get("/admin/programs/sale"))
    assert 'id="rules"' in page
    not_json = post(
        client, "/admin/programs/sale/versions", {"effective_from": "2030-01-01", "rules": "{oops"}
    )
    assert "Правила — не JSON: строка 1" in text(not_json)
    refused = post(
        client,
        "/admin/programs/sale/versions",
        {"effective_from": "2030-01-01", "rules": '{"reward": 5}'},
    )
    assert refused.status_code == 200 and 'data-field="rules"' in text(refused)
    program = session.scalar(
        select(Program).where(Program.tenant_id == world.tenant_id, Program.code == "sale")
    )
    assert program is not None
    assert (
        session.scalars(select(ProgramVersion).where(ProgramVersion.program_id == program.id)).all()
        == []
    )
    post(client, "/admin/programs/sale/status", {"status": "paused"})
    session.refresh(program)
    assert program.status == "paused"
    post(client, "/admin/programs/sale/status", {"status": "archived"})
    back = post(client, "/admin/programs/sale/status", {"status": "active"}, follow_redirects=True)
    assert "в архиве" in text(back).lower()
    session.refresh(program)
    assert program.status == "archived"
    assert "Распродажа" in text(client.get("/admin/programs"))
