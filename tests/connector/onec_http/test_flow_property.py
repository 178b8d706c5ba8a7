"""The documented flow (soft calculation, then commit) gives the same figures on every path.

For random account snapshots under every questionnaire allowance, four identical accounts take
the four ways a receipt can be committed: the hot path and the general (ORM) path, each with the
``calculation_id`` of a soft calculation made on that path and without one. The calculations,
the commits, the rows written and the balances must all agree.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import product
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from sqlalchemy import select
from sqlalchemy.orm import Session

from processing.cache import ProcessCache
from processing.cards.models import Card
from processing.cards.service import (
    activate_on_first_use,
    card_account_id,
    generate_cards,
    get_template,
    issue_card,
)
from processing.customers.service import register_customer
from processing.ledger.service import balance
from processing.receipts.models import Receipt, SoftCalculation
from processing.tenants.models import Tenant
from processing.tenants.service import set_questionnaire_rules
from tests.connector.onec_http.test_fast_path import (
    Lot,
    _account_state,
    _general_path,
    fill_account,
    snapshot_strategies,
)
from tests.connector.onec_http.world import World, receipt, spy_commits

# (writer, whether the commit names the soft calculation made on the same writer's path)
PATHS = (("fast", True), ("general", True), ("fast", False), ("general", False))
POLICIES = ("nothing", "accrual_only", "full")


def _account(
    session: Session, tenant: Tenant, card: Card, customer_kind: str, now: datetime
) -> int:
    """The card's account: a customer's (with or without the processing consent), or that of
    an anonymous pre-printed card already used once."""
    if customer_kind == "anonymous":
        activate_on_first_use(session, card, now=now)
        return card_account_id(card)
    customer = register_customer(
        session, tenant, {"first_name": "Тест"}, source="admin", author="t",
        consents={"processing": customer_kind == "consenting"}, now=now,
    )  # fmt: skip
    return card_account_id(issue_card(session, tenant, card.number, customer, author="t",
                                      now=now))  # fmt: skip


def _post(client: FlaskClient, world: World, what: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"/api/v1/receipts/{what}", json=body, headers=world.auth)
    assert response.status_code == 200, response.get_json()
    answer: dict[str, Any] = response.get_json()
    return answer


def _figures(answer: dict[str, Any]) -> dict[str, Any]:
    """What a soft calculation and a commit both answer."""
    level = answer["level"]
    return {
        "totals": answer["totals"],
        "lines": answer["lines"],
        "level": level["code"] if isinstance(level, dict) else level,
    }


def _name(path: str, with_id: bool, card_number: str) -> str:
    """The receipt number of one path's commit."""
    return f"{path}-{'flow' if with_id else 'direct'}-{card_number}"


def _take_every_path(
    client: FlaskClient,
    world: World,
    patch: pytest.MonkeyPatch,
    base: dict[str, Any],
    numbers: list[str],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str], dict[str, bool]]:
    """Commit ``base`` once per path, each on its own card, the flow ones after a soft
    calculation on the same path. Returns the calculations, the commits (without their own
    ids), the receipts the general writer committed and, per receipt, whether a stored soft
    result was posted."""
    general_commits, replayed = spy_commits(patch)
    calculations, commits = [], []
    for (path, with_id), number in zip(PATHS, numbers, strict=True):
        body = {**base, "number": _name(path, with_id, number), "card_number": number}
        if with_id:
            with _general_path(patch, path == "general", "calculate_fast"):
                calculation = _post(client, world, "calculate", body)
            calculations.append(calculation)
            body["calculation_id"] = calculation["calculation_id"]
        with _general_path(patch, path == "general"):
            commit = _post(client, world, "commit", body)
        commits.append({k: v for k, v in commit.items() if k not in ("transaction_id", "number")})
    return calculations, commits, general_commits, replayed


# Every allowance is a case of its own: drawn at random, a few examples would miss some. The
# policy is for customers who owe the questionnaire: one that has filled it is tried under the
# strictest policy only.
@pytest.mark.parametrize(
    ("policy", "customer_kind"),
    [("nothing", "consenting"), *product(POLICIES, ("without_consent", "anonymous"))],
)
@settings(
    max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(**snapshot_strategies)
def test_calculate_and_commit_give_the_same_figures_on_every_path(
    client: FlaskClient,
    world: World,
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
    lots: list[Lot],
    debt: int | None,
    requested: int,
    override: str | None,
    policy: str,
    customer_kind: str,
) -> None:
    tenant = session.get_one(Tenant, world.tenant_id)
    set_questionnaire_rules(session, tenant, policy, [])
    # The examples share one test's fixtures: start each from an empty caller cache, as
    # conftest does between tests, so that both paths read this example's policy.
    ProcessCache.invalidate_all()
    now = datetime.now(UTC).replace(microsecond=0)
    sold_at = (now - timedelta(minutes=1)).astimezone(ZoneInfo("Europe/Moscow"))
    cards = generate_cards(session, get_template(session, tenant, "main"), len(PATHS),
                           author="t", now=now)  # fmt: skip
    numbers = [card.number for card in cards]
    accounts = [_account(session, tenant, card, customer_kind, now) for card in cards]
    for account in accounts:
        fill_account(session, account, lots, debt, override, now)
    session.flush()

    base = receipt("p", sold_at=sold_at.replace(tzinfo=None).isoformat())
    asked = Decimal(requested).scaleb(-2)
    probe = _post(
        client, world, "calculate", {**base, "card_number": numbers[0], "pay_bonus": asked}
    )
    pay = min(asked, Decimal(str(probe["max_bonus_payment"])))  # a commit must be payable

    with monkeypatch.context() as patch:  # undone after each example, not after the test
        calculations, commits, general_commits, replayed = _take_every_path(
            client, world, patch, {**base, "pay_bonus": pay}, numbers
        )

    names = [_name(*path, number) for path, number in zip(PATHS, numbers, strict=True)]
    assert general_commits == [
        name for (path, _), name in zip(PATHS, names, strict=True) if path == "general"
    ]
    # Nothing changed between a calculation and its commit: the stored result is posted.
    assert replayed == {name: with_id for (_, with_id), name in zip(PATHS, names, strict=True)}
    soft_fast, soft_general = (
        {k: v for k, v in calculation.items() if k not in ("calculation_id", "card_number")}
        for calculation in calculations
    )
    assert soft_fast == soft_general
    stored = [
        session.get_one(SoftCalculation, calculation["calculation_id"]).result
        for calculation in calculations
    ]
    assert stored[0] == stored[1]
    assert pay <= Decimal(str(soft_fast["max_bonus_payment"]))
    assert soft_fast["totals"]["bonus_payment"] == pay
    for commit in commits:
        assert _figures(commit) == _figures(soft_fast)
        assert commit == commits[0]

    session.expire_all()  # rows written through Core or SQL are read afresh
    rows = {r.number: r for r in session.scalars(select(Receipt).where(Receipt.number.in_(names)))}
    states = [
        _account_state(session, account, rows[name])
        for account, name in zip(accounts, names, strict=True)
    ]
    for state in states[1:]:
        assert state == states[0]
    balances = [balance(session, account, now) for account in accounts]
    assert balances == [balances[0]] * len(PATHS)
