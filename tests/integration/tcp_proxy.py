"""A TCP proxy in front of PostgreSQL: `cut` is an outage (connections dropped, new ones refused),
`blackhole` a server that stops answering (nothing refused, nothing forwarded), `restore` their end."""

from __future__ import annotations

import contextlib
import socket
import threading


class TcpProxy:
    """Forwards a local port to the database server; `cut` and `blackhole` are outages, `restore` their end."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = 0
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._forwarding = threading.Event()
        self._forwarding.set()

    def blackhole(self) -> None:
        """Stop forwarding in both directions while keeping every connection open and accepting new
        ones, as a server whose packets are dropped: whatever is sent waits, unanswered."""
        self._forwarding.clear()

    def restore(self) -> None:
        """End an outage: what a black hole held back is forwarded, and a cut proxy listens again."""
        self._forwarding.set()
        if self._listener is not None:
            return
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        """Refuse new connections and drop the open ones, as a server that has gone away."""
        if self._listener is None:
            return
        # shutdown() wakes the thread blocked in accept(); close() alone would leave it accepting.
        with self._lock:
            self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
            for connection in self._open:
                with contextlib.suppress(OSError):  # the other side may have closed it already
                    connection.shutdown(socket.SHUT_RDWR)
                connection.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed: an outage
            self._forwarding.wait()  # in a black hole, a new connection is accepted and left unanswered
            server = socket.create_connection(self.upstream)
            with self._lock:
                if self._listener is not listener:
                    # Accepted just before a cut: it must not outlive the outage as a working connection.
                    client.close()
                    server.close()
                    return
                self._open.update((client, server))
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                self._forwarding.wait()
                target.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, target):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
