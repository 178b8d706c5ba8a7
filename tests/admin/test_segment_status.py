"""Segment status through the management API and the CLI: a segment is paused (not refreshed,
its members kept and still used by promotions), resumed (a filter segment is refreshed then) or
archived for good (not refreshed, its members not changed, named by no new promotion version),
and archiving is refused while a current or future version of an active or paused promotion
names it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from processing.promotions.models import Segment, SegmentMember
from sync.jobs import refresh_filter_segments, refresh_segment
from tests.admin.conftest import call, fields_of
from tests.connector.onec_http.world import World, receipt

TEN_ON_G100 = {"receipt": {"goods": {"goods": ["g-100"]}},
               "reward": {"kind": "percent", "value": "10"}}  # fmt: skip
SINCE = "2026-01-01T00:00:00+03:00"


def _status(client: FlaskClient, admin: dict[str, str], code: str, status: str,
            method: str = "PUT") -> tuple[int, Any]:  # fmt: skip
    return call(client, admin, method, f"segments/{code}/status", {"status": status})


def _promotion(
    client: FlaskClient, admin: dict[str, str], code: str, segments: list[str],
    since: str = SINCE, until: str | None = None,
) -> tuple[int, Any]:  # fmt: skip
    """A promotion of 10% on g-100 for the members of ``segments``; the answer of its version."""
    if code not in {p["code"] for p in call(client, admin, "GET", "programs")[1]["programs"]}:
        body = {"kind": "promotion", "code": code, "name": f"Акция {code}"}
        assert call(client, admin, "POST", "programs", body)[0] == 201
    rules = {**TEN_ON_G100, "customer": {"segments": segments}}
    version = {"rules": rules, "effective_from": since, "effective_to": until}
    return call(client, admin, "POST", f"programs/{code}/versions", version)


def _discount(client: FlaskClient, world: World) -> Any:
    body = receipt("1", card_number=world.card)
    answer = client.post("/api/v1/receipts/calculate", json=body, headers=world.auth).get_json()
    return answer["totals"]["discount"]


def _register(client: FlaskClient, world: World, phone: str) -> int:
    body = {"source": "pos", "first_name": "Анна", "phone": phone,
            "consents": {"processing": True}}  # fmt: skip
    response = client.post("/api/v1/customers", json=body, headers=world.auth)
    assert response.status_code == 201, response.get_json()
    customer_id: int = response.get_json()["id"]
    return customer_id


def _members(session: Session, segment_id: int) -> set[int]:
    return set(
        session.scalars(
            select(SegmentMember.customer_id).where(SegmentMember.segment_id == segment_id)
        )
    )


def test_status_is_shown_and_changed_and_an_archived_segment_stays_archived(
    client: FlaskClient, world: World, admin: dict[str, str]
) -> None:
    status, answer = call(client, admin, "POST", "segments", {"code": "vip", "name": "VIP"})
    assert (status, answer["status"]) == (201, "active")
    assert call(client, admin, "GET", "segments/vip")[1]["status"] == "active"
    status, answer = _status(client, admin, "VIP", "paused")  # the code in any case
    assert (status, answer["code"], answer["status"]) == (200, "vip", "paused")
    assert [s["status"] for s in call(client, admin, "GET", "segments")[1]["segments"]] == [
        "paused"
    ]
    # POST, as the programs' status endpoint takes it, does the same.
    status, answer = _status(client, admin, "vip", "active", method="POST")
    assert (status, answer["status"]) == (200, "active")
    status, answer = _status(client, admin, "vip", "archived")
    assert (status, answer["status"]) == (200, "archived")
    assert _status(client, admin, "vip", "archived")[0] == 200  # again: no change
    for back in ("active", "paused"):
        status, answer = _status(client, admin, "vip", back)
        assert (status, answer["code"]) == (400, "SEGMENT_ARCHIVED"), back
        assert "Сегмент в архиве" in answer["message"]
    assert call(client, admin, "GET", "segments/vip")[1]["status"] == "archived"


def test_status_refusals(client: FlaskClient, world: World, admin: dict[str, str]) -> None:
    call(client, admin, "POST", "segments", {"code": "vip", "name": "VIP"})
    status, answer = _status(client, admin, "vip", "deleted")
    assert status == 400 and set(fields_of(answer)) == {"status"}
    status, answer = call(client, admin, "PUT", "segments/vip/status", {})
    assert status == 400 and set(fields_of(answer)) == {"status"}
    status, answer = call(client, admin, "PUT", "segments/vip/status",
                          {"status": "paused", "why": "x"})  # fmt: skip
    assert status == 400 and set(fields_of(answer)) == {"why"}
    status, answer = _status(client, admin, "nope", "paused")
    assert (status, answer["code"]) == (404, "SEGMENT_NOT_FOUND")
    for headers in ({}, world.auth):  # a POS token is no admin token
        status, answer = _status(client, headers, "vip", "archived")
        assert (status, answer["code"]) == (401, "UNAUTHORIZED")
    assert call(client, admin, "GET", "segments/vip")[1]["status"] == "active"


def test_a_paused_filter_segment_is_not_refreshed_and_catches_up_when_resumed(
    client: FlaskClient, session: Session, world: World, admin: dict[str, str]
) -> None:
    body = {"code": "everyone", "name": "Все", "filter": {}}
    assert call(client, admin, "POST", "segments", body)[0] == 201
    before = call(client, admin, "GET", "segments/everyone")[1]
    assert before["members"] == 1  # Ivan, the world's customer
    status, answer = _status(client, admin, "everyone", "paused")
    assert (status, answer["members"], answer["status"]) == (200, 1, "paused")
    anna = _register(client, world, "+79160000001")
    status, answer = call(client, admin, "POST", "segments/everyone/refresh")
    assert (status, answer["code"]) == (409, "SEGMENT_NOT_ACTIVE")
    assert "приостановлен" in answer["message"]
    # The jobs leave it alone: the daily refresh and a refresh job already queued.
    assert refresh_filter_segments("refresh-segments-test", datetime.now(UTC)) == 0
    segment_id = session.scalars(select(Segment.id).where(Segment.code == "everyone")).one()
    refresh_segment(segment_id)
    assert _members(session, segment_id) == {world.customer_id}
    # A new filter is kept; the members follow once the segment is resumed.
    status, answer = call(client, admin, "PATCH", "segments/everyone",
                          {"filter": {"registered_days": {"max": 0}}})  # fmt: skip
    assert status == 200, answer
    after = call(client, admin, "GET", "segments/everyone")[1]
    assert (after["members"], after["refreshed_at"]) == (1, before["refreshed_at"])
    status, answer = _status(client, admin, "everyone", "active")
    assert (status, answer["status"]) == (200, "active")
    resumed = call(client, admin, "GET", "segments/everyone")[1]
    assert resumed["members"] == 1
    assert _members(session, segment_id) == {anna}  # registered today; Ivan long ago
    assert resumed["refreshed_at"] != before["refreshed_at"]
    assert refresh_filter_segments("refresh-segments-test-2", datetime.now(UTC)) == 1


def test_a_paused_segment_is_still_used_by_promotions_and_its_list_kept_by_hand(
    client: FlaskClient, world: World, admin: dict[str, str]
) -> None:
    call(client, admin, "POST", "segments", {"code": "vip", "name": "VIP"})
    _status(client, admin, "vip", "paused")
    status, answer = call(client, admin, "POST", "segments/vip/members",
                          {"add": [world.customer_id]})  # fmt: skip
    assert (status, answer["members"]) == (200, 1)
    status, answer = _promotion(client, admin, "vip10", ["vip"])  # a paused one may be named
    assert status == 201, answer
    assert _discount(client, world) == 30  # Ivan is a member: 10% of line 1 (300.00)


def test_an_archived_segment_is_frozen_and_named_by_no_new_promotion(
    client: FlaskClient, world: World, admin: dict[str, str]
) -> None:
    call(client, admin, "POST", "segments", {"code": "vip", "name": "VIP"})
    call(client, admin, "POST", "segments", {"code": "f", "name": "Ф", "filter": {}})
    call(client, admin, "POST", "segments/vip/members", {"add": [world.customer_id]})
    for code in ("vip", "f"):
        assert _status(client, admin, code, "archived")[0] == 200
    for change in ({"add": [world.customer_id]}, {"remove": [world.customer_id]}):
        status, answer = call(client, admin, "POST", "segments/vip/members", change)
        assert (status, answer["code"]) == (409, "SEGMENT_NOT_ACTIVE"), change
        assert "в архиве" in answer["message"]
    assert call(client, admin, "GET", "segments/vip")[1]["members"] == 1
    status, answer = call(client, admin, "POST", "segments/f/refresh")
    assert (status, answer["code"]) == (409, "SEGMENT_NOT_ACTIVE")
    status, answer = call(client, admin, "PATCH", "segments/f", {"filter": {"gender": "male"}})
    assert (status, answer["code"]) == (409, "SEGMENT_NOT_ACTIVE")
    status, answer = call(client, admin, "PATCH", "segments/f", {"name": "Старый"})
    assert (status, answer["name"]) == (200, "Старый")  # a name may still change
    status, answer = _promotion(client, admin, "vip10", ["vip"])
    assert (status, answer["code"], answer["details"]) == (
        400, "INVALID_PROGRAM_RULES", {"field": "rules.customer.segments"},
    )  # fmt: skip
    assert "«vip» в архиве" in answer["message"]
    body = {"segment": "vip", "name": "Подарок", "amount": 100}
    status, answer = call(client, admin, "POST", "mass-accruals", body)
    assert (status, answer["code"]) == (409, "SEGMENT_NOT_ACTIVE")  # no bonus to an archive


def test_archiving_is_refused_while_a_current_or_future_promotion_version_names_it(
    client: FlaskClient, world: World, admin: dict[str, str]
) -> None:
    for code in ("vip", "other"):
        call(client, admin, "POST", "segments", {"code": code, "name": code})
    assert _promotion(client, admin, "now", ["vip", "other"])[0] == 201
    assert _promotion(client, admin, "later", ["vip"], since="2099-01-01T00:00:00+03:00")[0] == 201
    ended = ("2026-01-01T00:00:00+03:00", "2026-02-01T00:00:00+03:00")
    assert _promotion(client, admin, "ended", ["vip"], *ended)[0] == 201
    assert _promotion(client, admin, "gone", ["vip"])[0] == 201
    call(client, admin, "POST", "programs/gone/status", {"status": "archived"})
    call(client, admin, "POST", "programs/now/status", {"status": "paused"})  # may come back

    status, answer = _status(client, admin, "vip", "archived")
    assert (status, answer["code"]) == (409, "SEGMENT_IN_USE")
    assert answer["details"] == {"segment": "vip", "promotions": ["later", "now"]}
    assert "назван в условиях акций: later, now" in answer["message"]
    assert call(client, admin, "GET", "segments/vip")[1]["status"] == "active"
    # Pausing is no archiving: allowed whoever names it.
    assert _status(client, admin, "vip", "paused")[0] == 200

    # "now" gets a version without the segment from now on (its version naming it ends now);
    # "later" is archived: nothing current or future names the segment any more.
    start = (datetime.now(UTC) - timedelta(seconds=1)).isoformat(timespec="seconds")
    assert _promotion(client, admin, "now", ["other"], since=start)[0] == 201
    status, answer = _status(client, admin, "vip", "archived")
    assert (status, answer["details"]["promotions"]) == (409, ["later"])
    call(client, admin, "POST", "programs/later/status", {"status": "archived"})
    status, answer = _status(client, admin, "vip", "archived")
    assert (status, answer["status"]) == (200, "archived")
    status, answer = _status(client, admin, "other", "archived")
    assert (status, answer["details"]["promotions"]) == (409, ["now"])


def test_archiving_waits_for_the_segments_scheduled_mass_accrual(
    client: FlaskClient, world: World, admin: dict[str, str]
) -> None:
    call(client, admin, "POST", "segments", {"code": "fut", "name": "Будущее"})
    call(client, admin, "POST", "segments/fut/members", {"add": [world.customer_id]})
    later = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    body = {"segment": "fut", "name": "Через неделю", "amount": 50, "run_at": later}
    status, accrual = call(client, admin, "POST", "mass-accruals", body)
    assert (status, accrual["status"]) == (201, "scheduled"), accrual
    status, answer = _status(client, admin, "fut", "archived")
    assert (status, answer["code"]) == (409, "SEGMENT_IN_USE")
    assert answer["details"]["mass_accruals"] == [accrual["id"]]
    assert call(client, admin, "GET", "segments/fut")[1]["status"] == "active"
