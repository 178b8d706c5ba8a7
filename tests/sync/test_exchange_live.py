"""1C's "exchange with website" against the service as deployed: gunicorn with the production
command line, PostgreSQL, Redis and a real ``python -m connector worker`` running the imports
through RQ. 1C's side is ``tests/sync/one_c.py`` over real HTTP. The last test kills the
work-horse in the middle of a large import and checks that the resumed run leaves the catalog
exactly as an uninterrupted import of the same files does."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from redis import Redis
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from bench.commerceml import generate
from processing.catalog.models import Goods, GoodsBarcode, GoodsGroup
from processing.tenants.credentials import set_credentials
from processing.tenants.service import add_tenant
from sync import commerceml
from sync.models import ExchangeFile, SyncRun
from tests.conftest import REDIS_URL, REPO_ROOT
from tests.connector.serving import Gunicorn, gunicorn
from tests.sync.one_c import OneC

pytestmark = pytest.mark.committed  # the server and the worker read what the test commits

FIXTURES = REPO_ROOT.parent / "shared" / "fixtures" / "commerceml"
IMPORT = "import-classifier-2.07.xml"
OFFERS = "offers-characteristics-2.07.xml"
USER, PASSWORD = "site-exchange", "Exch-pass-1"
BOOTS = "bd72d910-55bc-11d9-848a-00112f43529a"  # «Женские ботфорты коричневые»
BOOTS_38 = f"{BOOTS}#90c55447-d3a8-11e4-9423-e0cb4ed5eed4"
SHOES_GROUP = "e5a4c309-a659-11dd-acee-0015e9b8c48d"  # «Обувь» under «Обувь»
RETAIL = "bb14a3a4-6b17-11e0-9819-e0cb4ed5eed4"  # «Розничная»
SHOE_SHOP = "b6112590-41ba-11dd-ac9d-0015e9b8c48d"  # Магазин "Обувь"
NS = "{urn:1C.ru:commerceml_2}"
KILL_GOODS = 12_000


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def worker_env(database_url: str, redis_url: str, queue: str) -> dict[str, str]:
    names = {"DATABASE_URL", "REDIS_URL", "RQ_QUEUE"}
    return {
        **{k: v for k, v in os.environ.items() if k not in names},
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "RQ_QUEUE": queue,
        "PYTHONPATH": str(REPO_ROOT),
        "LOG_LEVEL": "WARNING",
    }


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``loyalty-connector worker`` (not burst), in a process group of its own."""
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "connector", "worker"],
            env=env,
            cwd=REPO_ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_worker(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)  # warm shutdown: the horse finishes its job
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def forget_queue(redis_url: str, queue: str) -> None:
    redis = Redis.from_url(redis_url)
    for key in redis.scan_iter(f"rq:*{queue}*"):
        redis.delete(key)
    redis.close()


@dataclass(frozen=True)
class Live:
    server: Gunicorn
    queue: str

    def one_c(self, tenant: str = "acme", kind: str = "catalog") -> OneC:
        return OneC(f"{self.server.url}/exchange/{tenant}/1c", USER, PASSWORD, kind)


@pytest.fixture(scope="module")
def live(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    redis_url = REDIS_URL  # the fixture of that name is per test
    directory = tmp_path_factory.mktemp("exchange-live")
    queue = f"test-cml-{uuid.uuid4().hex[:8]}"
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "RQ_QUEUE": queue}
    worker = start_worker(worker_env(database_url, redis_url, queue), directory / "worker.log")
    try:
        with gunicorn(env, directory / "gunicorn.log") as server:
            yield Live(server, queue)
    finally:
        stop_worker(worker)
        forget_queue(redis_url, queue)


def add_exchange_tenant(engine: Engine, code: str) -> int:
    with Session(engine) as session:
        tenant = add_tenant(session, code, f"Сеть {code}")
        set_credentials(session, tenant, "exchange", USER, PASSWORD, now=datetime.now(UTC))
        session.commit()
        return tenant.id


@pytest.fixture
def tenant_id(engine: Engine) -> int:
    return add_exchange_tenant(engine, "acme")


# What the catalog holds, by external ids (database ids differ between tenants)


