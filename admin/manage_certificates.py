"""``/api/v1/admin/certificate-series``, ``/api/v1/admin/certificate-documents`` and
``/api/v1/admin/certificates``: the tenant's gift-certificate series, the generation of paper
certificates, the documents that move them (to a store, to a POS, back, withdrawal), a
certificate's state and the stock report, with a tenant admin token. The rules are the
domain's (``processing/certificates``).

A withdrawal needs the right to withdraw: a tenant admin token acts for the tenant's
administrator, who holds every right, so the token carries it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask.views import MethodView
from marshmallow import RAISE

from admin.auth import admin_caller, admin_tenant
from admin.manage_api import management_blueprint
from connector.db import db_session
from mappings import certificates as wire
from processing.certificates.check import (
    certificate_documents,
    certificate_state,
    find_certificate,
)
from processing.certificates.documents import apply_document, get_document
from processing.certificates.series import (
    add_series,
    close_series,
    generate_certificates,
    get_series,
    series_counts,
    tenant_series,
)
from processing.certificates.stock import stock_report
from processing.errors import InvalidInput
from processing.tenants.service import get_pos, get_store

blp = management_blueprint(
    "admin_certificates",
    __name__,
    "Management: gift-certificate series, generation, movement documents, state and stock",
)

AUTHOR_LENGTH = 100  # certificate_series.author, certificate_documents.author

SERIES_IN_EXAMPLE = {
    "code": "gift-1000",
    "title": "Подарочный сертификат 1000 ₽",
    "kind": "paper",
    "nominal": 1000.00,
    "valid_days": 365,
    "goods_id": "b1c2d3e4-0000-11ee-8000-000000000001",
    "scope": "tenant",
    "resale": False,
    "remainder": "keep",
    "code_format": "ean13",
    "prefix": "299",
}
SERIES_EXAMPLE = {
    **SERIES_IN_EXAMPLE,
    "min_nominal": None,
    "max_nominal": None,
    "valid_until": None,
    "code_length": 13,
    "status": "active",
    "author": "admin-token:Иванова (бухгалтерия)",
    "created_at": "2027-02-20T09:00:00+00:00",
    "certificates": {"inactive": 400, "in_store": 80, "at_pos": 20},
}
DOCUMENT_IN_EXAMPLE = {
    "number": "ВС-000123",
    "kind": "to_store",
    "store": "s1",
    "codes": ["2990000000017", "2990000000024"],
}
DOCUMENT_EXAMPLE = {
    "number": "ВС-000123",
    "kind": "to_store",
    "kind_title": "Выдача в магазин",
    "created_at": "2027-02-21T07:30:00+00:00",
    "author": "admin-token:Иванова (бухгалтерия)",
    "source": {"store": None, "pos": None},
    "target": {"store": "s1", "pos": None},
    "codes": ["2990000000017", "2990000000024"],
    "count": 2,
    "nominal": 2000.00,
}
CERTIFICATE_EXAMPLE = {
    "code": "2990000000017",
    "series": "gift-1000",
    "title": "Подарочный сертификат 1000 ₽",
    "kind": "paper",
    "status": "at_pos",
    "status_title": "На кассе",
    "nominal": 1000.00,
    "balance": 1000.00,
    "expires_at": None,
    "scope": "tenant",
    "redeemable_at": None,
    "usable": False,
    "refusal": None,
    "location": "pos",
    "place": {"store": "s1", "pos": "p1"},
    "sold_at": None,
    "sold_place": {"store": None, "pos": None},
    "documents": ["ВС-000123", "ВК-000045"],
}
STOCK_EXAMPLE = {
    "rows": [
        {"location": "accounting", "store": None, "pos": None, "status": "inactive",
         "count": 400, "nominal": 400000.00, "balance": 400000.00},
        {"location": "store", "store": "s1", "pos": None, "status": "in_store",
         "count": 80, "nominal": 80000.00, "balance": 80000.00},
        {"location": "pos", "store": "s1", "pos": "p1", "status": "at_pos",
         "count": 20, "nominal": 20000.00, "balance": 20000.00},
    ],
    "count": 500,
    "nominal": 500000.00,
    "balance": 500000.00,
}  # fmt: skip


def _now() -> datetime:
    return datetime.now(UTC)


@blp.route("/certificate-series")
class CertificateSeriesList(MethodView):
    @blp.response(
        200, wire.CertificateSeriesListOut, example={"certificate_series": [SERIES_EXAMPLE]}
    )
    def get(self) -> dict[str, Any]:
        """The tenant's certificate series with how many certificates each has in each status."""
        session = db_session()
        return {
            "certificate_series": [
                wire.series_body(series, series_counts(session, series))
                for series in tenant_series(session, admin_tenant())
            ]
        }

    @blp.arguments(wire.CertificateSeriesIn, unknown=RAISE, example=SERIES_IN_EXAMPLE)
    @blp.response(201, wire.CertificateSeriesOut, example={**SERIES_EXAMPLE, "certificates": {}})
    @blp.alt_response(400, description="VALIDATION_ERROR")
    @blp.alt_response(409, description="CODE_EXISTS")
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Create a certificate series: paper (a fixed nominal) or electronic (the nominal
        chosen at sale within limits), validity, the 1C goods item that sells it, redemption
        scope, re-sale cycle, remainder policy and code format."""
        caller, session = admin_caller(), db_session()
        series = add_series(
            session, caller.tenant, code=data["code"], title=data["title"], kind=data["kind"],
            nominal=data["nominal"], min_nominal=data["min_nominal"],
            max_nominal=data["max_nominal"], valid_days=data["valid_days"],
            valid_until=data["valid_until"], goods_id=data["goods_id"], scope=data["scope"],
            resale=data["resale"], remainder=data["remainder"],
            code_format_kind=data["code_format"], code_length=data["code_length"],
            prefix=data["prefix"], author=caller.actor[:AUTHOR_LENGTH], now=_now(),
        )  # fmt: skip
        return wire.series_body(series, {})


@blp.route("/certificate-series/<series>/close")
class CloseCertificateSeries(MethodView):
    @blp.response(200, wire.CertificateSeriesOut, example={**SERIES_EXAMPLE, "status": "closed"})
    @blp.alt_response(404, description="CERTIFICATE_SERIES_NOT_FOUND")
    def post(self, series: str) -> dict[str, Any]:
        """Close the series for good: no new certificates, none issued to a store any more;
        those in stores may still come back or be withdrawn."""
        session = db_session()
        found = get_series(session, admin_tenant(), series)
        close_series(session, found)
        return wire.series_body(found, series_counts(session, found))


@blp.route("/certificate-series/<series>/generate")
class GenerateCertificates(MethodView):
    @blp.arguments(wire.GenerateCertificatesIn, unknown=RAISE, example={"count": 500})
    @blp.response(
        201,
        wire.CertificatesAddedOut,
        example={"series": "gift-1000", "added": 500, "certificates": {"inactive": 500}},
    )
    @blp.alt_response(400, description="VALIDATION_ERROR, CERTIFICATE_BATCH_TOO_LARGE")
    @blp.alt_response(404, description="CERTIFICATE_SERIES_NOT_FOUND")
    @blp.alt_response(
        422, description="CERTIFICATE_CODE_SPACE_TOO_SMALL, CERTIFICATE_SERIES_CLOSED"
    )
    def post(self, data: dict[str, Any], series: str) -> dict[str, Any]:
        """Generate paper certificates of a series, inactive (in accounting), with random codes
        of the series' format, none equal to another certificate code of the tenant; up to
        100,000 at once."""
        caller, session = admin_caller(), db_session()
        found = get_series(session, caller.tenant, series)
        added = generate_certificates(
            session, found, data["count"], author=caller.actor[:AUTHOR_LENGTH], now=_now()
        )
        return {
            "series": found.code,
            "added": added,
            "certificates": series_counts(session, found),
        }


@blp.route("/certificate-documents")
class CertificateDocuments(MethodView):
    @blp.arguments(wire.DocumentIn, unknown=RAISE, example=DOCUMENT_IN_EXAMPLE)
    @blp.response(201, wire.DocumentOut, example=DOCUMENT_EXAMPLE)
    @blp.alt_response(400, description="VALIDATION_ERROR")
    @blp.alt_response(404, description="CERTIFICATE_NOT_FOUND, STORE_NOT_FOUND, POS_NOT_FOUND")
    @blp.alt_response(409, description="CERTIFICATE_DOCUMENT_CONFLICT")
    @blp.alt_response(
        422,
        description="CERTIFICATE_WRONG_STATUS, CERTIFICATE_NOT_AT_SOURCE, "
        "CERTIFICATE_SERIES_CLOSED",
    )
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Move certificates, all or none: ``to_store`` (accounting → ``store``), ``to_pos``
        (``store`` → its ``pos``), ``to_store_from_pos`` (``pos`` → its ``store``),
        ``to_accounting`` (``store`` → accounting), ``withdraw`` (from ``pos``, ``store`` or,
        with neither, accounting). The same ``number`` with the same content answers the
        stored document again; with another content it is refused."""
        caller, session = admin_caller(), db_session()
        store = get_store(session, caller.tenant, data["store"]) if data["store"] else None
        if data["pos"] and store is None:
            raise InvalidInput("Укажите магазин кассы.", details={"field": "store"})
        pos = get_pos(session, store, data["pos"]) if data["pos"] and store else None
        record = apply_document(
            session, caller.tenant, number=data["number"], kind=data["kind"], store=store,
            pos=pos, codes=data["codes"], author=caller.actor[:AUTHOR_LENGTH], now=_now(),
            may_withdraw=True,
        )  # fmt: skip
        return wire.document_body(record)


