"""Large designs: larger than the skin left around them and reaching a limb's silhouette
(``silhouette_pockets``), on generated limbs in all six Fitzpatrick tones, and their wider
padding (``large_mark_pad``). Real OpenCV, no mocks.

On real tattoo photos this was the commonest total miss on skin types II and V: the design has
no candidate at all because it is off the body surface (docs/detection-tattoos.md).
"""

from __future__ import annotations

import numpy as np
import pytest
from faceboxes import mask_coverage

from benchmods import bench_module
from consentclip.detect.skin import LabImage
from consentclip.detect.tattoos import (
    HULL_MAX_GROWTH,
    LARGE_MARK_PAD,
    LARGE_MARK_SHARE,
    TattooDetector,
    TattooTuning,
    large_mark_pad,
    limb_hull,
    silhouette_pockets,
)

skinsynth = bench_module("skinsynth")


def _limb_mostly_covered_by_a_design(
    tone: int, colour: tuple[int, int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """A forearm crossing a green drape, a solid colour design with black line work covering
    most of it and reaching its right silhouette: the design is larger than the skin left
    around it, so the part's convex hull adds more than ``HULL_MAX_GROWTH`` and ``limb_hull``
    leaves the design off the surface (main before silhouette_pockets: 1-7% of it covered on
    tones 1-4 in red, on every tone in green)."""
    # Shaded colour fill, then the black outlines of petals or leaves across it.
    strokes = [
        np.array([[262 + 20 * j, 60 + 48 * k + int(18 * np.sin(j + k))] for j in range(10)])
        for k in range(8)
    ]
    return skinsynth.design_on_forearm(
        tone, colour, (slice(40, 440), slice(260, 440)), strokes, 40 + tone
    )


@pytest.mark.parametrize("colour", [(60, 40, 190), (90, 150, 40)], ids=["red", "green"])
@pytest.mark.parametrize("tone", range(1, 7))
def test_design_larger_than_the_skin_around_it_at_the_silhouette_is_covered(
    tone: int, colour: tuple[int, int, int]
) -> None:
    image, ink = _limb_mostly_covered_by_a_design(tone, colour)
    det = TattooDetector()
    assert mask_coverage(det.process_frame(0, image), ink) >= 0.95


def _notched(fill: np.ndarray) -> tuple[np.ndarray, np.ndarray, LabImage]:
    """A limb (a vertical band) with a notch cut into its right side, and what fills it."""
    surface = np.zeros((300, 300), np.uint8)
    surface[:, 100:200] = 255
    notch = np.zeros((300, 300), bool)
    notch[30:270, 130:200] = True  # larger than the skin left: limb_hull leaves it alone
    surface[notch] = 0
    L = np.full((300, 300), 60.0, np.float32)
    L[notch] = fill[notch]
    zero = np.zeros_like(L)
    return surface, notch, LabImage(L, zero, zero)


def test_pocket_with_ink_and_strokes_is_added() -> None:
    yy, xx = np.mgrid[0:300, 0:300]
    strokes = (30 + 15 * np.sin(xx / 3.0) * np.cos(yy / 5.0)).astype(np.float32)
    surface, notch, lab = _notched(strokes)
    assert (limb_hull(surface, HULL_MAX_GROWTH)[notch] == 0).all()
    score = np.where(notch, 2.5, 0.2).astype(np.float32)
    out = silhouette_pockets(surface, lab, score)
    assert (out[notch] == 255).all()
    assert (out[:, :100] == 0).all() and (out[:, 200:] == 0).all()


def test_flat_pocket_or_bare_skin_pocket_is_not_added() -> None:
    flat = np.full((300, 300), 30.0, np.float32)  # a flat wall or shirt in the notch
    surface, notch, lab = _notched(flat)
    score = np.where(notch, 2.5, 0.2).astype(np.float32)
    assert (silhouette_pockets(surface, lab, score)[notch] == 0).all()
    yy, xx = np.mgrid[0:300, 0:300]
    strokes = (30 + 15 * np.sin(xx / 3.0) * np.cos(yy / 5.0)).astype(np.float32)
    surface, notch, lab = _notched(strokes)
    faint = np.full((300, 300), 0.5, np.float32)  # no ink against the skin there
    assert (silhouette_pockets(surface, lab, faint)[notch] == 0).all()


def test_space_between_two_limbs_is_not_a_pocket() -> None:
    # Two limbs meeting at a wide angle (legs apart, an arm held out from the body): the space
    # between them is bounded by skin on two sides and the hull's chord closes the third (under
    # POCKET_MIN_ENCLOSED of its outline is skin), however inky and textured it is. A narrower
    # V (slope 1.6 here) passes the outline test: the pocket rule's other tests and the ink
    # rules are what is left then.
    surface = np.zeros((300, 300), np.uint8)
    for y in range(57):
        half = 10 + 2 * y
        surface[y, max(0, 150 - half - 25) : 150 - half] = 255
        surface[y, 150 + half : min(300, 150 + half + 25)] = 255
    surface[:12, 130:170] = 255
    yy, xx = np.mgrid[0:300, 0:300]
    L = (40 + 15 * np.sin(xx / 3.0) * np.cos(yy / 5.0)).astype(np.float32)
    zero = np.zeros_like(L)
    score = np.where(surface > 0, 0.2, 2.5).astype(np.float32)
    out = silhouette_pockets(surface, LabImage(L, zero, zero), score)
    assert (out == surface).all()


def test_only_a_large_mark_gets_the_wider_padding() -> None:
    work_area = 480.0 * 360.0
    side = int((LARGE_MARK_SHARE * work_area) ** 0.5) + 1
    small = TattooTuning().pad_frac
    assert small < LARGE_MARK_PAD
    assert large_mark_pad((10, 10, side, side), work_area, small) == LARGE_MARK_PAD
    assert large_mark_pad((10, 10, side, side // 2), work_area, small) == small
