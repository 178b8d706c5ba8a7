"""Manzana-compatible POS processing (SOAP), called as POS software calls it: zeep loads our WSDL
from the running app and calls ProcessRequest; raw bodies shaped like the recorded traffic are
accepted too."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests
from lxml import etree
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from zeep import Client, Settings
from zeep.transports import Transport

from mappings.manzana import RETURN_CODES
from tests.connector.onec_http.world import World, seed_world
from tests.connector.soap.conftest import serve

pytestmark = pytest.mark.committed

NS = "http://loyalty.manzanagroup.ru/loyalty.xsd"
D = Decimal


@pytest.fixture
def world(engine: Engine) -> World:
    with Session(engine) as session:
        found = seed_world(session)
        session.commit()
    return found


@pytest.fixture
def base(database_url: str) -> Iterator[str]:
    with serve(database_url) as url:
        yield url


def _client(
    base: str, token: str, *, basic: bool = False, path: str = "POSProcessing.asmx"
) -> Client:
    session = requests.Session()
    if basic:
        session.auth = ("p1", token)
    else:
        session.headers["Authorization"] = f"Bearer {token}"
    return Client(
        f"{base}/soap/acme/{path}?WSDL",
        transport=Transport(session=session, timeout=20),
        settings=Settings(strict=True, xml_huge_tree=False),
    )


def _balance(client: Client, **card: Any) -> Any:
    result = client.service.ProcessRequest(
        request={"BalanceRequest": {"RequestID": "1234", "Card": card, "Organization": "acme",
                                    "BusinessUnit": "s1", "POS": "p1"}},
        orgName="acme",
    )  # fmt: skip
    return result.BalanceResponse


def test_balance_by_card_and_by_phone(base: str, world: World) -> None:
    client = _client(base, world.token)
    by_card = _balance(client, CardNumber=world.card)
    assert (by_card.ReturnCode, by_card.Message, by_card.RequestID) == (0, "OK", "1234")
    assert (by_card.CardBalance, by_card.CardActiveBalance) == (D("1000.00"), D("1000.00"))
    assert by_card.LevelName == "Базовый" and by_card.FirstName == "Иван П."
    by_phone = _balance(_client(base, world.token, basic=True, path="pos-processing"),
                        MobilePhone="+7 916 123-45-67")  # fmt: skip
    assert (by_phone.ReturnCode, by_phone.CardBalance) == (0, D("1000.00"))
    by_track = _balance(client, Track2=f";{world.card}=4912101?")
    assert (by_track.ReturnCode, by_track.CardBalance) == (0, D("1000.00"))
    unreadable = _balance(client, Track2="%garbage?")
    assert unreadable.ReturnCode == 100 and "магнитной полосы" in unreadable.Message
    twin = _json_post(base, world, "identify", {"card_number": world.card})  # the JSON twin
    assert (by_card.CardBalance, by_card.CardActiveBalance, by_card.LevelName,
            by_card.CardDiscount, by_card.FirstName) == (
        twin["balance"]["total"], twin["balance"]["active"], twin["level"]["name"],
        twin["level"]["discount_percent"], twin["customer_name"],
    )  # fmt: skip
    unknown = requests.post(
        f"{base}/api/v1/identify",
        json={"card_number": "2775999999992"},
        headers={"Authorization": f"Bearer {world.token}"},
        timeout=20,
    )
    assert unknown.json()["code"] == "CARD_NOT_FOUND"  # 80241 on this face


def test_errors_are_answers_with_a_return_code(base: str, world: World) -> None:
    unknown = _balance(_client(base, world.token), CardNumber="2775999999992")
    assert (unknown.ReturnCode, unknown.Message) == (80241, "Карта не найдена.")
    stranger = _balance(_client(base, "wrong-token"), CardNumber=world.card)
    assert stranger.ReturnCode == 201 and "Токен кассы" in stranger.Message
    assert stranger.CardBalance is None
    no_card = _balance(_client(base, world.token))
    assert no_card.ReturnCode == 100 and "Укажите карту" in no_card.Message
    empty = (
        _client(base, world.token)
        .service.ProcessRequest(
            request={"ChequeRequest": {"Number": "1", "OperationType": "Sale",
                                       "ChequeType": "Soft"}}
        )
        .ChequeResponse
    )  # fmt: skip
    assert empty.ReturnCode == 100 and "Item" in empty.Message  # a cheque without items
    offer = _client(base, world.token).service.ProcessRequest(request={"OfferRequest": {}})
    assert offer.OfferResponse.ReturnCode == 120  # offers are not processed yet


def _raw(base: str, token: str, body: bytes, path: str = "POSProcessing.asmx") -> requests.Response:
    return requests.post(
        f"{base}/soap/acme/{path}", data=body, timeout=20,
        headers={"Content-Type": "text/xml; charset=utf-8", "Authorization": f"Bearer {token}",
                 "SOAPAction": f"{NS}/ProcessRequest"},
    )  # fmt: skip


RECORDED = """<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"
               xmlns:tns="http://loyalty.manzanagroup.ru/loyalty.xsd">
  <soap:Body>
    <tns:ProcessRequest>
      <tns:request>
        <tns:BalanceRequest>
          <tns:Card><tns:CardNumber>{card}</tns:CardNumber></tns:Card>
          <tns:RequestID>1234</tns:RequestID>
          <tns:Organization>acme</tns:Organization>
          <tns:DateTime>2015-03-12T10:19:58.813+03:00</tns:DateTime>
          <tns:BusinessUnit>{store}</tns:BusinessUnit>
          <tns:POS>p1</tns:POS>
        </tns:BalanceRequest>
      </tns:request>
      <tns:orgName>acme</tns:orgName>
    </tns:ProcessRequest>
  </soap:Body>