def catalog_of(engine: Engine, tenant_id: int) -> dict[str, Any]:
    with Session(engine) as session:
        groups = {
            g.id: g
            for g in session.scalars(select(GoodsGroup).where(GoodsGroup.tenant_id == tenant_id))
        }
        goods = {
            g.id: g for g in session.scalars(select(Goods).where(Goods.tenant_id == tenant_id))
        }
        barcodes: dict[int, list[str]] = {}
        for barcode in session.scalars(
            select(GoodsBarcode).where(GoodsBarcode.tenant_id == tenant_id)
        ):
            barcodes.setdefault(barcode.goods_id, []).append(barcode.barcode)

    def group_external(group_id: int | None) -> str | None:
        return groups[group_id].external_id if group_id is not None else None

    return {
        "groups": {
            g.external_id: (g.name, group_external(g.parent_id), g.deleted) for g in groups.values()
        },
        "goods": {
            g.external_id: {
                "name": g.name, "article": g.article, "unit": g.unit, "vat_rate": g.vat_rate,
                "group": group_external(g.group_id), "barcodes": sorted(barcodes.get(g.id, [])),
                "prices": dict(g.price_categories or {}), "stock": g.stock,
                "stores": dict(g.warehouse_stock),
                "properties": dict(g.properties or {}),
                "requisites": dict(g.requisites or {}), "deleted": g.deleted,
            }
            for g in goods.values()
        },
    }  # fmt: skip


def runs_of(engine: Engine, tenant_id: int) -> list[SyncRun]:
    with Session(engine) as session:
        return list(
            session.scalars(
                select(SyncRun).where(SyncRun.tenant_id == tenant_id).order_by(SyncRun.id)
            )
        )


def fixture_ids() -> set[str]:
    """Every goods the fixture pair names: the Товар of import.xml, the Предложение of
    offers.xml (a characteristic is goods of its own)."""
    ids: set[str] = set()
    for name, tag in ((IMPORT, "Товар"), (OFFERS, "Предложение")):
        root = etree.fromstring(fixture(name))
        ids |= {element.findtext(f"{NS}Ид") or "" for element in root.iter(f"{NS}{tag}")}
    return ids


def assert_fixture_catalog(engine: Engine, tenant_id: int) -> None:
    catalog = catalog_of(engine, tenant_id)
    goods = catalog["goods"]
    assert set(goods) == fixture_ids()
    assert len(goods) == 7
    boots = goods[BOOTS]
    assert boots["name"] == "Женские ботфорты коричневые"
    assert boots["barcodes"] == ["2000018987155"]
    assert boots["article"] == "Б-130001"
    assert boots["group"] == SHOES_GROUP
    assert catalog["groups"][SHOES_GROUP][0] == "Обувь"
    assert catalog["groups"][SHOES_GROUP][1] == "453d6e3a-7233-11e0-8636-0011951d229d"
    size_38 = goods[BOOTS_38]
    assert size_38["name"] == "Женские ботфорты коричневые (38)"
    assert size_38["prices"] == {RETAIL: "1719.00"}
    assert str(size_38["stock"]) in ("20", "20.000")
    assert size_38["stores"] == {SHOE_SHOP: size_38["stores"][SHOE_SHOP]}
    assert not any(item["deleted"] for item in goods.values())
    assert len(catalog["groups"]) == 22


def assert_progress_then_success(answers: list[Any]) -> None:
    """Through RQ: the first poll finds the job queued, the last one done."""
    assert [a.status for a in answers] == [200] * len(answers)
    assert answers[-1].lines == ["success"], answers[-1]
    assert len(answers) >= 2, "the import ran inside the request, not in the worker"
    for answer in answers[:-1]:
        assert answer.first == "progress", answer
        assert answer.lines[1].startswith("Загружено "), answer


def assert_done(run: SyncRun, kind: str | None) -> None:
    assert (run.status, run.progress, run.kind) == ("done", 100, kind), (run.message, run.errors)
    assert run.finished_at is not None and run.lease_until is None
    assert run.sha256 is not None and len(run.sha256) == 64


# The conversation


def test_catalog_exchange_with_a_repeat_and_a_second_exchange(
    live: Live, engine: Engine, tenant_id: int
) -> None:
    one_c = live.one_c()
    answer = one_c.checkauth()
    assert answer.lines[:2] == ["success", "loyalty_exchange"] and answer.status == 200
    settings = one_c.init()
    assert settings["zip"] == "yes" and int(settings["file_limit"]) > 0
    catalog_file, offers_file = fixture(IMPORT), fixture(OFFERS)
    one_c.upload("import.xml", catalog_file, pieces=3)
    one_c.upload("offers.xml", offers_file)
    assert_progress_then_success(one_c.import_file("import.xml"))
    assert_progress_then_success(one_c.import_file("offers.xml"))
    assert_fixture_catalog(engine, tenant_id)
    catalog_run, offers_run = runs_of(engine, tenant_id)
    assert_done(catalog_run, "catalog")
    assert_done(offers_run, "offers")
    assert catalog_run.counts["created"] == 2 + 22, catalog_run.counts  # goods and groups
    assert catalog_run.error_count == 0 and offers_run.error_count == 0
    assert offers_run.counts["created"] == 5, offers_run.counts  # the characteristics
    assert offers_run.counts.get("updated", 0) == 0, offers_run.counts

    # The same file again in the same exchange: recorded, skipped.
    one_c.upload("import.xml", catalog_file, pieces=2)
    assert_progress_then_success(one_c.import_file("import.xml"))
    assert one_c.text("complete").lines == ["success"]
    repeat = runs_of(engine, tenant_id)[-1]
    assert repeat.id not in (catalog_run.id, offers_run.id)
    assert_done(repeat, None)  # skipped before reading: what the file is was not looked at
    assert repeat.counts == {"skipped": 1}, repeat.counts
    assert repeat.sha256 == catalog_run.sha256
    assert str(catalog_run.id) in repeat.warnings[0]

    # Tomorrow's exchange: the same bytes are new work.
    one_c.checkauth()
    one_c.init()
    one_c.upload("import.xml", catalog_file, pieces=3)
    assert_progress_then_success(one_c.import_file("import.xml"))
    tomorrow = runs_of(engine, tenant_id)[-1]
    assert tomorrow.id != repeat.id and tomorrow.session_id != catalog_run.session_id
    assert_done(tomorrow, "catalog")
    assert tomorrow.counts.get("unchanged", 0) == 2 + 22, tomorrow.counts
    assert "skipped" not in tomorrow.counts
    assert_fixture_catalog(engine, tenant_id)


