"""Face and head detection: several MediaPipe passes, merged into whole-head FACE regions.

BlazeFace is weak on small, profile and occluded faces (REFERENCE.md §3), so no single pass is
trusted. Per frame:

- full-range BlazeFace on the whole frame (downscaled: the model sees 192x192 anyway), every
  frame ("full"); short-range on a cadence ("short"), for faces close to the camera;
- overlapping tiles at native resolution, a few per frame in rotation, so a face too small for
  the whole-frame pass is found within a few frames ("tile"); once found, a crop around it is
  re-examined every other frame ("tile" too) so that small faces are followed, not rediscovered;
- pose landmarks on a cadence, for heads in profile or turned away ("pose");
- a full sweep of tiles and pose at once when a face seen in the previous frame is missing now
  (a face turning away or getting smaller is exactly when the cheap pass loses it).

The tracker fills the frames in between. Duplicates are merged (the union of overlapping
boxes: a privacy-leaning merge). Boxes are whole heads (see heads.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from consentclip.detect._mp import FaceModel, Placement, PoseModel
from consentclip.detect.heads import head_from_face, head_from_pose
from consentclip.detect.regions import Box, Region, RegionKind


@dataclass(frozen=True)
class FaceDetectorConfig:
    """Cadences and sizes. Defaults measured to stay near 12 ms per 1080p frame (bench/leak.py)."""

    whole_side: int = 640  # longer side of the downscaled whole-frame image
    short_every: int = 2  # short-range pass every n frames
    tile_side: int = 640  # tile side in frame pixels (faces down to ~7% of it are found)
    tile_overlap: int = 200  # so that a small face always lies whole inside some tile
    tile_every: int = 2  # one tile examined every n frames, in rotation
    max_tiles: int = 12  # larger frames get larger tiles rather than more of them
    focus_max: int = 3  # small faces re-examined in a crop per visit
    focus_every: int = 2  # every n frames, between the tile frames
    focus_keep: int = 16  # frames a small face is re-examined after it was last seen
    pose_every: int = 12  # pose pass every n frames
    rescue_every: int = 4  # at most one extra pose pass per n frames when a head goes missing
    merge_iou: float = 0.3  # boxes overlapping this much (or nested) are one head


@dataclass
class _Focus:
    box: Box  # head box in frame pixels
    last_seen: int


class FaceDetector:
    """Detector protocol: whole-head FACE regions for an upright BGR frame."""

    kind = RegionKind.FACE

    def __init__(self, threshold: float = 0.3, config: FaceDetectorConfig | None = None) -> None:
        if not 0.0 < threshold < 1.0:
            raise ValueError("threshold must be between 0 and 1")
        self.threshold = threshold
        self.config = config or FaceDetectorConfig()
        self._full = FaceModel(full_range=True, threshold=threshold)
        self._short = FaceModel(full_range=False, threshold=threshold)
        self._pose: PoseModel | None = None  # created on first use: it is the slowest to load
        self._tiles: list[tuple[int, int, int]] = []
        self._tiles_for: tuple[int, int] | None = None
        self._next_tile = 0
        self._focus: list[_Focus] = []
        self._previous: list[Box] = []
        self._last_rescue = -(10**9)

    # -- Detector protocol --------------------------------------------------------------------

    def process_frame(
        self, index: int, frame: np.ndarray, found: Sequence[Region] = ()
    ) -> list[Region]:
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError("expected an HxWx3 uint8 BGR frame")
        cfg = self.config
        height, width = frame.shape[:2]
        cands: list[tuple[Box, float, str]] = []

        small, where = _downscaled_rgb(frame, cfg.whole_side)
        cands += _heads(self._full, small, where, "full")
        if index % cfg.short_every == 0:
            cands += _heads(self._short, small, where, "short")
        if index % cfg.focus_every == 1 % cfg.focus_every:
            cands += self._run_focus(index, frame)

        # A head seen in the previous frame that the cheap passes lost now is the moment a face
        # turns away or shrinks: ask pose at once, and keep looking in a crop around it.
        lost = [b for b in self._previous if not any(_same_head(b, c[0]) for c in cands)]
        rescue = bool(lost) and index - self._last_rescue >= cfg.rescue_every
        for box in lost:
            self._remember(index - 1, box)

        tiles = self._tile_grid(width, height)
        if tiles and index % cfg.tile_every == 0:
            cands += self._run_tile(index, frame, tiles[self._next_tile])
            self._next_tile = (self._next_tile + 1) % len(tiles)

        if rescue or index % cfg.pose_every == 0:
            self._last_rescue = index if rescue else self._last_rescue
            cands += self._run_pose(small, where)

        merged = _merge(cands, cfg.merge_iou)
        self._previous = [box for box, _, _ in merged]
        regions = []
        for box, score, source in merged:
            clipped = box.clipped(width, height)
            if clipped.w >= 2 and clipped.h >= 2:
                regions.append(Region(clipped, RegionKind.FACE, score=score, source=source))
        return regions

    def close(self) -> None:
        self._full.close()
        self._short.close()
        if self._pose is not None:
            self._pose.close()
            self._pose = None

    # -- passes -------------------------------------------------------------------------------

    def _tile_grid(self, width: int, height: int) -> list[tuple[int, int, int]]:
        """(x0, y0, side) squares covering the frame with overlap; empty when the whole-frame
        pass already sees faces as small as the tiles would."""
        if self._tiles_for == (width, height):
            return self._tiles
        cfg = self.config
        side = cfg.tile_side
        tiles: list[tuple[int, int, int]] = []
        if max(width, height) > cfg.whole_side * 1.25:
            while True:
                side = min(side, max(width, height))
                step = max(side - cfg.tile_overlap, 1)
                cols = 1 + max(0, math.ceil((width - side) / step))
                rows = 1 + max(0, math.ceil((height - side) / step))
                if cols * rows <= cfg.max_tiles:
                    break
                side = int(side * 1.25)
            xs = _spread(width, side, cols)
            ys = _spread(height, side, rows)
            tiles = [(x, y, side) for y in ys for x in xs]
        self._tiles, self._tiles_for, self._next_tile = tiles, (width, height), 0
        return tiles

    def _run_tile(
        self, index: int, frame: np.ndarray, tile: tuple[int, int, int]
    ) -> list[tuple[Box, float, str]]:
        x0, y0, side = tile
        crop = frame[y0 : y0 + side, x0 : x0 + side]
        rgb, where = _downscaled_rgb(crop, self.config.tile_side, offset=(x0, y0))
        out = _heads(self._full, rgb, where, "tile")
        for head, _, _ in out:
            # Only faces too small for the whole-frame pass need following in a crop.
            if max(head.w, head.h) < 0.15 * max(frame.shape[:2]):
                self._remember(index, head)
        return out

    def _remember(self, index: int, head: Box) -> None:
        for f in self._focus:
            if f.box.iou(head) > 0.2:
                f.box, f.last_seen = head, index
                return
        self._focus.append(_Focus(head, index))

    def _run_focus(self, index: int, frame: np.ndarray) -> list[tuple[Box, float, str]]:
        """Re-examine recently seen small faces in a crop around each, every frame."""
        cfg = self.config
        self._focus = [f for f in self._focus if index - f.last_seen <= cfg.focus_keep]
        self._focus.sort(key=lambda f: -f.last_seen)
        height, width = frame.shape[:2]
        out: list[tuple[Box, float, str]] = []
        for focus in self._focus[: cfg.focus_max]:
            # A crop where the head fills about a fifth of the side: the full-range model's
            # comfortable range, and room for the head to have moved.
            side = int(min(max(5 * max(focus.box.w, focus.box.h), 256), cfg.tile_side * 1.5))
            side = min(side, width, height)
            x0 = int(min(max(focus.box.cx - side / 2, 0), width - side))
            y0 = int(min(max(focus.box.cy - side / 2, 0), height - side))
            crop = frame[y0 : y0 + side, x0 : x0 + side]
            rgb, where = _downscaled_rgb(crop, cfg.tile_side, offset=(x0, y0))
            for head, score, source in _heads(self._full, rgb, where, "tile"):
                if _same_head(focus.box.scaled(2.0), head):
                    focus.box, focus.last_seen = head, index
                out.append((head, score, source))
        return out

    def _run_pose(self, rgb: np.ndarray, where: Placement) -> list[tuple[Box, float, str]]:
        if self._pose is None:
            self._pose = PoseModel()
        landmarks = self._pose.head_landmarks(rgb, where)
        if landmarks is None:
            return []
        head = head_from_pose(landmarks)
        if head is None:
            return []
        box, confidence = head
        # Ranked below any face detection of the same head: the face box is the better-placed.
        return [(box, 0.5 * confidence, "pose")]


def _heads(
    model: FaceModel, rgb: np.ndarray, where: Placement, source: str
) -> list[tuple[Box, float, str]]:
    out = []
    for face, score in model.detect(rgb, where):
        # Faces only a few model pixels wide get boxes that are too tight and off-centre by a
        # fifth of their size: widen the margin as the face gets smaller in the model's view.
        rel = face.w * where.scale / max(rgb.shape[:2])
        margin = 1.0 + 0.4 * min(max((0.12 - rel) / 0.08, 0.0), 1.0)
        out.append((head_from_face(face, margin=margin), score, source))
    return out


def _same_head(a: Box, b: Box) -> bool:
    return a.iou(b) > 0.1 or _contains_centre(a, b) or _contains_centre(b, a)


def _downscaled_rgb(
    image: np.ndarray, max_side: int, offset: tuple[int, int] = (0, 0)
) -> tuple[np.ndarray, Placement]:
    h, w = image.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    if scale < 1.0:
        # Linear, not area: the model resamples to 192 px anyway, and area costs 5x more.
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)
        scale = size[0] / w
    rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return rgb, Placement(float(offset[0]), float(offset[1]), scale)


def _spread(length: int, side: int, count: int) -> list[int]:
    if count <= 1 or length <= side:
        return [0]
    step = (length - side) / (count - 1)
    return [round(i * step) for i in range(count)]


def _contains_centre(outer: Box, inner: Box) -> bool:
    return outer.x <= inner.cx <= outer.x2 and outer.y <= inner.cy <= outer.y2


def _merge(cands: list[tuple[Box, float, str]], merge_iou: float) -> list[tuple[Box, float, str]]:
    """Non-maximum merge: the best-scoring box of each cluster names it; the cluster's union is
    its box (two passes that saw the same head both get covered)."""
    kept: list[tuple[Box, float, str]] = []
    for box, score, source in sorted(cands, key=lambda c: -c[1]):
        for i, (kbox, kscore, ksource) in enumerate(kept):
            inter = kbox.intersection_area(box)
            nested = inter / max(min(kbox.area, box.area), 1e-6)
            if kbox.iou(box) >= merge_iou or nested >= 0.6:
                union = Box.from_corners(
                    min(kbox.x, box.x),
                    min(kbox.y, box.y),
                    max(kbox.x2, box.x2),
                    max(kbox.y2, box.y2),
                )
                kept[i] = (union, kscore, ksource)
                break
        else:
            kept.append((box, score, source))
    return kept
