"""`fdtrack serve` as a real process: slow clients are cut off by the request deadline without holding up
anyone else, and an oversized body is refused before it is sent."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from fdtrack.adapters.db.accounts import SqlAccountStore
from fdtrack.adapters.db.store import SqlStore
from fdtrack.adapters.db.tokens import SqlTokenStore
from fdtrack.adapters.passwords import Argon2Hasher
from fdtrack.domain.accounts import Role
from fdtrack.domain.tokens import TokenScope
from fdtrack.services.accounts import create_account
from fdtrack.services.tokens import create_token

BOUND = 60.0  # generous bound on any wait, so a broken server fails the test instead of hanging it


@dataclass(frozen=True)
class Server:
    port: int
    token: str
    process: subprocess.Popen[bytes]

    def connect(self) -> socket.socket:
        connection = socket.create_connection(("127.0.0.1", self.port), timeout=BOUND)
        connection.settimeout(BOUND)
        return connection

    def get(self, path: str) -> int:
        """The status of a GET by an ordinary client, on a connection of its own."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=BOUND)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            return response.status
        finally:
            connection.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _ingest_token(database_url: str) -> str:
    store = SqlStore.open(database_url)
    try:
        accounts = SqlAccountStore(store.engine)
        create_account(accounts, Argon2Hasher(1, 64), "feeder", Role.ADMIN, "feeder-password-1", "test")
        return create_token(SqlTokenStore(store.engine), "feeder", TokenScope.INGEST, "test").secret
    finally:
        store.dispose()


@pytest.fixture
def server(database_url: str) -> Iterator[Server]:
    token = _ingest_token(database_url)
    port = _free_port()
    env = {
        **os.environ,
        "FDTRACK_DATABASE_URL": database_url,
        "FDTRACK_REQUEST_READ_TIMEOUT_SECONDS": "1",
        "FDTRACK_MAX_BODY_BYTES": "4096",
        "FDTRACK_PURGE_INTERVAL_MINUTES": "0",
        "FDTRACK_LOG_LEVEL": "INFO",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "fdtrack.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    started = Server(port, token, process)
    deadline = time.monotonic() + BOUND
    while True:
        assert process.poll() is None, process.communicate()[0].decode()
        assert time.monotonic() < deadline, "the server did not start"
        try:
            if started.get("/healthz") == 200:
                break
        except OSError:
            time.sleep(0.1)  # polling for start-up, not timing anything
    yield started
    process.terminate()
    output = process.communicate(timeout=BOUND)[0].decode()
    assert "Traceback" not in output, output
    assert "unexpected error" not in output, output


def read_response(connection: socket.socket) -> tuple[int, bytes]:
    """The status and body of the one response the server sends on a raw connection."""
    response = http.client.HTTPResponse(connection)
    response.begin()
    return response.status, response.read()


def stored_events(database_url: str) -> int:
    store = SqlStore.open(database_url)
    try:
        with store.engine.connect() as connection:
            return int(connection.execute(sa.text("SELECT count(*) FROM status_events")).scalar_one())
    finally:
        store.dispose()


def read_all(connection: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (bounded by the socket timeout)."""
    received = b""
    while chunk := connection.recv(65_536):
        received += chunk
    return received


def test_a_client_trickling_its_headers_is_cut_off_with_408_and_others_are_served_meanwhile(server: Server) -> None:
    with server.connect() as slow:
        slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: fdtrack\r\nX-Slow: ")
        assert server.get("/healthz") == 200  # the slow client blocks nobody
        answer = read_all(slow)  # the server ends the connection; the client never finished its headers
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert server.get("/healthz") == 200


def test_a_client_that_connects_and_sends_nothing_is_cut_off(server: Server) -> None:
    with server.connect() as silent:
        assert server.get("/healthz") == 200
        assert read_all(silent).startswith(b"HTTP/1.1 408 ")


def test_a_client_trickling_its_body_is_disconnected_and_nothing_is_stored(server: Server, database_url: str) -> None:
    head = (
        "POST /api/v1/events HTTP/1.1\r\nHost: fdtrack\r\ncontent-type: application/x-ndjson\r\n"
        f"authorization: Bearer {server.token}\r\ncontent-length: 2000\r\n\r\n"
    )
    with server.connect() as slow:
        slow.sendall(head.encode() + b'{"device_id": "00-DB-12-34-56-78-90-A0", ')
        assert server.get("/healthz") == 200
        assert read_all(slow) == b""  # cut off mid-body: the application had nobody to answer
    assert stored_events(database_url) == 0


@pytest.mark.parametrize(
    ("path", "content_type"), [("/api/v1/events", "application/json"), ("/api/v1/duis", "text/xml")]
)
def test_a_declared_oversized_body_gets_413_before_any_of_it_is_sent(
    server: Server, path: str, content_type: str
) -> None:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: fdtrack\r\ncontent-type: {content_type}\r\n"
        f"authorization: Bearer {server.token}\r\ncontent-length: {1 << 30}\r\n\r\n"
    )
    with server.connect() as client:
        client.sendall(head.encode())  # a gigabyte announced, not one byte of it sent
        status, body = read_response(client)
    assert status == 413
    assert b"body_too_large" in body


def test_an_undeclared_oversized_body_gets_413_while_it_is_still_being_sent(server: Server) -> None:
    head = (
        "POST /api/v1/events HTTP/1.1\r\nHost: fdtrack\r\ncontent-type: application/x-ndjson\r\n"
        f"authorization: Bearer {server.token}\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    chunk = b"x" * 1_000
    with server.connect() as client:
        client.sendall(head.encode())
        for _ in range(5):  # 5,000 bytes: over the 4,096 allowed, and the chunked body never ends
            client.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        status, body = read_response(client)
    assert status == 413
    assert b"body_too_large" in body