</soap:Envelope>"""


def _answer(response: requests.Response) -> etree._Element:
    root = etree.fromstring(response.content)
    found = root.find(f".//{{{NS}}}BalanceResponse")
    assert found is not None, response.text
    return found


def test_recorded_shape_fields_out_of_order(base: str, world: World) -> None:
    response = _raw(base, world.token, RECORDED.format(card=world.card, store="s1").encode())
    assert response.status_code == 200, response.text
    answer = _answer(response)
    assert answer.findtext(f"{{{NS}}}ReturnCode") == "0"
    assert answer.findtext(f"{{{NS}}}CardBalance") == "1000.00"
    # the answer's namespace is the default one
    assert b"<ProcessRequestResponse xmlns=" in response.content
    wrong_store = _raw(base, world.token, RECORDED.format(card=world.card, store="s9").encode())
    assert _answer(wrong_store).findtext(f"{{{NS}}}ReturnCode") == "110"


@pytest.mark.parametrize(
    "body",
    [
        b"<not xml",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        b"<x>&e;</x></soap:Body></soap:Envelope>",
        b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        b"<Other/></soap:Body></soap:Envelope>",
    ],
)
def test_unreadable_envelopes_get_a_fault(base: str, world: World, body: bytes) -> None:
    response = _raw(base, world.token, body)
    assert response.status_code == 400
    assert b"Fault" in response.content and b"passwd" not in response.content


def test_the_wsdl_names_this_tenants_endpoint(base: str) -> None:
    for path in ("POSProcessing.asmx", "pos-processing"):
        response = requests.get(f"{base}/soap/acme/{path}?wsdl", timeout=20)
        assert response.status_code == 200
        assert f'location="{base}/soap/acme/{path}"'.encode() in response.content


LINES = [
    {"line": 1, "goods": "g-100", "qty": "3", "price": "100.0", "sum": "300.0"},
    {"line": 2, "goods": "g-200", "qty": "0.347", "price": "459.0", "sum": "159.27"},
    {"line": 3, "goods": "g-400", "qty": "2", "price": "89.99", "sum": "179.98"},
]


def _cheque(client: Client, cheque_type: str, number: str, card: str, **extra: Any) -> Any:
    items = extra.pop("Item", None) or [
        {"PositionNumber": line["line"], "Article": line["goods"], "Price": line["price"],
         "Quantity": line["qty"], "Summ": line["sum"]} for line in LINES
    ]  # fmt: skip
    result = client.service.ProcessRequest(
        request={"ChequeRequest": {"RequestID": "1234", "Card": {"CardNumber": card},
                                   "Number": number, "OperationType": "Sale",
                                   "ChequeType": cheque_type, "Item": items,
                                   "DateTime": "2026-05-01T12:00:00", **extra}},
    )  # fmt: skip
    return result.ChequeResponse


def _json_commit(base: str, world: World, number: str, pay: str) -> Any:
    body = {"cashier": "c-01", "shift": "5", "number": number, "card_number": world.card,
            "sold_at": "2026-05-01T12:00:00", "pay_bonus": pay,
            "lines": [{**line, "qty": D(line["qty"]), "price": D(line["price"]),
                       "sum": D(line["sum"])} for line in LINES]}  # fmt: skip
    return _json_post(base, world, "receipts/commit", body)


def _json(body: dict[str, Any]) -> str:
    import json

    return json.dumps(body, default=str)


def test_soft_then_fiscal_sale_replay_and_rollback(base: str, world: World) -> None:
    client = _client(base, world.token)
    soft = _cheque(client, "Soft", "1042", world.card, PaidByBonus="100.0")
    assert soft.ReturnCode == 0, soft.Message
    assert (soft.Summ, soft.WriteoffBonus, soft.AvailablePayment) == (
        D("639.25"),
        D("100.00"),
        soft.AvailablePayment,
    )
    fiscal = _cheque(client, "Fiscal", "1042", world.card, PaidByBonus="100.0")
    assert fiscal.ReturnCode == 0, fiscal.Message
    assert fiscal.TransactionID == soft.TransactionID and fiscal.TransactionID > 0
    figures = [(i.PositionNumber, i.SummDiscounted, i.WriteoffBonus, i.ChargedBonus)
               for i in fiscal.Item]  # fmt: skip
    assert figures == [(i.PositionNumber, i.SummDiscounted, i.WriteoffBonus, i.ChargedBonus)
                       for i in soft.Item]  # fmt: skip
    assert sum(i.SummDiscounted for i in fiscal.Item) == fiscal.SummDiscounted
    again = _cheque(client, "Fiscal", "1042", world.card, PaidByBonus="100.0")
    assert (again.TransactionID, again.SummDiscounted) == (
        fiscal.TransactionID, fiscal.SummDiscounted,
    )  # fmt: skip
    before = _balance(client, CardNumber=world.card).CardBalance
    rollback = client.service.ProcessRequest(
        request={"ChequeRequest": {"Number": "1042", "OperationType": "Rollback",
                                   "ChequeType": "Fiscal",
                                   "TransactionReference": {"TransactionID":
                                                            fiscal.TransactionID}}},
    ).ChequeResponse  # fmt: skip
    assert rollback.ReturnCode == 0, rollback.Message
    after = _balance(client, CardNumber=world.card).CardBalance
    assert after == before + D("100.00") - fiscal.ChargedBonus
    # the JSON twin of the same receipt gives the same figures (after the rollback: the same
    # balance)
    twin = _json_commit(base, world, "1043", "100.00")
    assert [(line["line"], line["final_sum"], line["bonus_payment"], line["accrual"])
            for line in twin["lines"]] == figures  # fmt: skip
    assert (twin["totals"]["final_sum"], twin["totals"]["accrual"]) == (
        fiscal.SummDiscounted, fiscal.ChargedBonus,
    )  # fmt: skip
    unknown = client.service.ProcessRequest(
        request={"ChequeRequest": {"OperationType": "Rollback", "ChequeType": "Fiscal",
                                   "TransactionReference": {"TransactionID": 7}}},
    ).ChequeResponse  # fmt: skip
    assert unknown.ReturnCode != 0 and unknown.Message


def test_return_by_cheque_reference(base: str, world: World) -> None:
    client = _client(base, world.token)
    sale = _cheque(client, "Fiscal", "2001", world.card)
    assert sale.ReturnCode == 0 and sale.ChargedBonus > 0

    def returned(number: str, items: list[dict[str, Any]], cheque_type: str = "Fiscal") -> Any:
        return client.service.ProcessRequest(
            request={"ChequeRequest": {
                "Number": number, "OperationType": "Return", "ChequeType": cheque_type,
                "Card": {"CardNumber": world.card}, "DateTime": "2026-05-01T13:00:00",
                "ChequeReference": {"Number": "2001", "POS": "p1",
                                    "DateTime": "2026-05-01T12:00:00+00:00"},
                "Item": items,
            }},
        ).ChequeResponse  # fmt: skip

    soft = returned("r-1", [], "Soft")
    assert soft.ReturnCode == 0 and soft.WriteoffBonus == sale.ChargedBonus  # a preview
    one = [{"PositionNumber": 1, "Article": "G-100", "Quantity": "1", "Price": "100.0",
            "Summ": "100.0"}]  # fmt: skip
    part = returned("r-1", one)
    assert part.ReturnCode == 0, part.Message
    assert (part.Summ, part.WriteoffBonus) == (D("100.00"), D("3.00"))  # 3% taken back
    assert part.Message == "OK. Списано: 3,00"
    assert returned("r-1", one).TransactionID == part.TransactionID  # a repeat replays
    rest = returned("r-2", [])
    assert rest.WriteoffBonus == sale.ChargedBonus - part.WriteoffBonus
    too_much = returned("r-3", one)
    assert too_much.ReturnCode == RETURN_CODES["RETURN_EXCEEDS_SALE"]
    assert "осталось меньше" in too_much.Message, too_much.Message


def test_every_error_code_has_a_documented_return_code() -> None:
    """Every code the service can answer has its own stable number, listed in docs/pos-soap.md."""
    import re

    from mappings.manzana import RETURN_CODES
    from tests.conftest import REPO_ROOT
    from tests.test_error_codes import _all_error_classes, _import_everything

    _import_everything()
    codes = {cls.code for cls in _all_error_classes()}
    assert codes <= set(RETURN_CODES), sorted(codes - set(RETURN_CODES))
    assert len(set(RETURN_CODES.values())) == len(RETURN_CODES) and 0 not in RETURN_CODES.values()
    text = (REPO_ROOT / "docs" / "pos-soap.md").read_text(encoding="utf-8")
    documented = {code: int(n) for n, code in re.findall(r"^\| (\d+) \| `([A-Z_0-9]+)` \|$",
                                                          text, flags=re.MULTILINE)}  # fmt: skip
    assert documented == RETURN_CODES


def test_soap_12_and_an_oversize_envelope(base: str, world: World) -> None:
    soap12 = _client(base, world.token).bind("POSProcessing", "POSProcessingSoap12")
    answer = soap12.ProcessRequest(
        request={"BalanceRequest": {"Card": {"CardNumber": world.card}}}
    ).BalanceResponse
    assert (answer.ReturnCode, answer.CardBalance) == (0, D("1000.00"))
    huge = b"<x>" + b"a" * (9 * 1024 * 1024) + b"</x>"
    response = _raw(base, world.token, huge)
    assert response.status_code == 400 and b"SOAP_TOO_LARGE" in response.content


def test_a_refused_cheque_leaves_nothing_and_its_correction_goes_through(
    base: str, world: World
) -> None:
    client = _client(base, world.token)
    refused = _cheque(client, "Fiscal", "3001", world.card, PaidByBonus="5000.0")
    assert refused.ReturnCode != 0 and refused.Message
    again = _cheque(client, "Fiscal", "3001", world.card, PaidByBonus="5000.0")
    assert again.ReturnCode == refused.ReturnCode  # not "OK": nothing was stored
    fixed = _cheque(client, "Fiscal", "3001", world.card, PaidByBonus="100.0")
    assert (fixed.ReturnCode, fixed.WriteoffBonus) == (0, D("100.00"))
    # a soft rollback posts nothing; a cancelled cheque sent again is not answered "OK"
    rollback = {"OperationType": "Rollback",
                "TransactionReference": {"TransactionID": fixed.TransactionID}}  # fmt: skip
    soft = client.service.ProcessRequest(
        request={"ChequeRequest": {**rollback, "ChequeType": "Soft"}}
    ).ChequeResponse
    assert soft.ReturnCode == 0
    assert _balance(client, CardNumber=world.card).CardBalance == (
        D("1000.00") - fixed.WriteoffBonus + fixed.ChargedBonus
    )
    client.service.ProcessRequest(request={"ChequeRequest": {**rollback, "ChequeType": "Fiscal"}})
    resent = _cheque(client, "Fiscal", "3001", world.card, PaidByBonus="100.0")
    assert resent.ReturnCode == RETURN_CODES["RECEIPT_CONFLICT"] and "отменён" in resent.Message
    bad = _cheque(client, "Soft", "3002", world.card, Item=[{"PositionNumber": 1, "Article": "g",
                                                             "Price": "x", "Quantity": "1",
                                                             "Summ": "1"}])  # fmt: skip
    assert bad.ReturnCode == 100 and "Item 1, Price" in bad.Message, bad.Message


def test_return_figures_equal_the_json_twins(base: str, world: World) -> None:
    """The same sale and partial return over SOAP and over JSON: the same money and bonus."""
    client = _client(base, world.token)
    sale = _cheque(client, "Fiscal", "7001", world.card, PaidByBonus="50.0")
    soap_return = client.service.ProcessRequest(
        request={"ChequeRequest": {
            "Number": "r-7001", "OperationType": "Return", "ChequeType": "Fiscal",
            "ChequeReference": {"Number": "7001"},
            "Item": [{"PositionNumber": 1, "Article": "g-200", "Quantity": "0.347",
                      "Price": "459.0", "Summ": "159.27"}],
        }},
    ).ChequeResponse  # fmt: skip
    assert soap_return.ReturnCode == 0, soap_return.Message
    twin_sale = _json_commit(base, world, "7002", "50.00")
    assert twin_sale["totals"]["final_sum"] == sale.SummDiscounted
    twin = _json_post(base, world, "receipts/return", {
        "cashier": "c-01", "shift": "5", "number": "r-7002",
        "original_transaction_id": twin_sale["transaction_id"],
        "lines": [{"line": 2, "qty": "0.347"}],
    })["totals"]  # fmt: skip
    assert (twin["sum"], twin["final_sum"], twin["accrual"], twin["bonus_payment"]) == (
        soap_return.Summ, soap_return.SummDiscounted, soap_return.WriteoffBonus,
        soap_return.ChargedBonus,
    )  # fmt: skip


RECORDED_CHEQUE = """<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"
               xmlns:tns="http://loyalty.manzanagroup.ru/loyalty.xsd">
  <soap:Body>
    <tns:ProcessRequest>
      <tns:request>
        <tns:ChequeRequest ChequeType="{kind}">
          <tns:Card><tns:CardNumber>{card}</tns:CardNumber></tns:Card>
          <tns:Number>8001</tns:Number>
          <tns:OperationType>Sale</tns:OperationType>
          <tns:Summ>1532.0</tns:Summ>
          <tns:Discount>0.0</tns:Discount>
          <tns:SummDiscounted>1532.0</tns:SummDiscounted>
          <tns:PaidByBonus>0.0</tns:PaidByBonus>
          <tns:Item>
            <tns:PositionNumber>1</tns:PositionNumber>
            <tns:Article>g-1532</tns:Article>
            <tns:ArticleName>Товар</tns:ArticleName>
            <tns:Price>766.0</tns:Price>
            <tns:Quantity>2</tns:Quantity>
            <tns:Summ>1532.0</tns:Summ>
            <tns:Discount>0.0</tns:Discount>
            <tns:SummDiscounted>1532.0</tns:SummDiscounted>
          </tns:Item>
          <tns:RequestID>1234</tns:RequestID>
          <tns:Organization>acme</tns:Organization>
          <tns:DateTime>2015-03-12T10:19:58.813</tns:DateTime>
          <tns:BusinessUnit>s1</tns:BusinessUnit>
          <tns:POS>p1</tns:POS>
        </tns:ChequeRequest>
      </tns:request>
      <tns:orgName>acme</tns:orgName>
    </tns:ProcessRequest>
  </soap:Body>
