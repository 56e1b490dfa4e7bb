"""What the detector tests share (imported as ``from faceboxes import ...``): the astronaut
portrait's head box, how much of a true box a set of boxes covers, and how much of a true mask
a detector's regions cover."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from consentclip.detect.regions import Box, Region

# The head in skimage's astronaut portrait (public domain, NASA), in its own pixels.
ASTRONAUT_HEAD = Box.from_corners(160, 15, 320, 180)


def coverage(truth: Box, boxes: list[Box]) -> float:
    """Fraction of ``truth`` covered by the union of ``boxes`` (pixel mask, exact enough)."""
    x1, y1, x2, y2 = truth.int_corners()
    mask = np.zeros((y2 - y1, x2 - x1), bool)
    for b in boxes:
        bx1, by1, bx2, by2 = b.int_corners()
        mask[max(by1 - y1, 0) : max(by2 - y1, 0), max(bx1 - x1, 0) : max(bx2 - x1, 0)] = True
    return float(mask.mean())


def mask_coverage(regions: Sequence[Region], mask: np.ndarray) -> float:
    """Fraction of the true pixels of ``mask`` under the union of the regions' boxes."""
    cov = np.zeros(mask.shape, bool)
    for r in regions:
        x1, y1, x2, y2 = r.box.int_corners()
        cov[max(y1, 0) : max(y2, 0), max(x1, 0) : max(x2, 0)] = True
    return float((cov & mask).sum() / max(int(mask.sum()), 1))
