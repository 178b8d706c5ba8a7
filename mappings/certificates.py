"""The JSON wire format of gift certificates: the management API's series, generation,
documents, certificate state and stock report (``/api/v1/admin/certificate-series``,
``/api/v1/admin/certificate-documents``, ``/api/v1/admin/certificates``) and the POS calls
(``/api/v1/certificates/check``, ``/api/v1/certificates/at-pos``).

Request schemas check types and storage lengths; the rules (nominals, moves, statuses) are the
domain's (``processing/certificates``). Money goes out in rubles, two decimals."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from mappings.admin import CODE, NAME, AdminIn, ZonedDateTime
from mappings.coupons import RefusalOut
from mappings.fields import BoundedInteger, JsonBoolean, Money, Schema
from processing.certificates.check import CertificateState, Place
from processing.certificates.documents import (
    KIND_TITLES,
    MAX_NUMBER,
    DocumentKind,
    DocumentRecord,
)
from processing.certificates.models import (
    LOCATION_OF_STATUS,
    STATUS_TITLES,
    Certificate,
    CertificateDocument,
    CertificateSeries,
    CertificateStatus,
    Remainder,
    Scope,
    SeriesKind,
)
from processing.certificates.stock import StockRow
from processing.codes import FORMATS
from processing.money import from_kopecks

CERTIFICATE_CODE = validate.Length(min=1, max=64)


def _money(kopecks: int | None) -> Any:
    return None if kopecks is None else from_kopecks(kopecks)


class CertificateSeriesIn(AdminIn):
    code = fields.String(
        required=True, validate=CODE, metadata={"description": "unique within the tenant"}
    )
    title = fields.String(required=True, validate=NAME)
    kind = fields.String(required=True, validate=validate.OneOf(list(SeriesKind)))
    nominal = Money(
        load_default=None,
        allow_none=True,
        metadata={"description": "paper: rubles; electronic: null"},
    )
    min_nominal = Money(load_default=None, allow_none=True, metadata={"description": "electronic"})
    max_nominal = Money(load_default=None, allow_none=True, metadata={"description": "electronic"})
    valid_days = BoundedInteger(
        strict=True,
        load_default=None,
        allow_none=True,
        metadata={"description": "days after the sale"},
    )
    valid_until = ZonedDateTime(
        load_default=None, allow_none=True, metadata={"description": "or a fixed end"}
    )
    goods_id = fields.String(
        required=True,
        validate=validate.Length(min=1, max=80),
        metadata={"description": "the 1C goods item (Ид) whose sale line sells the certificate"},
    )
    scope = fields.String(
        load_default=str(Scope.TENANT),
        validate=validate.OneOf(list(Scope)),
        metadata={"description": "redeemed at the selling pos, store, or any store (tenant)"},
    )
    resale = JsonBoolean(
        load_default=False, metadata={"description": "a redeemed certificate is sold again"}
    )
    remainder = fields.String(
        load_default=str(Remainder.KEEP),
        validate=validate.OneOf(list(Remainder)),
        metadata={"description": "an unspent remainder is kept or burns"},
    )
    code_format = fields.String(required=True, validate=validate.OneOf(FORMATS))
    code_length = BoundedInteger(
        strict=True,
        load_default=None,
        allow_none=True,
        metadata={"description": "numeric and alnum: characters in all, with the prefix (4–20)"},
    )
    prefix = fields.String(load_default="", validate=validate.Length(max=15))


class CertificateSeriesOut(Schema):
    code = fields.String()
    title = fields.String()
    kind = fields.String()
    nominal = Money(allow_none=True)
    min_nominal = Money(allow_none=True)
    max_nominal = Money(allow_none=True)
    valid_days = fields.Integer(allow_none=True)
    valid_until = fields.DateTime(allow_none=True)
    goods_id = fields.String()
    scope = fields.String()
    resale = fields.Boolean()
    remainder = fields.String()
    code_format = fields.String()
    code_length = fields.Integer()
    prefix = fields.String()
    status = fields.String(metadata={"description": "active or closed"})
    author = fields.String()
    created_at = fields.DateTime()
    certificates = fields.Dict(
        keys=fields.String(), values=fields.Integer(), metadata={"description": "by status"}
    )


class CertificateSeriesListOut(Schema):
    certificate_series = fields.List(fields.Nested(CertificateSeriesOut))


class GenerateCertificatesIn(AdminIn):
    count = BoundedInteger(strict=True, required=True, metadata={"description": "1 to 100,000"})


class CertificatesAddedOut(Schema):
    series = fields.String()
    added = fields.Integer()
    certificates = fields.Dict(keys=fields.String(), values=fields.Integer())


class DocumentIn(AdminIn):
    number = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=MAX_NUMBER),
        metadata={"description": "unique within the tenant; generated when absent"},
    )
    kind = fields.String(required=True, validate=validate.OneOf(list(DocumentKind)))
    store = fields.String(load_default=None, allow_none=True, validate=CODE)
    pos = fields.String(load_default=None, allow_none=True, validate=CODE)
    codes = fields.List(fields.String(validate=CERTIFICATE_CODE), required=True)


class PlaceOut(Schema):
    store = fields.String(allow_none=True)
    pos = fields.String(allow_none=True)


class DocumentOut(Schema):
    number = fields.String()
    kind = fields.String()
    kind_title = fields.String()
    created_at = fields.DateTime()
    author = fields.String()
    source = fields.Nested(PlaceOut, metadata={"description": "no store: accounting"})
    target = fields.Nested(
        PlaceOut,
        allow_none=True,
        metadata={"description": "no store: accounting; null: written off"},
    )
    codes = fields.List(fields.String())
    count = fields.Integer()
    nominal = Money()


class CertificateStateOut(Schema):
    """What the till needs: status, remainder and where the certificate may be redeemed."""

    code = fields.String()
    series = fields.String()
    title = fields.String()
    kind = fields.String()
    status = fields.String()
    status_title = fields.String()
    nominal = Money(allow_none=True)
    balance = Money(allow_none=True, metadata={"description": "the remainder"})
    expires_at = fields.DateTime(allow_none=True)
    scope = fields.String(metadata={"description": "pos, store or tenant"})
    redeemable_at = fields.Nested(
        PlaceOut,
        allow_none=True,
        metadata={"description": "the store (and POS) of the sale for its scope; null: any"},
    )
    usable = fields.Boolean()
    refusal = fields.Nested(RefusalOut, allow_none=True)


class CertificateOut(CertificateStateOut):
    """The management view: where it is, where it was sold, and its documents."""

    location = fields.String(
        metadata={"description": "accounting, store, pos, customer, withdrawn"}
    )
    place = fields.Nested(PlaceOut)
    sold_at = fields.DateTime(allow_none=True)
    sold_place = fields.Nested(PlaceOut)
    documents = fields.List(fields.String(), metadata={"description": "numbers, oldest first"})


class CertificateCheckIn(Schema):
    code = fields.String(required=True, validate=CERTIFICATE_CODE)


class StockRowOut(Schema):
    location = fields.String(
        metadata={"description": "accounting, store, pos, customer, withdrawn"}
    )
    store = fields.String(allow_none=True)
    pos = fields.String(allow_none=True)
    status = fields.String()
    count = fields.Integer()
    nominal = Money()
    balance = Money(metadata={"description": "the remainders"})


class StockOut(Schema):
    rows = fields.List(fields.Nested(StockRowOut))
    count = fields.Integer()
    nominal = Money()
    balance = Money()


class HeldCertificateOut(Schema):
    code = fields.String()
    series = fields.String()
    title = fields.String()
    nominal = Money(allow_none=True)


class AtPosOut(Schema):
    store = fields.String()
    pos = fields.String()
    count = fields.Integer()
    nominal = Money()
    certificates = fields.List(fields.Nested(HeldCertificateOut))


def series_body(series: CertificateSeries, counts: dict[str, int]) -> dict[str, Any]:
    return {
        "code": series.code,
        "title": series.title,
        "kind": series.kind,
        "nominal": _money(series.nominal),
        "min_nominal": _money(series.min_nominal),
        "max_nominal": _money(series.max_nominal),
        "valid_days": series.valid_days,
        "valid_until": series.valid_until,
        "goods_id": series.goods_id,
        "scope": series.scope,
        "resale": series.resale,
        "remainder": series.remainder,
        "code_format": series.code_format,
        "code_length": series.code_length,
        "prefix": series.prefix,
        "status": series.status,
        "author": series.author,
        "created_at": series.created_at,
        "certificates": counts,
    }


def _place(place: Place) -> dict[str, Any]:
    return {"store": place.store, "pos": place.pos}


def document_body(record: DocumentRecord) -> dict[str, Any]:
    document = record.document
    return {
        "number": document.number,
        "kind": document.kind,
        "kind_title": KIND_TITLES[DocumentKind(document.kind)],
        "created_at": document.created_at,
        "author": document.author,
        "source": _place(record.source),
        "target": None if record.target is None else _place(record.target),
        "codes": record.codes,
        "count": len(record.codes),
        "nominal": record.nominal,
    }


def state_body(state: CertificateState) -> dict[str, Any]:
    certificate, series = state.certificate, state.certificate.series
    refusal = state.refusal
    sold = certificate.status == CertificateStatus.SOLD
    redeemable_at = None
    if sold and series.scope != Scope.TENANT:
        redeemable_at = {
            "store": state.sold_place.store,
            "pos": state.sold_place.pos if series.scope == Scope.POS else None,
        }
    return {
        "code": certificate.code,
        "series": series.code,
        "title": series.title,
        "kind": series.kind,
        "status": certificate.status,
        "status_title": STATUS_TITLES[CertificateStatus(certificate.status)],
        "nominal": _money(certificate.nominal),
        "balance": _money(certificate.balance),
        "expires_at": certificate.expires_at,
        "scope": series.scope,
        "redeemable_at": redeemable_at,
        "usable": sold and refusal is None,
        "refusal": None if refusal is None else {"code": refusal.code, "message": refusal.text},
    }


def certificate_body(
    state: CertificateState, documents: list[CertificateDocument]
) -> dict[str, Any]:
    certificate = state.certificate
    return {
        **state_body(state),
        "location": LOCATION_OF_STATUS[CertificateStatus(certificate.status)],
        "place": _place(state.place),
        "sold_at": certificate.sold_at,
        "sold_place": _place(state.sold_place),
        "documents": [document.number for document in documents],
    }


def stock_body(rows: list[StockRow]) -> dict[str, Any]:
    return {
        "rows": [
            {
                "location": r.location,
                "store": r.store,
                "pos": r.pos,
                "status": r.status,
                "count": r.count,
                "nominal": r.nominal,
                "balance": r.balance,
            }
            for r in rows
        ],
        "count": sum(r.count for r in rows),
        "nominal": sum((r.nominal for r in rows), start=from_kopecks(0)),
        "balance": sum((r.balance for r in rows), start=from_kopecks(0)),
    }


def at_pos_body(store: str, pos: str, held: list[Certificate]) -> dict[str, Any]:
    return {
        "store": store,
        "pos": pos,
        "count": len(held),
        "nominal": from_kopecks(sum(c.nominal or 0 for c in held)),
        "certificates": [
            {
                "code": c.code,
                "series": c.series.code,
                "title": c.series.title,
                "nominal": _money(c.nominal),
            }
            for c in held
        ],
    }