@blp.route("/certificate-documents/<number>")
class CertificateDocumentState(MethodView):
    @blp.response(200, wire.DocumentOut, example=DOCUMENT_EXAMPLE)
    @blp.alt_response(404, description="CERTIFICATE_DOCUMENT_NOT_FOUND")
    def get(self, number: str) -> dict[str, Any]:
        """A stored document: its kind, date, author, places and certificates."""
        return wire.document_body(get_document(db_session(), admin_tenant(), number))


@blp.route("/certificates/stock")
class CertificateStock(MethodView):
    @blp.response(200, wire.StockOut, example=STOCK_EXAMPLE)
    def get(self) -> dict[str, Any]:
        """Where the tenant's certificates are: count, nominal and remainder by location
        (accounting, each store, each POS, customers, written off) and status."""
        return wire.stock_body(stock_report(db_session(), admin_tenant().id))


@blp.route("/certificates/<code>")
class CertificateView(MethodView):
    @blp.response(200, wire.CertificateOut, example=CERTIFICATE_EXAMPLE)
    @blp.alt_response(404, description="CERTIFICATE_NOT_FOUND")
    def get(self, code: str) -> dict[str, Any]:
        """A certificate's status, place, nominal and remainder, and the documents that moved
        it."""
        session = db_session()
        certificate = find_certificate(session, admin_tenant().id, code)
        state = certificate_state(session, certificate, _now(), None)
        return wire.certificate_body(state, certificate_documents(session, certificate))
