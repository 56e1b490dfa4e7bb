"""Blur, pixelate or fill regions of a frame, with feathered edges, never touching keep boxes.

Each region is redacted fully inside its box; the feather lies *outside* the box, so the box
itself is always 100% covered (what the leak benchmark measures) and the edge still blends.
Work is done on each region's ROI only, never on the whole frame.

Blur strength grows with the region: the ROI is shrunk until the region is only a few pixels
across, then smoothed and enlarged. Whatever the face size, the detail left is the same handful
of colour blobs, which sharpening cannot bring back (the information is gone, not hidden).

Blur is steady from frame to frame (``Redactor``): its samples sit on a grid anchored to the
frame, not to the box, and a sample keeps its last value until the picture under it changes by
more than ``STEADY_LEVELS``. A blurred head that moves a little, or whose box wobbles, leaves the
pixels of the blur unchanged, so the encoder codes them as unchanged instead of re-coding a
slightly shifted gradient every frame (x264 needed ~10% less CPU on bench/engine_speed.py's
clip, and the file was ~10% smaller; the blur no longer shimmers either).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from consentclip.detect.regions import Box, Region
from consentclip.settings import RedactMode

# A blurred region keeps about this many samples across its shorter side.
BLUR_SAMPLES = 5
# Blurred colour blobs still outline a head (dark hair over skin), and BlazeFace fires on that
# shape at a 0.5+ score; pulling the blobs towards their mean colour removes it (measured in
# tests/pipeline/test_independent_detectors.py, also after sharpening).
BLUR_CONTRAST = 0.25
# A pixelated region keeps at most this many blocks across its shorter side.
PIXELATE_BLOCKS = 5
# Blur samples are this many pixels apart, or a multiple of it (aligned with the encoder's 8x8
# blocks), never closer than the region's shorter side / BLUR_SAMPLES.
BLUR_GRID = 8
# A blur sample keeps its previous value until the new one differs by more than this (0-255,
# after the contrast reduction): invisible in a blob of a few samples, and never more stale.
STEADY_LEVELS = 10
FEATHER = 0.12  # feather width, as a share of the region's shorter side
MIN_FEATHER_PX = 2
FILL_BGR = (64, 64, 64)
SHRINK_GRID = 8  # see _shrink


@dataclass(frozen=True)
class RedactPlan:
    mode: RedactMode = RedactMode.BLUR
    keep: tuple[Box, ...] = ()


def _redacted(roi: np.ndarray, box_w: float, box_h: float, mode: RedactMode) -> np.ndarray:
    """Fill or pixelate the ROI (blur is ``_SteadyBlur``'s, which needs the whole frame)."""
    h, w = roi.shape[:2]
    if mode is RedactMode.FILL:
        return np.full_like(roi, FILL_BGR)
    short = max(1.0, min(box_w, box_h))
    block = max(4.0, short / PIXELATE_BLOCKS)
    small = _shrink(roi, max(1, round(w / block)), max(1, round(h / block)))
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)


def blur_step(box_w: float, box_h: float, previous: int = 0) -> int:
    """Pixels between blur samples: at most BLUR_SAMPLES across the shorter side, on the grid.

    ``previous`` (the step this region's track had a frame ago) is kept while it is still
    strong enough and not much coarser than needed: a box whose size wobbles around a grid
    step would otherwise flip between two grids, and the whole blur with it.
    """
    short = max(1.0, min(box_w, box_h))
    needed = BLUR_GRID * max(1, math.ceil(short / BLUR_SAMPLES / BLUR_GRID))
    if needed <= previous <= needed * 1.5:
        return previous
    return needed


