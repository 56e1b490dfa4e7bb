"""A large design's faint parts (``detect/inkextent.py``): taken into the design's mark on a view
of a limb, never a mole, the background or a part of a small mark. Real OpenCV on generated
limbs; the rule itself on the detector's own Candidate records.

On real tattoo photos a large design's soft shading and fine strokes fall apart into groups of
their own that are rejected alone (faint, sparse, thin), so the design's box ended where its
strong ink ended (a grey clown on a forearm, 73% of its box redacted).
"""

from __future__ import annotations

import numpy as np
import pytest
from faceboxes import mask_coverage

from benchmods import bench_module
from consentclip.detect import tattoos
from consentclip.detect.inkextent import EXTENT_MIN_SHARE, EXTENT_STEPS, design_extent
from consentclip.detect.tattoos import Candidate, TattooDetector

skinsynth = bench_module("skinsynth")

WORK = 480 * 360  # work-image area of a 640 x 480 frame


def _cand(
    box: tuple[int, int, int, int],
    reason: str = "",
    ink: int = 400,
    contrast: float = 1.5,
    solidity: float = 0.5,
) -> Candidate:
    return Candidate(box, ink, ink // 2, contrast, 0.1, solidity, 0.3, 3.0, 1.5, reason)


def test_a_large_mark_takes_in_the_faint_groups_beside_it() -> None:
    big = _cand((100, 50, 120, 150))  # 18000 px: 10% of the work image
    assert big.box[2] * big.box[3] >= EXTENT_MIN_SHARE * WORK
    shading = _cand((130, 210, 60, 40), "faint")  # 10 px below the mark
    hatching = _cand((225, 80, 30, 60), "sparse")  # 5 px to its right
    out = design_extent([big], [big, shading, hatching], WORK)
    assert len(out) == 1
    assert out[0].box == (100, 50, 155, 200)
    assert out[0].ink_px == big.ink_px + shading.ink_px + hatching.ink_px


@pytest.mark.parametrize("reason", ["mole", "lesion", "background", "shade", "pigment"])
def test_what_is_something_else_is_not_taken_in(reason: str) -> None:
    big = _cand((100, 50, 120, 150))
    other = _cand((130, 210, 60, 40), reason)
    assert design_extent([big], [big, other], WORK) == [big]


@pytest.mark.parametrize(
    ("contrast", "solidity"), [(0.97, 0.5), (1.9, 0.9)], ids=["barely-ink", "solid-patch"]
)
def test_a_mark_that_is_no_clear_design_is_not_grown(contrast: float, solidity: float) -> None:
    # Real rash close-ups that pass for a scene: a mark kept at a mean score of 0.97 and a solid
    # plaque (solidity 0.90) took in the rash around them.
    mark = _cand((100, 50, 120, 150), contrast=contrast, solidity=solidity)
    shading = _cand((130, 210, 60, 40), "faint")
    assert design_extent([mark], [shading], WORK) == [mark]


def test_far_groups_and_small_marks_are_left_alone() -> None:
    big = _cand((100, 50, 120, 150))
    far = _cand((100, 260, 60, 40), "faint")  # 60 px below: beyond 22% of its height (33 px)
    small = _cand((300, 20, 40, 40))  # 1% of the work image
    beside_small = _cand((342, 20, 10, 30), "line")
    out = design_extent([big, small], [far, beside_small], WORK)
    assert out == [big, small]


def test_shading_reached_through_shading_is_taken_in_a_few_steps_out_only() -> None:
    # A design's shading fades out in several groups, each within reach of the one before: the
    # first EXTENT_STEPS are taken in, further ones (hair running on from it) are not.
    big = _cand((100, 50, 120, 150))
    chain, y = [], 205
    for _ in range(EXTENT_STEPS + 1):
        chain.append(_cand((130, y, 60, 30), "faint"))
        y += 30 + 20  # 20 px apart: only a box grown over the group before reaches the next
    out = design_extent([big], chain, WORK)
    assert out[0].box[1] + out[0].box[3] == chain[EXTENT_STEPS - 1].box[1] + 30
    assert out[0].ink_px == big.ink_px + EXTENT_STEPS * chain[0].ink_px


def _design_with_a_faint_flourish(tone: int) -> tuple[np.ndarray, np.ndarray]:
    """A forearm on a drape with a large dark design (strokes with bare skin between them) and,
    20 px below it, a thin, faint stroke running on down the arm: the design's own flourish,
    which judged alone is a line (a vein or a hair)."""
    rng = np.random.default_rng(70 + tone)
    img = skinsynth.forearm_on_drape(480, 640, tone)
    ink = np.zeros((480, 640), bool)
    ink[40:240, 245:395] = True  # a framed design: an outline and a cross of strokes ...
    ink[50:230, 255:385] = False
    ink[130:150, 255:385] = True
    ink[50:230, 310:330] = True
    blue_black = np.asarray((70, 45, 40), np.float32)
    img[ink] = img[ink] * 0.3 + blue_black * 0.7
    flourish = np.zeros((480, 640), bool)
    flourish[260:450, 319:321] = True
    img[flourish] = img[flourish] * 0.6 + blue_black * 0.4
    img += rng.normal(0, 2.0, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8), flourish


@pytest.mark.parametrize("tone", [1, 3, 5])
def test_the_faint_flourish_of_a_large_design_is_covered(
    tone: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    image, flourish = _design_with_a_faint_flourish(tone)
    det = TattooDetector(segmentation=False)
    regions = det.process_frame(0, image)
    assert any(c.reason in {"line", "vein", "faint", "sparse"} for c in det.last_candidates)
    assert mask_coverage(regions, flourish) >= 0.95
    # Without the rule the flourish is covered only as far as the design's padding reaches.
    monkeypatch.setattr(tattoos, "design_extent", lambda kept, rejected, area: list(kept))
    assert mask_coverage(TattooDetector(segmentation=False).process_frame(0, image), flourish) < 0.6
