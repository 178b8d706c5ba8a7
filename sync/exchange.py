"""Exchange sessions of 1C's "exchange with website" and the files uploaded in them.

A ``checkauth`` opens a session; its secret (the cookie value and ``sessid``) is returned once
and only its SHA-256 is stored. ``mode=file`` appends the body to the session's open file of that
name, kept in the database in chunks (app nodes hold no state, and the worker that imports the
file may run anywhere). A file handed to an import is sealed: the next upload of that name in the
session starts a new file, and tomorrow's exchange has its own session, so today's bytes never
leak into another file. Names are 1C's, never used as paths: a name that climbs (``..``), is
absolute or holds control characters is refused. Pictures (anything but XML and zip) are
accepted and not kept: nothing here uses them.
"""

from __future__ import annotations

import hashlib
import io
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from processing.db import lock_rows
from processing.errors import InvalidInput
from sync.models import ExchangeChunk, ExchangeFile, ExchangeSession

CHUNK_BYTES = 1024 * 1024
SESSION_IDLE = timedelta(hours=1)
MAX_SESSIONS_PER_HOUR = 120  # a sender without a cookie continues its last session
KEPT_EXTENSIONS = (".xml", ".zip")
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f]")


class ExchangeNameUnsafe(InvalidInput):
    code = "EXCHANGE_FILE_NAME_UNSAFE"
    message = (
        "Имя файла обмена недопустимо (пустое, с «..», абсолютный путь или служебные символы): "
        "проверьте настройки узла обмена."
    )


class ExchangeFileTooLarge(InvalidInput):
    code = "EXCHANGE_FILE_TOO_LARGE"
    message = (
        "Файл обмена больше допустимого размера: выгружайте только изменения или разбейте "
        "выгрузку на части."
    )


@dataclass(frozen=True)
class Opened:
    secret: str  # the cookie value 1C sends back; shown once
    exchange: ExchangeSession


