"""The questionnaire upload as the page drives it: storing the file, the preview, the check and
the load as background jobs (a batch of rows per transaction, with progress), and the
row-error report. The file format is ``mappings/questionnaire_file.py``'s, the rules
``processing/uploads/service.py``'s."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mappings.questionnaire_file import check_size, error_report_xlsx, read_head, read_table
from processing.db import lock_rows
from processing.errors import ConnectorError, InvalidInput
from processing.tenants.models import Tenant
from processing.uploads import service as domain
from processing.uploads.models import CHECKING, FAILED, LOADING, QuestionnaireUpload
from processing.uploads.service import Rows, Table
from sync.queue import enqueue
from sync.runtime import job_session

log = logging.getLogger(__name__)

LOAD_VALID = "valid"  # «Загрузить корректные строки»
LOAD_NOTHING = "nothing"  # «Не загружать ничего»
BASE_TIMEOUT_S = 600
CHECK_S_PER_ROW = 0.005
LOAD_S_PER_ROW = 0.05
MIN_BYTES_PER_ROW = 20  # a row of a questionnaire file is never shorter: a bound on the rows

Step = Callable[[Session, QuestionnaireUpload, Rows, datetime], bool]


def start_upload(
    session: Session, tenant: Tenant, *, file_name: str, data: bytes, author: str, now: datetime
) -> QuestionnaireUpload:
    """Store the file; an empty, unreadable or oversized file, or one without a header row, is
    refused at once (``UPLOAD_...`` errors)."""
    check_size(data, file_name)
    head = read_head(data, file_name)
    return domain.create_upload(
        session, tenant, file_name=file_name, data=data, head=head, author=author, now=now
    )


def preview(upload: QuestionnaireUpload, rows: int = 10) -> Table:
    """The header and the first ``rows`` rows, for the mapping step."""
    return read_head(upload.data, upload.file_name, rows)


def set_mapping(session: Session, upload: QuestionnaireUpload, mapping: Mapping[int, str]) -> None:
    """Column index -> target key (``processing.uploads.service.targets``)."""
    domain.set_mapping(session, upload, mapping, preview(upload, 0).headers)


def error_report(session: Session, upload: QuestionnaireUpload) -> bytes:
    """XLSX of the rows that were not (or would not be) loaded, plus a column «Ошибка»."""
    table = read_table(upload.data, upload.file_name)
    return error_report_xlsx(table.headers, domain.error_rows(session, upload, table))


def _timeout(upload: QuestionnaireUpload, seconds_per_row: float) -> int:
    rows = upload.rows_total or len(upload.data) // MIN_BYTES_PER_ROW
    return BASE_TIMEOUT_S + int(rows * seconds_per_row)


def enqueue_check(session: Session, upload: QuestionnaireUpload) -> None:
    """Check every row in the background once the request commits."""
    domain.begin_check(session, upload)
    enqueue(session, check_upload, upload.id, timeout_s=_timeout(upload, CHECK_S_PER_ROW))


def enqueue_load(session: Session, upload: QuestionnaireUpload, mode: str) -> None:
    """``valid``: load the rows that pass (checked again as they load) in the background;
    ``nothing``: cancel, no customer is written."""
    if mode == LOAD_NOTHING:
        domain.cancel(session, upload, datetime.now(UTC))
        return
    if mode != LOAD_VALID:
        raise InvalidInput("Выберите: загрузить корректные строки или не загружать ничего.")
    domain.begin_load(session, upload)
    enqueue(session, load_upload, upload.id, timeout_s=_timeout(upload, LOAD_S_PER_ROW))


def enqueue_resume(session: Session, upload: QuestionnaireUpload) -> bool:
    """Start again a check or load whose job was lost (a killed worker or process): it goes on
    from its last committed batch. False when the upload is not being checked or loaded."""
    if upload.status == CHECKING:
        enqueue(session, check_upload, upload.id, timeout_s=_timeout(upload, CHECK_S_PER_ROW))
    elif upload.status == LOADING:
        enqueue(session, load_upload, upload.id, timeout_s=_timeout(upload, LOAD_S_PER_ROW))
    else:
        return False
    return True


def check_upload(upload_id: int) -> None:
    """Job: check the rows, a batch per transaction (``rows_done`` is the progress)."""
    _run(upload_id, CHECKING, domain.check_rows)


def load_upload(upload_id: int) -> None:
    """Job: load the valid rows, a batch per transaction."""
    _run(upload_id, LOADING, domain.load_rows)


def _run(upload_id: int, status: str, step: Step) -> None:
    """Work from ``rows_done`` while the upload is in ``status``: a second run, or a retry,
    continues where the last committed batch stopped and does no row twice (each batch
    holds the upload's row lock)."""
    with job_session() as session:
        upload = session.get(QuestionnaireUpload, upload_id)
        if upload is None or upload.status != status:
            return
        data, file_name = upload.data, upload.file_name
    try:
        table = read_table(data, file_name)
        rows: Rows | None = None
        more = True
        while more:
            with job_session() as session:
                upload = session.scalar(
                    lock_rows(
                        select(QuestionnaireUpload).where(QuestionnaireUpload.id == upload_id)
                    ).execution_options(populate_existing=True)
                )
                if upload is None or upload.status != status:
                    return
                rows = rows or Rows.of(session, upload, table)
                more = step(session, upload, rows, datetime.now(UTC))
    except ConnectorError as refusal:  # the file itself is refused: say why, nothing to retry
        _fail(upload_id, status, refusal.text)
    except Exception:
        log.exception("questionnaire upload failed", extra={"upload_id": upload_id})
        _fail(upload_id, status, None)
        raise


def _fail(upload_id: int, status: str, message: str | None) -> None:
    with job_session() as session:
        upload = session.get(QuestionnaireUpload, upload_id)
        if upload is not None and upload.status == status:
            upload.status = FAILED
            upload.message = message
            upload.finished_at = datetime.now(UTC)
