"""shademarks.edge_shade through the tattoo detector, on generated skin close-ups
(bench/skinsynth.py tones): a soft, deep shadow running out of the frame (a fold under an arm,
as in the real MSLD close-up others-18) is not ink; a crisp dark design reaching the frame's
edge still is. Real OpenCV, no mocks: the rule is switched off only to show that the shadow
is a kept mark without it."""

from __future__ import annotations

import numpy as np
import pytest

from benchmods import bench_module
from consentclip.detect import tattoos
from consentclip.detect.scene import SceneKind, classify_scene
from consentclip.detect.tattoos import TattooDetector

skinsynth = bench_module("skinsynth")


def _closeup_with_fold(tone: int) -> np.ndarray:
    """Skin filling the frame, with a fold's shadow rising from the bottom edge: 20 pixels
    deep on each side of its axis, then a 25-pixel soft ramp back to the lit skin. Shade is
    darker (to 20% of the light) with a purplish cast (blue and red fall less than green), as
    the ambient light in a real fold has."""
    rng = np.random.default_rng(tone)
    h, w = 360, 480
    image = np.empty((h, w, 3), np.float32)
    image[:] = np.asarray(skinsynth.FITZPATRICK_BGR[tone], np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    dist = np.hypot(xx - w / 2, np.maximum(h - 220 - yy, 0))  # to the fold's axis
    shade = 1.0 - np.clip((dist - 20) / 25, 0, 1)
    cast = 0.2 * np.asarray((1.5, 1.0, 1.2), np.float32)  # the light left, per B, G, R
    image *= 1.0 - shade[..., None] * (1.0 - cast)
    image += rng.normal(0, 3.0, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def _closeup_with_crisp_design(tone: int) -> tuple[np.ndarray, np.ndarray]:
    """Skin filling the frame, with a design of three thick, solid dark arcs (16 pixels wide,
    as dark as the fold's shadow, their edges one pixel wide) around the frame's top-right
    corner: each runs out of the frame at both ends, with bare skin on both of its sides."""
    rng = np.random.default_rng(tone)
    h, w = 480, 640
    image = np.empty((h, w, 3), np.float32)
    image[:] = np.asarray(skinsynth.FITZPATRICK_BGR[tone], np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.hypot(xx - w, yy)
    ink = np.zeros((h, w), bool)
    for radius in (90, 150, 210):
        ink |= np.abs(r - radius) <= 8
    image[ink] = image[ink] * 0.25 + np.asarray((60, 45, 35), np.float32) * 0.75
    image += rng.normal(0, 3.0, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8), ink


def _covered(regions: list, shape: tuple[int, ...]) -> np.ndarray:
    mask = np.zeros(shape[:2], bool)
    for r in regions:
        x1, y1, x2, y2 = r.box.int_corners()
        mask[max(0, y1) : y2, max(0, x1) : x2] = True
    return mask


@pytest.mark.parametrize("tone", [1, 2, 3, 4, 5])
def test_a_soft_fold_shadow_running_out_of_a_closeup_is_not_ink(
    tone: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = _closeup_with_fold(tone)
    assert classify_scene(image) is SceneKind.SKIN_CLOSEUP
    det = TattooDetector()
    assert det.process_frame(0, image) == []
    assert "edgeshade" in [c.reason for c in det.last_candidates]
    # Without the rule the shadow is a kept mark: the close-up ink rules pass it.
    monkeypatch.setattr(tattoos, "edge_shade", lambda lit, local, ink: np.zeros(ink.shape, bool))
    assert TattooDetector().process_frame(0, image) != []


# Not tone 6: there the close-up ink rules already take these arcs for pigment, with or without
# this rule (a known limit of the close-up rules on the darkest skin; docs/detection-lesions.md).
@pytest.mark.parametrize("tone", [1, 2, 3, 4, 5])
def test_a_crisp_design_at_a_closeups_corner_stays_covered(tone: int) -> None:
    image, ink = _closeup_with_crisp_design(tone)
    # Its ink reaches the frame's edge, where the rule looks (the ink mask is at 480 wide).
    det = TattooDetector()
    assert classify_scene(image) is SceneKind.SKIN_CLOSEUP
    regions = det.process_frame(0, image)
    assert det._frame is not None and (det._frame.score[0] >= 1.0).any()
    assert _covered(regions, image.shape)[ink].mean() >= 0.95