def test_a_piece_of_exactly_file_limit_is_taken(live: Live, tenant_id: int) -> None:
    """1C cuts files into pieces of exactly ``file_limit`` bytes: gunicorn takes such a piece,
    and a longer one gets the protocol's failure."""
    one_c = live.one_c()
    assert one_c.checkauth().first == "success"
    limit = int(one_c.init()["file_limit"])
    assert one_c.text("file", b"x" * limit, filename="pad.xml").lines == ["success"]
    longer = one_c.text("file", b"x" * (limit + 1), filename="pad.xml")
    assert longer.first == "failure" and "file_limit" in longer.lines[1]


def zipped(*members: tuple[str, bytes]) -> bytes:
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return packed.getvalue()


def test_zip_upload_in_pieces(live: Live, engine: Engine, tenant_id: int) -> None:
    picture = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40
    upload = zipped(
        ("import.xml", fixture(IMPORT)), ("offers.xml", fixture(OFFERS)),
        ("import_files/bd/bd72d910.jpg", picture),
    )  # fmt: skip
    one_c = live.one_c()
    assert one_c.checkauth().first == "success"
    one_c.init()
    one_c.upload("import.zip", upload, pieces=3)
    assert_progress_then_success(one_c.import_file("import.xml"))
    assert_progress_then_success(one_c.import_file("offers.xml"))
    assert one_c.text("complete").lines == ["success"]
    assert_fixture_catalog(engine, tenant_id)
    catalog_run, offers_run = runs_of(engine, tenant_id)
    assert_done(catalog_run, "catalog")
    assert_done(offers_run, "offers")
    assert catalog_run.stored_name == offers_run.stored_name == "import.zip"
    with Session(engine) as session:
        files = session.scalars(select(ExchangeFile)).all()
    assert [(f.name, f.size, f.sealed) for f in files] == [("import.zip", len(upload), True)]


