"""A live HTTP server on loopback for zeep, on committed data."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import requests
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from werkzeug.serving import make_server
from zeep import Client, Settings
from zeep.transports import Transport

from config import load_settings
from connector.app import create_app
from processing.tenants.credentials import set_credentials
from processing.tenants.service import add_store, add_tenant
from sync.runtime import Runtime

PASSWORD = "Secret-1C-pass"


@dataclass
class Shop:
    tenant: str
    user: str
    password: str


@pytest.fixture
def shops(engine: Engine) -> dict[str, Shop]:
    with Session(engine) as session:
        made = {}
        for code in ("a", "b"):
            tenant = add_tenant(session, f"shop-{code}", f"Сеть {code}")
            add_store(session, tenant, "s1", "Магазин")
            set_credentials(
                session, tenant, "discount_server", f"user-{code}", PASSWORD, now=datetime.now(UTC)
            )
            made[code] = Shop(f"shop-{code}", f"user-{code}", PASSWORD)
        session.commit()
    return made


@contextmanager
def serve(database_url: str) -> Iterator[str]:
    """A fresh app (its own runtime and engine) on a free loopback port."""
    runtime = Runtime(load_settings({"DATABASE_URL": database_url}))
    server = make_server("127.0.0.1", 0, create_app(runtime=runtime), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        runtime.dispose()


@pytest.fixture
def server(database_url: str) -> Iterator[str]:
    with serve(database_url) as base:
        yield base


ClientFactory = Callable[..., Client]


def zeep_client(base: str, shop: Shop, port: str = "ДисконтныйСерверSoap") -> Client:
    session = requests.Session()
    session.auth = (shop.user, shop.password)
    client = Client(
        f"{base}/soap/{shop.tenant}/discount-server?wsdl",
        transport=Transport(session=session, timeout=20),
        settings=Settings(strict=True, xml_huge_tree=False),
    )
    if port != "ДисконтныйСерверSoap":
        return client.bind("ДисконтныйСервер", port)
    return client
