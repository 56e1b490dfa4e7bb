"""Progress reporting, pip-style: library code only reports ``(done, total)``.

The edge (a CLI command) chooses how it is shown: a rich bar with frames/s and ETA when stderr is
a terminal, a plain line now and then otherwise, nothing with --quiet. The engine never knows.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol, TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class ProgressSink(Protocol):
    def __call__(self, done: int, total: int | None) -> None: ...


class _PlainLines:
    """For logs and pipes: one line every few seconds, never a carriage-return bar."""

    def __init__(
        self,
        label: str,
        stream: TextIO,
        every_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label, self.stream, self.every_s, self.clock = label, stream, every_s, clock
        self.start = self.last = clock()

    def __call__(self, done: int, total: int | None) -> None:
        now = self.clock()
        finished = total is not None and done >= total
        if now - self.last < self.every_s and not finished:
            return
        self.last = now
        rate = done / max(now - self.start, 1e-6)
        of = f"/{total}" if total else ""
        print(f"{self.label}: {done}{of} frames, {rate:.1f} frames/s", file=self.stream, flush=True)


class Bar:
    """The one terminal progress bar (rich): done of total, frames/s, time taken and ETA.

    The export and preview frame bars and the batch's file bar are all this bar; a line
    printed through it (``line``) appears above it, not through it."""

    def __init__(self, stream: TextIO, label: str, *, unit: str = "", total: int | None = None):
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            MofNCompleteColumn(),
            TextColumn(f"{unit}{{task.fields[fps]}} frames/s"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(file=stream),
            transient=False,
        )
        self.task = self.progress.add_task(label, total=total, fps="-")
        self.start = time.monotonic()

    def frames(self, frames: int) -> None:
        """Frames done so far, for the rate."""
        rate = frames / max(time.monotonic() - self.start, 1e-6)
        self.progress.update(self.task, fps=f"{rate:.1f}")

    def update(self, done: int, total: int | None) -> None:
        self.progress.update(self.task, completed=done, total=total)

    def advance(self) -> None:
        self.progress.advance(self.task)

    def line(self, text: str, *, style: str = "") -> None:
        self.progress.console.print(text, style=style, markup=False, highlight=False)

    def __enter__(self) -> Bar:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


class _FrameBar:
    """The engine's sink on a terminal: frames done of the clip's frames."""

    def __init__(self, bar: Bar) -> None:
        self.bar = bar

    def __call__(self, done: int, total: int | None) -> None:
        self.bar.update(done, total)
        self.bar.frames(done)


@contextmanager
def progress_for(
    label: str,
    *,
    quiet: bool = False,
    stream: TextIO | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[ProgressSink | None]:
    """The sink a command should pass to the engine; None (no reporting) when quiet.
    ``clock`` paces the plain lines (tests pass their own, so nothing depends on timing)."""
    out = stream if stream is not None else sys.stderr
    if quiet:
        yield None
        return
    if out.isatty():
        with Bar(out, label) as bar:
            yield _FrameBar(bar)
        return
    yield _PlainLines(label, out, clock=clock)


def phase_lines(
    *, quiet: bool = False, stream: TextIO | None = None
) -> Callable[[str, int, int | None], None]:
    """The review render's sink, ``(phase, done, total)``: a plain line per quarter of each
    phase on stderr (review open's stdout is kept for the page's address); silent when quiet."""
    last: dict[str, int] = {}

    def report(phase: str, done: int, total: int | None) -> None:
        if quiet:
            return
        step = max(1, (total or 100) // 4)
        if done - last.get(phase, -step) >= step or (total and done >= total):
            last[phase] = done
            of = f"/{total}" if total else ""
            print(f"{phase}: {done}{of}", file=stream or sys.stderr, flush=True)

    return report
