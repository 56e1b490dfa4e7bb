"""The limb's surface beyond its skin-coloured pixels: where a design that reaches a limb's
silhouette lies.

    limb_hull(surface, max_growth) -> each part grown to its convex hull (uint8 0/255)
    silhouette_pockets(surface, lab, score) -> the pockets a design leaves at the silhouette
    limb_bands(surface, lab, score) -> the bands a design cuts across a whole limb

The tattoo detector's body surface (``skin.body_surface``) holds the ink that skin encloses; a
design that reaches the limb's silhouette is not enclosed, so on views with no sure face the
surface is grown here, one step after the other, and what is added is judged as ink afterwards
like any surface (the rules that drop clothing and furniture apply to it as to any mark).

**Bands** (``limb_bands``). A design that reaches the limb's silhouette on *both* sides (a rose
as wide as the wrist, a band round a calf) is not a hole in the skin: it cuts the limb's surface
in two, one piece above it and one below, and the middle of the design lies on neither piece nor
in either piece's hull. On the real tattoo photos (BIVTatt) that left a stripe across the design
unredacted between the two kept halves (134_1: 91% of its human box) or the design's far half
without any candidate (135_1, where the shaded side of the forearm is not skin-coloured either:
58%).

A limb is close to convex, so its pieces together are too: for each pair of large surface
pieces, the pockets between their joint convex hull and the surface are looked at, when that
hull adds at most ``HULL_MAX_GROWTH`` of the pair's area (the bound ``limb_hull`` uses for one
piece: two limbs apart, or a limb and a skin-coloured wall, add far more). A pocket is added
when it lies between the two pieces (each bounds it on at least ``BAND_MIN_TOUCH`` of its
outline) and holds a design by the tests ``silhouette_pockets`` uses: all ink (median ink
score), not flat (L* spread).
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import combinations

import cv2
import numpy as np

from consentclip.detect.skin import LabImage

# A part's convex hull may add at most this share of its area (``limb_hull``; the joint hull of
# two pieces in ``limb_bands``): a limb is close to convex, an L-shaped bend or two limbs with
# the background between them are not.
HULL_MAX_GROWTH = 0.6

# A design too large for ``limb_hull`` (its hull adds more than HULL_MAX_GROWTH): each pocket
# between the surface part and its hull is judged on its own (see ``silhouette_pockets``).
# Measured on the real tattoo photos (pockets of at least 0.2% of the frame, on views without a
# sure face): the pockets that hold a design are bounded by the limb on 56-91% of their outline,
# their median ink score is 1.45-3.8 thresholds and their L* std 6.7-25; the flat ones beside a
# limb (a wall, a shirt, a floor tile) have L* std 1.2-5.3. Background pockets between two limbs
# or inside a bend are bounded by skin on 51-83% of their outline: the outline test alone does
# not separate them, and what passes all three is still judged by the ink rules.
POCKET_MIN_ENCLOSED = 0.6  # share of a pocket's outline that is the surface part itself ...
POCKET_MIN_SCORE = 1.2  # ... its median ink score (thresholds): it is all ink, not bare skin ...
POCKET_MIN_L_STD = 6.0  # ... and it is not flat (a design has strokes and shading)
POCKET_MIN_SHARE = 0.002  # pockets smaller than this share of the frame are left alone


# A piece of the surface must cover at least this share of the frame to count as part of a
# limb (specks of skin-coloured background would otherwise pair with everything).
BAND_MIN_PART = 0.02
# Each of the two pieces bounds the pocket on at least this share of its outline: the pocket
# lies between them, not beside one of them.
BAND_MIN_TOUCH = 0.12
# The two pieces are one limb's skin: their mean colours (CIE Lab) are at most this far apart.
# Measured on the real tattoo photos: the pieces above and below a design 5 apart; a
# skin-coloured background piece beside the limb (a plastic sheet, a wall) 27.
BAND_MAX_DELTA_E = 12.0
# At most this many pieces are paired (the largest ones): a view of a limb has few.
BAND_MAX_PARTS = 4

_K3 = np.ones((3, 3), np.uint8)


def _delta_e(lab: LabImage, a: np.ndarray, b: np.ndarray) -> float:
    """Distance between the median colours of two pixel sets (CIE76). Medians: a piece holds
    the ink its holes and hull took in, and its skin is most of it."""
    return float(
        np.sqrt(
            sum(
                (float(np.median(ch[a])) - float(np.median(ch[b]))) ** 2
                for ch in (lab.L, lab.a, lab.b)
            )
        )
    )


def _hull(part: np.ndarray) -> np.ndarray:
    """The convex hull of ``part`` (uint8, non-zero inside), filled: uint8 0/1, same shape."""
    contours, _ = cv2.findContours(part, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    hull = np.zeros(part.shape, np.uint8)
    cv2.fillPoly(hull, [cv2.convexHull(np.vstack(contours))], 1)
    return hull


def _pockets(
    gaps: np.ndarray, min_px: float, origin: tuple[int, int] = (0, 0)
) -> Iterator[tuple[tuple[slice, slice], np.ndarray, np.ndarray]]:
    """The pockets of ``gaps`` (uint8 0/1: a hull's pixels off the surface, in a crop of the
    frame whose top-left corner is ``origin`` (x, y)) of at least ``min_px`` pixels
    (4-connected). Each as the frame slice of its box one pixel wider all round (within the
    crop), its mask there and its rim (the pixels around it in that slice)."""
    if np.count_nonzero(gaps) < min_px:
        return
    x0, y0 = origin
    _, pockets, stats, _ = cv2.connectedComponentsWithStats(gaps, connectivity=4)
    for p in np.flatnonzero(stats[1:, cv2.CC_STAT_AREA] >= min_px) + 1:
        px, py, pw, ph = (int(v) for v in stats[p, :4])
        ax, ay = max(px - 1, 0), max(py - 1, 0)
        bx, by = min(px + pw + 1, gaps.shape[1]), min(py + ph + 1, gaps.shape[0])
        pocket = pockets[ay:by, ax:bx] == p
        rim = (cv2.dilate(pocket.astype(np.uint8), _K3) > 0) & ~pocket
        yield (slice(y0 + ay, y0 + by), slice(x0 + ax, x0 + bx)), pocket, rim


def _holds_design(
    lab: LabImage, score: np.ndarray, where: tuple[slice, slice], pocket: np.ndarray
) -> bool:
    """Is the pocket a design: all ink (median ink score) and not flat (L* spread)?"""
    return (
        float(np.median(score[where][pocket])) >= POCKET_MIN_SCORE
        and float(lab.L[where][pocket].std()) >= POCKET_MIN_L_STD
    )


def limb_hull(surface: np.ndarray, max_growth: float) -> np.ndarray:
    """Each surface part grown to its convex hull, when the hull adds at most ``max_growth`` of
    its area (uint8 0/255 in and out).

    A large design often reaches a limb's silhouette on one side: it is then not enclosed by
    skin, and ``fill_holes`` leaves it (and its ink) off the surface. A limb is close to convex,
    so its hull puts the design back; a surface whose hull would add much more (an L-shaped
    bend, two limbs with the background between them) is left as it was.
    """
    n, labels, stats, _ = cv2.connectedComponentsWithStats(surface, connectivity=8)
    out = surface.copy()
    for g in range(1, n):
        x, y, bw, bh, area = (int(v) for v in stats[g])
        hull = _hull((labels[y : y + bh, x : x + bw] == g).astype(np.uint8))
        if hull.sum() <= (1 + max_growth) * area:
            out[y : y + bh, x : x + bw][hull > 0] = 255
    return out


def silhouette_pockets(surface: np.ndarray, lab: LabImage, score: np.ndarray) -> np.ndarray:
    """The surface with the pockets between each part and its convex hull that hold a design
    (uint8 0/255 in and out). Run after ``limb_hull``: parts it grew have no pockets left.

    A large design that reaches a limb's silhouette (a rose covering one side of a calf, a
    triangle piece up to the shoulder's outline) is often larger than the skin left around it:
    its part's hull then adds more than ``HULL_MAX_GROWTH`` and ``limb_hull`` leaves it out, so
    the design has no candidate at all (on the real photos: the commonest total miss on skin
    types II and V, colour ink mostly). The pocket that design leaves in the surface is bounded
    by the limb on most of its outline (the silhouette is the rest), it is ink everywhere, and
    it has strokes and shading; the background beside a limb is mostly flat, or bounded by skin
    on less of its outline. What is added is still judged as ink afterwards (the rules that drop
    clothing and furniture apply to it as to any mark).
    """
    n, labels, stats, _ = cv2.connectedComponentsWithStats(surface, connectivity=8)
    out = surface.copy()
    h, w = surface.shape
    min_px = POCKET_MIN_SHARE * h * w
    for g in range(1, n):
        x, y, bw, bh, _ = (int(v) for v in stats[g])
        # One pixel of margin so a pocket's outline is seen whole.
        x0, y0, x1, y1 = max(x - 1, 0), max(y - 1, 0), min(x + bw + 1, w), min(y + bh + 1, h)
        part = labels[y0:y1, x0:x1] == g
        gaps = ((_hull(part.astype(np.uint8)) > 0) & (surface[y0:y1, x0:x1] == 0)).astype(np.uint8)
        for where, pocket, rim in _pockets(gaps, min_px, (x0, y0)):
            on_limb = np.count_nonzero(rim & (labels[where] == g))
            if on_limb < POCKET_MIN_ENCLOSED * np.count_nonzero(rim):
                continue
            if _holds_design(lab, score, where, pocket):
                out[where][pocket] = 255
    return out


def limb_bands(surface: np.ndarray, lab: LabImage, score: np.ndarray) -> np.ndarray:
    """``surface`` (uint8 0/255) with the bands of ink between two of its large pieces added
    (see the module docstring)."""
    _, labels, stats, _ = cv2.connectedComponentsWithStats(surface, connectivity=8)
    h, w = surface.shape
    areas = stats[1:, cv2.CC_STAT_AREA]
    big = [int(g) + 1 for g in np.argsort(areas)[::-1] if areas[g] >= BAND_MIN_PART * h * w]
    if len(big) < 2:
        return surface
    out = surface.copy()
    min_px = POCKET_MIN_SHARE * h * w
    for a, b in combinations(big[:BAND_MAX_PARTS], 2):
        hull = _hull(np.isin(labels, (a, b)).astype(np.uint8))
        area = int(stats[a, cv2.CC_STAT_AREA] + stats[b, cv2.CC_STAT_AREA])
        if np.count_nonzero(hull) > (1 + HULL_MAX_GROWTH) * area:
            continue
        if _delta_e(lab, labels == a, labels == b) > BAND_MAX_DELTA_E:
            continue
        gaps = ((hull > 0) & (surface == 0)).astype(np.uint8)
        for where, pocket, rim in _pockets(gaps, min_px):
            n_rim = max(int(np.count_nonzero(rim)), 1)
            touch_a = np.count_nonzero(rim & (labels[where] == a)) / n_rim
            touch_b = np.count_nonzero(rim & (labels[where] == b)) / n_rim
            if min(touch_a, touch_b) < BAND_MIN_TOUCH:
                continue
            if _holds_design(lab, score, where, pocket):
                out[where][pocket] = 255
    return out
