"""Progress reporting, pip-style: library code only reports ``(done, total)``.

The edge (a CLI command) chooses how it is shown: a rich bar with frames/s and ETA when stderr is
a terminal, a plain line now and then otherwise, nothing with --quiet. The engine never knows.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol, TextIO


class ProgressSink(Protocol):
    def __call__(self, done: int, total: int | None) -> None: ...


class _PlainLines:
    """For logs and pipes: one line every few seconds, never a carriage-return bar."""

    def __init__(self, label: str, stream: TextIO, every_s: float = 5.0) -> None:
        self.label, self.stream, self.every_s = label, stream, every_s
        self.start = self.last = time.monotonic()

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        finished = total is not None and done >= total
        if now - self.last < self.every_s and not finished:
            return
        self.last = now
        rate = done / max(now - self.start, 1e-6)
        of = f"/{total}" if total else ""
        print(f"{self.label}: {done}{of} frames, {rate:.1f} frames/s", file=self.stream, flush=True)


class _RichBar:
    def __init__(self, label: str, stream: TextIO) -> None:
        # Here, not at the top: rich takes ~70 ms to import, and only a bar on a terminal
        # needs it (the pipeline imports this module for every clip).
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[fps]} frames/s"),
            TimeRemainingColumn(),
            console=Console(file=stream),
            transient=False,
        )
        self.task = self.progress.add_task(label, total=None, fps="-")
        self.start = time.monotonic()

    def __call__(self, done: int, total: int | None) -> None:
        rate = done / max(time.monotonic() - self.start, 1e-6)
        self.progress.update(self.task, completed=done, total=total, fps=f"{rate:.1f}")


@contextmanager
def progress_for(
    label: str, *, quiet: bool = False, stream: TextIO | None = None
) -> Iterator[ProgressSink | None]:
    """The sink a command should pass to the engine; None (no reporting) when quiet."""
    out = stream if stream is not None else sys.stderr
    if quiet:
        yield None
        return
    if out.isatty():
        bar = _RichBar(label, out)
        with bar.progress:
            yield bar
        return
    yield _PlainLines(label, out)