def test_an_interrupted_upload_does_not_leak_into_the_next_exchange(
    live: Live, engine: Engine, tenant_id: int
) -> None:
    catalog_file = fixture(IMPORT)
    yesterday = live.one_c()
    yesterday.checkauth()
    yesterday.init()
    yesterday.upload("import.xml", catalog_file[: len(catalog_file) // 3])
    # 1C gave up; the next exchange uploads the whole file under the same name.
    today = live.one_c()
    today.checkauth()
    today.init()
    today.upload("import.xml", catalog_file, pieces=3)
    assert_progress_then_success(today.import_file("import.xml"))
    run = runs_of(engine, tenant_id)[-1]
    assert_done(run, "catalog")
    assert run.counts["created"] == 2 + 22 and run.error_count == 0, (run.counts, run.errors)
    with Session(engine) as session:
        imported = session.get_one(ExchangeFile, run.file_id)
        assert imported.size == len(catalog_file)
    goods = catalog_of(engine, tenant_id)["goods"]
    assert set(goods) == {BOOTS, "bd72d913-55bc-11d9-848a-00112f43529a"}
    assert goods[BOOTS]["barcodes"] == ["2000018987155"]


def test_orders_exchange_answers_1c(live: Live, tenant_id: int) -> None:
    one_c = live.one_c(kind="sale")
    assert one_c.checkauth().first == "success"
    assert one_c.init()["zip"] == "yes"
    response = one_c.call("query")
    assert response.status_code == 200
    root = etree.fromstring(response.content)
    assert etree.QName(root).localname == "КоммерческаяИнформация"
    assert root.get("ВерсияСхемы")
    assert one_c.text("success").lines == ["success"]


# A killed import resumes from its checkpoint


def horse_of(worker: subprocess.Popen[bytes]) -> int:
    """RQ's work-horse: the worker's child that leads a process group of its own (the horse
    calls setpgrp; the scheduler child does not)."""
    listed = subprocess.run(
        ["pgrep", "-P", str(worker.pid)], capture_output=True, text=True, check=False
    )
    for pid in map(int, listed.stdout.split()):
        try:
            if os.getpgid(pid) == pid:
                return pid
        except ProcessLookupError:
            continue
    raise AssertionError(f"worker {worker.pid} has no work-horse")


def wait_run(engine: Engine, run_id: int, done: Any, timeout_s: float, log: Path) -> SyncRun:
    deadline = time.monotonic() + timeout_s
    while True:
        with Session(engine) as session:
            run = session.get_one(SyncRun, run_id)
        if done(run):
            return run
        state = (run.status, run.progress, run.checkpoint, run.message, run.errors[:3])
        if run.status == "failed" or time.monotonic() > deadline:
            tail = log.read_text("utf-8", errors="replace")[-3000:] if log.exists() else ""
            raise AssertionError(f"run {run_id}: {state}\nworkers:\n{tail}")
        time.sleep(0.05)


def upload_and_import(one_c: OneC, path: Path) -> None:
    """A new exchange uploading ``path`` and asking once to import it: the job is queued."""
    assert one_c.checkauth().first == "success"
    one_c.init()
    one_c.upload(path.name, path.read_bytes(), pieces=3)
    assert one_c.text("import", filename=path.name).first == "progress"


def import_to_the_end(one_c: OneC, path: Path) -> None:
    answers = one_c.import_file(path.name, timeout_s=90)
    assert answers[-1].lines == ["success"], answers[-1]


def test_a_killed_work_horse_resumes_from_its_checkpoint(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    catalog_path, offers_path = generate(tmp_path, KILL_GOODS)
    queue = f"test-cml-kill-{uuid.uuid4().hex[:8]}"
    env = worker_env(database_url, REDIS_URL, queue)
    killed, reference = add_exchange_tenant(engine, "killed"), add_exchange_tenant(engine, "whole")
    log = tmp_path / "worker.log"
    workers: list[subprocess.Popen[bytes]] = []
    app_env = {"DATABASE_URL": database_url, "REDIS_URL": REDIS_URL, "RQ_QUEUE": queue}
    try:
        with gunicorn(app_env, tmp_path / "gunicorn.log") as server:
            live = Live(server, queue)
            cut_side, whole_side = live.one_c("killed"), live.one_c("whole")
            upload_and_import(cut_side, catalog_path)
            (cut,) = (run.id for run in runs_of(engine, killed))
            workers.append(start_worker(env, log))
            before = wait_run(
                engine, cut, lambda r: r.checkpoint > commerceml.BATCH and r.progress < 100,
                60, log,
            )  # fmt: skip
            os.kill(horse_of(workers[0]), signal.SIGKILL)
            os.killpg(workers[0].pid, signal.SIGKILL)  # and the worker: the machine went down
            workers[0].wait()
            with Session(engine) as session:
                run = session.get_one(SyncRun, cut)
                assert run.status == "running" and 0 < run.progress < 100, run.progress
                assert run.checkpoint >= before.checkpoint
                assert run.lease_until is not None and run.lease_until > datetime.now(UTC)
                lost_by = run.worker
                # The lease (2 minutes) runs out: in the past as far as the next poll can tell.
                session.execute(
                    update(SyncRun)
                    .where(SyncRun.id == cut)
                    .values(lease_until=datetime.now(UTC) - timedelta(seconds=1))
                )
                session.commit()
            upload_and_import(whole_side, catalog_path)
            workers += [start_worker(env, log), start_worker(env, log)]
            import_to_the_end(cut_side, catalog_path)  # its first poll enqueues the run again
            import_to_the_end(whole_side, catalog_path)
            for side in (cut_side, whole_side):
                upload_and_import(side, offers_path)
            for side in (cut_side, whole_side):
                import_to_the_end(side, offers_path)
    finally:
        for worker in workers:
            stop_worker(worker)
        forget_queue(REDIS_URL, queue)

    resumed, uninterrupted = catalog_of(engine, killed), catalog_of(engine, reference)
    assert len(uninterrupted["goods"]) == KILL_GOODS + KILL_GOODS // 5 * 2
    assert resumed == uninterrupted
    (cut_run, cut_offers), (whole_run, whole_offers) = (
        runs_of(engine, killed),
        runs_of(engine, reference),
    )
    assert cut_run.id == cut and cut_run.worker != lost_by
    assert_done(cut_run, "catalog")
    assert_done(cut_offers, "offers")
    assert cut_run.counts == whole_run.counts, "a record written twice or missed"
    assert cut_run.checkpoint == whole_run.checkpoint
    assert cut_offers.counts == whole_offers.counts
