"""What kind of picture a frame is, so the detectors know what they can meet in it.

    classify_scene(frame) -> SceneKind

- ``DERMOSCOPY``: the circular field of view of a dermoscope: a bright, skin-coloured disc with
  a sharp edge, black outside it (at least three corners black). Magnified skin, a few
  millimetres to two centimetres across: no face can be in it, and what is dark in it is
  pigment (the lesion, its network, globules), not a tattoo.
- ``SKIN_CLOSEUP``: skin-coloured surface fills most of the frame with no surroundings (a
  close-up photo of a lesion, or a dermoscope image without a vignette). Tattoos can be in it,
  and so can pigmented lesions: the tattoo detector asks for ink-like shape or colour there.
  A face filling the frame is also a skin close-up, so face detection is not relaxed.
  Recognised three ways: the frame's outer ring is one skin-hued colour cluster (the lesion sits
  in the centre), or the whole frame is one skin surface (see ``_one_skin_surface``: a lesion
  large enough to reach the ring, pale over-exposed skin, pen marks around a lesion), or one
  body surface fills the frame (see ``_body_fills_frame``: a rash over a shaded trunk or limb).
- ``SCENE``: anything else (people, rooms, limbs against a background): every detector as usual.
  One exception, not a kind: a body on a dark ground (``body_on_dark_ground``: a rash on a black
  backdrop or in deep shade) is read by the tattoo detector with a close-up's ink rules, while
  faces stay as strict as in any scene.

Everything runs on a copy about 96 pixels wide: a fraction of a millisecond per frame.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

import cv2
import numpy as np

from consentclip.detect.skin import LabImage

_SMALL_W = 96


class SceneKind(str, Enum):
    DERMOSCOPY = "dermoscopy"
    SKIN_CLOSEUP = "skin_closeup"
    SCENE = "scene"


# Share of the frame that skin-coloured pixels must fill for a close-up.
CLOSEUP_SKIN_SHARE = 0.8
# "One skin surface" (a second way to a close-up, see _one_skin_surface): the frame is lit
# edge to edge, at most this share of it (thin lines left out) is of no skin, pale or
# dermoscope-light colour, and at most this share is dark colourless ink or background.
SURFACE_MIN_LIT = 0.97
SURFACE_MAX_OTHER = 0.10
SURFACE_MAX_DARK_GREY = 0.005
# ... and what is darker than the skin is one blob whose centre is this close to the frame's
# (share of the half-diagonal): the lesion the clinician centred.
CENTRAL_BLOB_MAX_OFFSET = 0.1
# A body surface fills the frame (a third way to a close-up, see _body_fills_frame): lit share,
# skin-hued share of the frame, share of no skin colour, ring share, and hued + ring.
BODY_MIN_LIT = 0.85
BODY_MIN_HUED = 0.8
BODY_MAX_OTHER = 0.05
BODY_MIN_RING = 0.5
BODY_MIN_SUM = 1.5
# A body on a dark ground (a fourth way to a close-up, see _body_on_dark_ground): lightness
# that counts as lit skin, and the shares asked of the lit part, the dark ground, the ring, the
# colours no skin takes and the body's largest part.
GROUND_DARK_L = 25.0
GROUND_MIN_LIT = 0.5
GROUND_MIN_HUED = 0.9
GROUND_MIN_DARK = 0.7
GROUND_MIN_RING = 0.5
GROUND_MAX_OTHER = 0.06
GROUND_MIN_PART = 0.8
# Lightness 2-6 pixels (of 96) inside a dermoscope's field edge, relative to the field's inside.
EDGE_BRIGHTNESS = 0.64


def _small(frame: np.ndarray) -> np.ndarray:
    h, w = frame.shape[:2]
    sw = min(_SMALL_W, w)
    sh = max(8, round(h * sw / w))
    return cv2.resize(frame, (sw, sh), interpolation=cv2.INTER_AREA)


def _skin_hued(lab: LabImage) -> np.ndarray:
    """Pixels whose hue any skin can take under any clinical light, dermoscope light included.

    Wider than ``skin.prior_mask``: under a dermoscope's (often polarised) light skin turns pink
    to mauve, hue angles down to about -40 degrees, which a skin prior for ordinary photographs
    rightly refuses.
    """
    a, b = lab.a, lab.b
    chroma = np.hypot(a, b)
    hue = np.degrees(np.arctan2(b, a))
    return (chroma >= 4.0) & (chroma <= 60.0) & (hue >= -45.0) & (hue <= 95.0) & (lab.L >= 12.0)


def _circle_fit(cnt: np.ndarray, w: int, h: int) -> float:
    """Relative spread of the field edge's distance to its centre, over the edge points that
    are not on the frame border (a dermoscope's field may be cut by the frame). inf when too
    little of the edge is inside the frame to tell."""
    pts = cnt.reshape(-1, 2).astype(np.float64)
    inner = pts[(pts[:, 0] > 0) & (pts[:, 0] < w - 1) & (pts[:, 1] > 0) & (pts[:, 1] < h - 1)]
    if len(inner) < 16:
        return float("inf")
    # Algebraic least-squares circle (Kasa): x^2 + y^2 + D x + E y + F = 0.
    x, y = inner[:, 0], inner[:, 1]
    A = np.column_stack([x, y, np.ones_like(x)])
    sol, *_ = np.linalg.lstsq(A, -(x * x + y * y), rcond=None)
    cx, cy = -sol[0] / 2, -sol[1] / 2
    r2 = cx * cx + cy * cy - sol[2]
    if r2 <= 0:
        return float("inf")
    r = float(np.sqrt(r2))
    d = np.hypot(x - cx, y - cy)
    # Three or four corner arcs pin a circle down even when they are short.
    if len(inner) < 0.08 * 2 * np.pi * r or r < 0.3 * min(w, h):
        return float("inf")
    return float(np.std(d) / r)


def _dermoscope_field(lab: LabImage) -> bool:
    """A bright disc with a round, sharp edge inside a uniform black (or, over-exposed, white)
    surround: the dermoscope's vignette, at least three corners of it."""
    L = lab.L
    h, w = L.shape
    centre_l = float(np.median(L[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4]))
    if centre_l < 30:
        return False
    grey = np.hypot(lab.a, lab.b) < 6.0
    black = max(12.0, 0.35 * centre_l) > L
    white = (L > 92.0) & grey & (centre_l < 85.0)
    return any(_field_in(lab, surround) for surround in (black, white))


def _field_in(lab: LabImage, surround: np.ndarray) -> bool:
    h, w = surround.shape
    c = max(2, min(h, w) // 12)
    corners = [surround[:c, :c], surround[:c, -c:], surround[-c:, :c], surround[-c:, -c:]]
    if sum(float(k.mean()) > 0.7 for k in corners) < 3:
        return False
    # The surround must be uniform and colourless, not a dark room or a white wall with things.
    if float(np.hypot(lab.a[surround], lab.b[surround]).mean()) > 12:
        return False
    if float(np.std(lab.L[surround])) > 8:
        return False
    n, labels, stats, _ = cv2.connectedComponentsWithStats((~surround).astype(np.uint8), 8)
    if n <= 1:
        return False
    big = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    field = (labels == big).astype(np.uint8)
    if float(field.sum()) < 0.3 * h * w:
        return False
    contours, _ = cv2.findContours(field, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cnt = max(contours, key=cv2.contourArea)
    if _circle_fit(cnt, w, h) > 0.06:
        return False
    # A sharp edge: a little inside it the field is already about as bright as its centre. A
    # soft vignette (a dim phone photo) also has round iso-lines, but darkens gradually to them.
    e1 = cv2.erode(field, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))
    e2 = cv2.erode(field, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (13, 13)))
    band = (e1 > 0) & (e2 == 0)
    band[:2, :] = band[-2:, :] = False
    band[:, :2] = band[:, -2:] = False
    if band.sum() < 8 or not (e2 > 0).any():
        return False
    if float(np.median(lab.L[band])) < EDGE_BRIGHTNESS * float(np.median(lab.L[e2 > 0])):
        return False
    return float(_skin_hued(lab)[field > 0].mean()) > 0.6


def _skin_field_share(lab: LabImage) -> float:
    """Share of the frame's surroundings (the outer ring: a central lesion does not count, nor
    does a black vignette) whose colour is one skin-hued cluster."""
    ring = outer_ring(lab.shape)
    lit = (lab.L >= 12.0) & ring
    hued = _skin_hued(lab) & lit
    if hued.sum() < 0.3 * lit.sum() or lit.sum() < 0.4 * ring.sum():
        return 0.0
    a0, b0 = float(np.median(lab.a[hued])), float(np.median(lab.b[hued]))
    # Shading scales chroma with lightness, so the cluster is judged on hue and chroma loosely.
    near = hued & (np.hypot(lab.a - a0, lab.b - b0) <= max(9.0, 0.6 * np.hypot(a0, b0)))
    return float(near.sum() / lit.sum())


def _no_skin_colour(lab: LabImage, hued: np.ndarray | None = None) -> np.ndarray:
    """Lit pixels of a colour that no skin, pale skin or dermoscope-lit skin takes (bool).
    ``hued``: ``_skin_hued(lab)`` when the caller has it already."""
    L = lab.L
    chroma = np.hypot(lab.a, lab.b)
    hue = np.degrees(np.arctan2(lab.b, lab.a))
    pale = (L >= 50.0) & (chroma < 12.0)  # over-exposed or very light skin: little colour left
    # Bright skin under a dermoscope's light can turn further towards mauve than _skin_hued
    # allows for darker pixels; violet-blue pen ink (hue below -70) stays outside.
    mauve = (L >= 55.0) & (chroma <= 25.0) & (hue >= -70.0) & (hue <= -40.0)
    hued = _skin_hued(lab) if hued is None else hued
    return (L >= 12.0) & ~(hued | pale | mauve)


def _one_skin_surface(lab: LabImage) -> bool:
    """Is the whole frame one skin surface: skin, a lesion on it, nothing else of any size?

    The ring test (``_skin_field_share``) misses a close-up when the lesion is so large that it
    fills the ring, when the skin is over-exposed to near white or turned mauve by dermoscope
    light, or when pen marks break the skin cluster. What such a frame still never holds, and
    a photo of a tattoo or of people nearly always does, is dark colourless matter: black or
    grey ink, hair on a head, clothing, a room's shadows (measured on the real sets, opened
    share of L* < 40 and chroma < 12 at 96 pixels wide: lesions 0-5.5%, with the 4 lesions the
    ring test missed at 0%; tattoo photos: 5th percentile 1.4%; photos of people: >= 4.5%).
    A lesion's own pigment is brown or red, and dark hairs are thin (the opening removes them).

    So: lit edge to edge (no vignette, no dark surround), at most 10% of the frame (thin lines
    such as pen marks and hairs left out) of a colour no skin, pale skin or dermoscope-lit skin
    takes, and at most 0.5% dark colourless matter; and what is darker than the skin is one
    blob centred in the frame (``_central_blob``). The colour cues alone let the 4 missed
    lesions and 3 of the 210 real tattoo photos through (colour tattoos on skin filling the
    frame); with the blob cue, the 4 lesions and no tattoo photo.
    """
    L, a, b = lab.L, lab.a, lab.b
    lit = L >= 12.0
    if float(lit.mean()) < SURFACE_MIN_LIT:
        return False
    other = _no_skin_colour(lab)
    dark_grey = (L < 40.0) & (np.hypot(a, b) < 12.0)
    k = np.ones((3, 3), np.uint8)
    other_area = cv2.morphologyEx(other.astype(np.uint8), cv2.MORPH_OPEN, k)
    dark_area = cv2.morphologyEx(dark_grey.astype(np.uint8), cv2.MORPH_OPEN, k)
    return (
        float(other_area.mean()) <= SURFACE_MAX_OTHER
        and float(dark_area.mean()) <= SURFACE_MAX_DARK_GREY
        and _central_blob(lab, lit & ~other)
    )


def _body_fills_frame(lab: LabImage, ring: float) -> bool:
    """Is the frame filled by one body surface with no surroundings (a rash close-up)?

    The other two ways miss a disseminated rash: shading over a trunk or a limb spreads the
    ring's skin cluster below ``CLOSEUP_SKIN_SHARE`` (measured on the 43 real MSLD rash
    close-ups classified ``SCENE`` without this cue: at most 0.80, median 0.72), a rash is
    dozens of spots, not one central blob, and dark skin in shade is dark colourless matter.
    What such a frame still is, and a photo of a tattoo or of people rarely is: skin-hued almost
    everywhere (any lightness: shade on skin keeps the skin's hue), lit over most of it (deep
    shade at a dark trunk's silhouette goes black, so not edge to edge), with next to nothing of
    a colour no skin takes (green, blue or violet ink, clothing, a drape, a wall), and the ring
    still mostly one skin cluster.

    So: lit >= ``BODY_MIN_LIT``, at most ``BODY_MAX_OTHER`` (opened) of no skin colour, at
    least ``BODY_MIN_HUED`` of the frame skin-hued and ``BODY_MIN_RING`` of the ring in one
    cluster (``ring``: ``_skin_field_share``, computed once by the caller), and the two shares
    together at least ``BODY_MIN_SUM`` (a frame a little less skin-hued must have a more
    uniform ring, and the other way round). Measured at 96 pixels wide on the real sets
    (bench/results/real_lesions.md, "Rash close-ups as close-ups"): it takes 21 of those 43
    rash close-ups; of the 210 real tattoo photos one (120_1, a rose on a forearm: sum 1.51,
    still covered through the close-up rules), while the nearest tattoo photo whose box the
    close-up rules lose (66_1, measured with looser thresholds) sums to 1.41; 7 of the 36 MSLD
    close-ups that show a face or part of one (on a close-up the face detector's second family
    listens at 0.3, not 0.2: what that does there is measured in the same place); no photo or
    clip of people, no text photo (skin-hued share at most 0.71).
    """
    if float((lab.L >= 12.0).mean()) < BODY_MIN_LIT:
        return False
    if ring < BODY_MIN_RING:
        return False
    hued_px = _skin_hued(lab)
    hued = float(hued_px.mean())
    if hued < BODY_MIN_HUED or hued + ring < BODY_MIN_SUM:
        return False
    other = _no_skin_colour(lab, hued_px).astype(np.uint8)
    other = cv2.morphologyEx(other, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    return float(other.mean()) <= BODY_MAX_OTHER


def _largest_part(mask: np.ndarray) -> float:
    """Share of ``mask``'s pixels (uint8 0/1) in its largest 8-connected part; 0 when empty."""
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n <= 1:
        return 0.0
    return float(stats[1:, cv2.CC_STAT_AREA].max()) / float(mask.sum())


def _body_on_dark_ground(lab: LabImage, ring: float) -> bool:
    """Is the frame one body surface against a dark, unlit ground (a rash close-up on a black
    backdrop or in deep shade), with nothing else in view?

    ``_body_fills_frame`` asks for skin almost everywhere, lit included; a trunk, a thigh or a
    palm photographed against a black cloth or in a dark room fills only 55-80% of the frame,
    and the rest is black. What such a frame still is, and a tattoo photo or a photo of people
    is not (measured at 96 pixels wide on the real sets, bench/results/rash_kind.md, "A body on
    a dark ground"): nearly all of what is lit is skin-hued (a background, clothing, a second
    person or a room brings lit colours of its own), what is not skin-hued is nearly all dark,
    the lit skin is one part (a person's body, not faces and hands spread over a meeting room),
    and the ring is still mostly one skin cluster (a bright body, not a dim stage).

    So: at least ``GROUND_MIN_LIT`` of the frame lit (L* >= ``GROUND_DARK_L``), at least
    ``GROUND_MIN_HUED`` of that skin-hued, at least ``GROUND_MIN_DARK`` of what is not
    skin-hued darker than ``GROUND_DARK_L``, at most ``GROUND_MAX_OTHER`` (opened) of no skin
    colour, the largest part of the skin-hued pixels (opened) at least
    ``GROUND_MIN_PART`` of them, and ``ring`` (``_skin_field_share``) at least
    ``GROUND_MIN_RING``. It takes 4 of the 191 real MSLD close-ups (P8_1, P34_1, P38_1, P38_2,
    each blurred whole as a scene); of the 210 real tattoo photos none, the nearest (52_1, a
    back before a dark top: 0.86 lit skin-hued, 0.64 dark ground) would lose its box as a
    close-up; no photo or clip of people; one picture of a child's face on a dark ground
    (closeup_faces P37_1), which is why this is not a scene kind (see ``body_on_dark_ground``).
    """
    if ring < GROUND_MIN_RING:
        return False
    lit = lab.L >= GROUND_DARK_L
    n_lit = int(np.count_nonzero(lit))
    if n_lit < GROUND_MIN_LIT * lit.size:
        return False
    hued = _skin_hued(lab)
    if np.count_nonzero(hued & lit) < GROUND_MIN_HUED * n_lit:
        return False
    ground = ~hued
    if np.count_nonzero(ground & ~lit) < GROUND_MIN_DARK * np.count_nonzero(ground):
        return False
    k = np.ones((3, 3), np.uint8)
    other = cv2.morphologyEx(_no_skin_colour(lab, hued).astype(np.uint8), cv2.MORPH_OPEN, k)
    if float(other.mean()) > GROUND_MAX_OTHER:
        return False
    # Opened only, not closed: closing joins the faces, hands and wooden table of a meeting room
    # into one part (real photo wider_meeting_26: 0.94 closed, 0.59 opened).
    body = cv2.morphologyEx(hued.astype(np.uint8), cv2.MORPH_OPEN, k)
    return _largest_part(body) >= GROUND_MIN_PART


def _central_blob(lab: LabImage, skin_like: np.ndarray) -> bool:
    """Is what is darker than the skin led by one blob centred in the frame, not spanning it?

    The clinician centres the lesion being shown. A tattoo photo that passes the colour tests
    of ``_one_skin_surface`` (a colour tattoo on skin filling the frame) holds its design off
    centre or across the whole frame (measured on the real sets: the 4 lesions rescued have
    their blob's centre within 5% of the half-diagonal from the frame's centre; the 3
    colour-tattoo photos that pass the colour tests: 14%, 16%, and a design spanning the frame).
    Pen marks (not skin-hued) do not count as pigment; the blob is chosen as ``lesion.py``
    chooses the lesion of interest (large and central), and must be at least half as large as
    the largest dark blob, so that a small central freckle does not vouch for a frame whose
    main dark content is elsewhere.
    """
    h, w = lab.shape
    pig = np.where(skin_like, darker_than_skin(lab), 0.0).astype(np.float32)
    k = max(3, (w // 32) | 1)
    pig = cv2.GaussianBlur(pig, (k, k), 0)
    top = float(pig.max())
    if top < 8.0:
        return False
    scaled = np.clip(pig * (255.0 / top), 0, 255).astype(np.uint8)
    otsu, _ = cv2.threshold(scaled, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    mask = (pig >= max(8.0, float(otsu) * top / 255.0)).astype(np.uint8)
    n, _, stats, cents = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n <= 1:
        return False
    areas = stats[1:, cv2.CC_STAT_AREA].astype(np.float64)
    half_diag = float(np.hypot(w / 2, h / 2))
    offs = np.hypot(cents[1:, 0] - (w - 1) / 2, cents[1:, 1] - (h - 1) / 2) / half_diag
    best = int(np.argmax(np.sqrt(areas) * np.clip(1.0 - offs, 0.0, 1.0) ** 2))
    if areas[best] < 0.5 * float(areas.max()):
        return False
    bw, bh = int(stats[1 + best, cv2.CC_STAT_WIDTH]), int(stats[1 + best, cv2.CC_STAT_HEIGHT])
    if bw >= w - 1 and bh >= h - 1:
        return False  # spans the frame: a design, not a lesion centred in it
    return float(offs[best]) <= CENTRAL_BLOB_MAX_OFFSET


def outer_ring(shape: tuple[int, int]) -> np.ndarray:
    """The frame outside its central ellipse (bool HxW): in a close-up, the skin around the
    lesion the clinician centred; its complement is where that lesion is."""
    h, w = shape
    yy, xx = np.ogrid[0:h, 0:w]
    return ((xx - (w - 1) / 2) / (w / 2)) ** 2 + ((yy - (h - 1) / 2) / (h / 2)) ** 2 > 0.45


def darker_than_skin(lab: LabImage, within: np.ndarray | None = None) -> np.ndarray:
    """Pigment map: the colour difference (Delta E) from the skin, for pixels darker than it by
    more than 3 L*, 0 elsewhere (float32). The skin is the median colour of the outer ring's
    pixels in ``within`` (all of ``within`` when the ring holds fewer than 50 of them); only
    pixels in ``within`` are mapped. ``None``: the whole frame. Used by the close-up test here
    and by ``lesion.find_lesion``."""
    ref = outer_ring(lab.shape)
    if within is not None:
        ref = ref & within
        if ref.sum() < 50:
            ref = within
    L0 = float(np.median(lab.L[ref]))
    a0, b0 = float(np.median(lab.a[ref])), float(np.median(lab.b[ref]))
    de = np.sqrt((lab.L - L0) ** 2 + (lab.a - a0) ** 2 + (lab.b - b0) ** 2)
    darker = lab.L < L0 - 3.0
    if within is not None:
        darker &= within
    return np.where(darker, de, 0.0).astype(np.float32)


def body_on_dark_ground(frame: np.ndarray) -> bool:
    """Is ``frame`` (HxWx3 uint8 BGR) one body surface on a dark ground (see
    ``_body_on_dark_ground``)? Not a scene kind: asked by the tattoo detector only, of frames
    ``classify_scene`` calls scenes. A face lit against a dark background is an ordinary portrait,
    so face detection stays as strict as in a scene (on the real close-ups with face parts, the
    one picture this cue takes, a child's nose on a dark ground, is found only by CenterFace at
    0.25, under the close-up threshold); only the tattoo detector's ink rules become a
    close-up's."""
    lab = LabImage.from_bgr(_small(frame))
    return _body_on_dark_ground(lab, _skin_field_share(lab))


def classify_scene(frame: np.ndarray) -> SceneKind:
    """The kind of picture ``frame`` (HxWx3 uint8 BGR) is; see the module docstring."""
    lab = LabImage.from_bgr(_small(frame))
    if _dermoscope_field(lab):
        return SceneKind.DERMOSCOPY
    ring = _skin_field_share(lab)
    if ring >= CLOSEUP_SKIN_SHARE or _one_skin_surface(lab) or _body_fills_frame(lab, ring):
        return SceneKind.SKIN_CLOSEUP
    return SceneKind.SCENE


# The cut test's picture: the frame's longer side at most this many pixels (linear resampling),
# the face detector's whole-frame image (faces.FaceDetectorConfig.whole_side), which it takes
# from here instead of downscaling the frame a second time.
CUT_SIDE = 640
# Mean grey difference of 32x18 thumbnails (of the CUT_SIDE picture) that means a new shot.
# Measured: the real cuts of the broadcast clip hamilton differ by 27.5-30.3, motion within a
# shot by at most 14.1 (hamilton), 11.7 (street), 8.0 (the generated clip of moving faces). At
# 28 the cut to the speaker (27.5) was missed: no scene-start passes in the face detector, and
# the audience's tracks were held and extrapolated over the new shot (tracking.Tracker.cut).
CUT_THRESHOLD = 20.0


class SceneFrame:
    """What the engine's one scene check says about one frame, handed to every detector that
    takes it (``process_frame(..., scene=...)``) and to the trackers (a cut ends their tracks).

    - ``cut``: this frame starts a new shot (the first frame of a stream, a frame of another
      size, or a picture unlike the last one; see ``CUT_THRESHOLD``);
    - ``kind``: the watch's kind on its cadence (up to ``every - 1`` frames old);
    - ``fresh_kind()``: ``classify_scene`` of this very frame, computed once when first asked
      (the face detector asks at a cut), or the cadence's answer when it classified this frame;
    - ``ask(question)``: a per-scene question of the frame (``question(frame)``: the tattoo
      detector's ``plainground.closeup_ground``), once per step of the watch's cadence;
    - ``downscaled(side)``: the frame at most ``side`` px on its longer side (linear) and the
      scale, computed once per side (the cut test's ``CUT_SIDE`` copy is shared this way).
    """

    __slots__ = ("_fresh", "_small", "_watch", "cut", "frame", "grey", "index", "kind")

    def __init__(self, index: int, frame: np.ndarray, watch: SceneWatch | None = None) -> None:
        self._watch = watch
        self.index = index
        self.frame = frame
        self.cut = False
        self.kind = SceneKind.SCENE
        self.grey: np.ndarray | None = None  # grey of downscaled(CUT_SIDE), once the test ran
        self._fresh: SceneKind | None = None
        self._small: dict[int, tuple[np.ndarray, float]] = {}

    def fresh_kind(self) -> SceneKind:
        if self._fresh is None:
            self._fresh = classify_scene(self.frame)
        return self._fresh

    def ask(self, question: Callable[[np.ndarray], bool]) -> bool:
        """``question(frame)`` of this scene, on the watch's cadence (``SceneWatch.per_step``)."""
        if self._watch is None:
            return question(self.frame)
        return self._watch.per_step(question, self.frame)

    def downscaled(self, side: int) -> tuple[np.ndarray, float]:
        """BGR copy (or the frame itself, when it is no larger) and its scale to the frame."""
        done = self._small.get(side)
        if done is None:
            h, w = self.frame.shape[:2]
            scale = min(1.0, side / max(h, w))
            image = self.frame
            if scale < 1.0:
                # Linear, not area: the models resample again anyway, and area costs 5x more.
                size = (max(1, round(w * scale)), max(1, round(h * scale)))
                image = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)
                scale = size[0] / w
            done = self._small[side] = (image, scale)
        return done


class SceneWatch:
    """The engine's one scene check, for a stream of frames: where the shots cut, and what kind
    of picture each frame is.

    ``classify_scene`` runs on a cadence: a scene does not change kind from one frame to the
    next, and every ``every`` frames bounds the cost to a fraction of a millisecond per frame
    while a new kind is still noticed within half a second. ``every=0``: no cadence, the kind
    is only what ``SceneFrame.fresh_kind`` is asked for (a detector used on its own that needs
    the kind only at a cut).

    ``look(index, frame)`` once per frame gives the ``SceneFrame`` every detector and tracker of
    that frame shares. Asked again about the frame it last answered for, the watch answers from
    memory and counts that frame once (``seen`` counts frames, not questions)."""

    def __init__(self, every: int = 10, *, cut_threshold: float = CUT_THRESHOLD) -> None:
        self.every = max(0, every)
        self.cut_threshold = cut_threshold
        self.kind = SceneKind.SCENE
        self._at: int | None = None
        self._last: int | None = None  # the frame last counted in ``seen``
        self.seen: dict[SceneKind, int] = {}
        self._view: SceneFrame | None = None
        self._asked: dict[Callable[[np.ndarray], bool], tuple[int | None, bool]] = {}  # per_step
        self._thumb: np.ndarray | None = None
        self._size: tuple[int, ...] | None = None

    def look(self, index: int, frame: np.ndarray) -> SceneFrame:
        if self._view is not None and self._view.index == index and self._view.frame is frame:
            return self._view
        view = SceneFrame(index, frame, self)
        small, _ = view.downscaled(CUT_SIDE)
        view.grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        view.cut = self._cut(view.grey, frame.shape)
        if self.every:
            view.kind = self.get(index, frame)
            if self._at == index:
                view._fresh = view.kind  # classified on this very frame: one answer for both
        self._view = view
        return view

    def get(self, index: int, frame: np.ndarray) -> SceneKind:
        """The kind on the cadence (``look`` asks it; detectors used alone may ask directly)."""
        if index == self._last:
            return self.kind
        if self._at is None or not 0 <= index - self._at < max(1, self.every):
            self.kind = classify_scene(frame)
            self._at = index
        self._last = index
        self.seen[self.kind] = self.seen.get(self.kind, 0) + 1
        return self.kind

    def per_step(self, question: Callable[[np.ndarray], bool], frame: np.ndarray) -> bool:
        """``question(frame)`` once per step of the cadence (the step of the last
        ``classify_scene``), on the first frame of the step that asks: like the kind, a
        per-scene answer does not change from one frame to the next. With no cadence
        (``every=0``) every frame is asked."""
        if not self.every:
            return question(frame)
        got = self._asked.get(question)
        if got is None or got[0] != self._at:
            got = self._asked[question] = (self._at, question(frame))
        return got[1]

    def _cut(self, grey: np.ndarray, shape: tuple[int, ...]) -> bool:
        thumb = cv2.resize(grey, (32, 18)).astype(np.int16)
        previous, self._thumb = self._thumb, thumb
        size, self._size = self._size, shape
        if previous is None or size != shape:
            return True  # the first frame, or a frame of another size: a new picture
        return float(np.abs(thumb - previous).mean()) > self.cut_threshold

    def dominant(self) -> SceneKind | None:
        """The kind seen in most frames so far (None before the first frame)."""
        return max(self.seen, key=lambda k: self.seen[k]) if self.seen else None
