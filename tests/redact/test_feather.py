"""Redaction geometry: the box is fully redacted, the feather blends outside it, and nothing
beyond the feather (or inside a keep box) changes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from consentclip.detect.regions import Box, Region, RegionKind
from consentclip.redact import regions as R
from consentclip.settings import RedactMode


def reference(frame: np.ndarray, box: Box, mode: RedactMode) -> np.ndarray:
    """The whole-ROI blend, written plainly: what the rim-only blend must reproduce."""
    out = frame.copy()
    fh, fw = frame.shape[:2]
    box = box.clipped(fw, fh)
    x1, y1, x2, y2 = box.int_corners()
    feather = max(R.MIN_FEATHER_PX, round(min(box.w, box.h) * R.FEATHER))
    rx1, ry1 = max(0, x1 - feather), max(0, y1 - feather)
    rx2, ry2 = min(fw, x2 + feather), min(fh, y2 + feather)
    roi = out[ry1:ry2, rx1:rx2]
    if mode is RedactMode.BLUR:
        red = R._SteadyBlur().roi(frame, (rx1, ry1, rx2, ry2), box, R.blur_step(box.w, box.h))
    else:
        red = R._redacted(roi.copy(), box.w, box.h, mode)
    alpha = np.outer(
        R._ramp(ry2 - ry1, y1 - ry1, y2 - ry1, feather),
        R._ramp(rx2 - rx1, x1 - rx1, x2 - rx1, feather),
    )
    roi[...] = cv2.blendLinear(red, roi, alpha, 1.0 - alpha)
    return out


@pytest.mark.parametrize("mode", list(RedactMode))
@pytest.mark.parametrize(
    "box", [Box(60, 40, 120, 150), Box(-20, -10, 90, 80), Box(250, 170, 100, 90)]
)
def test_rim_blend_matches_the_whole_roi_blend(mode: RedactMode, box: Box) -> None:
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
    expected = reference(frame, box, mode)
    R.redact_frame(frame, [Region(box, RegionKind.FACE)], R.RedactPlan(mode=mode))
    assert np.abs(frame.astype(int) - expected.astype(int)).max() <= 1


def test_nothing_changes_beyond_the_feather_or_inside_a_keep_box() -> None:
    rng = np.random.default_rng(2)
    frame = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
    original = frame.copy()
    box, keep = Box(100, 60, 100, 100), Box(120, 80, 20, 20)
    R.redact_frame(frame, [Region(box, RegionKind.FACE)], R.RedactPlan(keep=(keep,)))
    feather = max(R.MIN_FEATHER_PX, round(100 * R.FEATHER))
    changed = np.any(frame != original, axis=2)
    ys, xs = np.nonzero(changed)
    assert xs.min() >= 100 - feather and xs.max() < 200 + feather
    assert ys.min() >= 60 - feather and ys.max() < 160 + feather
    assert not changed[80:100, 120:140].any()
    # Inside the box (away from the keep box) every pixel is the redacted one, not a blend.
    assert changed[60:160, 160:200].mean() > 0.99


def test_the_cheap_shrink_gives_the_colours_of_a_full_area_average() -> None:
    """A bilinear pass to a dense grid before the area average: same blobs, a fraction of
    the cost; on a real face the colours stay within a few levels of the exact average."""
    from skimage import data

    face = np.ascontiguousarray(data.astronaut()[:, :, ::-1])[0:300, 100:340]
    exact = cv2.resize(face, (5, 6), interpolation=cv2.INTER_AREA).astype(int)
    cheap = R._shrink(face, 5, 6).astype(int)
    assert cheap.shape == exact.shape
    assert np.abs(cheap - exact).max() <= 8 and np.abs(cheap - exact).mean() <= 3
