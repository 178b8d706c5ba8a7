"""The drop-in for stock 1C:Retail's "discount server": WSDL and SOAP endpoint per tenant.

1C:Retail's constant АдресДисконтногоСервера points at ``/soap/<tenant>/discount-server?wsdl``;
the shop downloads the WSDL before every call (so the rendered text is cached) and then posts
to the address the WSDL names. Both need HTTP Basic with the tenant's ``discount_server``
credentials (checked, and failures throttled, by ``connector.basic_auth``) and a tariff with the
discount server.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, Response, request
from lxml import etree
from sqlalchemy.orm import Session

from connector.basic_auth import BasicRequired, authenticate
from connector.db import db_session
from connector.errors import error_for_exception
from connector.soap import envelope
from connector.throttle import TooManyAttempts
from mappings import discount_server as wire
from mappings.ids import remember
from processing.discount_server import service
from processing.discount_server.models import BonusRow, CouponRow, SaleRow
from processing.errors import ConnectorError, Forbidden, NotAuthenticated, TooManyRequests
from processing.tenants.models import Tenant
from sync.log import has_entry, write_entry

WSDL_FILE = Path(__file__).parent / "wsdl" / "discount_server.wsdl"
SOURCE = "discount_server"

blp = Blueprint("discount_server", __name__, url_prefix="/soap")


class NotInTariff(Forbidden):
    code = "DISCOUNT_SERVER_NOT_IN_TARIFF"
    message = "Дисконтный сервер 1С:Розницы не входит в тариф."


def _authenticate(session: Session, tenant_code: str) -> Tenant:
    tenant = authenticate(
        session, tenant_code, "discount_server",
        message="Неверный логин или пароль дисконтного сервера.",
        missing="Нужны логин и пароль дисконтного сервера (HTTP Basic).",
    )  # fmt: skip
    if "discount_server" not in tenant.features:
        raise NotInTariff()
    return tenant


def _error_status(error: ConnectorError) -> int:
    if isinstance(error, TooManyRequests):
        return 429
    if isinstance(error, NotAuthenticated):
        return 401
    if isinstance(error, Forbidden):
        return 403
    return 500


def _fault(version: str, error: ConnectorError) -> Response:
    response = envelope.fault(version, error, wire.error_detail, _error_status(error))
    if isinstance(error, BasicRequired):
        response.headers["WWW-Authenticate"] = error.challenge
    if isinstance(error, TooManyAttempts):
        response.headers["Retry-After"] = str(error.retry_after_s)
    return response


@blp.get("/<tenant_code>/discount-server")
def wsdl(tenant_code: str) -> Response:
    try:
        _authenticate(db_session(), tenant_code)
    except ConnectorError as error:
        return _fault(envelope.SOAP11, error)
    return envelope.wsdl_response(WSDL_FILE, request, tenant_code, "discount-server")


@blp.post("/<tenant_code>/discount-server")
def endpoint(tenant_code: str) -> Response:
    version = envelope.requested_version(request)
    try:
        data = envelope.body(request)
        session = db_session()
        tenant = _authenticate(session, tenant_code)
        parsed = envelope.parse(data)
        version = parsed.version
        handler = HANDLERS.get(parsed.operation.tag)
        if handler is None:
            raise envelope.UnknownOperation(details={"operation": parsed.operation.tag})
        return envelope.answer(version, handler(session, tenant, parsed.operation))
    except ConnectorError as error:
        return _fault(version, error)
    except Exception as exc:
        # A database outage is SERVICE_UNAVAILABLE (1C retries), anything else INTERNAL_ERROR.
        return _fault(version, error_for_exception(exc))


Handler = Callable[[Session, Tenant, etree._Element], etree._Element]


def _card(session: Session, tenant: Tenant, operation: etree._Element) -> str:
    card = wire.required_text(operation, "ИдентификаторКарты")
    remember(session, tenant.id, {"card": [card]}, SOURCE)
    return card


def _note_segment(session: Session, tenant: Tenant, operation: etree._Element, name: str) -> None:
    segment = wire.text(operation, "ИдентификаторСегмента")
    if segment and not has_entry(
        session, tenant.id, exchange=SOURCE, operation="segment", document_id=segment
    ):
        write_entry(
            session, tenant.id, exchange=SOURCE, operation="segment", level="warning",
            document_type="СегментНоменклатуры", document_id=segment,
            message=f"{name}: сегмент номенклатуры не синхронизирован, сумма посчитана по всем "
            "товарам",
        )  # fmt: skip


def accumulation(session: Session, tenant: Tenant, op: etree._Element) -> etree._Element:
    name = "ПолучитьСуммуНакопления"
    card = _card(session, tenant, op)
    _note_segment(session, tenant, op, name)
    amount, quantity = service.accumulation(
        session, tenant.id, card, wire.moment(op, "ДатаНачала"), wire.moment(op, "ДатаОкончания"),
        wire.text(op, "ИдентификаторИсключаемогоДокументта"),
    )  # fmt: skip
    return wire.result_rows(
        name, [[("СуммаНакопления", amount), ("КоличествоНакопления", quantity)]]
    )


def last_purchase(session: Session, tenant: Tenant, op: etree._Element) -> etree._Element:
    name = "ПолучитьДанныеПоследнейПокупки"
    card = _card(session, tenant, op)
    _note_segment(session, tenant, op, name)
    found = service.last_purchase(
        session, tenant.id, card, wire.moment(op, "ДатаРасчета"),
        wire.text(op, "ИдентификаторИсключаемогоДокументта"),
    )  # fmt: skip
    when, amount, quantity = found or (wire.EMPTY_DATETIME, service.ZERO, service.ZERO)
    return wire.result_rows(
        name,
        [[("ДатаПокупки", when), ("СуммаНакопления", amount), ("КоличествоНакопления", quantity)]],
    )


def bonus_balance(session: Session, tenant: Tenant, op: etree._Element) -> etree._Element:
    name = "ПолучитьОстатокБонусов"
    card = _card(session, tenant, op)
    at = wire.moment(op, "ДатаЗапроса") or service.tenant_now(session, tenant)
    if "bonus" not in tenant.features:
        return wire.result_rows(name, [])
    value = service.bonus_balance(session, tenant.id, card, at)
    return wire.result_rows(name, [[("ДатаОперации", at), ("КоличествоБаллов", value)]])


def bonus_schedule(session: Session, tenant: Tenant, op: etree._Element) -> etree._Element:
    name = "ПолучитьОстатокБонусовРасширенный"
    card = _card(session, tenant, op)
    at = wire.moment(op, "ДатаЗапроса") or service.tenant_now(session, tenant)
    if "bonus" not in tenant.features:
        return wire.result_rows(name, [])
    return wire.schedule(name, service.bonus_schedule(session, tenant.id, card, at))


def _document(op: etree._Element) -> tuple[str, str]:
    return wire.required_text(op, "ТипДокумента"), wire.required_text(op, "ИдентификаторДокумента")


@dataclass(frozen=True)
class DocumentUpdate:
    """One of the Обновить… operations: its table parameter, where the rows go, and which
    row fields are external ids to remember (row field → id kind)."""

    name: str
    parse: Callable[[etree._Element], Sequence[service.RowIn]]
    model: service.RowModel
    ids: dict[str, str]

    def __call__(self, session: Session, tenant: Tenant, op: etree._Element) -> etree._Element:
        doc_type, doc_id = _document(op)
        rows = self.parse(op)
        found = {kind: [getattr(row, field) for row in rows] for field, kind in self.ids.items()}
        remember(session, tenant.id, {**found, "document": [doc_id]}, SOURCE)
        count = service.replace_rows(session, self.model, tenant.id, doc_type, doc_id, rows)
        write_entry(
            session, tenant.id, exchange=SOURCE, operation=self.name, document_type=doc_type,
            document_id=doc_id, counts={"rows": count},
            message=f"{self.name}: {doc_type} {doc_id}, строк: {count}",
        )  # fmt: skip
        return wire.boolean(self.name, True)


update_sales = DocumentUpdate(
    "ОбновитьДанныеОПродажах", wire.sales, SaleRow,
    {"card_id": "card", "goods_id": "goods", "characteristic_id": "characteristic"},
)  # fmt: skip
update_bonuses = DocumentUpdate(
    "ОбновитьДанныеОБонусах", wire.bonuses, BonusRow,
    {"card_id": "card", "program_id": "bonus_program"},
)  # fmt: skip
update_coupons = DocumentUpdate(
    "ОбновитьДанныеОКупонах", wire.coupons, CouponRow,
    {"discount_id": "discount", "store_id": "store"},
)  # fmt: skip


def coupon_discounts(session: Session, tenant: Tenant, op: etree._Element) -> etree._Element:
    code = wire.required_text(op, "КодКупона")
    at = wire.moment(op, "ДатаЗапроса") or service.tenant_now(session, tenant)
    return wire.coupon_table(
        "ПолучитьСкидкиПоКупону", service.active_coupons(session, tenant.id, code, at)
    )


HANDLERS: dict[str, Handler] = {
    wire.q("ПолучитьСуммуНакопления"): accumulation,
    wire.q("ПолучитьДанныеПоследнейПокупки"): last_purchase,
    wire.q("ПолучитьОстатокБонусов"): bonus_balance,
    wire.q("ПолучитьОстатокБонусовРасширенный"): bonus_schedule,
    wire.q("ОбновитьДанныеОПродажах"): update_sales,
    wire.q("ОбновитьДанныеОБонусах"): update_bonuses,
    wire.q("ОбновитьДанныеОКупонах"): update_coupons,
    wire.q("ПолучитьСкидкиПоКупону"): coupon_discounts,
}
