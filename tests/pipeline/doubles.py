"""Test doubles for the detectors only (the engine, ffmpeg and redaction are real)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence

import numpy as np

from consentclip.detect.regions import Box, Region, RegionKind
from consentclip.pipeline import EngineComponents
from consentclip.settings import EngineSettings, ManualRegion


class ScriptedDetector:
    """Returns the boxes ``script(index)`` gives, as regions of ``kind``; records what it saw."""

    def __init__(self, kind: RegionKind, script: Callable[[int], Sequence[Box]]) -> None:
        self.kind = kind
        self.script = script
        self.seen: list[int] = []
        self.closed = False

    def process_frame(
        self, index: int, frame: np.ndarray, found: Sequence[Region] = ()
    ) -> list[Region]:
        self.seen.append(index)
        return [Region(b, self.kind, source="scripted") for b in self.script(index)]

    def close(self) -> None:
        self.closed = True


class DelayTracker:
    """Holds each frame's regions for ``lookahead`` frames, like the real tracker's look-ahead."""

    def __init__(self, lookahead: int = 4) -> None:
        self.lookahead = lookahead
        self.pending: deque[tuple[int, list[Region]]] = deque()

    def push(self, index: int, regions: list[Region]) -> list[tuple[int, list[Region]]]:
        self.pending.append((index, [r.with_track(i + 1) for i, r in enumerate(regions)]))
        out = []
        while len(self.pending) > self.lookahead:
            out.append(self.pending.popleft())
        return out

    def flush(self) -> list[tuple[int, list[Region]]]:
        out = list(self.pending)
        self.pending.clear()
        return out


class StaticManual:
    def __init__(self, regions: Sequence[ManualRegion], fps: float) -> None:
        self.regions, self.fps = regions, fps

    def process_frame(
        self, index: int, frame: np.ndarray, found: Sequence[Region] = ()
    ) -> list[Region]:
        t = index / self.fps
        return [
            Region(r.box, RegionKind.MANUAL, source="manual")
            for r in self.regions
            if (r.start is None or t >= r.start) and (r.end is None or t <= r.end)
        ]


def components(
    faces: Callable[[int], Sequence[Box]] = lambda i: (),
    tattoos: Callable[[int], Sequence[Box]] = lambda i: (),
    made: list[ScriptedDetector] | None = None,
    text: Callable[[int], Sequence[Box]] = lambda i: (),
) -> EngineComponents:
    def face_factory(settings: EngineSettings, lookahead: int) -> ScriptedDetector:
        det = ScriptedDetector(RegionKind.FACE, faces)
        if made is not None:
            made.append(det)
        return det

    def tattoo_factory(settings: EngineSettings, lookahead: int) -> ScriptedDetector:
        det = ScriptedDetector(RegionKind.TATTOO, tattoos)
        if made is not None:
            made.append(det)
        return det

    def text_factory(settings: EngineSettings, lookahead: int) -> ScriptedDetector:
        det = ScriptedDetector(RegionKind.TEXT, text)
        if made is not None:
            made.append(det)
        return det

    return EngineComponents(
        face_factory,
        tattoo_factory,
        lambda _: DelayTracker(),
        StaticManual,
        text_factory,
        lambda _: DelayTracker(),
    )
