"""Running an iterator ahead in a thread, so reading and validating overlap the database's work."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

T = TypeVar("T")
_POLL_SECONDS = 0.1  # how often a blocked producer checks whether the consumer has gone


class _End:
    """Marks the end of the items, carrying the producer's exception if it failed."""

    def __init__(self, error: BaseException | None) -> None:
        self.error = error


class _ReadAhead(Generic[T]):
    def __init__(self, source: Iterable[T], depth: int) -> None:
        self._items: queue.Queue[T | _End] = queue.Queue(maxsize=depth)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._produce, args=(source,), name="fdtrack-read-ahead", daemon=True)

    def _produce(self, source: Iterable[T]) -> None:
        error: BaseException | None = None
        try:
            for item in source:
                if not self._offer(item):
                    return
        except BaseException as failure:
            error = failure
        self._offer(_End(error))

    def _offer(self, item: T | _End) -> bool:
        while not self._stopped.is_set():
            try:
                self._items.put(item, timeout=_POLL_SECONDS)
            except queue.Full:
                continue
            return True
        return False

    def __iter__(self) -> Iterator[T]:
        self._thread.start()
        while True:
            item = self._items.get()
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return
            yield item

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()


@contextmanager
def read_ahead(source: Iterable[T], depth: int = 2) -> Iterator[Iterator[T]]:
    """Iterate `source` in a background thread, at most `depth` items ahead of the consumer.

    CPython's sqlite3 and psycopg release the GIL while the database works, so the next batch
    is read and validated meanwhile. Exceptions from `source` reach the consumer unchanged.
    """
    ahead = _ReadAhead(source, depth)
    try:
        yield iter(ahead)
    finally:
        ahead.stop()
