"""Reading a request body whole, within the configured size limit and only in the media types accepted."""

from __future__ import annotations

from fastapi import Request
from starlette.exceptions import HTTPException

DUIS_TYPES = ("application/xml", "text/xml")  # DUIS messages, for the events and the device inventory alike


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than the limit of {limit:,} bytes")


class UnsupportedMediaType(HTTPException):
    def __init__(self, accepted: tuple[str, ...]) -> None:
        super().__init__(415, f"send the body as one of: {', '.join(accepted)}")


def media_type(request: Request, accepted: tuple[str, ...]) -> str:
    """The body's media type without parameters; 415 unless it is one of `accepted`."""
    given = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if given not in accepted:
        raise UnsupportedMediaType(accepted)
    return given


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it passes `limit`: a declared length is trusted to refuse
    early, never to accept, so a client cannot send more than it declared."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)
