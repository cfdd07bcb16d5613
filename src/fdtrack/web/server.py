"""Running the web service with uvicorn (`fdtrack serve`, `fdtrack demo`)."""

from __future__ import annotations

import uvicorn

from fdtrack.adapters.db.store import SqlStore
from fdtrack.web.app import create_app
from fdtrack.web.settings import WebSettings


def serve(settings: WebSettings, store: SqlStore, host: str, port: int) -> None:
    app = create_app(settings, store=store)
    # proxy_headers trusts X-Forwarded-Proto only from the addresses in FORWARDED_ALLOW_IPS (default
    # 127.0.0.1), so behind a local TLS proxy cookies become Secure and nobody else can claim HTTPS.
    uvicorn.run(app, host=host, port=port, proxy_headers=True, log_level="info", server_header=False)
