"""A body on a plain, lit ground: a rash close-up on a sheet, a drape or a tiled floor.

    body_on_plain_ground(frame) -> bool
    closeup_ground(frame) -> bool    # this, or scene.body_on_dark_ground

Like ``scene.body_on_dark_ground``, not a scene kind: the tattoo detector alone reads such a
scene with a close-up's ink rules, and faces stay as strict as in any scene.

What was blurred (real MSLD close-ups classified ``scene``, bench/results/rash_kind.md, "A body
on a plain ground"): a hand photographed on a patterned sheet (a4_2), skin under a blue-gloved
finger (P1_1), a leg in front of a tiled floor (a10), a foot on a white bed (a7). The skin is lit
and fills most of the frame, so neither the dark-ground cue nor the close-up kinds take it, and
the tattoo detector kept the rash's erythema and papules as ink marks of a limb in a scene
(47-83% of the picture boxed, detector alone).

What such a frame is, and the 210 real tattoo photos (which also show a limb before a
background) are not, measured at 96 pixels wide:

- the skin is most of the frame and one part (``PLAIN_MIN_HUED`` of the frame skin-hued, the
  largest part ``PLAIN_MIN_PART`` of it);
- what is not skin-hued is a ground *around* the body, not matter *inside* it: at most
  ``PLAIN_MAX_ENCLOSED`` of it lies in parts that do not reach the frame's edge. A tattoo's ink
  is not skin-hued either, and a design lies in the skin (the butterfly, star and portrait
  photos that otherwise pass: 28-73% enclosed; the four rash close-ups 0-7%);
- that ground is lit (at most ``PLAIN_MAX_DARK`` of it darker than ``scene.GROUND_DARK_L``:
  a dark one is the dark-ground cue's question, and a tattoo photo before a dark top, 52_1,
  53% dark, loses its box with a close-up's rules) and plain (median gradient of L* inside
  it at most ``PLAIN_MAX_GRADIENT``: a sheet, a drape, tiles; not a room or clothing folds).

A second way, for pale skin: a frame with nothing dark in it at all (``_nothing_dark``). Pale
skin close to white has too little colour to be skin-hued (MSLD a16, others-47_1: 53-62% of the
frame skin-hued, the rest pale skin with pink papules and fine hair), so the first way does not
see it; but ink is dark (black or grey outlines, shading) or of a colour no skin takes (green,
blue), and such a frame has neither: lit edge to edge (``BARE_MIN_LIT``), at most
``BARE_MAX_OTHER`` of no skin colour and ``BARE_MAX_DARK_GREY`` of dark colourless matter
(opened: fine hairs left out), and at most ``BARE_MAX_BLACK`` darker than
``scene.GROUND_DARK_L`` (not opened: a thin black line counts). The nearest real tattoo photo
(3_2, a small black design) has 2.8% of its pixels that dark.

Thresholds and the pictures each one keeps out: bench/results/rash_kind.md.
"""

from __future__ import annotations

import cv2
import numpy as np

from consentclip.detect import scene
from consentclip.detect.scene import (
    GROUND_DARK_L,
    _largest_part,
    _no_skin_colour,
    _skin_hued,
    _small,
)
from consentclip.detect.skin import LabImage, edge_counts

# Share of the frame (96 px wide) that is skin-hued, and share of that in its largest part.
PLAIN_MIN_HUED = 0.78
PLAIN_MIN_PART = 0.95
# Share of the frame that the ground (not skin-hued, opened) fills at least: a ground in view.
PLAIN_MIN_GROUND = 0.10
# Share of the ground in parts that do not reach the frame's edge (matter inside the skin).
PLAIN_MAX_ENCLOSED = 0.10
# Share of the ground (eroded) darker than GROUND_DARK_L, and its median L* gradient (Sobel 3x3).
PLAIN_MAX_DARK = 0.40
PLAIN_MAX_GRADIENT = 16.0
# Nothing dark in view (the second way): lit share (L* >= 12), opened shares of no skin colour and
# of dark colourless matter (L* < 40, chroma < 12), and share darker than GROUND_DARK_L.
BARE_MIN_LIT = 0.99
BARE_MAX_OTHER = 0.01
BARE_MAX_DARK_GREY = 0.01
BARE_MAX_BLACK = 0.01

_K3 = np.ones((3, 3), np.uint8)