</soap:Envelope>"""


def test_recorded_cheque_shape(base: str, world: World) -> None:
    """A soft then fiscal cheque as recorded: fields out of the WSDL's order, numbers like
    1532.0, tns prefixes; 3% of 1532.00 accrued (45.96), as in the recording."""
    for kind in ("Soft", "Fiscal"):
        body = RECORDED_CHEQUE.format(kind=kind, card=world.card).encode()
        response = _raw(base, world.token, body)
        assert response.status_code == 200, response.text
        answer = etree.fromstring(response.content).find(f".//{{{NS}}}ChequeResponse")
        assert answer is not None, response.text
        assert answer.findtext(f"{{{NS}}}ReturnCode") == "0", response.text
        assert answer.findtext(f"{{{NS}}}ChargedBonus") == "45.96"
        item = answer.find(f"{{{NS}}}Item")
        assert item is not None and item.findtext(f"{{{NS}}}Quantity") == "2.000"


def _json_post(base: str, world: World, path: str, body: dict[str, Any] | None = None) -> Any:
    response = requests.post(f"{base}/api/v1/{path}", data=_json(body or {}), timeout=20,
                             headers={"Authorization": f"Bearer {world.token}",
                                      "Content-Type": "application/json"})  # fmt: skip
    assert response.status_code == 200, response.text
    return response.json(parse_float=D)


def test_sign_charge_payments_card_balance_and_messages(
    base: str, world: World, engine: Engine
) -> None:
    """SignCharge 0 leaves a line without accrual (as no_accrual does on JSON); Payment reaches
    the receipt; the answers carry the card's balance after the cheque and the recorded
    «OK. Начислено: …» message."""
    client = _client(base, world.token)
    items = [{"PositionNumber": line["line"], "Article": line["goods"], "Price": line["price"],
              "Quantity": line["qty"], "Summ": line["sum"],
              "SignCharge": 0 if line["line"] == 1 else 1} for line in LINES]  # fmt: skip
    payment = [{"ID": "Card", "Value": "639.25"}]
    soft = _cheque(client, "Soft", "9001", world.card, Item=items, Payment=payment,
                   PaidByBonus="20.0")  # fmt: skip
    assert soft.ReturnCode == 0, soft.Message
    assert soft.Item[0].ChargedBonus == 0 and soft.Item[1].ChargedBonus > 0
    accrual = soft.ChargedBonus
    assert accrual == sum(item.ChargedBonus for item in soft.Item)
    assert soft.Message == f"OK. Начислено: {str(accrual).replace('.', ',')}. Списано: 20,00"
    # as it will be: the write-off taken, the accrual counted but not yet payable
    assert (soft.CardBalance, soft.CardActiveBalance) == (
        D("1000.00") - D("20.00") + accrual, D("980.00"),
    )  # fmt: skip
    fiscal = _cheque(client, "Fiscal", "9001", world.card, Item=items, Payment=payment,
                     PaidByBonus="20.0")  # fmt: skip
    assert (fiscal.ReturnCode, fiscal.ChargedBonus) == (0, accrual)
    now = _balance(client, CardNumber=world.card)
    assert (fiscal.CardBalance, fiscal.CardActiveBalance) == (
        now.CardBalance, now.CardActiveBalance,
    )  # fmt: skip
    assert fiscal.CardBalance == soft.CardBalance
    with Session(engine) as session:  # the mark is stored with the line (returns recompute)
        marks = session.execute(
            text("SELECT l.line_no, l.no_accrual FROM receipt_lines l JOIN receipts r "
                 "ON r.id = l.receipt_id WHERE r.number = '9001' ORDER BY l.line_no")
        ).all()  # fmt: skip
    assert [tuple(row) for row in marks] == [(1, True), (2, False), (3, False)]
    twin = _json_post(base, world, "receipts/calculate", {
        "cashier": "c-01", "shift": "5", "number": "9002", "card_number": world.card,
        "pay_bonus": "20.00", "payments": [{"type": "card", "sum": "639.25"}],
        "lines": [{**line, "no_accrual": line["line"] == 1} for line in LINES],
    })  # fmt: skip
    assert [line["accrual"] for line in twin["lines"]] == [i.ChargedBonus for i in fiscal.Item]
    bad = _cheque(client, "Soft", "9003", world.card, Payment=[{"ID": "cash", "Value": "x"}])
    assert bad.ReturnCode == 100 and "Payment 1, Value" in bad.Message, bad.Message


def test_coupons_are_echoed_with_their_applicability(base: str, world: World) -> None:
    client = _client(base, world.token)
    coupons = {"Coupon": [{"Number": "nope-1"}, {"Number": "nope-1"}]}  # a repeat: once
    soft = _cheque(client, "Soft", "9101", world.card, Coupons=coupons)
    assert soft.ReturnCode == 0, soft.Message
    [answer] = soft.Coupons.Coupon  # named as the POS sent it
    assert (answer.Number, answer.ApplicabilityCode) == ("nope-1", RETURN_CODES["COUPON_NOT_FOUND"])
    fiscal = _cheque(client, "Fiscal", "9101", world.card, Coupons=coupons)
    assert fiscal.ReturnCode == 0, fiscal.Message
    [answer] = fiscal.Coupons.Coupon
    assert (answer.Number, answer.ApplicabilityCode) == (
        "nope-1", RETURN_CODES["COUPON_NOT_APPLIED"],
    )  # fmt: skip
    assert answer.ApplicabilityMessage


def test_a_soft_return_answers_the_figures_and_posts_nothing(base: str, world: World) -> None:
    client = _client(base, world.token)
    sale = _cheque(client, "Fiscal", "9201", world.card, PaidByBonus="30.0")
    assert sale.ReturnCode == 0, sale.Message
    before = _balance(client, CardNumber=world.card).CardBalance

    def returned(cheque_type: str) -> Any:
        return client.service.ProcessRequest(
            request={"ChequeRequest": {
                "Number": "r-9201", "OperationType": "Return", "ChequeType": cheque_type,
                "ChequeReference": {"Number": "9201"},
                "Item": [{"PositionNumber": 1, "Article": "g-100", "Quantity": "2",
                          "Price": "100.0", "Summ": "200.0"}],
            }},
        ).ChequeResponse  # fmt: skip

    soft = returned("Soft")
    assert soft.ReturnCode == 0, soft.Message
    assert soft.WriteoffBonus > 0 and soft.ChargedBonus > 0  # accrual back, bonus refunded
    assert _balance(client, CardNumber=world.card).CardBalance == before  # nothing posted
    fiscal = returned("Fiscal")
    assert fiscal.ReturnCode == 0, fiscal.Message
    figures = ("Summ", "SummDiscounted", "WriteoffBonus", "ChargedBonus", "Message",
               "CardBalance", "CardActiveBalance")  # fmt: skip
    assert [getattr(fiscal, name) for name in figures] == [getattr(soft, name) for name in figures]
    assert [(i.PositionNumber, i.SummDiscounted, i.ChargedBonus, i.WriteoffBonus)
            for i in fiscal.Item] == [(i.PositionNumber, i.SummDiscounted, i.ChargedBonus,
                                       i.WriteoffBonus) for i in soft.Item]  # fmt: skip
    after = _balance(client, CardNumber=world.card)
    assert after.CardBalance == before - fiscal.WriteoffBonus + fiscal.ChargedBonus
    assert (fiscal.CardBalance, fiscal.CardActiveBalance) == (
        after.CardBalance, after.CardActiveBalance,
    )  # fmt: skip


def test_rollback_equals_the_json_twins(base: str, world: World) -> None:
    """A fiscal cheque rolled back over SOAP and its twin rolled back over JSON: each moves
    the balance by the same sums and back to where it was."""
    client = _client(base, world.token)

    def card() -> tuple[Decimal, Decimal]:
        found = _balance(client, CardNumber=world.card)
        return found.CardBalance, found.CardActiveBalance

    start = card()
    sale = _cheque(client, "Fiscal", "9301", world.card, PaidByBonus="40.0")
    assert sale.ReturnCode == 0, sale.Message
    soap_sold = card()
    rollback = client.service.ProcessRequest(
        request={"ChequeRequest": {"OperationType": "Rollback", "ChequeType": "Fiscal",
                                   "TransactionReference": {"TransactionID":
                                                            sale.TransactionID}}},
    ).ChequeResponse  # fmt: skip
    assert rollback.ReturnCode == 0, rollback.Message
    assert card() == start
    twin = _json_commit(base, world, "9302", "40.00")
    assert card() == soap_sold
    _json_post(base, world, f"transactions/{twin['transaction_id']}/rollback")
    assert card() == start


def test_card_balance_after_a_cheque_with_campaign_points(
    base: str, world: World, engine: Engine
) -> None:
    """Campaign points take the general commit path: its answer's balance is the ledger's too,
    and the soft answer foresaw the same total."""
    from processing.programs.service import add_program, add_version
    from processing.tenants.models import Tenant
    from tests.factories import T0

    with Session(engine) as session:
        tenant = session.get(Tenant, world.tenant_id)
        assert tenant is not None
        rules = {"reward": {"kind": "extra_bonus", "value": "50.00", "activation_delay_days": 1,
                            "lifetime_days": 30}}  # fmt: skip
        add_version(session, add_program(session, tenant, "promotion", "p", "p"), rules,
                    T0.replace(year=2026, month=1, day=1))  # fmt: skip
        session.commit()
    client = _client(base, world.token)
    soft = _cheque(client, "Soft", "9401", world.card, PaidByBonus="10.0")
    fiscal = _cheque(client, "Fiscal", "9401", world.card, PaidByBonus="10.0")
    assert (soft.ReturnCode, fiscal.ReturnCode) == (0, 0), (soft.Message, fiscal.Message)
    now = _balance(client, CardNumber=world.card)
    assert (fiscal.CardBalance, fiscal.CardActiveBalance) == (
        now.CardBalance, now.CardActiveBalance,
    )  # fmt: skip
    # 50.00 campaign points, pending for a day, in the total only
    assert fiscal.CardBalance == D("1000.00") - D("10.00") + fiscal.ChargedBonus + D("50.00")
    assert soft.CardBalance == fiscal.CardBalance


def _item(**overrides: Any) -> dict[str, Any]:
    return {"PositionNumber": 1, "Article": "g-100", "Price": "100.0", "Quantity": "1",
            "Summ": "100.0", **overrides}  # fmt: skip


@pytest.mark.parametrize(
    ("extra", "code", "words"),
    [
        ({"Item": [_item(PositionNumber="²")]}, "VALIDATION_ERROR", "PositionNumber"),
        ({"Item": [_item(SignCharge="xyz")]}, "VALIDATION_ERROR", "SignCharge"),
        ({"Item": [_item(Quantity="0.0001", Summ="0.01", Price="100")]}, "VALIDATION_ERROR",
         "Quantity"),
        ({"DateTime": "0001-01-01T00:00:00+05:00"}, "VALIDATION_ERROR", "DateTime"),
        ({"DateTime": "9999-12-31T23:59:59-05:00"}, "VALIDATION_ERROR", "DateTime"),
        ({"DateTime": "2099-01-01T12:00:00"}, "SOLD_AT_IN_FUTURE", "Время чека"),
        ({"Item": [_item(PositionNumber=n) for n in range(1, 1002)]}, "VALIDATION_ERROR",
         "больше 1000 позиций"),
    ],
)  # fmt: skip
def test_bad_cheques_are_refused_by_name(
    base: str, world: World, extra: dict[str, Any], code: str, words: str
) -> None:
    """What the probe found answered 900 (or was taken silently): a clear refusal instead."""
    client = _client(base, world.token)
    for cheque_type in ("Soft", "Fiscal"):
        answer = _cheque(client, cheque_type, "9501", world.card, **extra)
        assert answer.ReturnCode == RETURN_CODES[code], answer.Message
        assert words in answer.Message, answer.Message


def test_return_numbers_are_checked_and_a_json_receipt_rolls_back(base: str, world: World) -> None:
    client = _client(base, world.token)
    assert _cheque(client, "Fiscal", "9601", world.card).ReturnCode == 0
    empty = client.service.ProcessRequest(
        request={"ChequeRequest": {"Number": "", "OperationType": "Return", "ChequeType": "Fiscal",
                                   "ChequeReference": {"Number": "9601"}}},
    ).ChequeResponse  # fmt: skip
    assert empty.ReturnCode == 100 and "Number" in empty.Message, empty.Message
    # a receipt of the JSON API (its id not an integer) rolled back by a Manzana POS
    twin = _json_post(base, world, "receipts/commit", {
        "cashier": "c-01", "number": "9602", "transaction_id": "abc-1",
        "lines": [{"goods": "g-100", "qty": "1", "price": "100.00", "sum": "100.00"}],
    })  # fmt: skip
    assert twin["transaction_id"]
    rollback = client.service.ProcessRequest(
        request={"ChequeRequest": {"OperationType": "Rollback", "ChequeType": "Fiscal",
                                   "TransactionReference": {"TransactionID": "abc-1"}}},
    ).ChequeResponse  # fmt: skip
    assert (rollback.ReturnCode, rollback.TransactionID) == (0, None), rollback.Message


def test_a_cheque_in_an_unreadable_envelope_writes_nothing(
    base: str, world: World, engine: Engine
) -> None:
    """A valid fiscal cheque behind a DTD, or in an envelope over the size limit: a fault, and
    no receipt."""
    cheque = RECORDED_CHEQUE.format(kind="Fiscal", card=world.card)
    with_dtd = cheque.replace(
        '<?xml version="1.0" encoding="utf-8"?>',
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>',
    ).replace("<tns:ArticleName>Товар</tns:ArticleName>", "<tns:ArticleName>&e;</tns:ArticleName>")
    oversize = cheque.replace("</soap:Envelope>", "<!--" + "x" * (9 * 1024 * 1024) + "-->"
                              + "</soap:Envelope>")  # fmt: skip
    for body, code in ((with_dtd, b"SOAP_XML_FORBIDDEN"), (oversize, b"SOAP_TOO_LARGE")):
        response = _raw(base, world.token, body.encode())
        assert response.status_code == 400 and code in response.content, response.text[:500]
    with Session(engine) as session:
        assert session.execute(text("SELECT count(*) FROM receipts")).scalar_one() == 0
    assert _raw(base, world.token, cheque.encode()).status_code == 200  # the same, readable
    with Session(engine) as session:
        assert session.execute(text("SELECT count(*) FROM receipts")).scalar_one() == 1


def _return_cheque(client: Client, number: str, original: str, items: list[dict[str, Any]],
                   cheque_type: str = "Fiscal") -> Any:  # fmt: skip
    return client.service.ProcessRequest(
        request={"ChequeRequest": {
            "Number": number, "OperationType": "Return", "ChequeType": cheque_type,
            "ChequeReference": {"Number": original}, "Item": items,
        }},
    ).ChequeResponse  # fmt: skip


def test_a_fiscal_return_sent_again_answers_the_same(base: str, world: World) -> None:
    """However the items were spread over the sale's lines, or with none (everything left)."""
    client = _client(base, world.token)
    two_lines = [_item(PositionNumber=1, Article="g-7", Quantity="2", Summ="200.0"),
                 _item(PositionNumber=2, Article="g-7", Quantity="3", Summ="300.0")]  # fmt: skip
    assert _cheque(client, "Fiscal", "9701", world.card, Item=two_lines).ReturnCode == 0
    assert _cheque(client, "Fiscal", "9702", world.card, Item=two_lines).ReturnCode == 0
    cases = [
        ("r-9701", "9701", [_item(PositionNumber=1, Article="g-7", Quantity="2", Summ="200.0")]),
        ("r-9701b", "9701", [_item(PositionNumber=1, Article="g-7", Quantity="3", Summ="300.0")]),
        ("r-9702", "9702", []),
    ]
    for number, original, items in cases:
        first = _return_cheque(client, number, original, items)
        assert first.ReturnCode == 0, first.Message
        again = _return_cheque(client, number, original, items)
        assert again.ReturnCode == 0, (number, again.Message)
        assert (again.TransactionID, again.Summ, again.WriteoffBonus, again.Message) == (
            first.TransactionID, first.Summ, first.WriteoffBonus, first.Message,
        )  # fmt: skip
    # the same number, other items
    other = _return_cheque(client, "r-9701", "9701", [_item(Article="g-7", Quantity="1")])
    assert other.ReturnCode == RETURN_CODES["RECEIPT_CONFLICT"], other.Message


