"""ManualTracker: follows a moving textured patch, respects [start, end], fails on bad regions."""

from __future__ import annotations

import numpy as np
import pytest

from consentclip.detect.manual import ManualTracker
from consentclip.detect.regions import Box, RegionKind
from consentclip.errors import UsageError
from consentclip.settings import ManualRegion

W, H = 480, 320
PATCH = 48


def scene(index: int, rng_seed: int = 7) -> tuple[np.ndarray, Box]:
    """A smooth gradient background with a textured patch moving right and down."""
    yy, xx = np.mgrid[0:H, 0:W]
    bg = ((xx * 0.3 + yy * 0.2) % 256).astype(np.uint8)
    frame = np.dstack([bg, bg // 2 + 40, 255 - bg])
    rng = np.random.default_rng(rng_seed)
    patch = rng.integers(0, 255, (PATCH, PATCH, 3), dtype=np.uint8)
    x, y = 40 + 6 * index, 30 + 3 * index
    frame[y : y + PATCH, x : x + PATCH] = patch
    return np.ascontiguousarray(frame), Box(x, y, PATCH, PATCH)


def covered(outer: Box, inner: Box) -> float:
    return outer.intersection_area(inner) / inner.area


def test_follows_a_moving_textured_patch() -> None:
    _, first = scene(0)
    tracker = ManualTracker([ManualRegion(first)], fps=25)
    for i in range(40):
        frame, truth = scene(i)
        (r,) = tracker.process_frame(i, frame)
        assert r.kind is RegionKind.MANUAL and r.source == "manual"
        assert covered(r.box, truth) >= 0.95, f"lost the patch at frame {i}"
    # Padded a little, not blown up.
    assert r.box.area <= 1.6 * truth.area


def test_a_fixed_box_would_have_lost_it() -> None:
    # The check above is meaningful: the patch moves well outside the drawn box.
    _, first = scene(0)
    _, last = scene(39)
    assert covered(first.scaled(1.2), last) == 0.0


def test_respects_start_and_end_and_starts_where_drawn() -> None:
    fps = 10.0
    _, at_one_second = scene(10)
    tracker = ManualTracker([ManualRegion(at_one_second, start=1.0, end=2.0)], fps=fps)
    active = []
    for i in range(30):
        frame, truth = scene(i)
        regions = tracker.process_frame(i, frame)
        if regions:
            active.append(i)
            assert covered(regions[0].box, truth) >= 0.95
    assert active == list(range(10, 21))


def test_flat_region_stays_put_and_outside_region_is_refused() -> None:
    flat = np.full((H, W, 3), 128, np.uint8)
    tracker = ManualTracker([ManualRegion(Box(10, 10, 50, 50))], fps=25)
    boxes = [tracker.process_frame(i, flat)[0].box for i in range(3)]
    assert boxes[0] == boxes[2]
    outside = ManualTracker([ManualRegion(Box(W + 10, 0, 20, 20))], fps=25)
    with pytest.raises(UsageError, match="outside"):
        outside.process_frame(0, flat)


def test_no_regions_is_cheap_and_empty() -> None:
    assert ManualTracker([], fps=30).process_frame(0, np.zeros((4, 4, 3), np.uint8)) == []
