"""Tables owned by the background machinery."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
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
