"""Reading DUIS messages from files, directories of .xml files and stdin, one document at a time."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from fdtrack.adapters.duis.hardened_xml import MAX_DOCUMENT_BYTES
from fdtrack.adapters.event_files import ByteCounter, UnreadableInput
from fdtrack.services.duis_ingest import DuisDocument


def message_files(path: str) -> list[Path]:
    """The files a path stands for: itself, or a directory's .xml files in name order (name them by time)."""
    if path == "-":
        return []
    given = Path(path)
    if given.is_dir():
        return sorted(child for child in given.iterdir() if child.suffix.lower() == ".xml" and child.is_file())
    if not given.exists():
        raise UnreadableInput(f"{path}: no such file or directory")
    return [given]


def check_paths(paths: Sequence[str]) -> None:
    """Fail before anything is ingested when a named path does not exist."""
    for path in paths:
        if path != "-" and not Path(path).exists():
            raise UnreadableInput(f"{path}: no such file or directory")


def total_bytes(paths: Sequence[str]) -> int:
    return sum(file.stat().st_size for path in paths for file in message_files(path))


def read_documents(paths: Sequence[str], counter: ByteCounter | None = None) -> Iterator[DuisDocument]:
    """Each file is one DUIS message; stdin ('-') holds one message."""
    for path in paths:
        if path == "-":
            yield DuisDocument("stdin", _bounded_read(sys.stdin.buffer, counter))
            continue
        for file in message_files(path):
            try:
                with file.open("rb") as stream:
                    content = _bounded_read(stream, counter)
            except OSError as error:
                raise UnreadableInput(f"{file}: {error.strerror or error}") from None
            yield DuisDocument(str(file), content)


def _bounded_read(stream: BinaryIO, counter: ByteCounter | None) -> bytes:
    # One byte more than the limit is enough to know a document is too big; the rest is skipped.
    content = stream.read(MAX_DOCUMENT_BYTES + 1)
    skipped = 0
    if len(content) > MAX_DOCUMENT_BYTES:
        while chunk := stream.read(1 << 20):
            skipped += len(chunk)
    if counter is not None:
        counter.consumed += len(content) + skipped
    return content
