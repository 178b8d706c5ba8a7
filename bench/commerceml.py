"""bench/commerceml: realistic 1C exchange files imported through the real exchange and worker.

A generator of exports as 1C:УТ 11 writes them (``generate``): N goods in a three-level group tree
with properties (a reference property, a string one), one or two barcodes each, a unit, an article
and requisites; an offers package with 2 price types, 3 warehouses and, for every fifth goods, two
characteristics (``товар#характеристика``) with their own prices and stock. UTF-8 with BOM and
the CommerceML 2.08 namespace.

Per size (issue "Nomenclature and stores from 1C over CommerceML"), on a scratch PostgreSQL
database ``bench_cml_<pid>`` (migrated with ``connector.migrate``, dropped at the end) and a
tenant with ``exchange`` credentials and no store limit:

1. the exchange as 1C drives it, through ``connector.app.create_app`` and Flask's test client
   with Redis and a queue of our own (``checkauth`` with Basic, ``init``, both files in
   ``file`` calls of ``file_limit`` bytes; not timed);
2. ``mode=import`` of the catalog file, which enqueues ``sync.commerceml.import_run`` into RQ,
   then a real ``python -m connector worker --burst`` until the queue is empty; the offers file
   the same way. Each run must end ``done`` and 1C's next ``mode=import`` must answer
   ``success``;
3. the issue's parse-only pass over the same files: one ``lxml.etree.iterparse(path,
   events=("end",), tag=("{*}Товар", "{*}Предложение"))`` per file that clears each element and
   its preceding siblings and does nothing else.

``import_s`` is the sum over the two files of the job's time from its start — RQ's
``started_at``, the moment the worker picked it up (``SyncRun.started_at`` is when 1C asked) —
to its last commit: RQ's ``ended_at``, stamped when ``import_run`` returned. ``SyncRun.finished_at``
is taken at the start of the last batch's transaction, before that batch and the deletion of
the goods a full export no longer lists, so ``run_s`` (finished_at − started) is printed beside
it on the second line. ``peak_rss_mb`` is the peak RSS of the work-horse, the process RQ forks
per job to execute it: the worker runs inside a small wrapper that prints its
``RUSAGE_CHILDREN`` maximum at exit (horses are reaped by the worker, so they count; the only
other child, RQ's scheduler when it forks one, is a copy of the idle worker). PostgreSQL is not
counted; ``worker_rss_mb`` is the peak of the worker process itself.

Prints, per size, then the next size; the issue's targets are ratio ≤ 4 and peak RSS ≤ 300 MB:
``commerceml goods=N import_s=X parse_only_s=X ratio=X peak_rss_mb=N``
``commerceml goods=N runs=done,done run_s=X worker_rss_mb=N files_mb=N <the runs' counts>``.

``--profile`` runs the two jobs in this process under cProfile instead of the worker (the same
RQ job, its function called with its arguments) and prints the 15 costliest entries by
cumulative time (``SORT=tottime`` to change the order, ``TOP=N`` for more lines);
``PROFILER=none`` runs them without cProfile and prints each job's wall and CPU time, for a
sampling profiler watching from outside (``py-spy record --threads -- ...``). Run from the
repository root:
``.venv/bin/python bench/commerceml.py [--goods 100000 1000000] [--profile]``. Needs PostgreSQL
(``BENCH_PG_ADMIN``, a superuser, default ``postgresql://postgres@127.0.0.1:5432/postgres``)
and Redis (``BENCH_REDIS_URL``, default ``redis://127.0.0.1:6379/14``: RQ's job keys are global
to a Redis database and the job ids, ``cml-import-<run id>``, repeat in every fresh database,
so the bench keeps off database 0, where the tests run).
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import io
import os
import pstats
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import psycopg
from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ADMIN_DSN = os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
TENANT, USER, PASSWORD = "bench", "bench-exchange", "Bench-exchange-1"
PROFILE_LINES = 15
# Runs ``python -m connector worker --burst`` and, at its exit, writes the peak RSS (KiB) of
# its reaped children (the work-horses) and its own. Its own is VmHWM, the peak of its memory
# map: ru_maxrss of a process started by exec carries over the peak of the process that
# forked it (here this bench, which holds the uploads).
WORKER_WRAPPER = """
import re, resource, runpy, sys
report = sys.argv[1]
sys.argv = ["connector", "worker", "--burst"]
try:
    runpy.run_module("connector", run_name="__main__", alter_sys=True)
