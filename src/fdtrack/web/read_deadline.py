"""uvicorn's HTTP protocol with a deadline for receiving each request whole, so a slow client cannot hold on."""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_MESSAGE = b"the request did not arrive in time"
_TIMED_OUT = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(_MESSAGE), _MESSAGE)
)


class RequestReadDeadline(HttpToolsProtocol):
    """Headers and body of a request must arrive within `read_timeout` seconds of the connection opening (or,
    on a kept-alive connection, of the request starting); otherwise the connection is closed. uvicorn itself
    waits for ever, so a client trickling a byte at a time could hold connections open without limit."""

    def __init__(self, *args: Any, read_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_timeout = read_timeout
        self._deadline: asyncio.TimerHandle | None = None
        self._head_received = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()  # a client that connects and sends nothing is cut off too

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_received = False
        if self._deadline is None:
            self._arm()

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._head_received = True

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._disarm()

    def _arm(self) -> None:
        self._deadline = self.loop.call_later(self._read_timeout, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if not self._head_received:
            # No request has started for the application yet, so the answer is the server's to give.
            self.transport.write(_TIMED_OUT)
        # Mid-body the application owns the answer; it sees the client disconnect and stops reading.
        self.transport.close()
