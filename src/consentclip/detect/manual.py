"""Regions a clinician draws by hand (``--region x,y,w,h[@START-END]``), followed through the clip.

The clinician draws the box on the frame at START (or the first frame). The camera or the
patient moves, so a fixed box would slide off what it was meant to hide. Each region is followed
by normalised template matching in a window around its last position, against two templates:
the original patch (the anchor, which cannot drift) and the latest good match (which follows
slow changes of look). The anchor wins whenever it still matches well, so small errors never
accumulate. When neither matches (the content left or was covered), the box stays where it was
last seen: for a privacy region, staying put is safer than guessing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from consentclip.detect.regions import Box, Region, RegionKind
from consentclip.errors import UsageError
from consentclip.settings import ManualRegion


@dataclass(frozen=True)
class ManualTrackerConfig:
    pad: float = 0.1  # the redacted box is this much larger than the drawn one on each side
    search: float = 0.6  # search window margin, in units of the box's larger side
    min_search_px: int = 24
    work_side: int = 96  # templates are matched at most this big (speed; matching is O(area))
    anchor_ok: float = 0.7  # the original patch still matches: use it, no drift possible
    follow_ok: float = 0.6  # the latest patch matches: follow it
    min_texture: float = 4.0  # grey-level std below which a patch cannot be followed


@dataclass
class _State:
    box: Box
    scale: float = 1.0
    anchor: np.ndarray | None = None
    recent: np.ndarray | None = None


class ManualTracker:
    """``process_frame(index, frame)`` -> MANUAL regions active at ``index / fps`` seconds."""

    kind = RegionKind.MANUAL

    def __init__(
        self,
        regions: Sequence[ManualRegion],
        fps: float,
        config: ManualTrackerConfig | None = None,
    ) -> None:
        if fps <= 0:
            raise ValueError("fps must be positive")
        self.fps = fps
        self.config = config or ManualTrackerConfig()
        self._regions = tuple(regions)
        self._states: list[_State | None] = [None] * len(self._regions)

    def _active(self, region: ManualRegion, index: int) -> bool:
        t = index / self.fps
        half = 0.5 / self.fps  # a frame is active when its span touches [start, end]
        if region.start is not None and t + half < region.start:
            return False
        return region.end is None or t - half <= region.end

    def process_frame(
        self, index: int, frame: np.ndarray, found: Sequence[Region] = ()
    ) -> list[Region]:
        if not self._regions:
            return []
        height, width = frame.shape[:2]
        gray: np.ndarray | None = None
        out: list[Region] = []
        for i, region in enumerate(self._regions):
            if not self._active(region, index):
                continue
            if gray is None:
                gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            state = self._states[i]
            if state is None:
                state = self._states[i] = self._start(region, gray)
            else:
                self._follow(state, gray)
            pad = self.config.pad
            box = state.box.scaled(1 + 2 * pad).clipped(width, height)
            if box.w > 0 and box.h > 0:
                out.append(
                    Region(box, RegionKind.MANUAL, score=1.0, track_id=i + 1, source="manual")
                )
        return out

    def close(self) -> None:
        self._states = [None] * len(self._regions)

    # -- following ----------------------------------------------------------------------------

    def _start(self, region: ManualRegion, gray: np.ndarray) -> _State:
        height, width = gray.shape
        box = region.box.clipped(width, height)
        if box.w < 2 or box.h < 2:
            b = region.box
            raise UsageError(
                f"region {b.x:g},{b.y:g},{b.w:g},{b.h:g} lies outside the {width}x{height} frame",
                hint="give x,y,w,h in pixels of the upright video",
            )
        scale = min(1.0, self.config.work_side / max(box.w, box.h))
        state = _State(box=box, scale=scale)
        patch = self._patch(gray, box, scale)
        if float(patch.std()) >= self.config.min_texture:
            state.anchor = patch
            state.recent = patch
        return state

    def _patch(self, gray: np.ndarray, box: Box, scale: float) -> np.ndarray:
        x1, y1, x2, y2 = (round(v) for v in (box.x, box.y, box.x2, box.y2))
        patch = gray[y1:y2, x1:x2]
        size = (max(1, round(patch.shape[1] * scale)), max(1, round(patch.shape[0] * scale)))
        return cv2.resize(patch, size, interpolation=cv2.INTER_AREA)

    def _follow(self, state: _State, gray: np.ndarray) -> None:
        if state.anchor is None or state.recent is None:
            return  # a flat patch has nothing to follow: it stays where it was drawn
        cfg = self.config
        height, width = gray.shape
        box = state.box
        margin = max(cfg.search * max(box.w, box.h), cfg.min_search_px)
        window = Box.from_corners(
            max(box.x - margin, 0),
            max(box.y - margin, 0),
            min(box.x2 + margin, width),
            min(box.y2 + margin, height),
        )
        area = self._patch(gray, window, state.scale)
        best: Box | None = None
        for template, floor in ((state.anchor, cfg.anchor_ok), (state.recent, cfg.follow_ok)):
            th, tw = template.shape
            if area.shape[0] < th or area.shape[1] < tw:
                continue
            scores = cv2.matchTemplate(area, template, cv2.TM_CCOEFF_NORMED)
            _, score, _, loc = cv2.minMaxLoc(scores)
            if score >= floor:
                x = round(window.x) + loc[0] / state.scale
                y = round(window.y) + loc[1] / state.scale
                best = Box(x, y, box.w, box.h)
                break  # the anchor, when it matches, is preferred: it cannot drift
        if best is None:
            return  # lost: hold the last position
        moved = state.box = best
        state.recent = self._patch(gray, moved.clipped(width, height), state.scale)
        if state.recent.shape != state.anchor.shape:
            state.recent = cv2.resize(state.recent, state.anchor.shape[::-1])
