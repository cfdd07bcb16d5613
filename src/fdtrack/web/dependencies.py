"""What every route needs, held on the app: settings, stores, the password hasher and the templates."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from fastapi.templating import Jinja2Templates

from fdtrack.services.account_ports import AccountStore, PasswordHasher
from fdtrack.services.ports import Store
from fdtrack.web.settings import WebSettings


@dataclass(frozen=True)
class WebServices:
    settings: WebSettings
    store: Store
    accounts: AccountStore
    hasher: PasswordHasher
    templates: Jinja2Templates


def services(request: Request) -> WebServices:
    found: WebServices = request.app.state.services
    return found


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