class _SteadyBlur:
    """Blur samples on frame-anchored grids (one per sample spacing), remembered across frames.

    Area-average down to a few samples, lower their contrast and smooth them while they are tiny
    (cheap, whatever the face size), then enlarge bilinearly: a smooth handful of samples
    enlarged is itself smooth, so no large kernel ever runs on the full ROI.
    """

    def __init__(self) -> None:
        self._grids: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # step -> (samples, valid)

    def roi(
        self, frame: np.ndarray, rect: tuple[int, int, int, int], box: Box, step: int
    ) -> np.ndarray:
        """The blurred picture of ``rect`` (x1, y1, x2, y2: the box and its feather), with
        samples ``step`` pixels apart."""
        fh, fw = frame.shape[:2]
        rx1, ry1, rx2, ry2 = rect
        samples, valid = self._grid(step, fw, fh)
        gh, gw = valid.shape
        # The cells under the rect and two more on each side: the 3x3 smoothing and the
        # bilinear enlargement then give every pixel of the rect the value it would have in any
        # larger rect, so a moving box does not change the blur under it.
        cx1, cy1 = max(0, rx1 // step - 2), max(0, ry1 // step - 2)
        cx2, cy2 = min(gw, -(-rx2 // step) + 2), min(gh, -(-ry2 // step) + 2)
        area = frame[cy1 * step : min(fh, cy2 * step), cx1 * step : min(fw, cx2 * step)]
        short_h, short_w = (cy2 - cy1) * step - area.shape[0], (cx2 - cx1) * step - area.shape[1]
        if short_h or short_w:
            # The last cell at the right or bottom edge of the frame is partly outside it: pad
            # it to a whole cell, so every cell averages the same span wherever the box is.
            area = cv2.copyMakeBorder(area, 0, short_h, 0, short_w, cv2.BORDER_REPLICATE)
        fresh = _shrink(area, cx2 - cx1, cy2 - cy1).astype(np.float32)
        bx1, by1, bx2, by2 = box.int_corners()
        inner = fresh[
            by1 // step - cy1 : -(-by2 // step) - cy1, bx1 // step - cx1 : -(-bx2 // step) - cx1
        ]
        mean = (inner if inner.size else fresh).reshape(-1, 3).mean(axis=0)
        fresh = mean + (fresh - mean) * BLUR_CONTRAST
        if min(fresh.shape[:2]) >= 3:
            fresh = cv2.GaussianBlur(fresh, (3, 3), 0)
        old = samples[cy1:cy2, cx1:cx2]
        seen = valid[cy1:cy2, cx1:cx2]
        steady = seen & (np.abs(fresh - old).max(axis=2) <= STEADY_LEVELS)
        fresh = np.where(steady[..., None], old, fresh)
        samples[cy1:cy2, cx1:cx2] = fresh
        valid[cy1:cy2, cx1:cx2] = True
        # Back to 8 bits while it is a handful of samples: enlarging uint8 is several times
        # cheaper than enlarging float32 and clipping the whole ROI afterwards.
        small_u8 = np.clip(fresh + 0.5, 0, 255).astype(np.uint8)
        # Enlarge the cells under the rect, one more on each side (bilinear needs the next
        # sample), and cut the rect out: sample k sits at frame pixel (k + 0.5) * step whichever
        # cells are enlarged, so a pixel's value does not depend on where the box is.
        sx1, sy1 = max(cx1, rx1 // step - 1), max(cy1, ry1 // step - 1)
        sx2, sy2 = min(cx2, -(-rx2 // step) + 1), min(cy2, -(-ry2 // step) + 1)
        sub = small_u8[sy1 - cy1 : sy2 - cy1, sx1 - cx1 : sx2 - cx1]
        big = cv2.resize(
            sub, ((sx2 - sx1) * step, (sy2 - sy1) * step), interpolation=cv2.INTER_LINEAR
        )
        return big[ry1 - sy1 * step : ry2 - sy1 * step, rx1 - sx1 * step : rx2 - sx1 * step]

    def _grid(self, step: int, fw: int, fh: int) -> tuple[np.ndarray, np.ndarray]:
        gw, gh = -(-fw // step), -(-fh // step)
        grid = self._grids.get(step)
        if grid is None or grid[1].shape != (gh, gw):
            grid = (np.zeros((gh, gw, 3), np.float32), np.zeros((gh, gw), bool))
            self._grids[step] = grid
        return grid


def _shrink(roi: np.ndarray, w: int, h: int) -> np.ndarray:
    """``roi`` averaged down to w x h. Area-averaging a whole 600x700 ROI costs ~1.5 ms; a
    bilinear pass to a grid 8 times denser first (each cell then averages 64 point samples)
    gives the same colours within a few levels for under 1% of that."""
    rh, rw = roi.shape[:2]
    if rw > w * SHRINK_GRID and rh > h * SHRINK_GRID:
        dense = (w * SHRINK_GRID, h * SHRINK_GRID)
        roi = cv2.resize(roi, dense, interpolation=cv2.INTER_LINEAR)
    return cv2.resize(roi, (w, h), interpolation=cv2.INTER_AREA)


def _ramp(n: int, lo: int, hi: int, feather: int) -> np.ndarray:
    """1 inside [lo, hi), falling linearly to 0 over ``feather`` pixels outside it."""
    idx = np.arange(n, dtype=np.float32)
    dist = np.maximum(lo - idx, idx - (hi - 1)).clip(min=0)
    return np.clip(1.0 - dist / (feather + 1), 0.0, 1.0)


def redact_frame(frame: np.ndarray, regions: Sequence[Region], plan: RedactPlan) -> None:
    """Redact ``regions`` in place in a single picture (a photo); for the frames of a clip use
    one ``Redactor``. Pixels inside a keep box are never changed."""
    Redactor(plan).redact(frame, regions)


class Redactor:
    """Redacts the successive frames of one clip (its blur is steady across them)."""

    def __init__(self, plan: RedactPlan) -> None:
        self.plan = plan
        self._blur = _SteadyBlur()
        self._steps: dict[int, int] = {}  # track id -> blur step in the previous frame

    def redact(self, frame: np.ndarray, regions: Sequence[Region]) -> None:
        """Redact ``regions`` in place. Pixels inside a keep box are never changed."""
        fh, fw = frame.shape[:2]
        keeps = [k.clipped(fw, fh).int_corners() for k in self.plan.keep]
        steps, self._steps = self._steps, {}
        for region in regions:
            box = region.box.clipped(fw, fh)
            if box.w <= 0 or box.h <= 0:
                continue
            x1, y1, x2, y2 = box.int_corners()
            feather = max(MIN_FEATHER_PX, round(min(box.w, box.h) * FEATHER))
            rx1, ry1 = max(0, x1 - feather), max(0, y1 - feather)
            rx2, ry2 = min(fw, x2 + feather), min(fh, y2 + feather)
            roi = frame[ry1:ry2, rx1:rx2]
            if self.plan.mode is RedactMode.BLUR:
                track = region.track_id
                step = blur_step(box.w, box.h, steps.get(track, 0) if track is not None else 0)
                if track is not None:
                    self._steps[track] = step
                red = self._blur.roi(frame, (rx1, ry1, rx2, ry2), box, step)
            else:
                red = _redacted(roi, box.w, box.h, self.plan.mode)
            ramp_y = _ramp(ry2 - ry1, y1 - ry1, y2 - ry1, feather)
            ramp_x = _ramp(rx2 - rx1, x1 - rx1, x2 - rx1, feather)
            hit = [
                (max(kx1, rx1), max(ky1, ry1), min(kx2, rx2), min(ky2, ry2))
                for kx1, ky1, kx2, ky2 in keeps
            ]
            hit = [(ix1, iy1, ix2, iy2) for ix1, iy1, ix2, iy2 in hit if ix1 < ix2 and iy1 < iy2]
            if hit:
                alpha = np.outer(ramp_y, ramp_x)
                for ix1, iy1, ix2, iy2 in hit:
                    alpha[iy1 - ry1 : iy2 - ry1, ix1 - rx1 : ix2 - rx1] = 0.0
                # OpenCV's blend runs vectorised in native code; numpy float maths cost more.
                roi[...] = cv2.blendLinear(red, roi, alpha, 1.0 - alpha)
            else:
                _blend_rim(roi, red, (ramp_y, ramp_x), (x1 - rx1, y1 - ry1, x2 - rx1, y2 - ry1))


def _blend_rim(
    roi: np.ndarray,
    red: np.ndarray,
    ramps: tuple[np.ndarray, np.ndarray],
    inner: tuple[int, int, int, int],
) -> None:
    """Copy the redacted box interior (alpha is 1 there) and blend only the feathered rim
    around it: the rim is a thin frame, so most of the ROI skips the blend. The rim's weights
    are the outer product of the two ramps, built per strip (the same float32 products as
    the whole ROI's, without building the ROI-sized array whose interior is never read)."""
    ramp_y, ramp_x = ramps
    ix1, iy1, ix2, iy2 = inner
    roi[iy1:iy2, ix1:ix2] = red[iy1:iy2, ix1:ix2]
    h, w = roi.shape[:2]
    strips = (
        (slice(0, iy1), slice(0, w)),
        (slice(iy2, h), slice(0, w)),
        (slice(iy1, iy2), slice(0, ix1)),
        (slice(iy1, iy2), slice(ix2, w)),
    )
    for ys, xs in strips:
        part = np.outer(ramp_y[ys], ramp_x[xs])
        if part.size:
            roi[ys, xs] = cv2.blendLinear(red[ys, xs], roi[ys, xs], part, 1.0 - part)


def region_fully_kept(region: Region, keep: Sequence[Box]) -> bool:
    """True when keep boxes cover the whole region, so nothing of it is redacted."""
    return any(k.intersection_area(region.box) >= region.box.area * 0.999 for k in keep)