def test_a_return_answers_the_pos_own_items(base: str, world: World) -> None:
    """Items echoed as the POS sent them (its PositionNumber and Quantity), each with its share
    of the lines it drew from; together exactly the return's figures."""
    client = _client(base, world.token)
    two_lines = [_item(PositionNumber=1, Article="g-7", Quantity="2", Summ="200.0"),
                 _item(PositionNumber=2, Article="g-7", Quantity="3", Summ="300.0")]  # fmt: skip
    sale = _cheque(client, "Fiscal", "9801", world.card, Item=two_lines, PaidByBonus="33.0")
    assert sale.ReturnCode == 0, sale.Message
    four = _item(PositionNumber=7, Article="g-7", Quantity="4", Summ="400.0")
    spanning = _return_cheque(client, "r-9801", "9801", [four])
    assert spanning.ReturnCode == 0, spanning.Message
    [item] = spanning.Item
    assert (item.PositionNumber, item.Quantity, item.Summ) == (7, D("4.000"), spanning.Summ)
    assert (item.ChargedBonus, item.WriteoffBonus) == (
        spanning.ChargedBonus,
        spanning.WriteoffBonus,
    )
    singles = [_item(PositionNumber=n, Article="g-7", Quantity="0.5", Summ="50.0") for n in (1, 2)]
    halves = _return_cheque(client, "r-9801b", "9801", singles)  # both from line 2's last unit
    assert halves.ReturnCode == 0, halves.Message
    assert [(i.PositionNumber, i.Quantity) for i in halves.Item] == [(1, D("0.500")),
                                                                      (2, D("0.500"))]  # fmt: skip
    for name in ("Summ", "SummDiscounted", "ChargedBonus", "WriteoffBonus"):
        assert sum(getattr(i, name) for i in halves.Item) == getattr(halves, name), name


def test_a_return_sent_again_after_another_emptied_its_line(base: str, world: World) -> None:
    client = _client(base, world.token)
    three = [_item(Quantity="3", Summ="300.0")]
    assert _cheque(client, "Fiscal", "9901", world.card, Item=three).ReturnCode == 0
    one = _return_cheque(client, "r-9901a", "9901", [_item(Quantity="1")])
    two = _return_cheque(client, "r-9901b", "9901", [_item(Quantity="2", Summ="200.0")])
    assert (one.ReturnCode, two.ReturnCode) == (0, 0), (one.Message, two.Message)
    again = _return_cheque(client, "r-9901a", "9901", [_item(Quantity="1")])  # the line is empty
    assert (again.ReturnCode, again.TransactionID, again.Summ) == (
        0, one.TransactionID, one.Summ,
    ), again.Message  # fmt: skip
