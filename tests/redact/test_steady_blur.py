"""The blur of a clip is steady: a box that moves or wobbles over the same picture, or a picture
that changes a little, leaves the blurred pixels unchanged; a real change still comes through,
and never more than STEADY_LEVELS stale."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from consentclip.detect.regions import Box, Region, RegionKind
from consentclip.redact import regions as R


def picture(seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (27, 48, 3), dtype=np.uint8)
    return cv2.resize(small, (480, 270), interpolation=cv2.INTER_CUBIC)


def blurred(redactor: R.Redactor, frame: np.ndarray, box: Box) -> np.ndarray:
    out = frame.copy()
    redactor.redact(out, [Region(box, RegionKind.FACE, track_id=1)])
    return out


def test_a_box_that_wobbles_over_the_same_picture_leaves_the_blur_unchanged() -> None:
    frame = picture()
    redactor = R.Redactor(R.RedactPlan())
    # The sizes straddle a grid step (123 px needs 32-px samples, 118 px 24-px ones): the track
    # keeps its coarser grid instead of flipping between the two.
    boxes = [Box(150, 60, 123, 140), Box(154, 57, 118, 141), Box(152, 59, 121, 139)]
    outs = [blurred(redactor, frame, box) for box in boxes]
    inside = (slice(60, 197), slice(154, 268))
    # Inside all the boxes the blurred pixels are identical, not a shifted gradient.
    assert np.array_equal(outs[0][inside], outs[1][inside])
    assert np.array_equal(outs[0][inside], outs[2][inside])


def test_a_small_change_of_the_picture_leaves_the_blur_unchanged() -> None:
    frame = picture()
    redactor = R.Redactor(R.RedactPlan())
    box = Box(150, 60, 120, 140)
    first = blurred(redactor, frame, box)
    brighter = cv2.add(frame, np.full_like(frame, 4))
    second = blurred(redactor, brighter, box)
    assert np.array_equal(first[60:200, 150:270], second[60:200, 150:270])


@pytest.mark.parametrize("seed", [5, 6])
def test_a_real_change_comes_through_and_the_blur_is_never_more_than_the_limit_stale(
    seed: int,
) -> None:
    before, after = picture(), picture(seed)
    redactor = R.Redactor(R.RedactPlan())
    box = Box(150, 60, 120, 140)
    blurred(redactor, before, box)
    steady = blurred(redactor, after, box).astype(int)
    fresh = blurred(R.Redactor(R.RedactPlan()), after, box).astype(int)
    old = blurred(R.Redactor(R.RedactPlan()), before, box).astype(int)
    inside = (slice(60, 200), slice(150, 270))
    assert np.abs(steady[inside] - fresh[inside]).max() <= R.STEADY_LEVELS + 1
    assert not np.array_equal(steady[inside], old[inside])


@pytest.mark.parametrize("side", [12, 40, 99, 120, 123, 200, 333, 700])
@pytest.mark.parametrize("previous", [0, 8, 24, 32, 64, 200])
def test_blur_samples_lie_on_the_grid_and_never_closer_than_the_strength_allows(
    side: int, previous: int
) -> None:
    step = R.blur_step(side, side * 1.3, previous)
    assert step % R.BLUR_GRID == 0 or step == previous
    assert side / step <= R.BLUR_SAMPLES
    assert step <= max(R.blur_step(side, side * 1.3) * 1.5, R.BLUR_GRID)
