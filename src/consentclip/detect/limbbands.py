"""A design that runs across a whole limb: the band of ink between two pieces of its surface.

    limb_bands(surface, lab, score) -> the surface with such bands added (uint8 0/255)

The body surface is the skin-coloured pixels, closed, their holes filled and each part grown to
its convex hull (``tattoos.limb_hull``, ``tattoos.silhouette_pockets``). A design that reaches
the limb's silhouette on *both* sides (a rose as wide as the wrist, a band round a calf) is not
a hole in the skin: it cuts the limb's surface in two, one piece above it and one below, and
the middle of the design lies on neither piece nor in either piece's hull. On the real tattoo
photos (BIVTatt) that left a stripe across the design unredacted between the two kept halves
(134_1: 91% of its human box) or the design's far half without any candidate (135_1, where
the shaded side of the forearm is not skin-coloured either: 58%).

A limb is close to convex, so its pieces together are too: for each pair of large surface
pieces, the pockets between their joint convex hull and the surface are looked at, when that
hull adds at most ``tattoos.HULL_MAX_GROWTH`` of the pair's area (the bound ``limb_hull`` uses
for one piece: two limbs apart, or a limb and a skin-coloured wall, add far more). A pocket is
added when it lies between the two pieces (each bounds it on at least ``BAND_MIN_TOUCH`` of
its outline) and holds a design by the tests ``silhouette_pockets`` uses: all ink (median ink
score), not flat (L* spread). What is added is judged as ink afterwards like any surface.
"""

from __future__ import annotations

from itertools import combinations

import cv2
import numpy as np

from consentclip.detect.skin import LabImage

# A piece of the surface must cover at least this share of the frame to count as part of a
# limb (specks of skin-coloured background would otherwise pair with everything).
BAND_MIN_PART = 0.02
# Each of the two pieces bounds the pocket on at least this share of its outline: the pocket
# lies between them, not beside one of them.
BAND_MIN_TOUCH = 0.12
# The tests a pocket must pass to be a design (tattoos.silhouette_pockets, measured there):
# pockets of at least this share of the frame, median ink score (thresholds), L* std.
BAND_MIN_SHARE = 0.002
BAND_MIN_SCORE = 1.2
BAND_MIN_L_STD = 6.0
# The joint hull of two pieces adds at most this share of their area (tattoos.HULL_MAX_GROWTH).
BAND_MAX_GROWTH = 0.6
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
    min_px = BAND_MIN_SHARE * h * w
    for a, b in combinations(big[:BAND_MAX_PARTS], 2):
        pair = np.isin(labels, (a, b))
        contours, _ = cv2.findContours(
            pair.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
        )
        hull = np.zeros((h, w), np.uint8)
        cv2.fillPoly(hull, [cv2.convexHull(np.vstack(contours))], 1)
        area = int(stats[a, cv2.CC_STAT_AREA] + stats[b, cv2.CC_STAT_AREA])
        if np.count_nonzero(hull) > (1 + BAND_MAX_GROWTH) * area:
            continue
        if _delta_e(lab, labels == a, labels == b) > BAND_MAX_DELTA_E:
            continue
        gaps = ((hull > 0) & (surface == 0)).astype(np.uint8)
        if np.count_nonzero(gaps) < min_px:
            continue
        _, pockets, pstats, _ = cv2.connectedComponentsWithStats(gaps, connectivity=4)
        for p in np.flatnonzero(pstats[1:, cv2.CC_STAT_AREA] >= min_px) + 1:
            px, py, pw, ph = (int(v) for v in pstats[p, :4])
            sl = (slice(max(py - 1, 0), py + ph + 1), slice(max(px - 1, 0), px + pw + 1))
            pocket = pockets[sl] == p
            rim = (cv2.dilate(pocket.astype(np.uint8), _K3) > 0) & ~pocket
            n_rim = max(int(np.count_nonzero(rim)), 1)
            touch_a = np.count_nonzero(rim & (labels[sl] == a)) / n_rim
            touch_b = np.count_nonzero(rim & (labels[sl] == b)) / n_rim
            if min(touch_a, touch_b) < BAND_MIN_TOUCH:
                continue
            if float(np.median(score[sl][pocket])) < BAND_MIN_SCORE:
                continue
            if float(lab.L[sl][pocket].std()) < BAND_MIN_L_STD:
                continue
            out[sl][pocket] = 255
    return out
