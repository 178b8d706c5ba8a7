"""Gift certificates at the till: the check of a presented certificate (status, remainder,
where it may be redeemed) and the list of certificates held at the calling POS for the
cashier's end-of-shift tape. Sale and redemption come with the receipts integration."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask.views import MethodView

from connector.api import Blueprint
from connector.db import db_session
from connector.onec_http.auth import pos_context
from mappings import certificates as wire
from processing.certificates.check import certificate_state, find_certificate
from processing.certificates.stock import certificates_at_pos

blp = Blueprint(
    "certificates",
    __name__,
    url_prefix="/api/v1",
    description="Gift certificates at the till: check one, list those held at this POS",
)

CHECK_EXAMPLE = {
    "code": "2990000000017",
    "series": "gift-1000",
    "title": "Подарочный сертификат 1000 ₽",
    "kind": "paper",
    "status": "at_pos",
    "status_title": "На кассе",
    "nominal": 1000.00,
    "balance": 1000.00,
    "expires_at": None,
    "scope": "store",
    "redeemable_at": None,
    "usable": False,
    "refusal": {
        "code": "CERTIFICATE_NOT_SOLD",
        "message": "Сертификат не продан (или списан): принять его в оплату нельзя.",
    },
}
AT_POS_EXAMPLE = {
    "store": "s1",
    "pos": "p1",
    "count": 2,
    "nominal": 1500.00,
    "certificates": [
        {"code": "2990000000017", "series": "gift-1000", "title": "Подарочный сертификат 1000 ₽",
         "nominal": 1000.00},
        {"code": "2980000000018", "series": "gift-500", "title": "Подарочный сертификат 500 ₽",
         "nominal": 500.00},
    ],
}  # fmt: skip


@blp.route("/certificates/check")
class CheckCertificate(MethodView):
    @blp.arguments(wire.CertificateCheckIn, example={"code": "2990000000017"})
    @blp.response(200, wire.CertificateStateOut, example=CHECK_EXAMPLE)
    @blp.alt_response(400, description="VALIDATION_ERROR")
    @blp.alt_response(404, description="CERTIFICATE_NOT_FOUND")
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """A certificate's status, nominal and remainder, where it may be redeemed
        (``redeemable_at``, by its series' scope) and whether this POS may accept it now;
        ``refusal`` says why not (a certificate code of ``docs/errors.md`` and a message for
        the cashier). Nothing is changed."""
        ctx, session = pos_context(), db_session()
        certificate = find_certificate(session, ctx.caller.tenant_id, data["code"])
        asking = (ctx.caller.store_id, ctx.caller.pos_id)
        return wire.state_body(certificate_state(session, certificate, datetime.now(UTC), asking))


@blp.route("/certificates/at-pos")
class CertificatesAtPos(MethodView):
    @blp.response(200, wire.AtPosOut, example=AT_POS_EXAMPLE)
    def get(self) -> dict[str, Any]:
        """The certificates held at the calling POS (status ``at_pos``), with their count and
        nominal in all: the cashier's end-of-shift tape."""
        ctx, session = pos_context(), db_session()
        caller = ctx.caller
        held = list(certificates_at_pos(session, caller.tenant_id, caller.pos_id))
        return wire.at_pos_body(caller.store_code, caller.pos_code, held)
