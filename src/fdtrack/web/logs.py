"""Structured logs: one JSON object per line, and the access log line of each request (never a token)."""

from __future__ import annotations

import atexit
import json
import logging
import queue
import sys
from datetime import UTC, datetime
from logging.handlers import QueueHandler, QueueListener

from starlette.types import Scope

access_log = logging.getLogger("fdtrack.access")
# Fields a log call may add with `extra=`; anything else on a record is logging's own bookkeeping.
_FIELDS = ("method", "path", "route", "status", "duration_ms", "client", "actor", "event")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in _FIELDS:
            if field in record.__dict__:
                line[field] = record.__dict__[field]
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on stderr for fdtrack's and uvicorn's loggers (uvicorn's own access log is off).

    Requests only put records on a queue; a thread of its own formats and writes them, so a slow
    disk or pipe never holds up an answer."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    listener = QueueListener(records, handler)
    listener.start()
    atexit.register(listener.stop)
    for name in ("fdtrack", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [QueueHandler(records)]
        logger.setLevel(level)
        logger.propagate = False


def log_request(scope: Scope, status: int, elapsed: float) -> None:
    """The access log: path without its query string, so nothing a client put in the address is repeated."""
    if not access_log.isEnabledFor(logging.INFO):
        return
    client = scope.get("client")
    route = scope.get("route")
    state = scope.get("state") or {}
    access_log.info(
        "%s %s %s",
        scope["method"],
        scope["path"],
        status,
        extra={
            "method": scope["method"],
            "path": scope["path"],
            "route": getattr(route, "path", None),
            "status": status,
            "duration_ms": round(elapsed * 1000, 2),
            "client": client[0] if client else None,
            "actor": state.get("actor"),
        },
    )
