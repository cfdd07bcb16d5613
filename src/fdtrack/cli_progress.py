"""Progress bars with rate and ETA for long commands, shown only on an interactive terminal."""

from __future__ import annotations

import sys
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.progress import Progress as RichProgress


class Progress:
    """A rich progress bar on stderr; silent when output is piped or JSON was asked for."""

    def __init__(self, label: str, *, total: int | None, unit: str, quiet: bool = False) -> None:
        self._enabled = not quiet and sys.stderr.isatty() and sys.stdout.isatty()
        self._bar: RichProgress | None = None
        if self._enabled:
            rate = TransferSpeedColumn() if unit == "bytes" else TextColumn("{task.fields[rate]}")
            count = TextColumn("") if unit == "bytes" else MofNCompleteColumn()
            self._bar = RichProgress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                count,
                rate,
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self._task = self._bar.add_task(label, total=total, rate="")

    def __enter__(self) -> Progress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.stop()

    def update_to(self, completed: int) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=completed, rate=self._rate())

    def advance(self, amount: int) -> None:
        if self._bar is not None:
            self._bar.update(self._task, advance=amount, rate=self._rate())

    def _rate(self) -> str:
        assert self._bar is not None
        speed = self._bar.tasks[0].speed
        return f"{speed:,.0f}/s" if speed else ""
