"""Hostile input never crashes or hangs the service: it is refused with a 4xx and a stable code
where it is read (JSON parsing, URL matching, schemas, SOAP parameters); a database that fails
answers 503 with ``Retry-After``; database errors reach the logs without statement values."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from flask import Flask, Response
from flask.testing import FlaskClient
from flask.views import MethodView
from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from config import Settings
from connector.api import Blueprint, get_api
from connector.app import create_app
from connector.db import db_session
from connector.errors import RETRY_AFTER_SECONDS
from connector.jsonio import BAD_STRING
from mappings.fields import NUMBER_OUT_OF_BOUNDS
from processing.customers.models import Customer
from processing.db import make_engine
from processing.discount_server.models import SaleRow
from processing.tenants.credentials import set_credentials
from processing.tenants.models import Tenant
from processing.tenants.service import add_admin_token, add_store, add_tenant
from sync.runtime import Runtime
from tests.connector.onec_http.world import World, receipt, seed_world

CUSTOMER = {"last_name": "Петров", "first_name": "Пётр", "phone": "+79031112233"}
SECRET_NAME = "Sekretova"


def _post_raw(client: FlaskClient, world: World, path: str, body: str) -> Response:
    return client.post(
        f"/api/v1/{path}", data=body.encode(), content_type="application/json", headers=world.auth
    )


def _error(response: Response, status: int, code: str) -> dict[str, Any]:
    body = response.get_json()
    assert response.status_code == status, body
    assert body["code"] == code, body
    assert any("а" <= ch <= "я" for ch in body["message"].lower()), "message must be Russian"
    return body  # type: ignore[no-any-return]


def _field(body: dict[str, Any], location: str, *path: Any) -> Any:
    found = body["details"]["fields"][location]
    for key in path:
        found = found[str(key)]
    return found


def _customers(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Customer)) or 0


# --- numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "where"),
    [
        ("identify", '{"card_number": "CARD", "expiring_days": 1e999999}', ["expiring_days"]),
        ("identify", '{"card_number": "CARD", "expiring_days": -1E-999999}', ["expiring_days"]),
        ("identify", '{"card_number": "CARD", "expiring_days": ' + "7" * 50 + "}",
         ["expiring_days"]),
        ("receipts/calculate", "RECEIPT", ["lines", 0, "line"]),
        ("customers", '{"last_name": "Петров", "extra": {"pet": 1.' + "0" * 60 + "}}",
         ["extra", "pet"]),
    ],
)  # fmt: skip
def test_a_number_beyond_bounds_is_refused_before_it_is_converted(
    client: FlaskClient, world: World, session: Session, path: str, body: str, where: list[Any]
) -> None:
    if body == "RECEIPT":
        body = json.dumps(receipt(card_number=world.card)).replace(
            '"line": 1', '"line": 1e999999', 1
        )
    body = body.replace("CARD", world.card)
    before = _customers(session)
    error = _error(_post_raw(client, world, path, body), 400, "VALIDATION_ERROR")
    assert _field(error, "json", *where) == [NUMBER_OUT_OF_BOUNDS]
    assert _customers(session) == before


def test_a_large_number_within_bounds_still_reaches_the_schema(
    client: FlaskClient, world: World
) -> None:
    body = f'{{"card_number": "{world.card}", "expiring_days": 1e30}}'
    error = _error(_post_raw(client, world, "identify", body), 400, "VALIDATION_ERROR")
    [message] = _field(error, "json", "expiring_days")
    assert message != NUMBER_OUT_OF_BOUNDS  # the range rule of the field, not the parser's bound


def test_a_wide_body_is_parsed_whatever_its_number_of_containers(
    client: FlaskClient, world: World
) -> None:
    lines = [
        {"line": n, "goods": f"g-{n}", "qty": 1, "price": 1.5, "sum": 1.5} for n in range(1, 201)
    ]
    response = client.post(
        "/api/v1/receipts/calculate",
        json=receipt(card_number=world.card, lines=lines),
        headers=world.auth,
    )
    assert response.status_code == 200, response.get_json()
    assert len(response.get_json()["lines"]) == 200


# --- strings and nesting -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ({"last_name": "Пет\u0000ров"}, ["last_name"]),
        ({"last_name": "\ud800"}, ["last_name"]),
        ({"first_name": "Анна\udfff"}, ["first_name"]),
        ({"extra": {"pet\u0000": "кот"}}, ["extra", "pet\\u0000"]),
        ({"extra": {"pets": ["кот", "\ud83d"]}}, ["extra", "pets", 1]),
    ],
)
def test_nul_and_lone_surrogates_are_refused_with_their_path(
    client: FlaskClient, world: World, session: Session, value: dict[str, Any], where: list[Any]
) -> None:
    before = _customers(session)
    body = json.dumps({**CUSTOMER, **value})  # ensure_ascii: \u0000 and \ud800 escapes
    error = _error(_post_raw(client, world, "customers", body), 400, "VALIDATION_ERROR")
    assert _field(error, "json", *where) == [BAD_STRING]
    assert _customers(session) == before


def test_a_surrogate_pair_is_a_character_not_a_refusal(
    client: FlaskClient, world: World, session: Session
) -> None:
    body = json.dumps({**CUSTOMER, "last_name": "Петров \U0001f600"})
    response = _post_raw(client, world, "customers", body)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["last_name"] == "Петров \U0001f600"


def test_nul_in_a_card_number_is_refused_before_the_lookup(
    client: FlaskClient, world: World
) -> None:
    body = json.dumps({"card_number": world.card[:5] + "\u0000" + world.card[5:]})
    error = _error(_post_raw(client, world, "identify", body), 400, "VALIDATION_ERROR")
    assert _field(error, "json", "card_number") == [BAD_STRING]


@pytest.mark.parametrize("depth", [33, 100_000])
def test_deep_nesting_is_refused(client: FlaskClient, world: World, depth: int) -> None:
    body = '{"last_name": "Петров", "extra": {"pet": ' + "[" * depth + "]" * depth + "}}"
    error = _error(_post_raw(client, world, "customers", body), 400, "JSON_TOO_DEEP")
    assert error["details"] == {"max_depth": 32}


def test_nesting_up_to_the_limit_is_parsed(client: FlaskClient, world: World) -> None:
    body = '{"last_name": "Петров", "extra": {"pet": ' + "[" * 30 + "]" * 30 + "}}"
    response = _post_raw(client, world, "customers", body)
    assert response.status_code < 500
    assert response.get_json()["code"] != "JSON_TOO_DEEP"


# --- dates ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "moment",
    ["0001-01-01T05:00:00", "0001-01-02T00:00:00+03:00", "9999-12-31T23:59:59-12:00",
     "9999-12-31T23:59:59", "1899-12-31T23:59:59"],
)  # fmt: skip
def test_dates_near_the_ends_of_the_calendar_are_refused(
    client: FlaskClient, world: World, moment: str
) -> None:
    for path in ("receipts/calculate", "receipts/commit"):
        body = receipt(card_number=world.card, sold_at=moment)
        response = client.post(f"/api/v1/{path}", json=body, headers=world.auth)
        error = _error(response, 400, "VALIDATION_ERROR")
        assert "1900–2999" in _field(error, "json", "sold_at")[0]
    body = {"cashier": "c-01", "number": "r-1", "original_shift": "5", "original_number": "1",
            "original_sold_at": moment}  # fmt: skip
    response = client.post("/api/v1/receipts/return", json=body, headers=world.auth)
    assert _field(_error(response, 400, "VALIDATION_ERROR"), "json", "original_sold_at")


@pytest.mark.parametrize("empty", ["0001-01-01T00:00:00", "0001-01-01T00:00:00+03:00"])
def test_the_empty_1c_date_still_means_not_given(
    client: FlaskClient, world: World, empty: str
) -> None:
    body = receipt(card_number=world.card, sold_at=empty)
    response = client.post("/api/v1/receipts/calculate", json=body, headers=world.auth)
    assert response.status_code == 200, response.get_json()


# --- URLs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["customers/2147483648", "customers/99999999999999999999999/purchases",
     "customers/" + "9" * 5000 + "/cards"],
)  # fmt: skip
def test_an_id_beyond_the_id_columns_is_not_found(
    client: FlaskClient, world: World, path: str
) -> None:
    method = "POST" if path.endswith("/cards") else "GET"
    response = client.open(f"/api/v1/{path}", method=method, json={"card_number": "1"},
                           headers=world.auth)  # fmt: skip
    _error(response, 404, "NOT_FOUND")


def test_the_largest_id_reaches_the_handler(client: FlaskClient, world: World) -> None:
    response = client.get("/api/v1/customers/2147483647", headers=world.auth)
    _error(response, 404, "CUSTOMER_NOT_FOUND")


@pytest.mark.parametrize(
    ("query", "name"),
    [("offset=9223372036854775808", "offset"), ("offset=1000000001", "offset"),
     ("limit=1e999999", "limit"), ("offset=" + "9" * 4000, "offset")],
)  # fmt: skip
def test_offsets_and_limits_are_bounded(
    client: FlaskClient, world: World, query: str, name: str
) -> None:
    response = client.get(f"/api/v1/customers/{world.customer_id}/purchases?{query}",
                          headers=world.auth)  # fmt: skip
    assert _field(_error(response, 400, "VALIDATION_ERROR"), "query", name)


def test_a_value_only_the_database_refuses_is_still_a_400(
    client: FlaskClient, world: World, session: Session
) -> None:
    tenant = session.get(Tenant, world.tenant_id)
    assert tenant is not None
    admin = {"Authorization": f"Bearer {add_admin_token(session, tenant, 'support').secret}"}
    response = client.get("/api/v1/sync-log?offset=9223372036854775808", headers=admin)
    _error(response, 400, "VALIDATION_ERROR")  # the schema lets it through; PostgreSQL does not


def test_nul_in_a_path_or_query_is_refused(client: FlaskClient, world: World) -> None:
    response = client.post(
        f"/api/v1/cards/{world.card}%00/block", json={"reason": "утеряна"}, headers=world.auth
    )
    assert _field(_error(response, 400, "VALIDATION_ERROR"), "path", "number") == [BAD_STRING]
    response = client.get("/api/v1/customers?phone=%2B7903%001112233", headers=world.auth)
    assert _field(_error(response, 400, "VALIDATION_ERROR"), "query", "phone") == [BAD_STRING]


def test_a_missing_token_is_refused_before_the_body_is_read(client: FlaskClient) -> None:
    response = client.post("/api/v1/receipts/calculate", data=b"{not json")
    _error(response, 401, "UNAUTHORIZED")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="loyalty-connector"'
    response = client.get("/api/v1/sync-log?limit=0")
    _error(response, 401, "UNAUTHORIZED")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="loyalty-connector-admin"'


def test_a_body_is_json_whatever_its_content_type(
    client: FlaskClient, world: World, session: Session
) -> None:
    before = _customers(session)
    response = client.post(
        "/api/v1/customers", data="<customer/>", content_type="application/xml", headers=world.auth
    )
    _error(response, 400, "MALFORMED_JSON")  # not silently read as an empty customer
    assert _customers(session) == before


def test_a_wrong_method_names_the_allowed_ones(client: FlaskClient, world: World) -> None:
    response = client.delete("/api/v1/identify", headers=world.auth)
    _error(response, 405, "METHOD_NOT_ALLOWED")
    assert set(response.headers["Allow"].split(", ")) == {"POST", "OPTIONS"}


# --- SOAP ----------------------------------------------------------------------------------

SOAP_NS = "http://localhost/rt2discountservice"


def _soap(body: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><soap:Envelope '
        f'xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="{SOAP_NS}">'
        f"<soap:Body>{body}</soap:Body></soap:Envelope>"
    ).encode()


def _sale(card: str = "card-1", amount: str = "10.00", period: str = "2026-11-01T10:00:00") -> str:
    return (
        "<m:ОбновитьДанныеОПродажах><m:ТипДокумента>ЧекККМ</m:ТипДокумента>"
        "<m:ИдентификаторДокумента>doc-1</m:ИдентификаторДокумента><m:ТаблицаТоваров>"
        f"<m:СтрокиТаблицы><m:Период>{period}</m:Период>"
        f"<m:ИдентификаторКарты>{card}</m:ИдентификаторКарты><m:Сумма>{amount}</m:Сумма>"
        "<m:Количество>1</m:Количество></m:СтрокиТаблицы></m:ТаблицаТоваров>"
        "</m:ОбновитьДанныеОПродажах>"
    )


@pytest.fixture
def shop(session: Session) -> str:
    tenant = add_tenant(session, "shop-x", "Сеть X")
    add_store(session, tenant, "s1", "Магазин")
    set_credentials(
        session, tenant, "discount_server", "user-x", "Secret-1C-pass", now=datetime.now(UTC)
    )
    return tenant.code


@pytest.mark.parametrize(
    "operation",
    [
        _sale(card="c" * 65),
        _sale(amount="1e40"),
        _sale(amount="1e999999"),
        _sale(amount="-1000000000000"),
        _sale(amount="1" + "0" * 120),
        _sale(period="9999-12-31T23:59:59"),
        _sale(period="0001-01-02T00:00:00"),
        "<m:ОбновитьДанныеОПродажах><m:ТипДокумента>" + "Т" * 101 + "</m:ТипДокумента>"
        "<m:ИдентификаторДокумента>doc-1</m:ИдентификаторДокумента>"
        "<m:ТаблицаТоваров/></m:ОбновитьДанныеОПродажах>",
        "<m:ПолучитьОстатокБонусовРасширенный><m:ИдентификаторКарты>card-1"
        "</m:ИдентификаторКарты><m:ДатаЗапроса>9999-12-31T23:59:59</m:ДатаЗапроса>"
        "</m:ПолучитьОстатокБонусовРасширенный>",
        "<m:ПолучитьСкидкиПоКупону><m:КодКупона>" + "К" * 201 + "</m:КодКупона>"
        "<m:ДатаЗапроса>2026-11-01T10:00:00</m:ДатаЗапроса></m:ПолучитьСкидкиПоКупону>",
    ],
)
def test_soap_values_no_column_can_hold_are_client_faults(
    client: FlaskClient, session: Session, shop: str, operation: str
) -> None:
    response = client.post(
        f"/soap/{shop}/discount-server",
        data=_soap(operation),
        content_type="text/xml; charset=utf-8",
        auth=("user-x", "Secret-1C-pass"),
    )
    text_body = response.get_data(as_text=True)
    assert response.status_code == 500, text_body  # SOAP 1.1 faults travel as 500
    assert "<faultcode>soap:Client</faultcode>" in text_body, text_body
    assert "SOAP_INVALID_ARGUMENT" in text_body
    assert session.scalar(select(func.count()).select_from(SaleRow)) == 0


def test_soap_values_within_the_columns_are_stored(
    client: FlaskClient, session: Session, shop: str
) -> None:
    response = client.post(
        f"/soap/{shop}/discount-server",
        data=_soap(_sale(card="c" * 64, amount="999999999999.99")),
        content_type="text/xml; charset=utf-8",
        auth=("user-x", "Secret-1C-pass"),
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(SaleRow)) == 1


# --- database failures ---------------------------------------------------------------------


def _lost_connection(statement: str = "COMMIT") -> OperationalError:
    return OperationalError(
        statement, {}, psycopg.OperationalError("server closed the connection unexpectedly")
    )


def _register(client: FlaskClient, world: World) -> Response:
    return client.post("/api/v1/customers", json=CUSTOMER, headers=world.auth)


def _assert_unavailable(response: Response) -> None:
    body = _error(response, 503, "SERVICE_UNAVAILABLE")
    assert "Повторите" in body["message"]
    assert response.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)


@pytest.fixture
def failing_commit(runtime: Runtime) -> Iterator[list[BaseException]]:
    """Commits of request sessions raise the exception put in the list."""
    raised: list[BaseException] = []

    def fail(_session: Session) -> None:
        if raised:
            raise raised[0]

    assert runtime.sessionmaker is not None
    event.listen(runtime.sessionmaker, "before_commit", fail)
    yield raised
    event.remove(runtime.sessionmaker, "before_commit", fail)


def test_a_commit_that_loses_the_connection_is_503_and_stores_nothing(
    client: FlaskClient, world: World, session: Session, failing_commit: list[BaseException]
) -> None:
    before = _customers(session)
    failing_commit.append(_lost_connection())
    _assert_unavailable(_register(client, world))
    assert _customers(session) == before
    failing_commit.clear()
    assert _register(client, world).status_code == 201  # the retry the answer asks for


@pytest.mark.parametrize(
    ("exception", "status", "code"),
    [
        (OperationalError("COMMIT", {}, psycopg.errors.SerializationFailure("conflict")), 503,
         "SERVICE_UNAVAILABLE"),
        (DataError("INSERT", {}, psycopg.errors.StringDataRightTruncation("too long")), 400,
         "VALIDATION_ERROR"),
        (IntegrityError("INSERT", {}, psycopg.errors.UniqueViolation("duplicate")), 500,
         "INTERNAL_ERROR"),
        (RuntimeError("a bug in a listener"), 500, "INTERNAL_ERROR"),
    ],
)  # fmt: skip
def test_a_failed_commit_answers_by_its_cause_never_as_a_success(
    client: FlaskClient,
    world: World,
    session: Session,
    failing_commit: list[BaseException],
    exception: BaseException,
    status: int,
    code: str,
) -> None:
    before = _customers(session)
    failing_commit.append(exception)
    _error(_register(client, world), status, code)
    assert _customers(session) == before


def test_a_failure_after_the_handler_is_an_internal_error(app: Flask) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: Flask answers the 500

    @app.after_request
    def _broken_hook(response: Response) -> Response:
        raise RuntimeError("a bug in an after_request hook")

    _error(app.test_client().get("/api/v1/health"), 500, "INTERNAL_ERROR")


def _test_routes() -> Blueprint:
    """Handlers that fail at the database the way a real one can."""
    blp = Blueprint("hostile_test", __name__, url_prefix="/test-hostile")

    @blp.route("/lost")
    class Lost(MethodView):
        def get(self) -> None:
            raise _lost_connection("SELECT 1")

    @blp.route("/serialization")
    class Serialization(MethodView):
        def get(self) -> None:  # the hot paths use the raw psycopg connection
            raise psycopg.errors.SerializationFailure("could not serialize access")

    @blp.route("/nul-to-database")
    class NulToDatabase(MethodView):
        def get(self) -> None:
            db_session().execute(text("SELECT :value"), {"value": "a\x00b"})

    @blp.route("/too-long-for-column")
    class TooLongForColumn(MethodView):
        def get(self) -> None:
            db_session().execute(
                text("INSERT INTO tenants (code, name) VALUES (:code, 'x')"), {"code": "c" * 65}
            )

    @blp.route("/failing-statement")
    class FailingStatement(MethodView):
        def get(self) -> None:
            db_session().execute(text("SELECT length(:name) / 0"), {"name": SECRET_NAME})

    return blp


@pytest.fixture
def test_client(app: Flask) -> FlaskClient:
    get_api(app).register_blueprint(_test_routes())
    return app.test_client()


@pytest.mark.parametrize("path", ["lost", "serialization"])
def test_a_database_failure_in_a_handler_is_503(test_client: FlaskClient, path: str) -> None:
    _assert_unavailable(test_client.get(f"/test-hostile/{path}"))


@pytest.mark.parametrize("path", ["nul-to-database", "too-long-for-column"])
def test_a_value_the_database_cannot_hold_is_400(test_client: FlaskClient, path: str) -> None:
    body = _error(test_client.get(f"/test-hostile/{path}"), 400, "VALIDATION_ERROR")
    assert body["details"] == {}  # which value it was would echo it


def test_a_failing_statement_is_logged_without_its_parameters(
    test_client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        _error(test_client.get("/test-hostile/failing-statement"), 500, "INTERNAL_ERROR")
    logged = caplog.text
    assert "division by zero" in logged and "SELECT length(" in logged  # the failure is there
    assert SECRET_NAME not in logged


@pytest.mark.committed
def test_a_connection_killed_before_commit_is_503_and_the_retry_succeeds(
    settings: Settings, engine: Engine, database_url: str
) -> None:
    with Session(engine) as seeding:
        world = seed_world(seeding)
        seeding.commit()
    app_engine = make_engine(database_url)
    runtime = Runtime(settings, engine=app_engine)
    client = create_app(runtime=runtime).test_client()
    kills = [1]  # the first commit only

    def kill_own_connection(session: Session) -> None:
        if not kills:
            return
        kills.pop()
        pid = session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar()
        with engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

    event.listen(Session, "before_commit", kill_own_connection)
    try:
        _assert_unavailable(_register(client, world))
        response = _register(client, world)
        assert response.status_code == 201, response.get_json()
    finally:
        event.remove(Session, "before_commit", kill_own_connection)
        runtime.dispose()
    with Session(engine) as check:
        phones = check.scalars(select(Customer.phone).where(Customer.phone == CUSTOMER["phone"]))
        assert list(phones) == [CUSTOMER["phone"]]


@pytest.mark.parametrize(
    "query",
    ["sync-log?since=0001-01-01T00:00:00%2B14:00", "sync-log?since=9999-12-31T23:59:59-12:00",
     "pd-access-log?since=0001-01-01T00:00:00%2B14:00", "sync-log?offset=9223372036854775808",
     "pd-access-log?customer=2717442788", "pd-access-log?limit=1e999999"],
)  # fmt: skip
def test_admin_queries_out_of_range_are_400(
    client: FlaskClient, world: World, session: Session, query: str
) -> None:
    admin = add_admin_token(session, session.get_one(Tenant, world.tenant_id), "Поддержка")
    session.flush()
    response = client.get(f"/api/v1/{query}", headers={"Authorization": f"Bearer {admin.secret}"})
    _error(response, 400, "VALIDATION_ERROR")
