"""Tables owned by the background machinery."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from processing.db import Base
from processing.types import UtcDateTime


class JobRun(Base):
    """One row per job identity that has run: the guard against running a job twice.

    RQ job ids do not stop a second run (a re-enqueue or a retry after a lost ack), so a job
    claims its identity here, in its own transaction, before doing anything.
    """

    __tablename__ = "job_runs"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    claimed_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class SyncLogEntry(Base):
    """What an exchange with 1C did: which document, how many rows, what went wrong."""

    __tablename__ = "sync_log"
    __table_args__ = (Index("ix_sync_log_tenant_id_at", "tenant_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    exchange: Mapped[str] = mapped_column(String(32))  # discount_server, commerceml, ...
    operation: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(8))  # info, warning, error
    document_type: Mapped[str | None] = mapped_column(String(100))
    document_id: Mapped[str | None] = mapped_column(String(100))
    message: Mapped[str] = mapped_column(Text)
    counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("sync_runs.id", ondelete="CASCADE"), index=True
    )


class ExchangeSession(Base):
    """One exchange of 1C's "exchange with website", from its ``checkauth`` on.

    The cookie value 1C sends back (and ``sessid``) is a random secret; only its SHA-256 is
    stored, as ``id``. Uploads append only to the files of their own session.
    """

    __tablename__ = "exchange_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 hex of the secret
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    exchange_type: Mapped[str] = mapped_column(String(16))  # catalog, sale
    started_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime())
    initialised: Mapped[bool] = mapped_column(Boolean, server_default=false())
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ExchangeFile(Base):
    """A file 1C uploaded in a session, kept in ``exchange_chunks`` (app nodes keep no state).

    ``mode=file`` appends to the session's open file of that name; a file handed to an import
    is sealed, and the next upload of the name starts a new file."""

    __tablename__ = "exchange_files"
    __table_args__ = (Index("ix_exchange_files_session_name", "session_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("exchange_sessions.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger, server_default="0")
    chunks: Mapped[int] = mapped_column(Integer, server_default="0")
    sealed: Mapped[bool] = mapped_column(Boolean, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ExchangeChunk(Base):
    __tablename__ = "exchange_chunks"

    file_id: Mapped[int] = mapped_column(
        ForeignKey("exchange_files.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)


RUN_RUNNING, RUN_DONE, RUN_FAILED = "running", "done", "failed"
RUN_STATUSES = (RUN_RUNNING, RUN_DONE, RUN_FAILED)


class SyncRun(Base):
    """One import job over one exchange file: what support reads first in the sync log.

    ``checkpoint`` counts the file's records whose writes are committed: a job that was killed
    resumes after them. ``errors`` keeps the first ``MAX_RUN_ERRORS`` problems (element path,
    Ид, message); ``error_count`` counts them all."""

    __tablename__ = "sync_runs"
    __table_args__ = (
        Index("ix_sync_runs_tenant_id_started_at", "tenant_id", "started_at"),
        Index("ix_sync_runs_identity", "tenant_id", "session_id", "file_name", "sha256"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(32))  # commerceml
    session_id: Mapped[str | None] = mapped_column(
        ForeignKey("exchange_sessions.id", ondelete="SET NULL")
    )
    file_id: Mapped[int | None] = mapped_column(
        ForeignKey("exchange_files.id", ondelete="SET NULL"), index=True
    )  # the uploaded file: the XML, or the zip that holds it (several runs, one per member)
    file_name: Mapped[str] = mapped_column(String(255))  # the name 1C asked to import
    stored_name: Mapped[str] = mapped_column(String(255))  # the uploaded file (a zip, maybe)
    stored_size: Mapped[int] = mapped_column(BigInteger, server_default="0")
    sha256: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str | None] = mapped_column(String(16))  # catalog, offers, other
    status: Mapped[str] = mapped_column(String(16))  # running, done, failed
    progress: Mapped[int] = mapped_column(Integer, server_default="0")  # percent
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    checkpoint: Mapped[int] = mapped_column(BigInteger, server_default="0")
    counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    errors: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    error_count: Mapped[int] = mapped_column(Integer, server_default="0")
    warnings: Mapped[list[str]] = mapped_column(JSON, default=list)
    message: Mapped[str | None] = mapped_column(Text)  # why it failed, for the 1C operator
    # The job working on it renews its lease at every batch; a run whose lease ran out while
    # "running" lost its job (a killed worker) and is started again from its checkpoint.
    worker: Mapped[str | None] = mapped_column(String(64))
    restarts: Mapped[int] = mapped_column(Integer, server_default="0")
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
