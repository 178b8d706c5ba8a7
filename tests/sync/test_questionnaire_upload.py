"""The questionnaire upload end to end: a file stored, checked and loaded by the jobs (inline
after the commit in the embedded mode), batch by batch with committed progress."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from mappings.questionnaire_file import UploadFileUnreadable
from processing.customers.models import Customer, CustomerChange
from processing.tenants.models import Tenant
from processing.uploads import service as domain
from processing.uploads.models import QuestionnaireUpload
from sync import questionnaire_upload as jobs
from sync.runtime import Runtime, activate
from tests import factories

ROWS = 2000
BAD = {7, 500, 1999}  # data-row indexes with a broken phone


def _file() -> bytes:
    lines = ["Телефон;Фамилия;Имя;Дата рождения;Согласие на рассылку"]
    for i in range(ROWS):
        phone = (
            "12-34"
            if i in BAD
            else f"8 (916) {i // 10000:03d}-{i % 10000 // 100:02d}-{i % 100:02d}"
        )
        lines.append(f"{phone};Иванов-{i};Иван;0{1 + i % 9}.02.1990;{'да' if i % 2 else ''}")
    return ("\r\n".join(lines) + "\r\n").encode("cp1251")


def _committed_progress(
    monkeypatch: pytest.MonkeyPatch, engine: Engine, name: str
) -> list[tuple[int, int]]:
    """(rows_done committed before a batch, rows_done after it) for every batch."""
    seen: list[tuple[int, int]] = []
    original = getattr(domain, name)

    def step(session: Session, upload: QuestionnaireUpload, *args: Any) -> bool:
        with Session(engine) as other:
            before = other.get_one(QuestionnaireUpload, upload.id).rows_done
        more: bool = original(session, upload, *args)
        seen.append((before, upload.rows_done))
        return more

    monkeypatch.setattr(domain, name, step)
    return seen


@pytest.mark.committed
def test_check_and_load_a_2000_row_file(
    runtime: Runtime, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    activate(runtime)
    with runtime.session() as session:
        tenant = factories.tenant(session)
        factories.customer(session, tenant, phone="+79160000001")  # row 3 updates them
        upload = jobs.start_upload(session, tenant, file_name="анкеты.csv", data=_file(),
                                   author="Бухгалтер", now=datetime.now(UTC))  # fmt: skip
        assert domain.column_mapping(upload) == {
            0: "phone",
            1: "last_name",
            2: "first_name",
            3: "birth_date",
            4: "consent.advertising",
        }
        assert jobs.preview(upload, 2).rows[1][0] == "8 (916) 000-00-01"
        session.commit()
        upload_id = upload.id

    checked = _committed_progress(monkeypatch, engine, "check_rows")
    with runtime.session() as session:
        upload = session.get_one(QuestionnaireUpload, upload_id)
        jobs.enqueue_check(session, upload)
        session.commit()  # the job runs now, inline
    assert checked == [(0, 1000), (1000, 2000)]
    with Session(engine) as session:
        upload = session.get_one(QuestionnaireUpload, upload_id)
        assert (upload.status, upload.rows_total, upload.valid, upload.invalid) == (
            "checked", ROWS, ROWS - 3, 3)  # fmt: skip
        assert session.scalar(select(func.count()).select_from(Customer)) == 1

    jobs.check_upload(upload_id)  # a second run of a finished job does nothing
    loaded = _committed_progress(monkeypatch, engine, "load_rows")
    with runtime.session() as session:
        upload = session.get_one(QuestionnaireUpload, upload_id)
        jobs.enqueue_load(session, upload, jobs.LOAD_VALID)
        session.commit()
    assert loaded == [(0, 1000), (1000, 2000)]
    jobs.load_upload(upload_id)
    with runtime.session() as session:
        upload = session.get_one(QuestionnaireUpload, upload_id)
        counts = (upload.created, upload.updated, upload.unchanged, upload.invalid)
        assert (upload.status, counts) == ("loaded", (ROWS - 4, 1, 0, 3))
        assert session.scalar(select(func.count()).select_from(Customer)) == ROWS - 3
        sources = session.scalars(select(CustomerChange.source).distinct()).all()
        assert set(sources) == {"admin", "import"}
        report = load_workbook(io.BytesIO(jobs.error_report(session, upload))).worksheets[0]
        values = [[cell.value for cell in row] for row in report.iter_rows()]
    assert values[0] == ["Телефон", "Фамилия", "Имя", "Дата рождения", "Согласие на рассылку",
                         "Ошибка"]  # fmt: skip
    assert [row[1] for row in values[1:]] == [f"Иванов-{i}" for i in sorted(BAD)]
    assert all("Неверный номер телефона" in row[-1] for row in values[1:])


@pytest.mark.committed
def test_cancel_and_refusals(runtime: Runtime, engine: Engine) -> None:
    activate(runtime)
    with runtime.session() as session:
        tenant = factories.tenant(session)
        with pytest.raises(UploadFileUnreadable):
            jobs.start_upload(session, tenant, file_name="a.xlsx", data=b"not a workbook",
                              author="Бухгалтер", now=datetime.now(UTC))  # fmt: skip
        upload = jobs.start_upload(session, tenant, file_name="a.csv",
                                   data="Телефон\n9161234567\n".encode(), author="Бухгалтер",
                                   now=datetime.now(UTC))  # fmt: skip
        jobs.enqueue_check(session, upload)
        session.commit()
        session.refresh(upload)
        assert (upload.status, upload.valid) == ("checked", 1)
        jobs.enqueue_load(session, upload, jobs.LOAD_NOTHING)
        session.commit()
        assert upload.status == "cancelled"
        with pytest.raises(domain.UploadWrongStatus):
            jobs.enqueue_load(session, upload, jobs.LOAD_VALID)
        other = factories.tenant(session, "other")
        with pytest.raises(domain.UploadNotFound):
            domain.get_upload(session, other, upload.id)
        assert session.scalar(select(func.count()).select_from(Customer)) == 0
        assert session.get(Tenant, tenant.id) is not None


@pytest.mark.committed
def test_a_file_refused_while_checked_says_why(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An XLSX's rows are only counted when it is read whole: a refusal then is the upload's
    message for the accountant, not a crash to retry."""
    from mappings import questionnaire_file

    activate(runtime)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Телефон"])
    for i in range(30):
        sheet.append([f"+791600000{i:02d}"])
    out = io.BytesIO()
    book.save(out)
    with runtime.session() as session:
        upload = jobs.start_upload(
            session, factories.tenant(session), file_name="a.xlsx", data=out.getvalue(),
            author="Бухгалтер", now=datetime.now(UTC),
        )  # fmt: skip
        session.commit()
        upload_id = upload.id
    monkeypatch.setattr(questionnaire_file, "MAX_ROWS", 10)
    with runtime.session() as session:
        jobs.enqueue_check(session, session.get_one(QuestionnaireUpload, upload_id))
        session.commit()
    with runtime.session() as session:
        upload = session.get_one(QuestionnaireUpload, upload_id)
        assert (
            upload.status == "failed"
            and upload.message
            and "Файл слишком большой" in upload.message
        )
