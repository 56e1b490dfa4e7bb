"""lightmarks.light_at_edge through the tattoo detector, on generated skin close-ups
(bench/skinsynth.py tones): a white strip near the frame's edge (a border, a swab, a sheet, as in
the real MSLD close-ups others-4_1 and P15_1) is not ink; a dark strip in the same place is.
Real OpenCV, no mocks."""

from __future__ import annotations

import numpy as np
import pytest

from benchmods import bench_module
from consentclip.detect.scene import SceneKind, classify_scene
from consentclip.detect.tattoos import TattooDetector

skinsynth = bench_module("skinsynth")


def _closeup_with_strip(tone: int, colour: tuple[int, int, int]) -> np.ndarray:
    """Skin filling the frame with a strip of ``colour`` from top to bottom near its right edge
    (a little skin beyond it, so the strip lies on the body surface)."""
    rng = np.random.default_rng(tone)
    image = np.empty((360, 480, 3), np.float32)
    image[:] = np.asarray(skinsynth.FITZPATRICK_BGR[tone], np.float32)
    image[:, 440:462] = colour
    image += rng.normal(0, 3.0, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("tone", [2, 3, 4, 5, 6])
def test_a_white_strip_at_a_closeups_edge_is_not_ink(tone: int) -> None:
    image = _closeup_with_strip(tone, (235, 238, 240))
    assert classify_scene(image) is SceneKind.SKIN_CLOSEUP
    det = TattooDetector()
    assert det.process_frame(0, image) == []
    # The strip is a candidate (sharp-edged loss of saturation) and this rule is what drops it.
    assert [c.reason for c in det.last_candidates] == ["light"]


@pytest.mark.parametrize("tone", [1, 2, 3, 4])
def test_a_dark_strip_at_a_closeups_edge_is_still_ink(tone: int) -> None:
    image = _closeup_with_strip(tone, (40, 38, 45))
    assert classify_scene(image) is SceneKind.SKIN_CLOSEUP
    regions = TattooDetector().process_frame(0, image)
    assert any(r.box.x <= 440 and r.box.x + r.box.w >= 462 for r in regions)