finally:
    with open("/proc/self/status") as status:
        own = re.search(r"VmHWM:\\s+(\\d+)", status.read()).group(1)
    with open(report, "w") as out:
        print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, own, file=out)
"""

NS = "urn:1C.ru:commerceml_2"
PRICE_TYPES = ("b1e2c3d4-0000-4000-8000-000000000001", "b1e2c3d4-0000-4000-8000-000000000002")
WAREHOUSES = tuple(f"c1e2c3d4-0000-4000-8000-00000000000{i}" for i in (1, 2, 3))
BRAND_PROPERTY = "d1e2c3d4-0000-4000-8000-000000000001"
COLOUR_PROPERTY = "d1e2c3d4-0000-4000-8000-000000000002"
BRANDS = tuple(f"e1e2c3d4-0000-4000-8000-{i:012d}" for i in range(40))


def _guid(kind: int, number: int) -> str:
    """A GUID shaped as 1C writes them, unique per (kind, number)."""
    high, middle, low = number >> 32 & 0xFFFF, number >> 16 & 0xFFF, number & 0xFFF
    return f"{kind:08x}-{high:04x}-4{middle:03x}-8{low:03x}-{number:012x}"


def _write(out: IO[bytes], text: str) -> None:
    out.write(text.encode("utf-8"))


def _head(out: IO[bytes]) -> None:
    out.write(b"\xef\xbb\xbf")
    _write(
        out,
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<КоммерческаяИнформация xmlns="{NS}" ВерсияСхемы="2.08" '
        'ДатаФормирования="2026-12-03T10:00:00">',
    )


def _leaves() -> list[str]:
    return [
        _guid(0x6A, top * 100 + mid * 10 + leaf)
        for top in range(10)
        for mid in range(5)
        for leaf in range(4)
    ]


def _classifier(out: IO[bytes]) -> None:
    _write(
        out,
        "<Классификатор><Ид>a1e2c3d4-0000-4000-8000-000000000001</Ид>"
        "<Наименование>Классификатор (Основной каталог товаров)</Наименование><Группы>",
    )
    for top in range(10):
        _write(
            out,
            f"<Группа><Ид>{_guid(0x6A, top * 100 + 99)}</Ид>"
            f"<Наименование>Раздел {top}</Наименование><Группы>",
        )
        for mid in range(5):
            _write(
                out,
                f"<Группа><Ид>{_guid(0x6A, top * 100 + mid * 10 + 9)}</Ид>"
                f"<Наименование>Подраздел {top}.{mid}</Наименование><Группы>",
            )
            for leaf in range(4):
                _write(
                    out,
                    f"<Группа><Ид>{_guid(0x6A, top * 100 + mid * 10 + leaf)}</Ид>"
                    f"<Наименование>Группа {top}.{mid}.{leaf}</Наименование></Группа>",
                )
            _write(out, "</Группы></Группа>")
        _write(out, "</Группы></Группа>")
    _write(out, "</Группы><Свойства>")
    _write(
        out,
        f"<Свойство><Ид>{BRAND_PROPERTY}</Ид><Наименование>Производитель</Наименование>"
        "<ТипЗначений>Справочник</ТипЗначений><ВариантыЗначений>",
    )
    for i, brand in enumerate(BRANDS):
        _write(
            out,
            f"<Справочник><ИдЗначения>{brand}</ИдЗначения>"
            f"<Значение>Бренд {i}</Значение></Справочник>",
        )
    _write(out, "</ВариантыЗначений></Свойство>")
    _write(
        out,
        f"<Свойство><Ид>{COLOUR_PROPERTY}</Ид><Наименование>Цвет</Наименование>"
        "<ТипЗначений>Строка</ТипЗначений></Свойство></Свойства></Классификатор>",
    )


def _goods(count: int, rng: random.Random) -> Iterator[str]:
    leaves = _leaves()
    for n in range(count):
        barcodes = "".join(
            f"<Штрихкод>46{n * 2 + k:011d}</Штрихкод>" for k in range(1 + (n % 3 == 0))
        )
        yield (
            f"<Товар><Ид>{_guid(0x60, n)}</Ид>{barcodes}<Артикул>А-{n:07d}</Артикул>"
            f"<Наименование>Товар {n} «{rng.choice(('Вкусный', 'Свежий', 'Домашний'))}»"
            "</Наименование>"
            '<БазоваяЕдиница Код="796" НаименованиеПолное="Штука" '
            'МеждународноеСокращение="PCE">шт</БазоваяЕдиница>'
            f"<Группы><Ид>{rng.choice(leaves)}</Ид></Группы>"
            "<ЗначенияСвойств>"
            f"<ЗначенияСвойства><Ид>{BRAND_PROPERTY}</Ид><Значение>{rng.choice(BRANDS)}</Значение>"
            "</ЗначенияСвойства>"
            f"<ЗначенияСвойства><Ид>{COLOUR_PROPERTY}</Ид><Значение>"
            f"{rng.choice(('красный', 'синий', 'белый'))}</Значение></ЗначенияСвойства>"
            "</ЗначенияСвойств>"
            "<СтавкиНалогов><СтавкаНалога><Наименование>НДС</Наименование><Ставка>20</Ставка>"
            "</СтавкаНалога></СтавкиНалогов>"
            "<ЗначенияРеквизитов>"
            "<ЗначениеРеквизита><Наименование>ВидНоменклатуры</Наименование>"
            "<Значение>Товар</Значение></ЗначениеРеквизита>"
            "<ЗначениеРеквизита><Наименование>ТипНоменклатуры</Наименование>"
            "<Значение>Товар</Значение></ЗначениеРеквизита>"
            "</ЗначенияРеквизитов></Товар>"
        )


def _rubles(kopecks: int) -> str:
    """Kopecks as 1C writes a price: rubles with two decimals (no float on the way)."""
    return f"{kopecks // 100}.{kopecks % 100:02d}"


def _offer(offer_id: str, name: str, rng: random.Random) -> str:
    base = rng.randrange(1_000, 500_000)  # kopecks
    rubles = [_rubles(base + k * base // 10) for k in range(len(PRICE_TYPES))]
    prices = "".join(
        f"<Цена><Представление>{price} RUB за шт</Представление>"
        f"<ИдТипаЦены>{kind}</ИдТипаЦены><ЦенаЗаЕдиницу>{price}"
        "</ЦенаЗаЕдиницу><Валюта>RUB</Валюта><Единица>шт</Единица><Коэффициент>1</Коэффициент>"
        "</Цена>"
        for kind, price in zip(PRICE_TYPES, rubles, strict=True)
    )
    stock = [rng.randrange(0, 200) for _ in WAREHOUSES]
    stores = "".join(
        f'<Склад ИдСклада="{w}" КоличествоНаСкладе="{q}"/>'
        for w, q in zip(WAREHOUSES, stock, strict=True)
    )
    return (
        f"<Предложение><Ид>{offer_id}</Ид><Наименование>{name}</Наименование>"
        f"<Цены>{prices}</Цены><Количество>{sum(stock)}</Количество>{stores}</Предложение>"
    )


def generate(directory: Path, count: int, seed: int = 2027) -> tuple[Path, Path]:
    """import.xml and offers.xml of ``count`` goods in ``directory``."""
    rng = random.Random(seed)  # noqa: S311 - a fixed seed, not a secret
    catalog, offers = directory / "import0_1.xml", directory / "offers0_1.xml"
    with catalog.open("wb") as out:
        _head(out)
        _classifier(out)
        _write(
            out,
            '<Каталог СодержитТолькоИзменения="false">'
            "<Ид>a1e2c3d4-0000-4000-8000-000000000001</Ид>"
            "<ИдКлассификатора>a1e2c3d4-0000-4000-8000-000000000001</ИдКлассификатора>"
            "<Наименование>Основной каталог товаров</Наименование><Товары>",
        )
        for goods in _goods(count, rng):
            _write(out, goods)
        _write(out, "</Товары></Каталог></КоммерческаяИнформация>")
    with offers.open("wb") as out:
        _head(out)
        _write(
            out,
            '<ПакетПредложений СодержитТолькоИзменения="false">'
            "<Ид>a1e2c3d4-0000-4000-8000-000000000001#</Ид><ТипыЦен>",
        )
        for kind, name in zip(PRICE_TYPES, ("Розничная", "Оптовая"), strict=True):
            _write(
                out,
                f"<ТипЦены><Ид>{kind}</Ид><Наименование>{name}</Наименование>"
                "<Валюта>RUB</Валюта></ТипЦены>",
            )
        _write(out, "</ТипыЦен><Склады>")
        for i, warehouse in enumerate(WAREHOUSES):
            _write(
                out,
                f"<Склад><Ид>{warehouse}</Ид><Наименование>Склад {i + 1}</Наименование></Склад>",
            )
        _write(out, "</Склады><Предложения>")
        for n in range(count):
            goods_id = _guid(0x60, n)
            if n % 5 == 0:
                for k in range(2):
                    _write(
                        out, _offer(f"{goods_id}#{_guid(0x61, n * 2 + k)}", f"Товар {n} ({k})", rng)
                    )
            else:
                _write(out, _offer(goods_id, f"Товар {n}", rng))
        _write(out, "</Предложения></ПакетПредложений></КоммерческаяИнформация>")
    return catalog, offers


def parse_only(path: Path) -> None:
    """The issue's parse-only pass: iterparse of the goods and offers, each cleared with its
    preceding siblings, nothing else."""
    for _, element in etree.iterparse(
        str(path), events=("end",), tag=("{*}Товар", "{*}Предложение")
    ):
        element.clear()
        parent = element.getparent()
        if parent is not None:
            while element.getprevious() is not None:
                del parent[0]


# The scratch database, the tenant and the queue


def _dsn(database: str) -> str:
    return ADMIN_DSN.rsplit("/", 1)[0] + "/" + database


@contextmanager
def scratch_database() -> Iterator[str]:
    """A migrated database of its own (SQLAlchemy URL), dropped afterwards."""
    from connector import migrate

    database = f"bench_cml_{os.getpid()}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')
    try:
        url = _dsn(database).replace("postgresql://", "postgresql+psycopg://", 1)
        migrate.upgrade(url)
        yield url
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def add_exchange_tenant(runtime: Any) -> None:
    from processing.tenants.credentials import set_credentials
    from processing.tenants.service import add_tenant

    with runtime.session() as session, session.begin():
        tenant = add_tenant(session, TENANT, "Сеть для замера обмена", "network")
        tenant.max_stores = None  # the warehouses become stores, none left inactive
        set_credentials(session, tenant, "exchange", USER, PASSWORD, now=datetime.now(UTC))


def forget_queue(redis: Any, queue_name: str, job_ids: list[str]) -> None:
    from rq import Queue
    from rq.job import Job

    for job_id in job_ids:
        if redis.exists(f"rq:job:{job_id}"):
            Job.fetch(job_id, connection=redis).delete()
    Queue(queue_name, connection=redis).delete(delete_jobs=True)
    for key in redis.scan_iter(f"rq:*{queue_name}*"):
        redis.delete(key)


# 1C's side of the exchange, through the test client


@dataclass
class OneC:
    """One catalog exchange as 1C:УТ 11 drives it; the client keeps the session's cookie."""

    client: Any  # flask.testing.FlaskClient
    url: str = f"/exchange/{TENANT}/1c"
    file_limit: int = 0

    def call(self, mode: str, body: bytes | None = None, **params: str) -> list[str]:
        query = {"type": "catalog", "mode": mode, **params}
        if mode == "checkauth":
            basic = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
            response = self.client.get(
                self.url, query_string=query, headers={"Authorization": f"Basic {basic}"}
            )
        elif body is None:
            response = self.client.get(self.url, query_string=query)
        else:
            response = self.client.post(self.url, query_string=query, data=body)
        lines: list[str] = response.get_data(as_text=True).split("\n")
        return lines

    def start(self) -> None:
        answer = self.call("checkauth")
        if answer[0] != "success":
            raise SystemExit(f"checkauth refused: {answer}")
        values = dict(line.split("=", 1) for line in self.call("init") if "=" in line)
        self.file_limit = int(values["file_limit"])

    def upload(self, path: Path) -> None:
        with path.open("rb") as data:
            while body := data.read(self.file_limit):
                answer = self.call("file", body, filename=path.name)
                if answer != ["success"]:
                    raise SystemExit(f"upload of {path.name} refused: {answer}")

    def import_file(self, name: str) -> list[str]:
        return self.call("import", filename=name)


