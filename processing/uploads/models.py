"""The questionnaire upload (customers from an accountant's CSV or XLSX file) and its row
errors. The file itself is kept in the row: application nodes are stateless."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from processing.db import Base
from processing.types import UtcDateTime

UPLOADED = "uploaded"  # the file is stored; the mapping may be set or changed
CHECKING = "checking"
CHECKED = "checked"
LOADING = "loading"
LOADED = "loaded"
CANCELLED = "cancelled"
FAILED = "failed"
STATUSES = (UPLOADED, CHECKING, CHECKED, LOADING, LOADED, CANCELLED, FAILED)


class QuestionnaireUpload(Base):
    __tablename__ = "questionnaire_uploads"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(100))
    file_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    # Column index (as a string, JSON keys are strings) -> target (``upload.targets``).
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=UPLOADED)
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    valid: Mapped[int] = mapped_column(Integer, default=0)
    invalid: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    message: Mapped[str | None] = mapped_column(Text)  # why it failed, for the accountant


class QuestionnaireUploadError(Base):
    """Why one row of the file was not (or would not be) loaded: every problem of the row in
    one Russian message. ``row_number`` is the row as a spreadsheet numbers it."""

    __tablename__ = "questionnaire_upload_errors"

    id: Mapped[int] = mapped_column(primary_key=True)
    upload_id: Mapped[int] = mapped_column(
        ForeignKey("questionnaire_uploads.id", ondelete="CASCADE"), index=True
    )
    row_number: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text)
