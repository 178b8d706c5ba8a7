"""``/api/v1/admin/card-templates``: the tenant's card series (number templates), the programs a
series carries and pre-printed cards, with a tenant admin token. The rules are the domain's
(``processing/cards/service.py``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask.views import MethodView
from marshmallow import RAISE

from admin.auth import admin_caller, admin_tenant
from admin.manage_api import management_blueprint
from connector.db import db_session
from mappings import admin as wire
from processing.cards.service import add_template, generate_cards, get_template, tenant_templates
from processing.cards.service import set_template_programs as set_programs
from processing.programs.service import get_program

blp = management_blueprint(
    "admin_card_templates",
    __name__,
    "Management: card series, the programs they carry, pre-printed cards",
)

TEMPLATE_IN_EXAMPLE = {
    "code": "gold5",
    "name": "Золотая карта 5%",
    "card_type": "5%",
    "prefix": "2775",
    "number_length": 13,
    "check_digit": "ean13",
    "range_start": 1,
    "range_end": 99999,
    "validity_days": 730,
    "programs": ["fixed5"],
}
TEMPLATE_EXAMPLE = {
    **TEMPLATE_IN_EXAMPLE,
    "next_serial": 1,
    "free": 99999,
}
AUTHOR_LENGTH = 100  # card_status_changes.author: a token's name may fill its own 100


@blp.route("/card-templates")
class CardTemplates(MethodView):
    @blp.response(200, wire.CardTemplatesOut, example={"card_templates": [TEMPLATE_EXAMPLE]})
    def get(self) -> dict[str, Any]:
        """The tenant's card series with the programs each carries and its free serials."""
        tenant = admin_tenant()
        templates = tenant_templates(db_session(), tenant)
        return {"card_templates": [wire.card_template_body(t) for t in templates]}

    @blp.arguments(wire.CardTemplateIn, unknown=RAISE, example=TEMPLATE_IN_EXAMPLE)
    @blp.response(201, wire.CardTemplateOut, example=TEMPLATE_EXAMPLE)
    @blp.alt_response(400, description="VALIDATION_ERROR")
    @blp.alt_response(404, description="PROGRAM_NOT_FOUND")
    @blp.alt_response(409, description="CODE_EXISTS")
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Create a card series: numbers are prefix + serial + check digit, ``number_length``
        digits in all; a card is valid ``validity_days`` from its activation."""
        tenant, session = admin_tenant(), db_session()
        programs = [get_program(session, tenant, code) for code in dict.fromkeys(data["programs"])]
        template = add_template(
            session, tenant, code=data["code"], name=data["name"],
            card_type=data["card_type"], prefix=data["prefix"],
            number_length=data["number_length"], check_digit=data["check_digit"],
            range_start=data["range_start"], range_end=data["range_end"],
            programs=programs, validity_days=data["validity_days"],
        )  # fmt: skip
        return wire.card_template_body(template)


@blp.route("/card-templates/<template>/programs")
class CardTemplatePrograms(MethodView):
    @blp.arguments(wire.TemplateProgramsIn, unknown=RAISE, example={"programs": ["fixed5"]})
    @blp.response(200, wire.CardTemplateOut, example=TEMPLATE_EXAMPLE)
    @blp.alt_response(400, description="VALIDATION_ERROR")
    @blp.alt_response(404, description="NOT_FOUND (the series), PROGRAM_NOT_FOUND")
    def put(self, data: dict[str, Any], template: str) -> dict[str, Any]:
        """Set the programs the series carries (at most one discount and one bonus program): for
        its cards they replace the tenant's programs of the same kind and apply to no other
        card. ``[]``: the series carries none."""
        tenant, session = admin_tenant(), db_session()
        found = get_template(session, tenant, template)
        programs = [get_program(session, tenant, code) for code in dict.fromkeys(data["programs"])]
        set_programs(session, found, programs)
        return wire.card_template_body(found)


@blp.route("/card-templates/<template>/cards")
class GenerateCards(MethodView):
    @blp.arguments(wire.GenerateCardsIn, unknown=RAISE, example={"count": 3})
    @blp.response(
        201,
        wire.GeneratedCardsOut,
        example={"card_template": "gold5", "count": 3,
                 "numbers": ["2775000000012", "2775000000029", "2775000000036"]},
    )  # fmt: skip
    @blp.alt_response(400, description="VALIDATION_ERROR")
    @blp.alt_response(404, description="NOT_FOUND (the series)")
    @blp.alt_response(409, description="CARD_EXISTS: a number is taken by another card")
    @blp.alt_response(422, description="CARD_RANGE_EXHAUSTED")
    def post(self, data: dict[str, Any], template: str) -> dict[str, Any]:
        """Issue pre-printed cards (status Новая) with the series' next serial numbers, at most
        10 000 per request."""
        caller, session = admin_caller(), db_session()
        found = get_template(session, caller.tenant, template)
        cards = generate_cards(
            session, found, data["count"], author=caller.actor[:AUTHOR_LENGTH],
            now=datetime.now(UTC),
        )  # fmt: skip
        return {
            "card_template": found.code,
            "count": len(cards),
            "numbers": [card.number for card in cards],
        }
