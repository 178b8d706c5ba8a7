"""The import job of a CommerceML file 1C uploaded through the exchange, and its sync run.

``start_import`` (called by the exchange endpoint in the request's transaction) seals the file,
records a ``SyncRun`` and enqueues ``import_run``. The job streams the stored file (or the
member of an uploaded zip) through ``mappings.commerceml.read`` and writes through the
catalog's and the tenants' domain calls, a batch of records per transaction. Each transaction
also moves the run's checkpoint (how many records are written), its progress and counts, so a
killed job resumes after the last committed batch and never writes a record twice.

A package is (tenant, exchange session, file name, SHA-256 of the bytes): an identical re-upload
in the same session is recorded and skipped; the next exchange is new work. The run holds a
lease renewed at every batch: a second job of the same run stops at once, and a run whose lease
ran out while "running" (its worker was killed) is enqueued again by the next ``mode=import``
poll and continues from the checkpoint.

A file is never refused for XSD violations: a record without Ид, or one the catalog refuses, is
logged with its path and Ид and the rest goes on. A full export (``СодержитТолькоИзменения``
false) marks deleted the tenant's goods it does not list.
"""

from __future__ import annotations

import bisect
import contextlib
import gc
import hashlib
import logging
import os
import pickle
import queue
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from array import array
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import IO, Any, cast

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from mappings import archive
from mappings import commerceml as cml
from mappings.commerceml_items import brand_item, goods_id, goods_item, offer_item, parent_id
from mappings.ids import bind, bound
from processing.catalog import service as catalog
from processing.catalog.models import Goods, GoodsGroup
from processing.db import lock_rows, relax_durability, where_in
from processing.errors import ConnectorError, InvalidInput
from processing.tenants.models import Tenant
from processing.tenants.service import mirror_legal_entity, mirror_warehouses
from sync import exchange
from sync.log import write_entry
from sync.models import RUN_DONE, RUN_FAILED, RUN_RUNNING, ExchangeChunk, ExchangeFile, SyncRun
from sync.queue import enqueue
from sync.runtime import current, job_session

log = logging.getLogger(__name__)

SOURCE = "commerceml"
BATCH = 5_000  # records per transaction (at most the catalog's batch of goods)
MAX_RUN_ERRORS = 100
LEASE = timedelta(minutes=2)
MAX_RESTARTS = 3  # a run whose job was lost more often fails
RUNNING, DONE, FAILED = RUN_RUNNING, RUN_DONE, RUN_FAILED


class ImportFileMissing(InvalidInput):
    code = "EXCHANGE_IMPORT_FILE_MISSING"
    message = (
        "Файл для загрузки не найден в этом сеансе обмена: выгрузите его (mode=file) перед "
        "командой import."
    )


