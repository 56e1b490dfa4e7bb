"""Shade marks in a skin close-up: darkness that fades softly out of the frame, not ink.

    edge_shade(lightness, local_l, ink) -> np.ndarray

Tattoo ink changes the skin's reflectance: it is put in by a needle and its outline is sharp, a
few pixels wide, wherever it lies. Shade is a change of illumination: a body part turning
away from the flash, a fold under an arm, the dark gap between two hands or the dark ground
beyond a limb in a corner of the picture. In a clinical close-up such darkness usually runs
out of the frame, and towards the skin it ends in a wide soft ramp. On the real MSLD close-ups
the tattoo detector still kept four such marks as ink (they are as contrasted and as little
melanin-coloured as tattoo ink, so the close-up ink rules pass them): the dark periphery around
a flash-lit trunk (P19_3, the whole frame), a dark corner beyond the shoulder (others-34), the
shaded fold under an arm (others-18) and the dark gap between two hands (a12).

Rule (``edge_shade``, asked only in close-ups): an ink pixel is soft when no lightness slope
within ``SOFT_REACH`` pixels is steeper than ``SOFT_RAMP`` x its darkening below the local skin
(its darkness takes more than a few pixels to build up; the inside of a solid stroke or fill is
flat as well, but its sharp outline is within reach). Soft pixels in a connected region that
reaches the frame's edge are shade. The tattoo detector rejects a kept mark with at least
``tattoos.SHADE_SHARE`` of its ink in such shade (reason ``edgeshade``) and judges what remains
of it again (``TattooDetector._unshade``): a design merged with shade keeps its own sharp-edged
strokes and is boxed on its own (real tattoo photo 120_1, a rose merged with the wall and shirt
around the arm). Measured (docs/detection-lesions.md, "Shade at a close-up's edge";
``bench/dark_ground_ab.py --cue shade``): the four marks 64-94% soft shade at the edge, the
other marks kept in real tattoo photos read as close-ups 0%; close-ups boxed 17 -> 13, no real
tattoo box moved, not even with the rule forced on every tattoo photo. Risk: a softly shaded
design with no outline (a grey wash) running out of a close-up's frame.
"""

from __future__ import annotations

import cv2
import numpy as np

from consentclip.detect.skin import edge_counts

# An ink pixel is soft when no lightness slope beside it (L* per pixel, per 1/480 of the work
# width) is steeper than this share of its darkening below the local skin: its edge ramps over
# more than 1 / SOFT_RAMP pixels (at 480 wide). The four shade marks 64-94% soft at 0.25 (0.43
# for a12 at 0.15); a real tattoo's marks in close-ups 0% (see the docstring).
SOFT_RAMP = 0.25
# ... within this distance (pixels at 480 wide): the inside of a design's solid stroke or fill
# is flat, but a sharp outline is near it; shade has none within its wide ramp. At 3 the inside
# of generated 16-pixel solid arcs was 31-45% "shade"; at 6, 0%.
SOFT_REACH = 6.0


def edge_shade(lightness: np.ndarray, local_l: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """Ink pixels that are soft shade reaching the frame's edge (bool, work size).

    ``lightness``: the work image's L*; ``local_l``: the local skin's L*; ``ink``: the ink mask
    (non-zero: ink)."""
    h, w = lightness.shape
    on = ink > 0
    if not on.any():
        return np.zeros((h, w), bool)
    lit = cv2.GaussianBlur(lightness, (3, 3), 0)
    gx = cv2.Sobel(lit, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(lit, cv2.CV_32F, 0, 1, ksize=3)
    # Sobel answers 8 to a ramp of one L* per pixel; per 1/480 of the width, so that the figure
    # does not depend on the resolution.
    reach_px = max(1, round(SOFT_REACH * w / 480.0))
    near = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach_px + 1, 2 * reach_px + 1))
    slope = cv2.dilate(cv2.magnitude(gx, gy), near) / 8.0 * (w / 480.0)
    # How far the pixel is darker than the skin around it: a ramp as steep as a needle's edge
    # covers that in a few pixels, shade in many.
    drop = np.maximum(local_l - lightness, 1.0)
    soft = on & (slope < SOFT_RAMP * drop)
    n, labels = cv2.connectedComponents(soft.astype(np.uint8), connectivity=8)
    if n <= 1:
        return np.zeros((h, w), bool)
    reach = edge_counts(labels, n) > 0
    reach[0] = False
    return reach[labels]
