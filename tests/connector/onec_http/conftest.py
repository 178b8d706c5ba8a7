"""Fixtures of the POS API's race tests: a world committed where other connections see it."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.connector.onec_http.world import World, seed_world


@pytest.fixture
def committed_world(engine: Engine) -> World:
    with Session(engine) as session:
        world = seed_world(session)
        session.commit()
    return world