def session_key(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class ExchangeSessionsExhausted(InvalidInput):
    code = "EXCHANGE_TOO_MANY_SESSIONS"
    message = (
        f"Слишком много сеансов обмена за час (больше {MAX_SESSIONS_PER_HOUR}): проверьте "
        "расписание обмена с сайтом в 1С и повторите позже."
    )


def open_session(session: Session, tenant_id: int, exchange_type: str, now: datetime) -> Opened:
    """A new exchange session; a tenant opens at most ``MAX_SESSIONS_PER_HOUR`` an hour (1C
    opens one per exchange: more is a loop or a flood, and each keeps its files 14 days)."""
    recent = session.scalar(
        select(func.count())
        .select_from(ExchangeSession)
        .where(
            ExchangeSession.tenant_id == tenant_id,
            ExchangeSession.started_at >= now - timedelta(hours=1),
        )
    )
    if (recent or 0) >= MAX_SESSIONS_PER_HOUR:
        raise ExchangeSessionsExhausted(details={"limit": MAX_SESSIONS_PER_HOUR})
    secret = secrets.token_urlsafe(32)
    exchange = ExchangeSession(
        id=session_key(secret), tenant_id=tenant_id, exchange_type=exchange_type,
        started_at=now, last_seen_at=now,
    )  # fmt: skip
    session.add(exchange)
    session.flush()
    return Opened(secret, exchange)


def find_session(
    session: Session, tenant_id: int, secret: str | None, exchange_type: str, now: datetime
) -> ExchangeSession | None:
    """The tenant's open session of that type named by ``secret`` (None: unknown, another
    tenant's, of the other type, completed, or absent)."""
    if not secret:
        return None
    exchange = session.get(ExchangeSession, session_key(secret))
    if (
        exchange is None
        or exchange.tenant_id != tenant_id
        or exchange.exchange_type != exchange_type
        or exchange.completed_at is not None
    ):
        return None
    exchange.last_seen_at = now
    return exchange


def latest_session(
    session: Session, tenant_id: int, exchange_type: str, now: datetime
) -> ExchangeSession | None:
    """For a sender that authenticates by Basic alone, without the cookie: the tenant's last
    session of that type still open and seen within ``SESSION_IDLE``."""
    exchange = session.scalar(
        select(ExchangeSession)
        .where(
            ExchangeSession.tenant_id == tenant_id,
            ExchangeSession.exchange_type == exchange_type,
            ExchangeSession.completed_at.is_(None),
            ExchangeSession.last_seen_at >= now - SESSION_IDLE,
        )
        .order_by(ExchangeSession.last_seen_at.desc())
        .limit(1)
    )
    if exchange is not None:
        exchange.last_seen_at = now
    return exchange


def safe_name(raw: str | None) -> str:
    """1C's file name as stored: ``/``-separated, relative, no ``..``, no control characters."""
    name = (raw or "").strip().replace("\\", "/")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if (
        not parts
        or name.startswith("/")
        or re.match(r"[A-Za-z]:", name)
        or any(part == ".." for part in parts)
        or _UNSAFE_NAME.search(name)
        or len(name) > 255
    ):
        raise ExchangeNameUnsafe(details={"filename": (raw or "")[:255]})
    return "/".join(parts)


def is_kept(name: str) -> bool:
    """XML files and zip archives are kept; pictures and the rest are accepted and dropped."""
    return name.lower().endswith(KEPT_EXTENSIONS)


def open_file(session: Session, exchange: ExchangeSession, name: str) -> ExchangeFile | None:
    """The session's file of that name still open for appending."""
    return session.scalar(
        lock_rows(
            select(ExchangeFile)
            .where(
                ExchangeFile.session_id == exchange.id,
                ExchangeFile.name == name,
                ExchangeFile.sealed.is_(False),
            )
            .order_by(ExchangeFile.id.desc())
            .limit(1)
        )
    )


def append(
    session: Session,
    exchange: ExchangeSession,
    name: str,
    body: IO[bytes],
    *,
    max_bytes: int,
    now: datetime,
) -> ExchangeFile:
    """Append ``body`` to the session's open file ``name`` (a new file when none is open)."""
    stored = open_file(session, exchange, name)
    if stored is None:
        stored = ExchangeFile(
            tenant_id=exchange.tenant_id, session_id=exchange.id, name=name, size=0, chunks=0,
            sealed=False, created_at=now, updated_at=now,
        )  # fmt: skip
        session.add(stored)
        session.flush()
    size, seq = stored.size, stored.chunks
    while data := body.read(CHUNK_BYTES):
        size += len(data)
        if size > max_bytes:
            raise ExchangeFileTooLarge(details={"filename": name, "limit": max_bytes})
        session.add(ExchangeChunk(file_id=stored.id, seq=seq, data=data))
        seq += 1
        session.flush()
    stored.size, stored.chunks, stored.updated_at = size, seq, now
    return stored


def latest_file(session: Session, exchange_id: str, name: str) -> ExchangeFile | None:
    """The session's newest file of that name, sealed or not."""
    return session.scalar(
        select(ExchangeFile)
        .where(ExchangeFile.session_id == exchange_id, ExchangeFile.name == name)
        .order_by(ExchangeFile.id.desc())
        .limit(1)
    )


def session_archives(session: Session, exchange_id: str) -> list[ExchangeFile]:
    """The session's zip archives, newest first (1C uploads one per exchange with zip=yes)."""
    return list(
        session.scalars(
            select(ExchangeFile)
            .where(ExchangeFile.session_id == exchange_id, ExchangeFile.name.ilike("%.zip"))
            .order_by(ExchangeFile.id.desc())
        )
    )


def seal(stored: ExchangeFile) -> None:
    """The file is handed to an import: the next upload of its name starts a new file."""
    stored.sealed = True


class ChunkReader(io.RawIOBase):
    """A stored file as a seekable binary stream (zipfile seeks; lxml reads), fetching one chunk
    at a time through ``fetch(file_id, seq)``: memory holds one chunk whatever the size."""

    def __init__(self, file_id: int, sizes: list[int], fetch: Callable[[int, int], bytes]):
        super().__init__()
        self._file_id = file_id
        self._starts: list[int] = []
        total = 0
        for size in sizes:
            self._starts.append(total)
            total += size
        self._sizes = sizes
        self._size = total
        self._fetch = fetch
        self._position = 0
        self._cached: tuple[int, bytes] | None = None
        self._digest = hashlib.sha256()
        self._hashed = 0  # the digest covers the bytes before this position

    @property
    def size(self) -> int:
        return self._size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def _chunk(self, seq: int) -> bytes:
        if self._cached is None or self._cached[0] != seq:
            self._cached = (seq, self._fetch(self._file_id, seq))
        return self._cached[1]

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._position >= self._size:
            return 0
        seq = _chunk_at(self._starts, self._position)
        data = self._chunk(seq)
        start = self._position - self._starts[seq]
        piece = data[start : start + len(buffer)]
        buffer[: len(piece)] = piece
        if self._position == self._hashed:  # reading on in order: hashed on the way
            self._digest.update(piece)
            self._hashed += len(piece)
        self._position += len(piece)
        return len(piece)

    def sha256(self) -> str:
        """The SHA-256 of the whole file: what reading in order has not covered is read now
        (nothing, for a file read to its end)."""
        position = self._position
        self.seek(self._hashed)
        while self.read(CHUNK_BYTES):
            pass
        self.seek(position)
        return self._digest.hexdigest()


def _chunk_at(starts: list[int], position: int) -> int:
    low, high = 0, len(starts) - 1
    while low < high:
        middle = (low + high + 1) // 2
        if starts[middle] <= position:
            low = middle
        else:
            high = middle - 1
    return low


def reader(session: Session, file_id: int, fetch: Callable[[int, int], bytes]) -> ChunkReader:
    sizes = [
        int(size)
        for size in session.scalars(
            select(func.length(ExchangeChunk.data))
            .where(ExchangeChunk.file_id == file_id)
            .order_by(ExchangeChunk.seq)
        )
    ]
    return ChunkReader(file_id, sizes, fetch)


def session_fetch(session: Session) -> Callable[[int, int], bytes]:
    def fetch(file_id: int, seq: int) -> bytes:
        data = session.scalar(
            select(ExchangeChunk.data).where(
                ExchangeChunk.file_id == file_id, ExchangeChunk.seq == seq
            )
        )
        return bytes(data or b"")

    return fetch


def buffered(raw: ChunkReader) -> io.BufferedReader:
    return io.BufferedReader(raw, buffer_size=CHUNK_BYTES)


def purge_before(session: Session, cutoff: datetime) -> int:
    """Remove exchange sessions started before ``cutoff`` with their files; returns how many
    files went. Sync runs keep their record (their file link becomes empty)."""
    old = select(ExchangeSession.id).where(ExchangeSession.started_at < cutoff)
    files = list(session.scalars(select(ExchangeFile.id).where(ExchangeFile.session_id.in_(old))))
    for batch in _batches(files, 500):
        session.execute(delete(ExchangeChunk).where(ExchangeChunk.file_id.in_(batch)))
        session.execute(delete(ExchangeFile).where(ExchangeFile.id.in_(batch)))
    session.execute(delete(ExchangeSession).where(ExchangeSession.started_at < cutoff))
    return len(files)


def _batches(values: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