def plain_ground_features(lab: LabImage) -> dict[str, float]:
    """The cue's quantities on a 96-pixel copy (see the module docstring): ``hued``, ``part``,
    ``ground``, ``enclosed``, ``dark`` and ``gradient`` (-1 where the ground is too small to
    measure); and for the second way ``lit``, ``other``, ``dark_grey`` and ``black``."""
    hued = _skin_hued(lab)
    L = lab.L.astype(np.float32)
    other = cv2.morphologyEx(_no_skin_colour(lab, hued).astype(np.uint8), cv2.MORPH_OPEN, _K3)
    grey = ((lab.L < 40.0) & (np.hypot(lab.a, lab.b) < 12.0)).astype(np.uint8)
    grey = cv2.morphologyEx(grey, cv2.MORPH_OPEN, _K3)
    body = cv2.morphologyEx(hued.astype(np.uint8), cv2.MORPH_OPEN, _K3)
    part = _largest_part(body)
    ground = cv2.morphologyEx((~hued).astype(np.uint8), cv2.MORPH_OPEN, _K3)
    n, parts, _, _ = cv2.connectedComponentsWithStats(ground, connectivity=8)
    at_edge = edge_counts(parts, n) > 0
    at_edge[0] = False
    n_ground = int(np.count_nonzero(parts))
    enclosed = int(np.count_nonzero((parts > 0) & ~at_edge[parts]))
    inside = cv2.erode(ground, _K3) > 0
    dark, gradient = 1.0, -1.0
    if np.count_nonzero(inside) >= 20:
        grad = np.hypot(cv2.Sobel(L, cv2.CV_32F, 1, 0), cv2.Sobel(L, cv2.CV_32F, 0, 1))
        dark = float(np.count_nonzero(inside & (lab.L < GROUND_DARK_L)) / np.count_nonzero(inside))
        gradient = float(np.median(grad[inside]))
    return {
        "hued": float(hued.mean()),
        "part": part,
        "ground": n_ground / float(ground.size),
        "enclosed": enclosed / float(max(1, n_ground)),
        "dark": dark,
        "gradient": gradient,
        "lit": float((lab.L >= 12.0).mean()),
        "other": float(other.mean()),
        "dark_grey": float(grey.mean()),
        "black": float((lab.L < GROUND_DARK_L).mean()),
    }


def plain_ground(f: dict[str, float]) -> bool:
    """Do the quantities of ``plain_ground_features`` say: a body on a plain, lit ground, or
    a frame with nothing dark in it (``_nothing_dark``)?"""
    return _on_plain_ground(f) or _nothing_dark(f)


def _on_plain_ground(f: dict[str, float]) -> bool:
    return (
        f["hued"] >= PLAIN_MIN_HUED
        and f["part"] >= PLAIN_MIN_PART
        and f["ground"] >= PLAIN_MIN_GROUND
        and f["enclosed"] <= PLAIN_MAX_ENCLOSED
        and f["dark"] <= PLAIN_MAX_DARK
        and 0.0 <= f["gradient"] <= PLAIN_MAX_GRADIENT
    )


def _nothing_dark(f: dict[str, float]) -> bool:
    return (
        f["lit"] >= BARE_MIN_LIT
        and f["other"] <= BARE_MAX_OTHER
        and f["dark_grey"] <= BARE_MAX_DARK_GREY
        and f["black"] <= BARE_MAX_BLACK
    )


def body_on_plain_ground(frame: np.ndarray) -> bool:
    """Is ``frame`` (HxWx3 uint8 BGR) one lit body surface before a plain, lit ground (see the
    module docstring)? Asked by the tattoo detector only, of scenes, once per step of the scene
    watch's cadence (``SceneFrame.ask``)."""
    return plain_ground(plain_ground_features(LabImage.from_bgr(_small(frame))))


def closeup_ground(frame: np.ndarray) -> bool:
    """Is this scene a body the tattoo detector reads with a close-up's ink rules: on a dark
    ground (``scene.body_on_dark_ground``) or on a plain, lit one (``body_on_plain_ground``)?
    One per-scene question, asked once per step of the scene watch's cadence
    (``SceneFrame.ask``). Both are looked up when called, so a benchmark can switch each off."""
    return scene.body_on_dark_ground(frame) or body_on_plain_ground(frame)
