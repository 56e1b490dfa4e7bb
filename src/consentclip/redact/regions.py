"""Blur, pixelate or fill regions of a frame, with feathered edges, never touching keep boxes.

Each region is redacted fully inside its box; the feather lies *outside* the box, so the box
itself is always 100% covered (what the leak benchmark measures) and the edge still blends.
Work is done on each region's ROI only, never on the whole frame.

Blur strength grows with the region: the ROI is shrunk until the region is only a few pixels
across, then smoothed and enlarged. Whatever the face size, the detail left is the same handful
of colour blobs, which sharpening cannot bring back (the information is gone, not hidden).
"""

from __future__ import annotations

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
FEATHER = 0.12  # feather width, as a share of the region's shorter side
MIN_FEATHER_PX = 2
FILL_BGR = (64, 64, 64)
SHRINK_GRID = 8  # see _shrink


@dataclass(frozen=True)
class RedactPlan:
    mode: RedactMode = RedactMode.BLUR
    keep: tuple[Box, ...] = ()


def _redacted(roi: np.ndarray, box_w: float, box_h: float, mode: RedactMode) -> np.ndarray:
    h, w = roi.shape[:2]
    short = max(1.0, min(box_w, box_h))
    if mode is RedactMode.FILL:
        return np.full_like(roi, FILL_BGR)
    if mode is RedactMode.PIXELATE:
        block = max(4.0, short / PIXELATE_BLOCKS)
        small = _shrink(roi, max(1, round(w / block)), max(1, round(h / block)))
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
    # Blur: area-average down to a few samples, lower their contrast and smooth them while they
    # are tiny (cheap, whatever the face size), then enlarge: bilinear enlargement of a smooth
    # handful of samples is itself smooth, so no large kernel ever runs on the full ROI.
    step = max(2.0, short / BLUR_SAMPLES)
    small = _shrink(roi, max(1, round(w / step)), max(1, round(h / step))).astype(np.float32)
    mean = small.reshape(-1, small.shape[2]).mean(axis=0)
    small = mean + (small - mean) * BLUR_CONTRAST
    if min(small.shape[:2]) >= 3:
        small = cv2.GaussianBlur(small, (3, 3), 0)
    # Back to 8 bits while it is a handful of samples: enlarging uint8 is several times cheaper
    # than enlarging float32 and clipping the whole ROI afterwards.
    small_u8 = np.clip(small, 0, 255).astype(np.uint8)
    return cv2.resize(small_u8, (w, h), interpolation=cv2.INTER_LINEAR)


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
    """Redact ``regions`` in place. Pixels inside a keep box are never changed."""
    fh, fw = frame.shape[:2]
    keeps = [k.clipped(fw, fh).int_corners() for k in plan.keep]
    for region in regions:
        box = region.box.clipped(fw, fh)
        if box.w <= 0 or box.h <= 0:
            continue
        x1, y1, x2, y2 = box.int_corners()
        feather = max(MIN_FEATHER_PX, round(min(box.w, box.h) * FEATHER))
        rx1, ry1 = max(0, x1 - feather), max(0, y1 - feather)
        rx2, ry2 = min(fw, x2 + feather), min(fh, y2 + feather)
        roi = frame[ry1:ry2, rx1:rx2]
        red = _redacted(roi, box.w, box.h, plan.mode)
        alpha = np.outer(
            _ramp(ry2 - ry1, y1 - ry1, y2 - ry1, feather),
            _ramp(rx2 - rx1, x1 - rx1, x2 - rx1, feather),
        )
        kept = False
        for kx1, ky1, kx2, ky2 in keeps:
            ix1, iy1 = max(kx1, rx1), max(ky1, ry1)
            ix2, iy2 = min(kx2, rx2), min(ky2, ry2)
            if ix1 < ix2 and iy1 < iy2:
                alpha[iy1 - ry1 : iy2 - ry1, ix1 - rx1 : ix2 - rx1] = 0.0
                kept = True
        if kept:
            # OpenCV's blend runs vectorised in native code; numpy float maths cost more.
            roi[...] = cv2.blendLinear(red, roi, alpha, 1.0 - alpha)
        else:
            _blend_rim(roi, red, alpha, (x1 - rx1, y1 - ry1, x2 - rx1, y2 - ry1))


def _blend_rim(
    roi: np.ndarray, red: np.ndarray, alpha: np.ndarray, inner: tuple[int, int, int, int]
) -> None:
    """Copy the redacted box interior (alpha is 1 there) and blend only the feathered rim
    around it: the rim is a thin frame, so most of the ROI skips the blend."""
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
        part = alpha[ys, xs]
        if part.size:
            roi[ys, xs] = cv2.blendLinear(red[ys, xs], roi[ys, xs], part, 1.0 - part)


def region_fully_kept(region: Region, keep: Sequence[Box]) -> bool:
    """True when keep boxes cover the whole region, so nothing of it is redacted."""
    return any(k.intersection_area(region.box) >= region.box.area * 0.999 for k in keep)
