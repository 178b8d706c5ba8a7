"""The WSDL's shape, and everything a SOAP client can get wrong: each gets a fault (or 401)
and writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from lxml import etree
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from connector.soap.discount_server import WSDL_FILE
from processing.discount_server.models import SaleRow
from sync.models import SyncLogEntry
from tests.connector.soap.conftest import Shop

WSDL = "http://schemas.xmlsoap.org/wsdl/"
XS = "http://www.w3.org/2001/XMLSchema"
NS = "http://localhost/rt2discountservice"
OPERATIONS = {
    "ПолучитьСуммуНакопления", "ПолучитьДанныеПоследнейПокупки", "ПолучитьОстатокБонусов",
    "ПолучитьОстатокБонусовРасширенный", "ОбновитьДанныеОПродажах", "ОбновитьДанныеОБонусах",
    "ОбновитьДанныеОКупонах", "ПолучитьСкидкиПоКупону",
}  # fmt: skip


def test_wsdl_is_what_1c_imports_cleanly() -> None:
    tree = etree.parse(str(WSDL_FILE))
    root = tree.getroot()
    assert root.get("targetNamespace") == NS
    schemas = root.findall(f"{{{WSDL}}}types/{{{XS}}}schema")
    assert len(schemas) == 1 and schemas[0].get("elementFormDefault") == "qualified"
    assert not root.findall(f".//{{{XS}}}import") and not root.findall(f".//{{{XS}}}include")
    for part in root.iter(f"{{{WSDL}}}part"):
        assert part.get("element") and not part.get("type"), part.get("name")
    port_type = root.find(f"{{{WSDL}}}portType")
    assert port_type is not None
    assert {op.get("name") for op in port_type.findall(f"{{{WSDL}}}operation")} == OPERATIONS
    for operation in port_type.findall(f"{{{WSDL}}}operation"):
        [fault] = operation.findall(f"{{{WSDL}}}fault")
        message = root.find(f"{{{WSDL}}}message[@name='{fault.get('message').split(':')[1]}']")
        assert message is not None and message.find(f"{{{WSDL}}}part").get("element")
    for node in root.iter():
        action = node.get("soapAction")
        if action is not None:
            assert action == "" or action.isascii()
        if node.get("style") is not None:
            assert node.get("style") == "document"
        if node.get("use") is not None:
            assert node.get("use") == "literal"
    service = root.find(f"{{{WSDL}}}service")
    assert service is not None and service.get("name") == "ДисконтныйСервер"
    ports = {port.get("name") for port in service.findall(f"{{{WSDL}}}port")}
    assert ports == {"ДисконтныйСерверSoap", "ДисконтныйСерверSoap12"}
    params = [e.get("name") for e in schemas[0].findall(
        f"{{{XS}}}element[@name='ПолучитьСуммуНакопления']//{{{XS}}}element")]  # fmt: skip
    assert params == ["ИдентификаторКарты", "ДатаНачала", "ДатаОкончания",
                      "ИдентификаторСегмента", "ИдентификаторИсключаемогоДокументта"]  # fmt: skip


pytestmark = pytest.mark.committed


def _url(server: str, shop: Shop) -> str:
    return f"{server}/soap/{shop.tenant}/discount-server"


def test_served_wsdl_names_the_serving_address(server: str, shops: dict[str, Shop]) -> None:
    shop = shops["a"]
    response = requests.get(_url(server, shop) + "?wsdl", auth=(shop.user, shop.password))
    assert response.status_code == 200
    root = etree.fromstring(response.content)
    locations = {node.get("location") for node in root.iter() if node.get("location")}
    assert locations == {_url(server, shop)}


@pytest.mark.parametrize("method", ["get", "post"])
def test_wrong_credentials_get_401_with_a_basic_challenge(
    server: str, shops: dict[str, Shop], method: str
) -> None:
    a, b = shops["a"], shops["b"]
    for auth in (None, (a.user, "wrong-password"), (a.user, a.password)):
        response = requests.request(method, _url(server, b), auth=auth, data=b"<x/>")
        assert response.status_code == 401, auth
        assert response.headers["WWW-Authenticate"] == 'Basic realm="loyalty-connector"'
        assert b"UNAUTHORIZED" in response.content


def _envelope(body: str, ns: str = "http://schemas.xmlsoap.org/soap/envelope/") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="{ns}" '
            f'xmlns:m="{NS}"><soap:Body>{body}</soap:Body></soap:Envelope>').encode()  # fmt: skip


SALE = (
    "<m:ОбновитьДанныеОПродажах><m:ТипДокумента>ЧекККМ</m:ТипДокумента>"
    "<m:ИдентификаторДокумента>doc-1</m:ИдентификаторДокумента><m:ТаблицаТоваров>"
    "<m:СтрокиТаблицы><m:Период>2026-11-01T10:00:00</m:Период>"
    "<m:ИдентификаторКарты>card-1</m:ИдентификаторКарты><m:Сумма>{amount}</m:Сумма>"
    "<m:Количество>1</m:Количество></m:СтрокиТаблицы></m:ТаблицаТоваров>"
    "</m:ОбновитьДанныеОПродажах>"
)
XXE = (
    '<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
    f'xmlns:m="{NS}"><soap:Body>'
    + SALE.replace("{amount}", "&xxe;")
    + "</soap:Body></soap:Envelope>"
)


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"not xml at all", "SOAP_MALFORMED_ENVELOPE"),
        (b"<Envelope><Body/></Envelope>", "SOAP_MALFORMED_ENVELOPE"),
        (_envelope(""), "SOAP_MALFORMED_ENVELOPE"),
        (_envelope(SALE.format(amount="1"), ns="urn:wrong"), "SOAP_MALFORMED_ENVELOPE"),
        (_envelope(SALE.format(amount="1")).replace(NS.encode(), b"urn:other"),
         "SOAP_UNKNOWN_OPERATION"),
        (_envelope("<m:УдалитьВсё/>"), "SOAP_UNKNOWN_OPERATION"),
        (XXE.encode(), "SOAP_XML_FORBIDDEN"),
        (_envelope(SALE.format(amount="много")), "SOAP_INVALID_ARGUMENT"),
        (_envelope(SALE.format(amount="1") + "<!--" + "x" * (9 * 1024 * 1024) + "-->"),
         "SOAP_TOO_LARGE"),
    ],
)  # fmt: skip
def test_bad_requests_get_a_fault_and_write_nothing(
    server: str, shops: dict[str, Shop], engine: Engine, payload: bytes, code: str
) -> None:
    shop = shops["a"]
    response = requests.post(
        _url(server, shop), data=payload, auth=(shop.user, shop.password),
        headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": "anything"},
    )  # fmt: skip
    assert response.status_code == 500
    fault = etree.fromstring(response.content)
    assert fault.find(".//{http://schemas.xmlsoap.org/soap/envelope/}Fault") is not None
    assert fault.findtext(f".//{{{NS}}}Код") == code
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(SaleRow)) == 0
        assert session.scalar(select(func.count()).select_from(SyncLogEntry)) == 0


def test_soap_12_fault_and_any_soapaction(server: str, shops: dict[str, Shop]) -> None:
    shop = shops["a"]
    ok = requests.post(
        _url(server, shop), data=_envelope(SALE.format(amount="5")),
        auth=(shop.user, shop.password),
        headers={"Content-Type": "text/xml; charset=utf-8",
                 "SOAPAction": '"http://localhost/rt2discountservice#ДисконтныйСервер"'
                 .encode().decode("latin-1")},
    )  # fmt: skip
    assert ok.status_code == 200 and b"true" in ok.content
    bad = requests.post(
        _url(server, shop), data=_envelope("<m:Нет/>", ns="http://www.w3.org/2003/05/soap-envelope"),
        auth=(shop.user, shop.password), headers={"Content-Type": "application/soap+xml"},
    )  # fmt: skip
    assert bad.status_code == 500 and bad.headers["Content-Type"].startswith("application/soap+xml")
    root = etree.fromstring(bad.content)
    assert root.findtext(".//{http://www.w3.org/2003/05/soap-envelope}Value") == "soap:Sender"


def test_wsdl_file_ships_with_the_package() -> None:
    assert Path(WSDL_FILE).is_file()