# Running the job


@dataclass
class Timing:
    import_s: float = 0.0
    run_s: float = 0.0
    horse_kb: int = 0
    worker_kb: int = 0
    statuses: list[str] = field(default_factory=list)
    counts: list[str] = field(default_factory=list)


def _aware(moment: datetime | None) -> datetime:
    if moment is None:
        raise SystemExit("the RQ job has no start or end: did the worker run it?")
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def run_worker(database_url: str, queue_name: str, folder: Path) -> tuple[int, int]:
    """A burst worker until the queue is empty: the peak RSS (KiB) of its work-horses and its
    own."""
    names = {"DATABASE_URL", "REDIS_URL", "RQ_QUEUE", "LOG_LEVEL"}
    env = {
        **{name: value for name, value in os.environ.items() if name not in names},
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "RQ_QUEUE": queue_name,
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    report, log = folder / "worker-rusage.txt", folder / "worker.log"
    with log.open("ab") as output:
        finished = subprocess.run(
            [sys.executable, "-c", WORKER_WRAPPER, str(report)],
            env=env, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT, check=False,
        )  # fmt: skip
    if finished.returncode != 0:
        raise SystemExit(f"the worker exited with {finished.returncode}; see {log}")
    horse_kb, worker_kb = (int(line) for line in report.read_text().split())
    return horse_kb, worker_kb


def _job_in_worker(
    runtime: Any, job_id: str, timing: Timing, folder: Path
) -> tuple[datetime, datetime]:
    """The queued job run by a real worker: when it started and ended, by RQ's stamps."""
    from rq.job import Job

    settings = runtime.settings
    horse_kb, worker_kb = run_worker(settings.database_url, settings.queue_name, folder)
    timing.horse_kb = max(timing.horse_kb, horse_kb)
    timing.worker_kb = max(timing.worker_kb, worker_kb)
    job = Job.fetch(job_id, connection=runtime.redis())
    return _aware(job.started_at), _aware(job.ended_at)


def _job_profiled(
    runtime: Any, job_id: str, profiler: cProfile.Profile
) -> tuple[datetime, datetime]:
    """The queued job taken off the queue and its function run here, under the profiler."""
    from rq import Queue
    from rq.job import Job

    from sync.commerceml import import_run

    redis = runtime.redis()
    job = Job.fetch(job_id, connection=redis)
    Queue(runtime.settings.queue_name, connection=redis).remove(job)
    if job.func is not import_run:
        raise SystemExit(f"{job_id} runs {job.func_name}, not sync.commerceml.import_run")
    started = datetime.now(UTC)
    if os.environ.get("PROFILER") == "none":  # a sampling profiler (py-spy) watches from outside
        cpu, wall = time.process_time(), time.perf_counter()
        import_run(*job.args, **job.kwargs)
        print(
            f"{job_id} wall_s={time.perf_counter() - wall:.2f} "
            f"job_cpu_s={time.process_time() - cpu:.2f}"
        )
    else:
        profiler.runcall(import_run, *job.args, **job.kwargs)
    return started, datetime.now(UTC)


def import_through_job(
    one_c: OneC,
    path: Path,
    runtime: Any,
    timing: Timing,
    profiler: cProfile.Profile | None,
    folder: Path,
) -> str:
    """``mode=import`` of ``path`` and its job run to the end; returns the RQ job id."""
    from sqlalchemy import select

    from sync.models import SyncRun

    answer = one_c.import_file(path.name)
    if answer[0] != "progress":
        raise SystemExit(f"import of {path.name} did not start in the background: {answer}")
    with runtime.session() as session:
        run_id = session.scalar(select(SyncRun.id).where(SyncRun.file_name == path.name))
    job_id = f"cml-import-{run_id}"
    if profiler is None:
        started, ended = _job_in_worker(runtime, job_id, timing, folder)
    else:
        started, ended = _job_profiled(runtime, job_id, profiler)
    timing.import_s += (ended - started).total_seconds()
    with runtime.session() as session:
        run = session.get_one(SyncRun, run_id)
    timing.statuses.append(run.status)
    counts = ",".join(f"{key}={value}" for key, value in sorted(run.counts.items()))
    timing.counts.append(f"{path.stem}:{counts}")
    if run.status != "done" or run.finished_at is None:
        log = folder / "worker.log"
        tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
        raise SystemExit(
            f"sync run {run_id} of {path.name} ended {run.status}: {run.message}\n{tail}"
        )
    timing.run_s += (_aware(run.finished_at) - started).total_seconds()
    answer = one_c.import_file(path.name)
    if answer != ["success"]:
        raise SystemExit(f"1C's next mode=import of {path.name} is answered {answer}")
    return job_id


def bench_size(count: int, folder: Path, profile: bool) -> None:
    from config import load_settings
    from connector.app import create_app
    from sync.runtime import Runtime

    paths = list(generate(folder, count))
    started = time.perf_counter()
    for path in paths:
        parse_only(path)
    parse_s = time.perf_counter() - started
    queue_name = f"bench-cml-{os.getpid()}"
    with scratch_database() as database_url:
        settings = load_settings(
            {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": REDIS_URL,
             "RQ_QUEUE": queue_name, "LOG_LEVEL": "WARNING"}
        )  # fmt: skip
        runtime = Runtime(settings)
        job_ids: list[str] = []
        try:
            app = create_app(runtime=runtime)
            add_exchange_tenant(runtime)
            one_c = OneC(app.test_client())
            one_c.start()
            for path in paths:
                one_c.upload(path)
            timing, profiler = Timing(), cProfile.Profile() if profile else None
            for path in paths:
                job_ids.append(import_through_job(one_c, path, runtime, timing, profiler, folder))
        finally:
            forget_queue(runtime.redis(), queue_name, job_ids)
            runtime.dispose()
    size_mb = sum(p.stat().st_size for p in paths) / 2**20
    label = "commerceml-profiled" if profile else "commerceml"
    print(
        f"{label} goods={count} import_s={timing.import_s:.2f} parse_only_s={parse_s:.2f} "
        f"ratio={timing.import_s / parse_s:.2f} peak_rss_mb={timing.horse_kb // 1024}",
        flush=True,
    )
    print(
        f"{label} goods={count} runs={','.join(timing.statuses)} run_s={timing.run_s:.2f} "
        f"worker_rss_mb={timing.worker_kb // 1024} files_mb={size_mb:.0f} "
        + " ".join(timing.counts),
        flush=True,
    )
    if profiler is not None and os.environ.get("PROFILER") != "none":
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        lines = int(os.environ.get("TOP", PROFILE_LINES))
        stats.sort_stats(os.environ.get("SORT", "cumulative")).print_stats(lines)
        print(out.getvalue(), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--goods", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument(
        "--profile", action="store_true", help="run the jobs in this process under cProfile"
    )
    args = parser.parse_args()
    for count in args.goods:
        with tempfile.TemporaryDirectory(prefix="commerceml-bench-") as folder:
            bench_size(count, Path(folder), args.profile)


if __name__ == "__main__":
    main()
