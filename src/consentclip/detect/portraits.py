"""Portrait tattoos: a sure face hit that is a design on the skin, not a view of people.

    portrait_faces(lab, prior, sure, scale) -> the face boxes the tattoo detector sets aside

The tattoo detector takes a face hit of at least ``SURE_FACE`` for a person: it learns the skin
colour from the face, turns the rules for a view of a limb off (``limb_hull``,
``silhouette_pockets``, the background rescue and the shade rule) and leaves the face's box to
the face detector. On real tattoo photographs that hit is nearly always a drawn face: 62 of the
210 BIVTatt photos have a face hit >= 0.5, almost all of them on a portrait tattoo (a woman's
face on a forearm, a clown on a calf), and the face part cue (faceparts.py) once took a bare
flank for half a face. The skin colour then comes from the ink, the limb rules are off, and the
design is cut along the face box, so the rest of it is found in parts (11 of the 24 boxes the
export missed).

Three tests, all on the tattoo detector's work image, tell such a hit from a person:

- the head box fills a large share of the picture (``PORTRAIT_MIN_SHARE``): in a view of
  people a head is a small part of it (real photos of people: the largest, partial_face.jpg,
  0.36; every other one 0.17 or less; the portrait tattoos the export missed 0.38-0.77);
- it lies on the body's skin surface (``PORTRAIT_MIN_ON_SURFACE``; colour from the dominant
  skin cluster, closed, holes filled, grown to the limb's hull, as the detector builds it):
  ink is enclosed by skin, while a head has hair, clothing and the room around the face
  (missed portraits 0.76-1.00; partial_face.jpg 0.35);
- that surface runs on beyond the box (``PORTRAIT_MIN_BEYOND`` of the box's area): a limb
  continues past a drawn face, a head ends at its hair and collar (missed portraits 0.28-1.05;
  close-ups of one real face in the closeup_faces set 0.00-0.20, the skimage astronaut cropped
  to her head 0.10-0.15). Without this test a close-up of a face passed the first two (blond
  hair is skin-coloured), and with the face's eyes, brows and lips taken for ink one tattoo box
  covered the whole picture.

Where the three hold for one face, the picture is a view of that limb for the tattoo
detector: the skin colour comes from the body, the limb rules run, and the ink under the face
box is judged with the rest of the design. Other sure faces in it no longer make it a view of
people either: in real photo 107_1 a 0.62 hit at the picture's edge (2% of it) kept the limb
rules off in the photo but not in the video of the same picture, where it came and went (two
boxes, 84% and 0% covered in the photo, 100% in the video). They are still left to the face
detector. A face in profile above a bare back passes too (one closeup_faces image): the limb
rules then run on that back, as on a view of a limb with no face.

Such a face is only set aside by the tattoo detector: the face detector's region is untouched,
so nothing here can leave a face visible.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from consentclip.detect.limbsurface import HULL_MAX_GROWTH, limb_hull
from consentclip.detect.regions import Box
from consentclip.detect.skin import LabImage, body_surface, estimate_tone, skin_colour_mask

# A head box covering at least this share of the picture is no view of people (see above) ...
PORTRAIT_MIN_SHARE = 0.3
# ... when at least this share of it lies on the body's skin surface grown to the limb's hull ...
PORTRAIT_MIN_ON_SURFACE = 0.6
# ... and that surface reaches beyond the box by at least this share of the box's area.
PORTRAIT_MIN_BEYOND = 0.25


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
    surface = limb_hull(body_surface(skin_colour_mask(lab, tone)), HULL_MAX_GROWTH)
    n, parts = cv2.connectedComponents(surface, connectivity=8)
    out = []
    for b in big:
        x1, y1, x2, y2 = b.int_corners()
        x1, y1 = max(0, int(x1 * sx)), max(0, int(y1 * sy))
        x2, y2 = min(w, int(x2 * sx) + 1), min(h, int(y2 * sy) + 1)
        if x2 <= x1 or y2 <= y1:
            continue
        inside = parts[y1:y2, x1:x2]
        if np.count_nonzero(inside) < PORTRAIT_MIN_ON_SURFACE * inside.size:
            continue
        # The surface parts under the box, and how far they reach beyond it: a limb runs on
        # past a drawn face; a head ends at its hair and collar.
        under = np.zeros(n, bool)
        under[np.unique(inside)] = True
        under[0] = False
        beyond = np.count_nonzero(under[parts]) - np.count_nonzero(under[inside])
        if beyond >= PORTRAIT_MIN_BEYOND * inside.size:
            out.append(b)
    return out