def job_timeout_s(size: int) -> int:
    """Ten minutes plus two seconds a megabyte: far above what a healthy import takes."""
    return 600 + 2 * (size // (1024 * 1024))


def start_import(
    session: Session, tenant: Tenant, exchange_id: str, filename: str, now: datetime
) -> SyncRun:
    """The run importing ``filename`` of the session: the one already started for the file, or
    a new one (the file is sealed, the job enqueued after the commit)."""
    name = exchange.safe_name(filename)
    stored = exchange.latest_file(session, exchange_id, name)
    if stored is None:
        stored = _archive_holding(session, exchange_id, name)
    if stored is None:
        archives = exchange.session_archives(session, exchange_id)
        raise ImportFileMissing(
            f"Файл {name} не найден в этом сеансе обмена"
            + (f" (в архиве {archives[0].name} его нет)" if archives else "")
            + ": выгрузите его (mode=file) перед командой import.",
            details={"filename": name},
        )
    # Two polls at once: the second waits here, then finds the first one's run.
    session.execute(lock_rows(select(ExchangeFile.id).where(ExchangeFile.id == stored.id)))
    run = session.scalar(
        select(SyncRun).where(SyncRun.file_id == stored.id, SyncRun.file_name == name)
    )
    if run is not None:
        return run
    exchange.seal(stored)
    run = SyncRun(
        tenant_id=tenant.id, source=SOURCE, session_id=exchange_id,
        file_id=stored.id, file_name=name,
        stored_name=stored.name, stored_size=stored.size, status=RUNNING, progress=0,
        started_at=now, checkpoint=0,
        counts={}, errors=[], error_count=0, warnings=[],
    )  # fmt: skip
    session.add(run)
    session.flush()
    # The job's lease token goes with it: an RQ retry of the job (same arguments) takes its
    # lease back at once instead of waiting for it to run out.
    enqueue(
        session, import_run, run.id, stored.id, secrets.token_hex(8),
        job_id=f"cml-import-{run.id}", timeout_s=job_timeout_s(stored.size),
    )  # fmt: skip
    return run


def record_refusal(
    session: Session, tenant_id: int, exchange_id: str, filename: str, message: str, now: datetime
) -> None:
    """Log an import refused before its job could start (a broken or unsafe zip), so support
    sees it beside the runs."""
    session.add(
        SyncRun(
            tenant_id=tenant_id, source=SOURCE, session_id=exchange_id, file_name=filename[:255],
            stored_name=filename[:255], status=FAILED, progress=0, started_at=now,
            finished_at=now, checkpoint=0, counts={}, errors=[], error_count=0, warnings=[],
            message=message,
        )
    )  # fmt: skip


def _archive_holding(session: Session, exchange_id: str, name: str) -> ExchangeFile | None:
    """A zip of the session holding ``name`` (1C asks for import.xml after uploading a zip)."""
    for stored in exchange.session_archives(session, exchange_id):
        stream = exchange.buffered(
            exchange.reader(session, stored.id, exchange.session_fetch(session))
        )
        if not archive.is_zip(stream):  # named .zip, but not one: say so, not "not found"
            raise archive.ZipBroken(details={"filename": stored.name, "reason": "not a zip"})
        member = archive.find_member(archive.xml_members(stream, archive.Limits()), name)
        if member is not None:
            return stored
    return None


def restart_if_lost(session: Session, run: SyncRun, now: datetime) -> bool:
    """Enqueue again a run still "running" whose job stopped renewing its lease."""
    if run.status != RUNNING or run.lease_until is None or run.lease_until > now:
        return False
    file_id = run.file_id
    if file_id is None or run.restarts >= MAX_RESTARTS:
        # Its file is gone (retention), or its job dies on it every time (out of memory, a
        # killed worker): the run fails with a reason instead of restarting for ever.
        run.status, run.finished_at, run.lease_until = FAILED, now, None
        run.message = (
            f"Загрузка {run.id} прерывалась {run.restarts + 1} раз(а) и остановлена: повторите "
            "обмен; если ошибка повторяется, сообщите в поддержку номер загрузки."
        )
        _log_end(session, run, now)
        return False
    # One restart per lost lease, whoever polls first: the new job holds the lease already.
    worker = secrets.token_hex(8)
    run.worker, run.lease_until, run.restarts = worker, now + LEASE, run.restarts + 1
    enqueue(
        session, import_run, run.id, file_id, worker,
        job_id=f"cml-import-{run.id}-{worker}", timeout_s=job_timeout_s(run.stored_size),
    )  # fmt: skip
    return True


# The job


def _fetch(file_id: int, seq: int) -> bytes:
    """One chunk, in a short session of its own (the job's batches commit in between)."""
    with current().session() as session:
        return exchange.session_fetch(session)(file_id, seq)


@dataclass
class _State:
    """What the job carries between batches (rebuilt when a killed job resumes)."""

    run_id: int
    tenant_id: int
    kind: str = cml.OTHER
    only_changes: bool = True
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # property → values
    # Hashes of the goods a full export lists: 8 bytes each, sorted and searched at the end.
    seen: array[int] = field(default_factory=lambda: array("q"))
    units: dict[str, str] = field(default_factory=dict)  # ЕдиницаИзмерения Код → short name
    sha256: str | None = None  # of the stored file, once read to its end
    pending: dict[str, list[Any]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[dict[str, str]] = field(default_factory=list)
    error_count: int = 0
    warnings: list[str] = field(default_factory=list)

    def add(self, kind: str, item: Any) -> None:
        self.pending.setdefault(kind, []).append(item)

    def size(self) -> int:
        return sum(len(items) for items in self.pending.values())

    def count(self, key: str, value: int = 1) -> None:
        if value:
            self.counts[key] = self.counts.get(key, 0) + value

    def error(self, path: str, external_id: str | None, message: str) -> None:
        self.error_count += 1
        self.count("errors")
        if len(self.errors) < MAX_RUN_ERRORS:
            self.errors.append({"path": path, "id": external_id or "", "message": message})

    def warn(self, message: str) -> None:
        if message not in self.warnings and len(self.warnings) < MAX_RUN_ERRORS:
            self.warnings.append(message)


def import_run(run_id: int, file_id: int, worker: str | None = None) -> None:
    """Import the run's file, resuming after its checkpoint; see the module docstring.
    ``worker`` is the lease a restart took for this job."""
    worker = worker or secrets.token_hex(8)
    with job_session() as session:
        run = _lease(session, run_id, worker)
        if run is None:
            return
        state = _State(
            run_id, run.tenant_id, counts=dict(run.counts or {}), errors=list(run.errors or []),
            error_count=run.error_count, warnings=list(run.warnings or []),
        )  # fmt: skip
        checkpoint, file_name, sha = run.checkpoint, run.file_name, run.sha256
        state.values = catalog.property_values(session, run.tenant_id)
    try:
        if sha is None and _duplicate(run_id, worker, file_id):
            return
        with _opened(file_id, file_name) as source, _fewer_collections():
            _import(state, worker, source, checkpoint)
    except _LeaseLost:
        log.warning("commerceml import handed over to another job", extra={"run_id": run_id})
    except ConnectorError as error:
        _fail(run_id, worker, error.text, state)
    except _MalformedXml as error:  # the file itself is wrong: retrying cannot help
        line, column = error.position
        state.error("XML", None, f"Разбор XML остановлен: {str(error)[:300]}")  # for support
        _fail(
            run_id, worker,
            f"Файл {file_name} не является корректным XML (строка {line}, столбец {column}): "
            "выгрузите его из 1С заново.",
            state,
        )  # fmt: skip
    except Exception:
        log.exception("commerceml import failed", extra={"run_id": run_id})
        if not _retries_left():
            _fail(
                run_id, worker,
                "Внутренняя ошибка при загрузке файла. Повторите обмен; если ошибка "
                f"повторяется, сообщите в поддержку номер загрузки {run_id}.",
                state,
            )  # fmt: skip
        raise


_COLLECTIONS = threading.Lock()
_importing: list[tuple[int, ...]] = []  # the thresholds to restore, while imports run


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """An import makes millions of short-lived objects (records, items, rows) and no cycles:
    the cyclic garbage collector's default pace (a pass every 700 allocations, the objects
    already there included) costs it more than a tenth of its time. What exists is frozen out
    of the passes, and they come far less often while imports run (the first one in the process
    sets this, the last one restores it: the embedded mode runs imports in request threads)."""
    with _COLLECTIONS:
        if not _importing:
            gc.freeze()
            _importing.append(gc.get_threshold())
            gc.set_threshold(100_000, 50, 100)
        else:
            _importing.append(_importing[0])
    try:
        yield
    finally:
        with _COLLECTIONS:
            threshold = _importing.pop()
            if not _importing:
                gc.set_threshold(*threshold)
                gc.unfreeze()


def _retries_left() -> bool:
    try:
        from rq import get_current_job
    except ImportError:  # pragma: no cover - rq is a dependency
        return False
    job = get_current_job()
    return bool(job is not None and (job.retries_left or 0) > 0)


def _lease(session: Session, run_id: int, worker: str) -> SyncRun | None:
    """Take the run for this job: None when it is finished or another job holds its lease."""
    now = datetime.now(UTC)
    taken = session.execute(
        update(SyncRun)
        .where(
            SyncRun.id == run_id, SyncRun.status == RUNNING,
            or_(SyncRun.lease_until.is_(None), SyncRun.lease_until <= now,
                SyncRun.worker == worker),
        )
        .values(worker=worker, lease_until=now + LEASE)
    )  # fmt: skip
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.get_one(SyncRun, run_id)


@contextmanager
def _opened(file_id: int, file_name: str) -> Iterator[_Source]:
    """The stored file copied to the worker's scratch disk (its SHA-256 taken on the way), and
    the XML to read in it: the file, or its member when the upload is a zip. The copy feeds the
    parser (``_parsed_apart``) while the job writes (the database is not read twice, nor held
    open for the parse), and is gone when the job ends."""
    with tempfile.TemporaryFile(prefix="cml-") as local:
        digest = hashlib.sha256()
        with job_session() as session:
            chunks = session.scalars(
                select(ExchangeChunk.data)
                .where(ExchangeChunk.file_id == file_id)
                .order_by(ExchangeChunk.seq)
                .execution_options(yield_per=8)
            )
            for data in chunks:
                digest.update(data)
                local.write(data)
        size = local.tell()
        local.seek(0)
        stream: IO[bytes] = local
        if archive.is_zip(local):
            limits = archive.Limits()
            member = archive.find_member(archive.xml_members(local, limits), file_name)
            if member is None:
                raise ImportFileMissing(details={"filename": file_name})
            stream = archive.open_member(local, member, limits)
        try:
            yield _Source(stream, local.tell, size, digest.hexdigest())
        finally:
            stream.close()


@dataclass(frozen=True)
class _Source:
    stream: IO[bytes]  # the XML
    position: Callable[[], int]  # how far the stored file is read (the progress)
    size: int
    sha256: str


_FEED = 1 << 20  # bytes written to the parser at a time


def _parsed_apart(stream: IO[bytes]) -> Iterator[cml.Record]:
    """The records of the XML in ``stream``, read by ``sync.commerceml_parser`` in a process of
    its own: while the job writes a batch, the parser goes on in parallel. A thread feeds it
    the bytes (the file, or the zip member as it is inflated); the job unpickles its batches."""
    parser = subprocess.Popen(
        [sys.executable, "-m", "sync.commerceml_parser"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
    )  # fmt: skip
    into, out = cast(IO[bytes], parser.stdin), cast(IO[bytes], parser.stdout)
    feed_error: list[BaseException] = []

    def feed() -> None:
        try:
            with into:
                while data := stream.read(_FEED):
                    into.write(data)
        except BrokenPipeError:  # the parser stopped (it says why) or the job gave up
            pass
        except BaseException as error:  # the zip member broke off: raised in the job
            feed_error.append(error)

    feeder = threading.Thread(target=feed, name="commerceml-feeder", daemon=True)
    feeder.start()
    try:
        while True:
            try:
                message = pickle.load(out)  # noqa: S301 - our own process
            except EOFError:
                message = ("error", f"the parser exited with {parser.wait()}")
            if message[0] == "records":
                yield from message[1]
                continue
            feeder.join()
            if feed_error:
                raise feed_error[0]
            if message[0] == "end":
                return
            if message[0] == "syntax":
                _, text, line, column = message
                raise _MalformedXml(text, (line, column))
            if message[0] == "refused":  # the reader's own error, as the parser reported it
                refusal = {cml.XmlDoctypeRefused.code: cml.XmlDoctypeRefused}.get(message[1])
                raise (refusal or InvalidInput)(message[2])
            raise RuntimeError(f"commerceml parser failed: {message[1]}")
    finally:
        if parser.poll() is None:
            parser.kill()
        out.close()
        parser.wait()
        feeder.join(timeout=5)


def _duplicate(run_id: int, worker: str, file_id: int) -> bool:
    """True (and the run done, as skipped) when the same package was already imported in this
    exchange session. Only a file of the same name and size imported before in the session
    needs its SHA-256 now; any other gets it on the way, as the import reads it."""
    with job_session() as session:
        run = session.get_one(SyncRun, run_id)
        same_size = session.scalar(
            select(SyncRun.id).where(
                SyncRun.tenant_id == run.tenant_id, SyncRun.session_id == run.session_id,
                SyncRun.file_name == run.file_name, SyncRun.stored_size == run.stored_size,
                SyncRun.status == DONE, SyncRun.id != run.id,
            ).limit(1)
        )  # fmt: skip
        if same_size is None:
            return False
        raw = exchange.reader(session, file_id, _fetch)
    sha = raw.sha256()
    with job_session() as session:
        run = session.get_one(SyncRun, run_id)
        if run.worker != worker:
            return True
        run.sha256 = sha
        earlier = session.scalar(
            select(SyncRun.id).where(
                SyncRun.tenant_id == run.tenant_id, SyncRun.session_id == run.session_id,
                SyncRun.file_name == run.file_name, SyncRun.sha256 == sha,
                SyncRun.status == DONE, SyncRun.id != run.id,
            ).limit(1)
        )  # fmt: skip
        if earlier is None:
            return False
        run.status, run.progress, run.finished_at = DONE, 100, datetime.now(UTC)
        run.counts = {"skipped": 1}
        run.warnings = [
            f"Тот же файл уже загружен в этом сеансе обмена (загрузка {earlier}): повтор пропущен."
        ]
        run.lease_until = None
        return True


def _import(state: _State, worker: str, source: _Source, checkpoint: int) -> None:
    index = -1
    writer = _Writer(state, worker, (source.position, source.size))
    try:
        for index, record in enumerate(_parsed_apart(source.stream)):
            if isinstance(record, cml.Package):
                state.kind, state.only_changes = record.kind, record.only_changes
                continue
            _remember(state, record)
            if index < checkpoint:
                continue
            if state.pending.get("groups") and isinstance(record, cml.Goods | cml.Offer):
                writer.submit(index)  # the classifier ended: its groups, parents first
            elif state.pending.get("goods") and isinstance(record, cml.Offer):
                writer.submit(index)  # the catalog ended: its offers may name its goods
            _collect(state, record)
            if state.size() >= BATCH and not state.pending.get("groups"):
                writer.submit(index + 1)
        state.sha256 = source.sha256
        writer.submit(index + 1, last=True)
        writer.close()
    except BaseException:
        writer.abandon()
        raise


def _remember(state: _State, record: cml.Record) -> None:
    """What must be known of every record, written or skipped on resume."""
    if isinstance(record, cml.Property) and record.values:
        state.values[record.external_id] = dict(record.values)
    elif isinstance(record, cml.Unit):
        state.units[record.code or ""] = record.name or record.full_name or ""
    elif isinstance(record, cml.Goods) and state.kind == cml.CATALOG and not state.only_changes:
        state.seen.append(hash(parent_id(goods_id(record.external_id)).lower()))


def _collect(state: _State, record: cml.Record) -> None:
    if isinstance(record, cml.Malformed):
        state.add("malformed", record)
    elif isinstance(record, cml.Group):
        state.add("groups", record)
    elif isinstance(record, cml.Property):
        state.add("properties", record)
    elif isinstance(record, cml.PriceType):
        state.add("price_types", record)
    elif isinstance(record, cml.Warehouse):
        state.add("warehouses", record)
    elif isinstance(record, cml.Goods):
        state.add("goods", goods_item(record, state.values, state.units))
        if (brand := brand_item(record)) is not None:
            state.add("brands", brand)
    elif isinstance(record, cml.Offer):
        state.add("offers", record)
    elif isinstance(record, cml.Organisation):
        state.add("organisations", record)
    elif not isinstance(record, cml.Unit):  # units name the goods' units as they are read
        state.add("skipped", record)


class _Writer:
    """Writes the job's batches in order in a thread of its own, so the parser goes on while
    the database works; the job hands a batch over (``submit``) and waits only when two are
    already queued. An error in the writer is raised in the job at its next hand-over."""

    def __init__(self, state: _State, worker: str, progress: tuple[Callable[[], int], int]):
        self.state, self.worker, self.progress = state, worker, progress
        self.batches: queue.Queue[tuple[dict[str, Any], int, bool] | None] = queue.Queue(2)
        self.error: BaseException | None = None
        self.wrote_goods = False
        self.thread = threading.Thread(target=self._run, name="commerceml-writer", daemon=True)
        self.thread.start()

    def submit(self, checkpoint: int, *, last: bool = False) -> None:
        """Hand a batch over, its goods and offers checked here first (while the writer
        writes the one before). Offers name the goods of their characteristics: when the file
        also holds goods, those are written before the offers are looked at."""
        batch: dict[str, Any] = self.state.pending
        self.state.pending = {}
        if batch.get("goods"):
            self.wrote_goods = True
        batch["goods"] = _prepared(batch.get("goods", []))
        if batch.get("offers"):
            if self.wrote_goods:
                self.drain()
            batch["offers"] = _prepared_offers(self.state.tenant_id, batch["offers"])
        self._put((batch, checkpoint, last))

    def drain(self) -> None:
        """Wait until every batch handed over is written."""
        while self.batches.unfinished_tasks:
            self._raise()
            time.sleep(0.01)
        self._raise()

    def close(self) -> None:
        self._put(None)
        self.thread.join()
        self._raise()

    def abandon(self) -> None:
        """The job failed: wait for the batch being written, write nothing more."""
        self.error = self.error or _LeaseLost()
        with contextlib.suppress(queue.Full):
            self.batches.put_nowait(None)
        self.thread.join()

    def _put(self, item: tuple[dict[str, Any], int, bool] | None) -> None:
        while True:
            self._raise()
            try:
                self.batches.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def _raise(self) -> None:
        if self.error is not None:
            error, self.error = self.error, None
            raise error

    def _run(self) -> None:
        while (item := self.batches.get()) is not None:
            if self.error is not None:
                return
            pending, checkpoint, last = item
            try:
                _flush(self.state, self.worker, pending, checkpoint, self.progress, last=last)
            except BaseException as error:  # raised in the job at its next hand-over
                self.error = error
                return
            finally:
                self.batches.task_done()


def _flush(
    state: _State,
    worker: str,
    pending: dict[str, Any],
    checkpoint: int,
    progress: tuple[Callable[[], int], int],
    *,
    last: bool = False,
) -> None:
    """Write a batch and move the checkpoint, in one transaction. Its commit need not wait for
    the disk: a batch lost in a database crash is lost with its checkpoint, and written again."""
    now = datetime.now(UTC)
    with job_session() as session:
        relax_durability(session)
        run = session.get_one(SyncRun, state.run_id)
        if run.worker != worker or run.status != RUNNING:
            raise _LeaseLost()
        tenant = session.get_one(Tenant, state.tenant_id)
        for record in pending.get("malformed", []):
            state.error(record.path, None, f"Элемент пропущен: {record.reason}.")
        state.count("skipped", len(pending.get("skipped", [])))
        _write_organisations(session, tenant, state, pending.get("organisations", []))
        _write_price_types(session, tenant, state, pending.get("price_types", []), now)
        _write_properties(session, tenant, state, pending.get("properties", []), now)
        _write_groups(session, tenant, state, pending.get("groups", []), now)
        _write_warehouses(session, tenant, state, pending.get("warehouses", []))
        _write_brands(session, tenant, state, pending.get("brands", []), now)
        _write_goods(session, tenant, state, pending.get("goods"), now, "Товар")
        _write_offers(session, tenant, state, pending.get("offers"), now)
        if last and state.kind == cml.CATALOG and not state.only_changes:
            seen = array("q", sorted(state.seen))
            deleted = catalog.delete_missing_goods(
                session, tenant, lambda external_id: _listed(seen, hash(parent_id(external_id))),
                now=now,
            )  # fmt: skip
            state.count("deleted", deleted)
        run.checkpoint = checkpoint
        run.kind = state.kind
        run.counts, run.errors = dict(state.counts), list(state.errors)
        run.error_count, run.warnings = state.error_count, list(state.warnings)
        position, size = progress
        run.progress = 100 if last else min(99, position() * 100 // max(size, 1))
        run.lease_until = now + LEASE
        if last:
            run.sha256 = run.sha256 or state.sha256
            run.status, run.finished_at, run.lease_until = DONE, now, None
            _log_end(session, run, now)


def _listed(seen: array[int], value: int) -> bool:
    at = bisect.bisect_left(seen, value)
    return at < len(seen) and seen[at] == value


class _MalformedXml(Exception):
    """The parser found the XML malformed at ``position`` (line, column)."""

    def __init__(self, message: str, position: tuple[int, int]):
        super().__init__(message)
        self.position = position


class _LeaseLost(Exception):
    """Another job took the run over (this one was too slow to renew its lease)."""


def _fail(run_id: int, worker: str, message: str, state: _State) -> None:
    with job_session() as session:
        run = session.get_one(SyncRun, run_id)
        if run.worker != worker or run.status != RUNNING:
            return
        run.status, run.finished_at, run.message = FAILED, datetime.now(UTC), message
        run.lease_until = None
        run.counts, run.errors = dict(state.counts), list(state.errors)
        run.error_count, run.warnings = state.error_count, list(state.warnings)
        _log_end(session, run, run.finished_at)


def _log_end(session: Session, run: SyncRun, now: datetime) -> None:
    """The run's line in the sync log's entries (the run itself holds the details)."""
    counts = ", ".join(f"{key} {value}" for key, value in sorted(run.counts.items()))
    verdict = "загружен" if run.status == DONE else f"не загружен: {run.message}"
    write_entry(
        session, run.tenant_id, exchange=SOURCE, operation="import",
        level="info" if run.status == DONE and not run.error_count else
        ("error" if run.status == FAILED else "warning"),
        document_type=run.kind, document_id=run.file_name[:100],
        message=f"Файл {run.file_name} {verdict}" + (f" ({counts})" if counts else ""),
        counts=run.counts, run_id=run.id, now=now,
    )  # fmt: skip


# Writing each kind of record


def _with_refusals(
    state: _State,
    items: list[dict[str, Any]],
    write: Callable[[list[dict[str, Any]]], catalog.UpsertReport],
    element: str,
    session: Session,
) -> catalog.UpsertReport | None:
    """Write a batch; an item the catalog refuses is logged and dropped, the rest retried."""
    while items:
        savepoint = session.begin_nested()
        try:
            report = write(items)
        except InvalidInput as error:
            savepoint.rollback()
            index = (error.details or {}).get("index")
            if not isinstance(index, int) or not 0 <= index < len(items):
                raise
            state.error(element, str(items[index].get("external_id") or ""), error.text)
            items = items[:index] + items[index + 1 :]
            continue
        savepoint.commit()
        return report
    return None


def _count(state: _State, report: catalog.UpsertReport | None) -> None:
    if report is not None:
        state.count("created", report.created)
        state.count("updated", report.updated)
        state.count("unchanged", report.unchanged)
        state.count("deleted", report.deleted)


def _write_organisations(
    session: Session, tenant: Tenant, state: _State, records: list[cml.Organisation]
) -> None:
    for record in records:
        entity_id = bound(session, tenant.id, SOURCE, "organisation", record.external_id)
        entity = mirror_legal_entity(
            session, tenant, entity_id, code_hint=record.external_id,
            name=record.full_name or record.name or record.external_id,
            inn=record.inn, kpp=record.kpp,
        )  # fmt: skip
        bind(session, tenant.id, SOURCE, "organisation", record.external_id, entity.id)


def _write_price_types(
    session: Session, tenant: Tenant, state: _State, records: list[cml.PriceType], now: datetime
) -> None:
    items = [
        {"external_id": r.external_id, "name": r.name, "currency": r.currency}
        for r in {r.external_id: r for r in records}.values()
    ]
    report = _with_refusals(
        state, items, lambda batch: catalog.upsert_price_types(session, tenant, batch, now=now),
        "ТипЦены", session,
    )  # fmt: skip
    del report  # reference data: not counted with the goods


def _write_properties(
    session: Session, tenant: Tenant, state: _State, records: list[cml.Property], now: datetime
) -> None:
    items = [
        {"external_id": r.external_id, "name": r.name, "values": dict(r.values),
         "value_type": r.value_type}
        for r in {r.external_id: r for r in records}.values()
    ]  # fmt: skip
    _with_refusals(
        state, items, lambda batch: catalog.upsert_properties(session, tenant, batch, now=now),
        "Свойство", session,
    )  # fmt: skip


def _write_groups(
    session: Session, tenant: Tenant, state: _State, records: list[cml.Group], now: datetime
) -> None:
    """Groups come children first (a parent's element ends after its subgroups): written in
    tree order, parents first, a batch at a time."""
    groups = {record.external_id: record for record in records}
    ordered: list[cml.Group] = []
    placed: set[str] = set()

    def place(group: cml.Group) -> None:
        chain = []
        while group.external_id not in placed:
            chain.append(group)
            placed.add(group.external_id)
            parent = groups.get(group.parent or "")
            if parent is None:
                break
            group = parent
        ordered.extend(reversed(chain))

    for group in groups.values():
        place(group)
    for start in range(0, len(ordered), catalog.MAX_BATCH):
        items = [
            {"external_id": g.external_id, "name": g.name, "parent": g.parent}
            for g in ordered[start : start + catalog.MAX_BATCH]
        ]
        _count(
            state,
            _with_refusals(
                state, items,
                lambda batch: catalog.upsert_groups(session, tenant, batch, now=now),
                "Группа", session,
            ),
        )  # fmt: skip


def _write_brands(
    session: Session, tenant: Tenant, state: _State, items: list[dict[str, Any]], now: datetime
) -> None:
    """The goods' makers as brands (before the goods that name them); counted with nothing."""
    unique = list({item["external_id"]: item for item in items}.values())
    _with_refusals(
        state, unique, lambda batch: catalog.upsert_brands(session, tenant, batch, now=now),
        "Изготовитель", session,
    )  # fmt: skip


def _write_warehouses(
    session: Session, tenant: Tenant, state: _State, records: list[cml.Warehouse]
) -> None:
    if not records:
        return
    try:
        mirrored = mirror_warehouses(session, tenant, [(r.external_id, r.name) for r in records])
    except InvalidInput as error:
        state.error("Склад", None, error.text)
        return
    for warehouse_id in mirrored.inactive:
        state.warn(
            f"Склад {warehouse_id} создан неактивным магазином: достигнут лимит магазинов по "
            "тарифу. Смените тариф и включите магазин."
        )


def _prepared(items: list[dict[str, Any]]) -> catalog.PreparedGoods | None:
    """Goods items checked by the catalog (no database needed: the job does it while the
    writer writes the batch before)."""
    if not items:
        return None
    # 1C lists a goods item once; should a file list it twice, the last one is what 1C meant.
    latest = list({str(item["external_id"]).lower(): item for item in items}.values())
    return catalog.prepare_goods(latest, merge=True, lenient=True)


def _write_goods(
    session: Session,
    tenant: Tenant,
    state: _State,
    prepared: catalog.PreparedGoods | None,
    now: datetime,
    element: str,
) -> None:
    if prepared is None:
        return
    report = catalog.store_goods(session, tenant, prepared, now=now)
    for error in report.refused:
        details = error.details or {}
        state.error(element, str(details.get("external_id") or ""), error.text)
    _count(state, report)


def _write_offers(
    session: Session, tenant: Tenant, state: _State, offers: _Offers | None, now: datetime
) -> None:
    if offers is None:
        return
    for external_id in offers.skipped:
        state.count("skipped")
        state.error(
            "Предложение", external_id,
            "Товар не выгружен в каталоге: цены и остатки предложения пропущены.",
        )  # fmt: skip
    _write_goods(session, tenant, state, offers.prepared, now, "Предложение")


@dataclass(frozen=True)
class _Offers:
    prepared: catalog.PreparedGoods | None
    skipped: list[str]  # Ид of offers whose goods were never uploaded


def _prepared_offers(tenant_id: int, records: list[cml.Offer]) -> _Offers | None:
    if not records:
        return None
    with job_session() as session:
        items, skipped = _offer_items(session, tenant_id, records)
    return _Offers(_prepared(items), skipped)


def _offer_items(
    session: Session, tenant_id: int, records: list[cml.Offer]
) -> tuple[list[dict[str, Any]], list[str]]:
    """The offers' items, and the Ид of those skipped. A characteristic 1C's catalog file did
    not list becomes goods of its own, named and grouped as its goods; an offer of goods never
    uploaded is skipped."""
    items = [offer_item(record) for record in records]
    # Plain goods go as they are (one never uploaded is refused by the catalog and logged);
    # only characteristics are looked up, with their goods.
    ids = {item["external_id"].lower() for item in items if "#" in item["external_id"]}
    ids |= {parent_id(external_id) for external_id in ids}
    stored = {
        row.external_id: row
        for condition in where_in(session, Goods.external_id, ids)
        for row in session.connection().execute(
            select(Goods.external_id, Goods.name, Goods.unit, GoodsGroup.external_id.label("group"))
            .outerjoin(GoodsGroup, GoodsGroup.id == Goods.group_id)
            .where(Goods.tenant_id == tenant_id, condition)
        )
    }
    kept, skipped = [], []
    for record, item in zip(records, items, strict=True):
        external_id = item["external_id"].lower()
        if "#" not in external_id or external_id in stored:
            kept.append(item)
            continue
        parent = stored.get(parent_id(external_id))
        if parent is None:
            skipped.append(item["external_id"])
            continue
        traits = ", ".join(record.characteristics.values())
        item.setdefault("name", f"{parent.name} ({traits})" if traits else parent.name)
        item["group"], item["unit"] = parent.group, parent.unit
        kept.append(item)
    return kept, skipped
