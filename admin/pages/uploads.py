"""The questionnaire upload, the accountants' job: a CSV or XLSX file, the column mapping with a
preview of the first rows, the check of every row in the background (progress on the page), then
"load the valid rows" or "load nothing", and the row errors as an XLSX report. The rules are
``processing.uploads.service``'s, the jobs and the file formats ``sync.questionnaire_upload``'s."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers.response import Response as BaseResponse

from admin.pages.site import PlainForm, attempt, log_action, now, operator, page, pages, tenant
from connector.db import db_session
from processing.customers.access import user_actor
from processing.uploads.models import (
    CHECKED,
    CHECKING,
    LOADING,
    UPLOADED,
    QuestionnaireUpload,
)
from processing.uploads.service import column_mapping, errors_page, get_upload, targets
from sync import questionnaire_upload as jobs

REFRESH_S = 2
ERRORS_SHOWN = 50
RECENT = 20
STATUS_TITLES = {
    "uploaded": "ждёт сопоставления столбцов", "checking": "проверка строк", "checked": "проверено",
    "loading": "загрузка", "loaded": "загружено", "cancelled": "отменено", "failed": "ошибка",
}  # fmt: skip


@pages.route("/uploads")
@page("questionnaires.upload")
def uploads() -> str:
    recent = db_session().scalars(
        select(QuestionnaireUpload)
        .where(QuestionnaireUpload.tenant_id == tenant().id)
        .order_by(QuestionnaireUpload.id.desc())
        .limit(RECENT)
    )
    return render_template(
        "pages/uploads.html", uploads=list(recent), form=PlainForm(), statuses=STATUS_TITLES
    )


@pages.route("/uploads", methods=["POST"])
@page("questionnaires.upload")
def upload_start() -> BaseResponse:
    file = request.files.get("file")
    if file is None or not file.filename:
        flash("Выберите файл анкет (CSV или XLSX).", "error")
        return redirect(url_for("pages.uploads"))
    data, name = file.read(), file.filename
    done, result = attempt(
        lambda: jobs.start_upload(
            db_session(), tenant(), file_name=name, data=data,
            author=user_actor(operator().id), now=now(),
        )
    )  # fmt: skip
    if not done:
        flash(result, "error")
        return redirect(url_for("pages.uploads"))
    log_action("upload.start", str(result.id), rows=result.rows_total)
    return redirect(url_for("pages.upload", upload_id=result.id))


def _upload(upload_id: int) -> QuestionnaireUpload:
    return get_upload(db_session(), tenant(), upload_id)


@pages.route("/uploads/<int:upload_id>")
@page("questionnaires.upload")
def upload(upload_id: int) -> str:
    found, db = _upload(upload_id), db_session()
    context: dict[str, Any] = {
        "upload": found, "form": PlainForm(), "statuses": STATUS_TITLES,
        "refresh": REFRESH_S if found.status in (CHECKING, LOADING) else None,
    }  # fmt: skip
    if found.status in (UPLOADED, CHECKED):
        context["preview"] = jobs.preview(found)
        context["targets"] = targets(db, tenant())
        context["mapping"] = column_mapping(found)
    if found.invalid:
        context["errors"] = errors_page(db, found, 0, ERRORS_SHOWN)
    return render_template("pages/upload.html", **context)


@pages.route("/uploads/<int:upload_id>/mapping", methods=["POST"])
@page("questionnaires.upload")
def upload_mapping(upload_id: int) -> BaseResponse:
    found, db = _upload(upload_id), db_session()
    mapping = {
        int(name.removeprefix("column.")): target
        for name, target in request.form.items()
        if name.startswith("column.") and name.removeprefix("column.").isdigit() and target
    }

    def check() -> None:
        jobs.set_mapping(db, found, mapping)
        jobs.enqueue_check(db, found)

    done, result = attempt(check)
    if not done:
        flash(result, "error")
    return redirect(url_for("pages.upload", upload_id=found.id))


@pages.route("/uploads/<int:upload_id>/load", methods=["POST"])
@page("questionnaires.upload")
def upload_load(upload_id: int) -> BaseResponse:
    found, db = _upload(upload_id), db_session()
    mode = request.form.get("mode", "")
    done, result = attempt(lambda: jobs.enqueue_load(db, found, mode))
    if done:
        log_action("upload.cancel" if mode == jobs.LOAD_NOTHING else "upload.load", str(found.id))
        if mode == jobs.LOAD_NOTHING:
            flash("Загрузка отменена: ни одна анкета не записана.", "success")
    else:
        flash(result, "error")
    return redirect(url_for("pages.upload", upload_id=found.id))


@pages.route("/uploads/<int:upload_id>/resume", methods=["POST"])
@page("questionnaires.upload")
def upload_resume(upload_id: int) -> BaseResponse:
    """The check or load goes on from its last saved batch (its job was lost with a restart);
    a job still running meanwhile does no row twice (each batch holds the upload's lock)."""
    found = _upload(upload_id)
    if jobs.enqueue_resume(db_session(), found):
        flash("Работа продолжена с последней сохранённой строки.", "success")
    return redirect(url_for("pages.upload", upload_id=found.id))


@pages.route("/uploads/<int:upload_id>/errors.xlsx")
@page("questionnaires.upload")
def upload_errors(upload_id: int) -> BaseResponse:
    found = _upload(upload_id)
    if found.status not in (CHECKED, "loaded") or not found.invalid:
        abort(404)
    report = jobs.error_report(db_session(), found)
    log_action("upload.report", str(found.id), rows=found.invalid)
    response = make_response(report)
    response.headers["Content-Type"] = (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response.headers["Content-Disposition"] = f'attachment; filename="oshibki-{found.id}.xlsx"'
    response.headers["Cache-Control"] = "no-store"
    return response
