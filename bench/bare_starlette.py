"""The yardstick of the API benchmark: a bare Starlette endpoint answering one primary-key SQLite query.

    python bench/bare_starlette.py DATABASE PORT [asyncio|uvloop]

Served by uvicorn with httptools like `fdtrack serve`, one process; the event loop is the third argument.
"""

from __future__ import annotations

import sqlite3
import sys
import threading

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

_local = threading.local()


def main() -> None:
    database, port, loop = sys.argv[1], int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "asyncio"

    def connection() -> sqlite3.Connection:
        found: sqlite3.Connection | None = getattr(_local, "connection", None)
        if found is None:
            found = _local.connection = sqlite3.connect(database, check_same_thread=False)
        return found

    async def record(request: Request) -> JSONResponse:
        row = (
            connection()
            .execute(
                "SELECT id, service_request_id, device_id, current_status FROM distribution_records WHERE id = ?",
                (int(request.path_params["record_id"]),),
            )
            .fetchone()
        )
        return JSONResponse({"id": row[0], "service_request_id": row[1], "device_id": row[2], "status": row[3]})

    app = Starlette(routes=[Route("/records/{record_id:int}", record)])
    uvicorn.run(app, host="127.0.0.1", port=port, loop=loop, http="httptools", log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
