"""The production serving stack, started for a test: gunicorn with the command line of
``loyalty-connector serve`` and nginx with ``docs/deploy/nginx.conf``, on loopback ports; and
slow clients to throw at them."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from config import load_settings
from connector.cli import gunicorn_command
from tests.conftest import REPO_ROOT

NGINX_CONF = REPO_ROOT / "docs" / "deploy" / "nginx.conf"
START_TIMEOUT_S = 30.0
# Settings the tests give; everything else a developer's shell exports is left out.
_APP_VARIABLES = ("DATABASE_URL", "REDIS_URL", "BIND", "WEB_CONCURRENCY", "PROXY_HOPS", "VAR_DIR")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def require_tool(name: str) -> str:
    """The tool's path; the test is skipped only when the OS has no such tool."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if found is None:
        pytest.skip(f"{name} is not installed (tests/run.sh installs it)")
    return found


def wait_healthy(
    url: str, process: subprocess.Popen[bytes], log: Path, verify: str | bool = True
) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            if requests.get(url, timeout=2, verify=verify).status_code == 200:
                return
        except requests.RequestException:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            output = log.read_text("utf-8", errors="replace")[-3000:] if log.exists() else ""
            raise AssertionError(f"{url} is not healthy (exit code {process.poll()}):\n{output}")
        time.sleep(0.2)


def _stop(process: subprocess.Popen[bytes], sig: int) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True)
class Gunicorn:
    port: int
    workers: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def gunicorn(env: Mapping[str, str], log: Path, workers: int = 2) -> Iterator[Gunicorn]:
    """gunicorn as ``serve`` runs it in production, its workers answering health checks."""
    port = free_port()
    app_env = {**env, "BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": str(workers)}
    process_env = {k: v for k, v in os.environ.items() if k not in _APP_VARIABLES}
    with log.open("wb") as output:
        process = subprocess.Popen(
            gunicorn_command(load_settings(app_env)),
            cwd=REPO_ROOT,
            env={**process_env, **app_env, "LOG_LEVEL": "WARNING"},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        server = Gunicorn(port, workers)
        wait_healthy(f"{server.url}/api/v1/health", process, log)
        yield server
    finally:
        _stop(process, signal.SIGINT)  # gunicorn's quick shutdown


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (the certificate is its own CA)."""
    certificate, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            require_tool("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes",
            "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(certificate),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return certificate, key


def _replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"docs/deploy/nginx.conf no longer has exactly one {old!r}"
    return text.replace(old, new)


@dataclass(frozen=True)
class Nginx:
    port: int
    certificate: Path

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.certificate))


@contextmanager
def nginx(upstream: Gunicorn, directory: Path) -> Iterator[Nginx]:
    """nginx running the committed config: only its port, upstream and certificate change."""
    binary = require_tool("nginx")
    certificate, key = self_signed_certificate(directory)
    port = free_port()
    site = NGINX_CONF.read_text(encoding="utf-8")
    site = _replace_once(site, "listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;")
    site = _replace_once(site, "server 127.0.0.1:8080;", f"server 127.0.0.1:{upstream.port};")
    site = _replace_once(site, "/etc/ssl/loyalty-connector/fullchain.pem", str(certificate))
    site = _replace_once(site, "/etc/ssl/loyalty-connector/privkey.pem", str(key))
    (directory / "loyalty-connector.conf").write_text(site, encoding="utf-8")
    # The main file stands for Debian's /etc/nginx/nginx.conf, with every path in `directory`.
    temp_paths = "\n".join(
        f"{kind}_temp_path {directory / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    user = "user root;" if os.geteuid() == 0 else ""  # workers must read the test's directory
    (directory / "nginx.conf").write_text(
        f"""
        {user}
        daemon off;
        worker_processes 1;
        pid {directory / "nginx.pid"};
        error_log {directory / "error.log"} warn;
        events {{ worker_connections 512; }}
        http {{
            access_log {directory / "access.log"};
            {temp_paths}
            include {directory / "loyalty-connector.conf"};
        }}
        """,
        encoding="utf-8",
    )
    process = subprocess.Popen(
        [binary, "-p", str(directory), "-e", str(directory / "error.log"),
         "-c", str(directory / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        proxy = Nginx(port, certificate)
        wait_healthy(
            f"{proxy.url}/api/v1/health", process, directory / "error.log", str(certificate)
        )
        yield proxy
    finally:
        _stop(process, signal.SIGTERM)  # nginx's fast shutdown


class SlowClients:
    """``count`` connections that each send a request one header line per ``interval_s`` or,
    given a POS ``token``, a whole header and then one body byte per ``interval_s`` (an
    authenticated request's body is read by the app), never finishing it, for ``limit_s`` at
    most."""

    def __init__(
        self,
        port: int,
        count: int,
        *,
        tls: ssl.SSLContext | None = None,
        token: str | None = None,
        interval_s: float = 0.5,
        limit_s: float = 10.0,
    ) -> None:
        assert count <= 32 and limit_s <= 30, "a bounded probe, not a load test"
        self.port, self.count, self.tls, self.token = port, count, tls, token
        self.interval_s, self.limit_s = interval_s, limit_s
        self.sockets: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._trickle, daemon=True)

    def __enter__(self) -> SlowClients:
        for _ in range(self.count):
            sock: socket.socket = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            if self.tls is not None:
                sock = self.tls.wrap_socket(sock, server_hostname="127.0.0.1")
            sock.sendall(self._opening())
            self.sockets.append(sock)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        for sock in self.sockets:
            sock.close()

    def _opening(self) -> bytes:
        if self.token is not None:
            return (
                "POST /api/v1/identify HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {self.token}\r\nContent-Type: application/json\r\n"
                "Content-Length: 100000\r\n\r\n{"
            ).encode()
        return b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"

    def _trickle(self) -> None:
        deadline = time.monotonic() + self.limit_s
        piece = b"X-Slow: 1\r\n" if self.token is None else b" "
        while not self._stop.wait(self.interval_s) and time.monotonic() < deadline:
            for sock in self.sockets:
                with contextlib.suppress(OSError):  # closed by the server: still_waiting() tells
                    sock.sendall(piece)

    def still_waiting(self) -> int:
        """How many connections the server neither answered nor closed."""
        waiting = 0
        for sock in self.sockets:
            sock.setblocking(False)
            try:
                received = sock.recv(4096)
            except (BlockingIOError, ssl.SSLWantReadError):
                waiting += 1
                continue
            except OSError:
                continue
            finally:
                sock.setblocking(True)
            assert not received, f"a slow client was answered before finishing: {received!r}"
        return waiting
