"""Light marks in a skin close-up: a white object or the background at the frame's edge, not ink.

    light_at_edge(group, box, lightness, local_l, score) -> bool

Tattoo ink absorbs light: a design is darker than the skin around it, or of another colour. In a
clinical close-up what the tattoo detector still keeps as "ink" while lighter than the skin is,
on the real MSLD close-ups, something in front of or beside the skin at the frame's edge: a
cotton swab (P15_1), a white border strip (others-4_1, others-4_2), a white sheet or wall in a
corner (j7_1, others-6). Its "ink" evidence is loss of saturation with a sharp edge, which
``tattoos.soft_highlight`` rightly leaves to the background rule; in a close-up that rule has no
room (the skin fills the frame), so such a mark was kept and its box blurred 6-24% of the
picture.

Rule: in a close-up, a mark that reaches the frame's edge with at least ``LIGHT_SHARE`` of its
ink (score >= 1) lighter than the local skin is rejected. Measured (detector alone, close-up
frames; docs/detection-lesions.md, "Light marks at a close-up's edge"): the 5 close-up marks
above 0.90-1.00; the marks kept in the 6 real tattoo photos classified close-ups at most 0.75
(26_1, a colour design under glare, which still holds its box). A white-ink design in the
middle of a close-up does not reach the edge and is not touched; one that does is the risk.
"""

from __future__ import annotations

import numpy as np

# Share of a mark's ink (score >= 1) lighter than the local skin (L*) for it to be a light object.
LIGHT_SHARE = 0.85


def light_at_edge(
    group: np.ndarray,
    box: tuple[int, int, int, int],
    lightness: np.ndarray,
    local_l: np.ndarray,
    score: np.ndarray,
) -> bool:
    """Is this mark (``group``: its mask within ``box``, work-image pixels) lighter than the skin
    and at the frame's edge? ``lightness``, ``local_l``, ``score``: the work image's L*, the local
    skin's L* and the ink score, whole-frame maps."""
    x, y, bw, bh = box
    h, w = lightness.shape
    if x > 0 and y > 0 and x + bw < w and y + bh < h:
        return False
    sl = (slice(y, y + bh), slice(x, x + bw))
    ink = group & (score[sl] >= 1.0)
    n = int(np.count_nonzero(ink))
    if n == 0:
        return False
    lighter = np.count_nonzero(lightness[sl][ink] > local_l[sl][ink])
    return lighter >= LIGHT_SHARE * n
