"""Malformed questionnaire files through the upload pages: whatever the cells, every step answers
a page (never a 500), and "load nothing" writes no customer. A file that is well-formed CSV
always gets through to the checked state, however bad its cells."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from processing.accounts.roles import OPERATOR
from processing.customers.models import Customer
from tests.admin.pages.conftest import People, post, signed_in, text
from tests.connector.onec_http.world import World

CELL = st.text(
    alphabet=st.sampled_from(
        [*"0123456789+()- ;,\"'\n\r\t\x00абвгдЁё@.xyzТелефон", "😀", "\u2028"]
    ),
    max_size=20,
)
HEADER = st.sampled_from(["Телефон", "Фамилия", "Имя", "E-mail", "Дата рождения", "Карта", ""])
TARGETS = st.sampled_from(
    ["", "last_name", "first_name", "email", "birth_date", "gender", "card_number",
     "consent.processing", "consent.advertising"]
)  # fmt: skip


@dataclass(frozen=True)
class Drawn:
    data: bytes
    name: str
    width: int  # the columns the mapping page offers: a trailing column without a header is not
    well_formed: bool  # proper CSV in UTF-8 with a header and at least one row


@st.composite
def files(draw: st.DrawFn) -> Drawn:
    width = draw(st.integers(1, 5))
    header = ["Телефон", *(draw(HEADER) for _ in range(width - 1))]
    named = len(header)
    while not header[named - 1]:
        named -= 1
    rows = draw(st.lists(st.lists(CELL, min_size=width, max_size=width), min_size=1, max_size=12))
    if draw(st.booleans()):
        out = io.StringIO()
        csv.writer(out, delimiter=";").writerows([header, *rows])
        data = out.getvalue().replace("\x00", "").encode("utf-8")
        rows_left = any(any(cell.strip() for cell in row) for row in rows)
        return Drawn(data, "a.csv", named, well_formed=rows_left and "\x00" not in out.getvalue())
    separator = draw(st.sampled_from([";", ","]))
    body = "\n".join(separator.join(row) for row in [header, *rows])
    data = body.encode(draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1251"])), errors="replace")
    data = data[: draw(st.integers(0, len(data)))]
    return Drawn(
        data, draw(st.sampled_from(["b.csv", "c.xlsx", "d.txt"])), named, well_formed=False
    )


def _customers(session: Session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Customer)) or 0


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(file=files(), targets=st.lists(TARGETS, min_size=4, max_size=4, unique=True))
def test_any_file_gets_an_answer_and_load_nothing_writes_nothing(
    client: FlaskClient, session: Session, people: People, world: World,
    file: Drawn, targets: list[str],
) -> None:  # fmt: skip
    if client.get("/admin/uploads").status_code != 200:
        signed_in(client, people[OPERATOR])
    before = _customers(session)
    started = post(
        client, "/admin/uploads", {"file": (io.BytesIO(file.data), file.name)},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert started.status_code == 302
    if started.headers["Location"].endswith("/admin/uploads"):
        assert not file.well_formed  # refused at once, with a message on the list page
        return
    page_url = started.headers["Location"]
    assert client.get(page_url).status_code == 200
    mapping = {"column.0": "phone"} | {
        f"column.{i + 1}": target for i, target in enumerate(targets[: file.width - 1]) if target
    }
    checked = post(client, page_url + "/mapping", mapping, follow_redirects=True)
    assert checked.status_code == 200, text(checked)[-300:]
    if file.well_formed:
        assert "проверено" in text(checked), text(checked)[-600:]
    if "проверено" in text(checked):
        assert client.get(page_url + "/errors.xlsx").status_code in (200, 404)
    cancelled = post(client, page_url + "/load", {"mode": "nothing"}, follow_redirects=True)
    assert cancelled.status_code == 200
    assert _customers(session) == before
