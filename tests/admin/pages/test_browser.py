"""The admin in a real browser (headless Chromium, Selenium) against a live server: the issue's
walkthroughs, each step with a screenshot in ``tests/screenshots/``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from openpyxl import load_workbook
from selenium.webdriver.common.by import By
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from processing.accounts.roles import ADMIN, GUEST, MARKETER, OPERATOR
from processing.customers.models import Customer
from processing.programs.models import Program, ProgramVersion
from processing.tenants.models import Pos, Store
from processing.tenants.service import hash_token
from sync.models import SyncLogEntry, SyncRun
from tests.admin.pages.browser import Browser, chromium, live_server
from tests.admin.pages.conftest import PASSWORD, People, make_people
from tests.admin.pages.upload_files import (
    BAD_EMAIL_ROW,
    BAD_PHONE_ROW,
    HEADERS,
    REPEAT_ROW,
    questionnaire_xlsx,
)
from tests.connector.onec_http.world import World, seed_world

pytestmark = pytest.mark.committed


@pytest.fixture
def world(session: Session) -> World:
    seeded = seed_world(session)
    session.commit()
    return seeded


@pytest.fixture
def people(session: Session, world: World) -> People:
    made = make_people(session, world)
    session.commit()
    return made


@pytest.fixture
def browser(app: Flask, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Browser]:
    with live_server(app) as base, chromium(tmp_path) as driver:
        yield Browser(driver, base, request.node.name.removeprefix("test_"))


def test_log_in_create_a_store_and_a_pos_and_see_the_token_once(
    browser: Browser, session: Session, people: People
) -> None:
    browser.log_in(people[ADMIN].email, PASSWORD)
    browser.link("Магазины и кассы")
    browser.fill("#store-code", "msk-2")
    browser.fill("#store-name", "Магазин на Арбате")
    browser.fill("#store-city", "Москва")
    browser.shot("new-store")
    browser.button("Добавить магазин")
    browser.wait_text("Магазин «Магазин на Арбате» добавлен.")
    browser.fill("#code", "kassa-1")
    browser.button("Добавить кассу")
    token = browser.find("#token").text
    browser.shot("token-shown")
    assert "показывается один раз" in browser.page
    assert browser.find("#active").is_selected()  # the page of a POST shows the stored state
    assert browser.find("#code").get_attribute("value") == ""
    pos = session.scalar(
        select(Pos).join(Store).where(Store.code == "msk-2", Pos.code == "kassa-1")
    )
    assert pos is not None and pos.token_hash == hash_token(token)
    browser.driver.refresh()  # a GET of the store page: the token is gone
    browser.wait_text("kassa-1")
    browser.open("/admin/stores/msk-2")
    browser.wait_text("kassa-1")
    assert token not in browser.driver.page_source
    browser.shot("token-gone")


def test_change_a_bonus_program_version(
    browser: Browser, session: Session, people: People, world: World
) -> None:
    browser.log_in(people[MARKETER].email, PASSWORD)
    browser.link("Программы")
    browser.link("Бонусы")
    browser.fill("#accrual_percent", "abc")
    browser.button("Сохранить новую версию")
    browser.find('.field-error[data-field="accrual_percent"]')
    browser.shot("field-error")
    browser.fill("#accrual_percent", "4,5")
    browser.fill("#max_payment_percent", "40")
    browser.button("Сохранить новую версию")
    browser.wait_text("Новая версия программы сохранена.")
    browser.shot("saved")
    rows = browser.driver.find_elements(By.CSS_SELECTOR, "#versions tr")
    assert len(rows) == 3 and "начисление 4.5%" in rows[1].text
    program = session.scalar(
        select(Program).where(Program.tenant_id == world.tenant_id, Program.code == "bonus")
    )
    assert program is not None
    rules = session.scalars(
        select(ProgramVersion.rules)
        .where(ProgramVersion.program_id == program.id)
        .order_by(ProgramVersion.effective_from)
    ).all()
    assert [r["accrual_percent"] for r in rules] == ["3", "4.5"]


def test_open_the_sync_log(
    browser: Browser, session: Session, people: People, world: World
) -> None:
    now = datetime.now(UTC)
    run = SyncRun(
        tenant_id=world.tenant_id,
        source="commerceml",
        file_name="import.xml",
        stored_name="import0_1.zip",
        status="failed",
        started_at=now,
        counts={"created": 1200},
        error_count=1,
        warnings=[],
        errors=[
            {
                "path": "КоммерческаяИнформация/Каталог/Товары/Товар[17]",
                "id": "bd72",
                "message": "Не указано наименование.",
            }
        ],
        message="Файл не разобран: ошибка XML в строке 5.",
    )
    session.add(run)
    session.flush()
    session.add(
        SyncLogEntry(
            tenant_id=world.tenant_id,
            at=now,
            exchange="commerceml",
            operation="import",
            level="error",
            message="Загрузка не удалась",
            counts={},
            run_id=run.id,
        )
    )
    session.commit()
    browser.log_in(people[GUEST].email, PASSWORD)
    browser.link("Журнал обмена")
    browser.wait_text("import.xml")
    browser.shot("log")
    browser.find("#level").send_keys("Ошибка")
    browser.button("Показать")
    browser.wait_text("Загрузка не удалась")
    browser.open(f"/admin/sync-log/runs/{run.id}")
    browser.wait_text("Не указано наименование.")
    assert "Файл не разобран" in browser.page
    browser.shot("run")


def test_upload_1000_questionnaires_with_3_bad_rows_then_fix_one_by_phone(
    browser: Browser, session: Session, people: People, world: World, tmp_path: Path
) -> None:
    data, known = questionnaire_xlsx(1000)
    source = tmp_path / "анкеты.xlsx"
    source.write_bytes(data)
    browser.log_in(people[OPERATOR].email, PASSWORD)
    browser.link("Загрузка анкет")
    browser.find("#file").send_keys(str(source))
    browser.shot("file-chosen")
    browser.button("Загрузить файл")
    preview = browser.find("#preview")
    assert "Фамилия2" in preview.text and "Фамилия11" in preview.text  # the first rows
    assert browser.find('select[name="column.2"]').get_attribute("value") == "phone"
    browser.shot("preview")
    browser.button("Проверить строки")
    browser.wait_text("проверено", timeout=120)
    assert browser.find("#valid").text == "997" and browser.find("#invalid").text == "3"
    browser.shot("checked")
    browser.click("#error-report")
    report = tmp_path / f"oshibki-{browser.driver.current_url.rsplit('/', 1)[1]}.xlsx"
    deadline = time.monotonic() + 30
    while not report.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    sheet = load_workbook(report).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == (*HEADERS, "Ошибка")
    assert [row[0] for row in rows[1:]] == [
        f"Фамилия{n}" for n in (BAD_PHONE_ROW, REPEAT_ROW, BAD_EMAIL_ROW)
    ]
    assert all(row[-1] for row in rows[1:])
    browser.button("Загрузить корректные строки (997)")
    browser.wait_text("загружено", timeout=300)
    assert browser.find("#created").text == "997"
    browser.shot("loaded")
    browser.link("Покупатели")
    browser.fill("#q", known["repeated_phone"])
    browser.button("Найти")
    browser.link("Фамилия7 Анна")
    browser.fill("#f-email", known["repeat_email"])
    browser.shot("questionnaire")
    browser.button("Сохранить анкету")
    browser.wait_text("Анкета сохранена.")
    browser.shot("saved")
    customer = session.scalar(select(Customer).where(Customer.phone == known["repeated_phone"]))
    assert customer is not None and customer.email == known["repeat_email"]
    count = session.scalar(
        select(func.count()).select_from(Customer).where(Customer.tenant_id == world.tenant_id)
    )
    assert count == 1 + 997
