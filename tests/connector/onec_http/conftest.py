from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.connector.onec_http.world import World, seed_world


@pytest.fixture
def world(session: Session) -> World:
    return seed_world(session)


@pytest.fixture
def other(session: Session) -> World:
    return seed_world(session, "other", prefix="2776")
