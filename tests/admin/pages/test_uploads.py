"""The questionnaire upload through its pages: the file, the mapping with a preview, the check,
the error report, the load or nothing, and the same file again."""

from __future__ import annotations

import io

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from processing.accounts.roles import OPERATOR
from processing.customers.models import Customer
from processing.uploads.models import QuestionnaireUpload
from tests.admin.pages.conftest import People, post, signed_in, text
from tests.admin.pages.upload_files import questionnaire_csv
from tests.connector.onec_http.world import World


def _upload(client: FlaskClient, data: bytes, name: str) -> str:
    response = post(
        client,
        "/admin/uploads",
        {"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, text(response)[-300:]
    return response.headers["Location"]


def _customers(session: Session, world: World) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(Customer).where(Customer.tenant_id == world.tenant_id)
        )
        or 0
    )


def test_csv_upload_from_mapping_to_load_and_again(
    client: FlaskClient, session: Session, people: People, world: World
) -> None:
    signed_in(client, people[OPERATOR])
    before = _customers(session, world)
    page_url = _upload(client, questionnaire_csv(), "анкеты.csv")
    page = text(client.get(page_url))
    assert "Сидорова" in page and "Кузнецов" in page  # the preview
    assert 'value="phone" selected' in page and 'value="consent.advertising" selected' in page
    mapping = {
        "column.0": "phone",
        "column.1": "last_name",
        "column.2": "first_name",
        "column.3": "consent.advertising",
    }
    checked = post(client, page_url + "/mapping", mapping, follow_redirects=True)
    page = text(checked)
    assert "проверено" in page and 'id="valid">2<' in page and 'id="invalid">1<' in page
    assert "Строка" in page and ">4<" in page  # the bad row, as the file numbers it
    report = client.get(page_url + "/errors.xlsx")
    assert report.status_code == 200 and report.headers["Content-Disposition"].startswith(
        "attachment"
    )
    sheet = load_workbook(io.BytesIO(report.data)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][-1] == "Ошибка" and len(rows) == 2 and rows[1][0] == "916 11"
    assert _customers(session, world) == before  # nothing is written before "load"
    loaded = text(post(client, page_url + "/load", {"mode": "valid"}, follow_redirects=True))
    assert "загружено" in loaded and 'id="created">2<' in loaded
    assert _customers(session, world) == before + 2
    maria = session.scalar(select(Customer).where(Customer.phone == "+79161112233"))
    assert maria is not None and maria.last_name == "Сидорова" and maria.advertising_consent
    again = _upload(client, questionnaire_csv(), "анкеты.csv")
    post(client, again + "/mapping", mapping)
    post(client, again + "/load", {"mode": "valid"})
    upload = session.get_one(QuestionnaireUpload, int(again.rsplit("/", 1)[1]))
    session.refresh(upload)
    assert (upload.created, upload.updated, upload.unchanged) == (0, 0, 2)
    assert _customers(session, world) == before + 2


def test_load_nothing_writes_nothing_and_a_bad_file_is_explained(
    client: FlaskClient, session: Session, people: People, world: World
) -> None:
    signed_in(client, people[OPERATOR])
    before = _customers(session, world)
    page_url = _upload(client, questionnaire_csv(), "анкеты.csv")
    post(client, page_url + "/mapping", {"column.0": "phone", "column.1": "last_name"})
    cancelled = text(post(client, page_url + "/load", {"mode": "nothing"}, follow_redirects=True))
    assert "ни одна анкета" in cancelled and _customers(session, world) == before
    no_phone = _upload(client, questionnaire_csv(), "анкеты.csv")
    refused = text(
        post(client, no_phone + "/mapping", {"column.1": "last_name"}, follow_redirects=True)
    )
    assert "телефон" in refused and "ждёт сопоставления" in refused
    bad = post(
        client,
        "/admin/uploads",
        {"file": (io.BytesIO(b"\x00\x01garbage"), "x.xlsx")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert bad.status_code == 200 and "flash error" in text(bad)
    none = post(
        client, "/admin/uploads", {}, content_type="multipart/form-data", follow_redirects=True
    )
    assert "Выберите файл" in text(none)


def test_a_check_whose_job_was_lost_goes_on_from_its_last_batch(
    client: FlaskClient,
    session: Session,
    people: People,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sync import questionnaire_upload as jobs

    signed_in(client, people[OPERATOR])
    page_url = _upload(client, questionnaire_csv(), "анкеты.csv")
    monkeypatch.setattr(jobs, "check_upload", lambda upload_id: None)  # the worker dies with it
    post(client, page_url + "/mapping", {"column.0": "phone", "column.1": "last_name"})
    stuck = text(client.get(page_url))
    assert "Проверяем строки" in stuck and "Продолжить" in stuck
    monkeypatch.undo()
    resumed = text(post(client, page_url + "/resume", follow_redirects=True))
    assert "проверено" in resumed and 'id="valid">2<' in resumed
