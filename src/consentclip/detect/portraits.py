"""Portrait tattoos: a sure face hit that is a design on the skin, not a view of people.

    portrait_faces(lab, prior, sure, scale) -> the face boxes the tattoo detector sets aside

The tattoo detector takes a face hit of at least ``SURE_FACE`` for a person: it learns the skin
colour from the face, turns the rules for a view of a limb off (``limb_hull``,
``silhouette_pockets``, the background rescue and the shade rule) and leaves the face's box to
the face detector. On real tattoo photographs that hit is nearly always a drawn face: 62 of the
210 BIVTatt photos have a face hit >= 0.5, almost all of them on a portrait tattoo (a woman's
face on a forearm, a clown on a calf), and the face part cue (faceparts.py) once took a bare
flank for half a face. The skin colour then comes from the ink, the limb rules are off, and the
design is cut along the face box, so the rest of it is found in parts (12 of the 24 boxes the
export missed).

A person's head in a view of people is a small part of the picture; a head box that fills a
large share of it (``PORTRAIT_MIN_SHARE``) is either a design on a limb or a close-up of one
face. On real material the two are told apart from a view of people by where the box lies: a
portrait tattoo's box lies on the body's skin surface (skin colour from the dominant cluster,
closed, holes filled, grown to the limb's hull, as the tattoo detector builds it), since ink is
enclosed by skin; a portrait of a person has hair, clothing and the room around the face.
Measured (head box share of the picture, share of it on that surface): the portrait tattoos
the export missed 0.50-0.77 / 0.76-1.00; the largest head in the real photos of people
(partial_face.jpg) 0.36 / 0.35, every other one 0.17 or less. Close-ups of a real face (the
closeup_faces set) pass the test too (share 0.41-1.00, on the surface 0.31-1.00): there the
limb rules cost nothing (rash close-ups damaged and face parts covered unchanged), and the face
box is redacted by the face detector all the same.

Such a face is only set aside by the tattoo detector: the face detector's region is untouched,
so nothing here can leave a face visible.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from consentclip.detect.regions import Box
from consentclip.detect.skin import LabImage, body_surface, estimate_tone, skin_colour_mask

# A head box covering at least this share of the picture is no view of people (see above) ...
PORTRAIT_MIN_SHARE = 0.3
# ... when at least this share of it lies on the body's skin surface grown to the limb's hull.
PORTRAIT_MIN_ON_SURFACE = 0.6


def portrait_faces(
    lab: LabImage, prior: np.ndarray, sure: Sequence[Box], scale: tuple[float, float]
) -> list[Box]:
    """The ``sure`` face boxes (frame pixels) that are a design on the skin or a close-up of one
    face, not a person in a view of people. ``lab``/``prior``: the tattoo detector's work image
    and its skin prior; ``scale``: work pixels per frame pixel (x, y)."""
    sx, sy = scale
    h, w = lab.shape
    big = [b for b in sure if b.area * sx * sy >= PORTRAIT_MIN_SHARE * h * w]
    if not big:
        return []  # the ordinary case costs nothing
    # The body's colour without the face: the dominant skin-coloured cluster.
    tone = estimate_tone(lab, prior)
    if tone is None:
        return []
    # Imported here: tattoos.py imports this module, and the surface is built as it builds it.
    from consentclip.detect.tattoos import HULL_MAX_GROWTH, limb_hull

    surface = body_surface(skin_colour_mask(lab, tone), close_px=max(5, w // 40))
    on = limb_hull(surface, HULL_MAX_GROWTH) > 0
    out = []
    for b in big:
        x1, y1, x2, y2 = b.int_corners()
        x1, y1 = max(0, int(x1 * sx)), max(0, int(y1 * sy))
        x2, y2 = min(w, int(x2 * sx) + 1), min(h, int(y2 * sy) + 1)
        if x2 > x1 and y2 > y1 and on[y1:y2, x1:x2].mean() >= PORTRAIT_MIN_ON_SURFACE:
            out.append(b)
    return out
