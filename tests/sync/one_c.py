"""1C's side of "exchange with website" (CommerceML) over real HTTP, as 1C:УТ 11 speaks it
(shared/protocols/commerceml-exchange.md): Basic only on ``checkauth``, then the cookie from
its answer on every call; files in pieces no bigger than ``file_limit``; ``import`` repeated
while the answer is ``progress``."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import requests

POLL_INTERVAL_S = 0.1


@dataclass
class Answer:
    status: int
    lines: list[str]

    @property
    def first(self) -> str:
        return self.lines[0]


@dataclass
class OneC:
    """One exchange of one type (``catalog`` or ``sale``); ``checkauth`` starts a new one."""

    base_url: str  # e.g. http://127.0.0.1:8080/exchange/acme/1c
    user: str
    password: str
    kind: str = "catalog"
    cookie: tuple[str, str] | None = None
    file_limit: int | None = None
    http: requests.Session = field(default_factory=requests.Session)

    def call(self, mode: str, body: bytes | None = None, **params: str) -> requests.Response:
        headers = {}
        if self.cookie is not None:
            headers["Cookie"] = f"{self.cookie[0]}={self.cookie[1]}"
        self.http.cookies.clear()  # 1C sends the cookie it read from the answer, nothing else
        return self.http.request(
            "POST" if body is not None else "GET",
            self.base_url,
            params={"type": self.kind, "mode": mode, **params},
            data=body,
            headers=headers,
            timeout=30,
        )

    def text(self, mode: str, body: bytes | None = None, **params: str) -> Answer:
        response = self.call(mode, body, **params)
        assert response.headers["Content-Type"].startswith("text/plain"), response.text[:500]
        return Answer(response.status_code, response.text.split("\n"))

    def checkauth(self) -> Answer:
        self.cookie = None
        response = self.http.get(
            self.base_url,
            params={"type": self.kind, "mode": "checkauth"},
            auth=(self.user, self.password),
            timeout=30,
        )
        answer = Answer(response.status_code, response.text.split("\n"))
        if answer.first == "success":
            self.cookie = (answer.lines[1], answer.lines[2])
        return answer

    def init(self) -> dict[str, str]:
        answer = self.text("init")
        assert answer.status == 200, answer
        values = dict(line.split("=", 1) for line in answer.lines if "=" in line)
        self.file_limit = int(values["file_limit"])
        return values

    def upload(self, name: str, data: bytes, pieces: int = 1) -> None:
        """``data`` in ``pieces`` POSTs of the same file name (each within ``file_limit``)."""
        step = max(1, -(-len(data) // pieces))
        assert self.file_limit is None or step <= self.file_limit, "1C never sends more"
        for start in range(0, len(data), step):
            answer = self.text("file", data[start : start + step], filename=name)
            assert answer.lines == ["success"], answer

    def import_file(self, name: str, timeout_s: float = 60.0) -> list[Answer]:
        """``mode=import`` repeated while the answer is ``progress``: every answer, the last
        one ``success`` or ``failure``."""
        answers: list[Answer] = []
        deadline = time.monotonic() + timeout_s
        while True:
            answer = self.text("import", filename=name)
            answers.append(answer)
            if answer.first != "progress":
                return answers
            assert time.monotonic() < deadline, f"{name} still in progress: {answers[-1]}"
            time.sleep(POLL_INTERVAL_S)
