"""A design running across a whole limb (``limb_bands``), on generated forearms in all six
Fitzpatrick tones; and what must stay out: two limbs apart, a skin-coloured background piece of
another colour, a flat or bare band. Real OpenCV, no mocks.

On real tattoo photos (BIVTatt 134_1, 90_1) such a design cut the limb's surface in two and
its middle was on neither piece: a stripe across it stayed visible (docs/detection-tattoos.md).
"""

from __future__ import annotations

import numpy as np
import pytest
from faceboxes import mask_coverage

from benchmods import bench_module
from consentclip.detect.limbsurface import limb_bands
from consentclip.detect.regions import SURE_FACE, Box, Region, RegionKind
from consentclip.detect.skin import LabImage
from consentclip.detect.tattoos import TattooDetector

skinsynth = bench_module("skinsynth")


def _band_across_a_forearm(
    tone: int, colour: tuple[int, int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """A forearm crossing a green drape top to bottom (columns 201..440), a shaded colour band
    with black line work across its whole width (rows 170..310, a little past both
    silhouettes): the skin surface is two pieces, above and below the band, and the band is a
    hole in neither (main before limb_bands: 0-35% of it covered, on tone VI red 100%)."""
    strokes = [
        np.array([[197 + 25 * j, 190 + 45 * k + int(15 * np.sin(j + k))] for j in range(11)])
        for k in range(3)
    ]
    return skinsynth.design_on_forearm(
        tone, colour, (slice(170, 310), slice(195, 446)), strokes, 60 + tone
    )


@pytest.mark.parametrize("colour", [(60, 40, 190), (90, 150, 40)], ids=["red", "green"])
@pytest.mark.parametrize("tone", range(1, 7))
def test_design_across_the_whole_limb_is_covered(tone: int, colour: tuple[int, int, int]) -> None:
    image, ink = _band_across_a_forearm(tone, colour)
    assert mask_coverage(TattooDetector().process_frame(0, image), ink) >= 0.95


def _strokes(shape: tuple[int, int], base: float) -> np.ndarray:
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    return (base + 15 * np.sin(xx / 3.0) * np.cos(yy / 5.0)).astype(np.float32)


def _two_pieces(gap: slice) -> np.ndarray:
    """A vertical limb (columns 100..200) cut across by a gap (the rows ``gap``)."""
    surface = np.zeros((300, 300), np.uint8)
    surface[:, 100:200] = 255
    surface[gap, :] = 0
    return surface


def test_band_of_ink_between_two_pieces_of_one_limb_is_added() -> None:
    surface = _two_pieces(slice(110, 190))
    band = np.zeros(surface.shape, bool)
    band[110:190, 100:200] = True
    lab = LabImage(
        _strokes(surface.shape, 40.0),
        np.zeros((300, 300), np.float32) + 10,
        np.zeros((300, 300), np.float32) + 20,
    )
    score = np.where(band, 2.5, 0.2).astype(np.float32)
    out = limb_bands(surface, lab, score)
    assert (out[band] == 255).all()
    assert (out[:, :100] == 0).all() and (out[:, 200:] == 0).all()


def test_flat_or_bare_band_is_not_added() -> None:
    surface = _two_pieces(slice(110, 190))
    zero = np.zeros((300, 300), np.float32)
    band = np.zeros(surface.shape, bool)
    band[110:190, 100:200] = True
    flat = LabImage(np.full((300, 300), 40.0, np.float32), zero, zero)  # a flat shirt sleeve
    assert (limb_bands(surface, flat, np.where(band, 2.5, 0.2).astype(np.float32)) == surface).all()
    strokes = LabImage(_strokes(surface.shape, 40.0), zero, zero)
    bare = np.full((300, 300), 0.5, np.float32)  # no ink against the skin
    assert (limb_bands(surface, strokes, bare) == surface).all()


def test_two_limbs_apart_or_a_background_piece_are_not_joined() -> None:
    zero = np.zeros((300, 300), np.float32)
    # Two limbs side by side with an inky, textured floor between them: their joint hull adds
    # far more than either limb.
    surface = np.zeros((300, 300), np.uint8)
    surface[:, 20:70] = 255
    surface[:, 230:280] = 255
    lab = LabImage(_strokes(surface.shape, 40.0), zero, zero)
    score = np.where(surface > 0, 0.2, 2.5).astype(np.float32)
    assert (limb_bands(surface, lab, score) == surface).all()
    # One limb cut across, but the piece below is a skin-coloured wall of another colour.
    surface = _two_pieces(slice(110, 190))
    b = np.where(np.arange(300)[:, None] >= 190, 5.0, 25.0) * np.ones((1, 300), np.float32)
    lab = LabImage(_strokes(surface.shape, 40.0), zero + 8, b.astype(np.float32))
    band = np.zeros(surface.shape, bool)
    band[110:190, 100:200] = True
    score = np.where(band, 2.5, 0.2).astype(np.float32)
    assert (limb_bands(surface, lab, score) == surface).all()


@pytest.mark.parametrize("tone", [1, 4, 6])
def test_ink_under_a_weak_face_hit_on_a_limb_is_judged_too(tone: int) -> None:
    # A weak face hit (under SURE_FACE) on a view of a limb is mostly a drawn face or shaded
    # ink: the design under it gets its own tattoo box (before: its box was cleared from the
    # surface, and only the face box, with no padding, covered that part of the design).
    image, ink = _band_across_a_forearm(tone, (60, 40, 190))
    weak = Region(Box(150, 120, 340, 140), RegionKind.FACE, score=SURE_FACE - 0.2, source="short")
    tattoos = TattooDetector().process_frame(0, image, [weak])
    under = ink.copy()
    under[260:, :] = False  # the part of the design under the face box
    assert mask_coverage(tattoos, under) >= 0.95
