"""Tattoo detection: ink inside skin, told apart from moles, hair, veins, shadows and clothing.

No public model detects tattoos, so this is a measured heuristic (figures in
docs/detection-tattoos.md). Per frame, on a copy downscaled to ``work_width`` pixels:

1. Skin model (``skin.SkinModel``): the person's skin colour, learned from the face when a sure
   one was found (``SURE_FACE``) and from the dominant skin-coloured cluster otherwise, smoothed
   over the clip.
2. Body surface: skin-coloured pixels, closed and hole-filled, so ink enclosed by skin is on the
   surface and the background around a limb is not. With no sure face in view, each surface
   part is grown to its convex hull (``limb_hull``: a design reaching a limb's silhouette). In
   portraits and whole-body shots MediaPipe selfie segmentation (``PersonMask``) vetoes
   skin-coloured surroundings.
3. Ink evidence per pixel against the *local* skin colour (a normalised box filter over skin
   pixels, so shading and soft shadows are followed): relative darkening, and a chroma change that
   is not explained by the skin's own hue (blue-black, green, red ink; not brown pigment).
4. Hysteresis and grouping: strong pixels seed, weaker connected pixels grow the seed, strokes
   close to each other merge into one candidate (line art and script are many thin strokes).
5. Rejection of what dermatology clips are full of: small compact round blobs (moles, naevi,
   freckles), compact brown blobs of any size (lesions: the clinical subject), thin long faint
   lines (veins, hair), sparse faint groups (a patch of hair), background (clothing and
   furniture enclosed by a skin-coloured room; with no sure face in view, the ink of such a mark
   that has skin around it is regrouped and judged again: ``TattooDetector._rescue``), shade
   at a body's silhouette (``silhouette_shade``; what remains is judged again: ``_unshade``)
   and, in a close-up, soft shade running out of the frame (``shademarks.edge_shade``).
6. Boxes padded, mapped back to the frame, and clipped away from every ``keep`` box.

Only ``detect/`` imports mediapipe; here only ``PersonMask`` does, lazily.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import cv2
import numpy as np

from consentclip.detect import plainground
from consentclip.detect._mp import solutions, started
from consentclip.detect.dimlight import dim_people_marks, is_dim, unlit_people
from consentclip.detect.inkextent import design_extent, joined
from consentclip.detect.lightmarks import light_at_edge
from consentclip.detect.limbsurface import (
    HULL_MAX_GROWTH,
    limb_bands,
    limb_hull,
    silhouette_pockets,
)
from consentclip.detect.portraits import portrait_faces
from consentclip.detect.regions import SURE_FACE, Box, Region, RegionKind
from consentclip.detect.scene import SceneFrame, SceneKind, SceneWatch
from consentclip.detect.shademarks import edge_shade
from consentclip.detect.skin import (
    LabImage,
    SkinModel,
    SkinTone,
    body_surface,
    local_skin,
    skin_colour_mask,
    skin_prior,
)
from consentclip.errors import UsageError

_K3 = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
_K9 = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))
# Local skin is averaged over 1/24 of the work width (20 px at 480): small enough to follow a
# soft shadow's edge, large enough that a tattoo's strokes do not become their own "skin".
_LOCAL_DIV = 24
# In a clip the engine runs the detector on every ENGINE_EVERY-th frame and its tracker fills the
# frames between (interpolation between runs, back-fill before the first, a 30-frame hold after
# the last), as for text. Ink moves with the skin, no faster than a face, and a track is
# confirmed by two runs within the tracker's 8-frame window. Measured (bench/engine_ab.py,
# bench/tattoo_bench.py): half the detector's cost, which pays for the second face detector
# family, at the same coverage of generated moving tattoos.
ENGINE_EVERY = 2


@dataclass(frozen=True)
class TattooTuning:
    """Thresholds at sensitivity 0.5; ``at(sensitivity)`` scales them. Work-image pixels."""

    dark: float = 0.17  # relative darkening that counts as ink (0.17 = 17% darker than the skin)
    chroma: float = 9.0  # chroma change (Lab units) not explained by the skin's hue
    weak: float = 0.55  # hysteresis: weak pixels are at least this fraction of a threshold
    min_seed_px: int = 10  # strong pixels a candidate needs
    min_ink_px: int = 25  # ink pixels a candidate needs
    group_px: int = 7  # strokes closer than this merge into one candidate
    mole_max_diam_frac: float = 0.045  # round blobs smaller than this (x work width) are moles
    line_max_thick: float = 2.2  # a stroke no thicker than twice this ...
    line_min_aspect: float = 5.0  # ... and this elongated, alone, is a vein or a hair
    strong_line: float = 2.2  # ... unless its contrast is this many thresholds (a real ink line)
    faint: float = 1.25  # mean contrast (thresholds) under which small/brown marks are dropped
    # In a skin close-up (scene.SKIN_CLOSEUP) pigment is the subject: ink must be clearly ink.
    closeup_contrast: float = 1.8  # mean contrast (thresholds) a mark needs there ...
    closeup_min_share: float = 0.002  # ... a share of the work image at least this ...
    closeup_brown: float = 0.3  # ... with less than this share of melanin-like darkening ...
    closeup_compact: float = 0.7  # ... and not a compact blob (solidity above this, squat)
    # In a photo of people the "skin" colour can be a wall, a pavement, wood or hair, and dark
    # clothing enclosed by it becomes one huge "ink" region (measured: 7 of 10 real photos of
    # people over half redacted; a wood-panelled meeting room even passes for a skin close-up).
    # A real tattoo sits on skin that is visible:
    background_skin_ratio: float = 1.5  # a mark larger than this x all skin pixels in view ...
    background_l_std: float = 21.0  # ... and this uneven in lightness (L* std) is background
    # A mark rejected as background on a view of a limb is looked at again on the pixels with
    # at least this share of skin colour around them (see TattooDetector._rescue).
    rescue_skin_share: float = 0.25
    rescue_l_std: float = 20.0  # ... and kept only if this even in lightness (L* std)
    # A pixel lighter than the local skin counts no loss of saturation as ink when no edge
    # steeper than this (L* change per pixel / (L* + 16)) is near it ...
    highlight_edge: float = 0.02
    # ... and it keeps at least this share of the skin's chroma along the skin's hue: a
    # highlight or a sheen on skin, not a white shirt (see soft_highlight).
    highlight_tint: float = 0.1
    pad_frac: float = 0.18  # box padding: fraction of the box side (see large_mark_pad) ...
    pad_px: float = 4.0  # ... plus this many work pixels

    def at(self, sensitivity: float) -> TattooTuning:
        # Higher sensitivity: fainter ink and smaller marks count. 0.5 is the default balance.
        f = 1.6 - 1.2 * sensitivity  # 1.6 at 0, 1.0 at 0.5, 0.4 at 1
        g = 0.6 + 0.8 * (1 - sensitivity)  # 1.4 at 0, 1.0 at 0.5, 0.6 at 1
        return replace(
            self,
            dark=self.dark * f,
            chroma=self.chroma * f,
            min_seed_px=max(3, round(self.min_seed_px * g)),
            min_ink_px=max(6, round(self.min_ink_px * g)),
        )


@dataclass(frozen=True)
class FrameContext:
    """What ``_judge`` needs to know about the whole work image, besides the group itself."""

    lab: LabImage  # the work image
    skin_px: int  # skin-coloured pixels in view (before closing and hole filling)
    score: np.ndarray  # its per-pixel ink score (``ink_evidence``)
    local_l: np.ndarray  # the local skin's L* (``local_skin``)

    def lightness_std(self, group: np.ndarray, box: tuple[int, int, int, int]) -> float:
        """L* spread of a mark (``group``: its mask within ``box``): one design on one surface
        is even, a background of clothing, furniture and shadows is not (see ``_off_body``)."""
        x, y, bw, bh = box
        return float(self.lab.L[y : y + bh, x : x + bw][group].std())


@dataclass(frozen=True)
class Candidate:
    """One grouped ink candidate in work-image pixels, with the features it was judged on."""

    box: tuple[int, int, int, int]  # x, y, w, h
    ink_px: int
    seed_px: int
    contrast: float  # mean ink score of its pixels, in thresholds
    brown: float  # fraction of its ink explained by darkening along the skin's hue
    solidity: float  # ink area / convex hull area
    circularity: float
    thickness: float  # twice the largest distance to the stroke edge
    aspect: float
    reason: str = ""  # why rejected; "" when kept
    label: int = 0  # its label in the group image (internal; -1: regrouped by _rescue)


class PersonMask:
    """MediaPipe selfie segmentation (bundled model), run on a cadence, as a veto on skin.

    In a portrait or a whole-body shot, skin-coloured things around the person (wood, a beige
    wall, highlights on clothing) can form a "surface" with dark details on it. There the person
    mask is reliable and restricting the skin surface to it removes them. On a close-up of a limb
    the model finds little or nothing (measured: under 3% of the limb), so the mask is only used
    when it covers most of the skin surface found by colour.
    """

    def __init__(self, every: int = 5, threshold: float = 0.3) -> None:
        self.every = max(1, every)
        self.threshold = threshold
        self._graph: Any = None
        self._landscape: bool | None = None
        self._mask: np.ndarray | None = None
        self._at = -(10**9)

    def get(self, index: int, small_bgr: np.ndarray) -> np.ndarray | None:
        """Person mask (bool) at the work size, refreshed every ``every`` frames."""
        h, w = small_bgr.shape[:2]
        fresh = self._mask is not None and self._mask.shape == (h, w)
        if fresh and 0 <= index - self._at < self.every:
            return self._mask
        landscape = w > 1.3 * h
        if self._graph is None or landscape != self._landscape:
            self.close()
            # mediapipe is imported here, on first use, through the package's one import path
            # (_mp.solutions: without matplotlib). 1 = landscape (144x256 input), 0 = general
            # (256x256); both ship in the wheel.
            segmentation = solutions().selfie_segmentation
            self._graph = started(
                lambda: segmentation.SelfieSegmentation(model_selection=int(landscape))
            )
            self._landscape = landscape
        side = (256, 144) if landscape else (256, 256)
        rgb = cv2.cvtColor(
            cv2.resize(small_bgr, side, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB
        )
        result = self._graph.process(rgb)
        prob = result.segmentation_mask
        if prob is None:
            self._mask = np.zeros((h, w), bool)
        else:
            prob = cv2.resize(prob.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
            self._mask = cv2.dilate((prob > self.threshold).astype(np.uint8), _K9) > 0
        self._at = index
        return self._mask

    def close(self) -> None:
        if self._graph is not None:
            self._graph.close()
            self._graph = None


# Skin-marker ink in a close-up (see TattooDetector._marker_lines). Measured at 480 pixels wide
# on the 20 HAM10000 images with pen marks (violet: hue -35 to -49, blue: -70 to -85, the
# strongest ink's median chroma 26-58) and on the 210 real tattoo photos (margins in
# docs/detection-lesions.md, "Surgical-marker lines").
MARKER_HUE_DEG = (-120.0, -30.0)  # CIE Lab hue band of gentian-violet and blue marking pens
# A violet pen's fainter ink blends with the skin towards magenta (hue -30 to -15): the band for
# all of a mark's ink reaches this far (5 of the 11 violet pen marks have most of their ink there).
MARKER_EDGE_HUE = -15.0
MARKER_MIN_CHROMA = 8.0  # ink pixels with at least this chroma count for the band ...
MARKER_INK_SHARE = 0.8  # ... and at least this share of the mark's ink is in it
MARKER_CORE_SCORE = 2.5  # the strongest ink (thresholds), where a pen stroke is dense ...
MARKER_CORE_CHROMA = 20.0  # ... is saturated colour in the band (chroma at least this) ...
MARKER_CORE_SHARE = 0.8  # ... for at least this share of it ...
MARKER_MAX_STROKE = 0.02  # ... in strokes no wider than this x the work width (9.6 px at 480)


# A large design's outer shading and fine strokes fade into the skin below the hysteresis, so
# its mark ends inside the design: marks covering at least LARGE_MARK_SHARE of the work image are
# padded by LARGE_MARK_PAD of their side instead of TattooTuning.pad_frac. Measured on the real
# tattoo photos: 5 boxes 86-95% covered are then covered (60_1, 78_1, 91_1, 9_1, 34_2). Not for
# every mark: on the generated limbs (small designs beside moles, hairs, a shadow band and a
# sleeve) padding all marks by 0.22 took the distractor area covered from 2.0% to 5.1%, and
# marks from 5% of the work image up to 3.7%; from 7% the generated report is main's.
LARGE_MARK_SHARE = 0.07
LARGE_MARK_PAD = 0.22


def large_mark_pad(box: tuple[int, int, int, int], work_area: float, pad_frac: float) -> float:
    """The padding (fraction of the box side) for a mark with this work-image ``box``."""
    return LARGE_MARK_PAD if box[2] * box[3] >= LARGE_MARK_SHARE * work_area else pad_frac


def skin_around(skin: np.ndarray, radius: int, share: float) -> np.ndarray:
    """Pixels with at least ``share`` of skin-coloured pixels within ``radius`` (bool): ink
    inside a design (its negative space is skin) rather than inside a bag or a dark floor."""
    k = 2 * radius + 1
    return cv2.blur(skin.astype(np.float32), (k, k)) >= share


def subtract_box(box: Box, cut: Box) -> list[Box]:
    """``box`` minus ``cut`` as up to four rectangles (left, right, top, bottom strips)."""
    if box.intersection_area(cut) <= 0:
        return [box]
    out = []
    if cut.x > box.x:
        out.append(Box.from_corners(box.x, box.y, cut.x, box.y2))
    if cut.x2 < box.x2:
        out.append(Box.from_corners(cut.x2, box.y, box.x2, box.y2))
    mx1, mx2 = max(box.x, cut.x), min(box.x2, cut.x2)
    if cut.y > box.y:
        out.append(Box.from_corners(mx1, box.y, mx2, cut.y))
    if cut.y2 < box.y2:
        out.append(Box.from_corners(mx1, cut.y2, mx2, box.y2))
    return [b for b in out if b.w >= 1 and b.h >= 1]


def soft_highlight(
    lab: LabImage, local: tuple[np.ndarray, np.ndarray, np.ndarray], tuning: TattooTuning
) -> np.ndarray:
    """Light on the skin: pixels lighter than the local skin, with no sharp lightness edge near
    them and some of the skin's colour left (bool).

    Light added to skin (a highlight, the sheen of a stretched or oily surface, an over-exposed
    flank) raises L* and mixes white into the colour, so the pixel is lighter *and* greyer than
    the skin around it: the "loss of saturation" that ``ink_evidence`` counts for carbon ink.
    Ink absorbs light; it makes skin lighter only where it is white ink, and a pigment in the
    skin has the edge of the needle's stroke. Light varies smoothly. So where no edge steeper
    than ``highlight_edge`` (L* change per pixel relative to L* + 16, so that the same edge
    counts the same on pale and on dark skin) is within a few pixels, a lighter pixel's
    desaturation is taken for light, not ink. Lit skin keeps part of its colour
    (``highlight_tint`` of the skin's chroma along its hue); a white or grey object (a shirt
    inside a jacket) does not, and stays evidence for the background rule (``_off_body``).
    Measured on the real close-ups of rashes (MSLD): on the 51 images a tattoo box damaged, 64%
    of the "ink" pixels (median) were lighter than the local skin.
    """
    Ll, al, bl = local
    gx = cv2.Sobel(lab.L, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(lab.L, cv2.CV_32F, 0, 1, ksize=3)
    # Sobel's 3x3 kernel answers 8 to a ramp of one L* per pixel (a difference over 2 pixels,
    # rows weighted 1-2-1).
    edge = cv2.magnitude(gx, gy) / (8.0 * (lab.L + 16.0))
    k = max(3, lab.shape[1] // 80) | 1  # "near": 3 px at 224 wide, 7 at the 480 work width
    edge = cv2.dilate(edge, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    # Chroma along the skin's hue, against the skin's chroma (the dot product over |skin|^2).
    tint = lab.a * al + lab.b * bl >= tuning.highlight_tint * (al * al + bl * bl)
    return (Ll < lab.L) & (edge < tuning.highlight_edge) & tint


def ink_evidence(
    lab: LabImage, local: tuple[np.ndarray, np.ndarray, np.ndarray], tuning: TattooTuning
) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel ink score (in thresholds: >= 1 is ink) and how brown the pixel is (0..1).

    Darkening is relative (a fraction of the local lightness), so the same ink counts the same on
    pale and on dark skin. Chroma change is split along the local skin hue: darkening *along* the
    hue (more of the skin's own colour) is melanin - moles, freckles, lesions - and does not add
    chroma evidence; a shift across the hue (blue-black, green) or a loss of saturation (carbon
    ink is grey under the skin) does.
    """
    Ll, al, bl = local
    dark = (Ll - lab.L) / np.maximum(Ll, 5.0)
    norm = np.maximum(np.hypot(al, bl), 1e-3)
    ua, ub = al / norm, bl / norm
    ratio = np.clip(lab.L / np.maximum(Ll, 5.0), 0.0, 1.5)
    expected = norm * ratio  # skin chroma at this pixel's lightness
    along = lab.a * ua + lab.b * ub
    across = np.abs(lab.a * ub - lab.b * ua)
    desat = np.maximum(expected - along, 0.0)
    # Lighter and greyer with no edge: light on the skin, not ink (see soft_highlight).
    desat[soft_highlight(lab, local, tuning)] = 0.0
    chroma_shift = np.hypot(across, desat)
    score_dark = np.maximum(dark, 0.0) / tuning.dark
    score_col = chroma_shift / tuning.chroma
    score = np.maximum(score_dark, score_col)
    # Brown: darkening along the skin's own hue, with saturation to spare. Melanin - moles,
    # freckles, lesions - looks like that; ink does not: carbon ink is a neutral or bluish
    # darkening (no extra saturation), coloured inks sit at other hues (red is ~20 degrees off the
    # skin's hue, hence the hue test).
    oversat = np.maximum(along - expected, 0.0)
    same_hue = across < 0.25 * np.abs(along) + 2.0
    brown = np.where(same_hue, (oversat + 1.0) / (oversat + chroma_shift + 1.0), 0.0)
    return score.astype(np.float32), brown.astype(np.float32)


class TattooDetector:
    """Detector of tattoos (RegionKind.TATTOO) for the engine; see the module docstring.

    ``sensitivity`` in [0, 1]: higher finds fainter ink and smaller marks, at the cost of more
    false positives. ``keep`` boxes (frame pixels) are never proposed, not even in part.
    """

    kind = RegionKind.TATTOO

    def __init__(
        self,
        sensitivity: float = 0.5,
        keep: Sequence[Box] = (),
        *,
        work_width: int = 480,
        tuning: TattooTuning | None = None,
        segmentation: bool = True,
        every: int = 1,
    ) -> None:
        if not 0.0 <= sensitivity <= 1.0:
            raise UsageError(f"tattoo sensitivity must be between 0 and 1, got {sensitivity}")
        if work_width < 64:
            raise UsageError(f"work_width must be at least 64 pixels, got {work_width}")
        if every < 1:
            raise UsageError(f"the tattoo cadence must be at least 1 frame, got {every}")
        self.every = every
        self.sensitivity = sensitivity
        self.keep = tuple(keep)
        self.work_width = work_width
        self.tuning = (tuning or TattooTuning()).at(sensitivity)
        self.skin = SkinModel()
        self.person = PersonMask() if segmentation else None
        self.scene = SceneWatch()
        self._closeup = False  # this frame is a skin close-up (see _judge)
        self._frame: FrameContext | None = None  # this frame's context (see _judge)
        self.last_candidates: list[Candidate] = []  # for --show-detections and the bench

    def close(self) -> None:
        self.skin = SkinModel()
        if self.person is not None:
            self.person.close()

    def process_frame(
        self,
        index: int,
        frame: np.ndarray,
        found: Sequence[Region] = (),
        *,
        scene: SceneFrame | None = None,
    ) -> list[Region]:
        """``scene``: the engine's scene check for this frame (scene.SceneWatch.look); without
        it, the detector's own watch (``self.scene``) says what the picture is."""
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise UsageError("tattoo detector needs an HxWx3 uint8 BGR frame")
        if index % self.every:
            return []  # between runs: the tracker fills this frame (see ENGINE_EVERY)
        if scene is not None:
            scene_kind, ask = scene.kind, scene.ask
        else:
            scene_kind = self.scene.get(index, frame)
            ask = partial(self.scene.per_step, frame=frame)
        if scene_kind is SceneKind.DERMOSCOPY:
            # A dermoscope's field is millimetres across: what is dark in it is pigment, and no
            # design a person could be recognised by fits in it.
            self.last_candidates = []
            return []
        # A body on a dark ground, or on a plain lit one (a sheet, a drape, tiles), is read
        # with a close-up's ink rules (a rash there: its shade and papules were boxed whole;
        # docs/detection-lesions.md).
        self._closeup = scene_kind is SceneKind.SKIN_CLOSEUP or (
            scene_kind is SceneKind.SCENE and ask(plainground.closeup_ground)
        )
        h, w = frame.shape[:2]
        scale = min(1.0, self.work_width / w)
        small = (
            cv2.resize(
                frame,
                (max(1, round(w * scale)), max(1, round(h * scale))),
                interpolation=cv2.INTER_AREA,
            )
            if scale < 1.0
            else frame
        )
        sy = small.shape[0] / h
        sx = small.shape[1] / w
        faces = [r.box for r in found if r.kind == RegionKind.FACE]
        lab = LabImage.from_bgr(small)
        prior = skin_prior(lab)
        # Only a sure face says whose skin this is and that this is a view of people (see
        # SURE_FACE); every face box is still left to the face detector (_candidates).
        sure = [r.box for r in found if r.kind == RegionKind.FACE and r.score >= SURE_FACE]
        # A face filling much of the picture on a limb's skin surface is a portrait tattoo: this
        # is a view of that limb, whatever smaller face hits come with it (portraits.py).
        drawn = portrait_faces(lab, prior, sure, (sx, sy))
        if not self._closeup and (drawn or not sure):
            # A view of a limb: a weak face hit there is mostly a drawn face or shaded ink (see
            # SURE_FACE), so the ink under it is judged as well (the face detector still blurs
            # the box): a design under it then gets its own padded box (real photo 90_1).
            faces = [b for b in sure if b not in drawn]
        elif drawn:
            faces = [b for b in faces if b not in drawn]
        if drawn:
            sure = []
        tone = self.skin.update(lab, prior, sure, sx)
        if tone is None:
            self.last_candidates = []
            return []
        person = self.person.get(index, small) if self.person is not None else None
        candidates = self._candidates(lab, tone, faces, (sx, sy), person, bool(sure))
        self.last_candidates = candidates
        kept = merge_near([c for c in candidates if not c.reason], 2 * self.tuning.group_px)
        if not sure and not self._closeup:
            # A view of a limb: a large design's faint shading, judged apart, is its own.
            kept = design_extent(kept, candidates, lab.shape[0] * lab.shape[1])
        regions: list[Region] = []
        for c in kept:
            regions += self._to_regions(c, (sx, sy), (w, h))
        return regions

    # --- stages -----------------------------------------------------------------------------

    def _candidates(
        self,
        lab: LabImage,
        tone: SkinTone,
        faces: Sequence[Box],
        scale: tuple[float, float],
        person: np.ndarray | None,
        people: bool = False,
    ) -> list[Candidate]:
        """Judged ink candidates. ``people``: a sure face is in view, so this is not a view of
        a limb alone (``limb_hull`` and the background rescue are left out)."""
        if people and unlit_people(lab.L, tone.L):
            return []  # a dim picture of people with no lit skin: no ink to read (dimlight.py)
        t = self.tuning
        ww = lab.shape[1]
        skin = skin_colour_mask(lab, tone)
        surface = body_surface(skin)
        if not surface.any():
            return []
        local = local_skin(lab, skin, tone, radius=max(9, ww // _LOCAL_DIV))
        score, brown = ink_evidence(lab, local, t)
        if not people:
            # A view of a limb, not of people (where the hull would take in the space between
            # people and arms: measured, real photos of people 5 points more redacted).
            surface = limb_hull(surface, HULL_MAX_GROWTH)
            surface = silhouette_pockets(surface, lab, score)
            surface = limb_bands(surface, lab, score)  # a design across the whole limb
        if person is not None:
            on_surface = surface > 0
            if person[on_surface].mean() >= 0.5:
                # The person model sees most of this skin: trust it, drop skin-coloured
                # surroundings (see PersonMask). Otherwise (a close-up) it has nothing to say.
                surface[~person] = 0
        # Stay a few pixels inside the surface: along a limb's silhouette the edge pixels blend
        # skin with the background and look like a dark, blue line.
        edge = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
        surface = cv2.erode(surface, edge)
        # Faces are the face detector's business, and their eyes, brows and lips look like ink.
        sx, sy = scale
        for f in faces:
            x1, y1, x2, y2 = f.int_corners()
            surface[
                max(0, int(y1 * sy)) : int(y2 * sy) + 1, max(0, int(x1 * sx)) : int(x2 * sx) + 1
            ] = 0
        # Keep boxes are not looked at: the lesion there is the subject, not a candidate.
        for k in self.keep:
            x1, y1, x2, y2 = k.int_corners()
            surface[
                max(0, int(y1 * sy)) : int(y2 * sy) + 1, max(0, int(x1 * sx)) : int(x2 * sx) + 1
            ] = 0
        self._frame = FrameContext(lab, int(np.count_nonzero(skin)), score, local[0])
        on = surface > 0
        weak = ((score >= t.weak) & on).astype(np.uint8)
        strong = (score >= 1.0) & on
        if not strong.any():
            return []
        # Hysteresis: weak components that hold enough strong pixels (faded ink is mostly weak,
        # with a few strong pixels where lines cross or the ink was densest).
        n, lab_weak = cv2.connectedComponents(weak, connectivity=8)
        seeds = np.bincount(lab_weak[strong], minlength=n)
        good = seeds >= 2
        good[0] = False
        ink = good[lab_weak].astype(np.uint8)
        ink = self._drop_moles(ink, brown, ww)
        out, groups = self._group(ink, strong, score, brown, ww)
        if not people and any(c.reason == "background" for c in out):
            out = self._rescue(out, groups, (ink, strong, score, brown), skin, ww)
        # Shade only on a view of a body surface, with no sure face in view: among people the
        # surface is not grown to the limb's hull, so a design at a limb's silhouette is cut by
        # the surface's edge, and a soft fill of it reads as shade (measured through the engine:
        # the pale red roses of real tattoo photo 125_1, the grey shading of 12_2). Only asked
        # when a mark is kept: a frame with nothing to redact pays nothing for it.
        if not people and any(not c.reason and c.label > 0 for c in out):
            out = self._unshade(out, groups, (ink, strong, score, brown), (lab, on), ww)
        if self._closeup and any(not c.reason and c.label > 0 for c in out):
            # A close-up: soft shade running out of the frame (a fold, a dark corner) is not
            # ink; a design merged with it keeps its own sharp strokes (shademarks.py).
            maps = (ink, strong, score, brown)
            shade = edge_shade(lab.L, local[0], ink)
            out = self._unshade(out, groups, maps, (lab, on), ww, (shade, "edgeshade"))
        if people and is_dim(lab.L):
            # A dim picture of people: ink only on a person's lit, visible skin (dimlight.py).
            out = dim_people_marks(out, skin, local[0])
        return out

    def _group(
        self,
        ink: np.ndarray,
        strong: np.ndarray,
        score: np.ndarray,
        brown: np.ndarray,
        ww: int,
    ) -> tuple[list[Candidate], np.ndarray]:
        """Strokes grouped into candidates, each judged; and the group label image."""
        t = self.tuning
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (t.group_px, t.group_px))
        grouped = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, k)
        n, groups, stats, _ = cv2.connectedComponentsWithStats(grouped, connectivity=8)
        if n <= 1:
            return [], groups
        gi = groups[ink > 0]
        ink_px = np.bincount(gi, minlength=n)
        seed_px = np.bincount(groups[strong & (ink > 0)], minlength=n)
        sc_sum = np.bincount(gi, weights=np.minimum(score[ink > 0], 4.0), minlength=n)
        br_sum = np.bincount(gi, weights=brown[ink > 0], minlength=n)
        out = []
        for g in range(1, n):
            if ink_px[g] < t.min_ink_px or seed_px[g] < t.min_seed_px:
                continue
            x, y, bw, bh = (int(v) for v in stats[g, :4])
            c = self._judge(
                groups[y : y + bh, x : x + bw] == g,
                (x, y, bw, bh),
                (int(ink_px[g]), int(seed_px[g])),
                (float(sc_sum[g] / ink_px[g]), float(br_sum[g] / ink_px[g])),
                ww,
            )
            out.append(replace(c, label=g))
        return out, groups

    def _rescue(
        self,
        cands: list[Candidate],
        groups: np.ndarray,
        maps: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
        skin: np.ndarray,
        ww: int,
    ) -> list[Candidate]:
        """A mark rejected as background, looked at again where skin is around its ink.

        On real tattoo photographs a common total miss (9 of 47 missed boxes) was a large design
        on a limb held in front of a floor, a bed or clothing with skin-coloured specks: the
        skin surface then spans the whole frame, design and background merge into one mark,
        and that mark is (rightly) rejected as background, design and all. Ink lies in skin: a
        design's strokes have bare skin between and around them (its negative space), while
        the inside of a bag, a shirt or a dark floor has none. So the rejected mark's ink is
        kept only where at least ``rescue_skin_share`` of the pixels around it (the local-skin
        window) are skin-coloured, regrouped and judged again. Measured on real tattoo photos:
        of the 6 boxes still lost this way after ``limb_hull``, 5 are now covered; keeping the
        ink inside the person model's mask instead covered none of them (the mask takes in the
        legs, hands and clothing around the arm as well).
        Only on views without a face (see ``_candidates``): among people, what has skin around
        it is mostly clothing edges.
        """
        ink, strong, score, brown = maps
        bad = [c.label for c in cands if c.reason == "background"]
        near = skin_around(skin, max(3, ww // _LOCAL_DIV), self.tuning.rescue_skin_share)
        mask = np.isin(groups, bad) & near & (ink > 0)
        if not mask.any():
            return cands
        again, regrouped = self._group(mask.astype(np.uint8), strong, score, brown, ww)
        out = []
        for c in again:
            if not c.reason and self._frame is not None:
                # What is left must be one design on one surface: even in lightness, whatever
                # its size (see _off_body). Clothing edges and furniture beside skin-coloured
                # walls are not (measured on the real photos of people, faces off: such marks
                # L* std 20.2-28.9 but one of 14.5; the recovered tattoos 15.0-19.6).
                x, y, bw, bh = c.box
                inside = regrouped[y : y + bh, x : x + bw] == c.label
                if self._frame.lightness_std(inside, c.box) > self.tuning.rescue_l_std:
                    c = replace(c, reason="background")
            out.append(replace(c, label=-1))
        return cands + out

    def _unshade(
        self,
        cands: list[Candidate],
        groups: np.ndarray,
        maps: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
        where: tuple[LabImage, np.ndarray],
        ww: int,
        given: tuple[np.ndarray, str] | None = None,
    ) -> list[Candidate]:
        """Kept marks that are mostly shade at the body's silhouette (``silhouette_shade``)
        rejected as ``shade``, and what remains of them judged again without the shade.
        ``given``: another shade map and its reason instead (a close-up's ``edge_shade``).

        Shade merges with whatever ink lies beside it: a design on a leg photographed in front
        of a tiled floor became one mark with the floor's smooth dark patches (real tattoo photo
        104_1), and rejecting that mark whole lost the design. What is left once the shade is
        taken out (the design's sharp strokes, or a rash's papules) is regrouped and judged
        like any other ink; its boxes lie inside the rejected mark's, so this never redacts
        more than the mark would have.
        """
        ink, strong, score, brown = maps
        lab, on = where
        shade, why = given or (silhouette_shade(lab, ink, on, self.tuning), "shade")
        on_ink = ink > 0
        n = int(groups.max()) + 1
        ink_px = np.bincount(groups[on_ink], minlength=n)
        shade_px = np.bincount(groups[on_ink & shade], minlength=n)
        out = [
            replace(c, reason=why)
            if not c.reason and c.label > 0 and shade_px[c.label] >= SHADE_SHARE * ink_px[c.label]
            else c
            for c in cands
        ]
        bad = [c.label for c in out if c.reason == why and c.label > 0]
        mask = np.isin(groups, bad) & on_ink & ~shade
        if not mask.any():
            return out
        again, _ = self._group(mask.astype(np.uint8), strong, score, brown, ww)
        return out + [replace(c, label=-1) for c in again]

    def _drop_moles(self, ink: np.ndarray, brown: np.ndarray, work_w: int) -> np.ndarray:
        """Remove small round brown blobs before grouping.

        A mole with a hair across it, or beside a freckle, would otherwise merge into a group
        that is no longer round. Opening first cuts the hairs (one pixel wide here) off the blob.
        """
        opened = cv2.morphologyEx(ink, cv2.MORPH_OPEN, _K3)
        n, lab, stats, _ = cv2.connectedComponentsWithStats(opened, connectivity=8)
        if n <= 1:
            return ink
        area = stats[:, cv2.CC_STAT_AREA].astype(np.float64)
        bw = stats[:, cv2.CC_STAT_WIDTH].astype(np.float64)
        bh = stats[:, cv2.CC_STAT_HEIGHT].astype(np.float64)
        on = opened > 0
        br = np.bincount(lab[on], weights=brown[on], minlength=n) / np.maximum(area, 1)
        diam = 2.0 * np.sqrt(area / np.pi)
        fill = area / np.maximum(bw * bh, 1)
        side = np.maximum(bw, bh) / np.maximum(np.minimum(bw, bh), 1)
        mole = (
            (diam < self.tuning.mole_max_diam_frac * work_w)
            & (fill > 0.55)
            & (side < 1.8)
            & (br > 0.6)
        )
        mole[0] = False
        if not mole.any():
            return ink
        blobs = cv2.dilate(mole[lab].astype(np.uint8), _K3)
        return ink & (1 - blobs)

    def _judge(
        self,
        group: np.ndarray,
        box: tuple[int, int, int, int],
        counts: tuple[int, int],
        means: tuple[float, float],
        work_w: int,
    ) -> Candidate:
        """Shape features of one group, and the reason it is rejected (if any)."""
        t = self.tuning
        ink_px, seed_px = counts
        contrast, brown = means
        m = group.astype(np.uint8)
        contours, _ = cv2.findContours(m, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cnt = max(contours, key=cv2.contourArea)
        area = float(m.sum())
        hull = cv2.contourArea(cv2.convexHull(cnt)) or 1.0
        perim = cv2.arcLength(cnt, True) or 1.0
        solidity = min(1.0, area / hull)
        circularity = min(1.0, 4 * np.pi * area / perim**2)
        (_, _), (rw, rh), _ = cv2.minAreaRect(cnt)
        aspect = max(rw, rh) / max(min(rw, rh), 1.0)
        dist = cv2.distanceTransform(np.pad(m, 1), cv2.DIST_L2, 3)
        thickness = 2.0 * float(dist.max())
        diam = 2.0 * np.sqrt(area / np.pi)
        reason = ""
        coloured = brown < 0.2 and contrast >= 2.0  # a clear non-melanin colour (red, green ink)
        if (
            solidity > 0.8
            and circularity > 0.55
            and diam < t.mole_max_diam_frac * work_w
            and not coloured
        ):
            # Small, compact, round and dark or brown: a naevus or a freckle. Not a strongly
            # coloured mark: a small red or green ink motif is as compact as a mole (measured:
            # the red mark of sample_media's arm was taken for a mole in the 800-pixel photo
            # and found in the 640-pixel video, where it is larger in work pixels).
            reason = "mole"
        elif self._closeup and (
            not self._closeup_ink(contrast, brown, (solidity, thickness), ink_px, work_w)
            or ink_px < t.closeup_min_share * work_w * work_w
            or brown >= t.closeup_brown
            or (solidity > t.closeup_compact and aspect < 2.5)
        ):
            reason = "pigment"  # a close-up: lesions, their network and their halo are the subject
        elif self._closeup and self._light_at_edge(group, box):
            reason = (
                "light"  # a close-up: a white object or the background at its edge (lightmarks)
            )
        elif self._closeup and self._marker_lines(group, box, work_w):
            reason = "marker"  # a clinician's skin-marker lines: clinical, not identifying
        elif self._off_body(group, box, area):
            reason = "background"  # clothing, hair or a wall taken for skin (see TattooTuning)
        elif solidity > 0.75 and brown > 0.6 and aspect < 3.0:
            reason = "lesion"  # compact and brown at any size: pigment, the clinical subject
        elif (
            thickness <= t.line_max_thick * 2
            and aspect >= t.line_min_aspect
            and contrast < t.strong_line
        ):
            reason = "line"  # one long, thin, faint stroke: a vein or a hair
        elif area > 0 and ink_px / max(bw_bh(box), 1) < 0.08 and contrast < 1.6:
            reason = "sparse"  # faint, scattered pixels over an area: hair, skin texture
        elif contrast < t.faint and brown < 0.5 and aspect > 3.5:
            reason = "vein"  # faint, bluish and elongated: a superficial vein
        elif contrast < t.faint and (brown > 0.55 or ink_px < 4 * t.min_ink_px):
            # Barely above threshold and either brown (a hair, a freckle, the edge of a shadow)
            # or small: old faded ink survives this only as a larger mark of its own colour.
            reason = "faint"
        return Candidate(
            box, ink_px, seed_px, contrast, brown, solidity, circularity, thickness, aspect, reason
        )

    def _light_at_edge(self, group: np.ndarray, box: tuple[int, int, int, int]) -> bool:
        f = self._frame
        return f is not None and light_at_edge(group, box, f.lab.L, f.local_l, f.score)

    def _off_body(self, group: np.ndarray, box: tuple[int, int, int, int], area: float) -> bool:
        """Is this mark background rather than ink on skin?

        It is larger than the skin in view by far and uneven in lightness: the skin model took a
        wall, a pavement or hair for skin, and clothing, shadows and furniture enclosed by it
        became one region. A tattoo covering most of a limb is larger than the skin left around
        it too, but it is one design on one surface: its lightness is even (measured on real
        tattoo photos: L* std 10-21 for such marks, 21-30 for the background ones).

        Not used: "off the people the person model sees". On real photos it cleared a curtain
        behind two people, but the model also takes a fold-draped table for a person and misses
        the forearm lying on it (measured on generated frames), and real tattoo coverage fell.
        """
        t, f = self.tuning, self._frame
        if f is None:
            return False
        if area <= t.background_skin_ratio * f.skin_px:
            return False
        return f.lightness_std(group, box) > t.background_l_std

    def _closeup_ink(
        self,
        contrast: float,
        brown: float,
        shape: tuple[float, float],
        ink_px: int,
        work_w: int,
    ) -> bool:
        """In a skin close-up, is this mark clearly ink? Strong contrast; or, on dark skin where
        ink hardly darkens the skin, a large pattern of thin strokes (not a blob, not a diffuse
        patch such as erythema) with no melanin in its colour."""
        t = self.tuning
        if contrast >= t.closeup_contrast:
            return True
        solidity, thickness = shape
        return (
            brown < 0.1
            and contrast >= 0.75 * t.closeup_contrast
            and solidity < 0.6
            and thickness <= 0.08 * work_w
            and ink_px >= 0.02 * work_w * work_w
        )

    def _marker_lines(self, group: np.ndarray, box: tuple[int, int, int, int], work_w: int) -> bool:
        """In a skin close-up, is this mark a clinician's skin-marker lines, not a tattoo?

        Marking pens are gentian violet or blue: their ink sits on the skin as saturated colour
        at a hue that melanin never takes and that carbon tattoo ink under the skin takes only
        dark and nearly grey, drawn as thin strokes or hatching around the lesion (excision
        margins, a biopsy site). Such lines are part of the clinical picture and gone in days,
        so they are kept (docs/detection-lesions.md, "Surgical-marker lines"). Three cues, all
        needed: nearly all of the mark's ink (score >= 1) lies in the violet-to-blue band (out
        to magenta, where a violet pen's ink fades into the skin); its strongest ink (score >=
        2.5, where a stroke is dense) is saturated violet or blue (measured: at most 1.5% of it
        for every mark in the real tattoo close-ups, 86-100% for the pen marks recognised); and
        those saturated strokes are thin. A black outline or ink of another colour in the
        mark fails the first two. Risk left (a thin violet or blue line tattoo in a close-up is
        kept) and the margins measured: docs/detection-lesions.md.
        """
        f = self._frame
        if f is None:
            return False
        x, y, bw, bh = box
        sl = (slice(y, y + bh), slice(x, x + bw))
        score = f.score[sl]
        ink = group & (score >= 1.0)
        n = int(np.count_nonzero(ink))
        if n == 0:
            return False
        a, b = f.lab.a[sl], f.lab.b[sl]
        chroma = np.hypot(a, b)
        hue = np.degrees(np.arctan2(b, a))
        band = (hue >= MARKER_HUE_DEG[0]) & (hue <= MARKER_HUE_DEG[1])
        edge = (hue >= MARKER_HUE_DEG[0]) & (hue <= MARKER_EDGE_HUE)
        if np.count_nonzero(ink & edge & (chroma >= MARKER_MIN_CHROMA)) < MARKER_INK_SHARE * n:
            return False
        core = ink & (score >= MARKER_CORE_SCORE)
        pen = core & band & (chroma >= MARKER_CORE_CHROMA)
        n_pen = int(np.count_nonzero(pen))
        if n_pen == 0 or n_pen < MARKER_CORE_SHARE * np.count_nonzero(core):
            return False
        # Stroke width: twice the 90th percentile of the distance to the stroke's edge (a few
        # crossings and dots of dense ink do not make hatching a filled area).
        dist = cv2.distanceTransform(np.pad(pen.astype(np.uint8), 1), cv2.DIST_L2, 3)
        return 2.0 * float(np.percentile(dist[1:-1, 1:-1][pen], 90)) <= MARKER_MAX_STROKE * work_w

    def _to_regions(
        self, c: Candidate, scale: tuple[float, float], size: tuple[int, int]
    ) -> list[Region]:
        t = self.tuning
        sx, sy = scale
        x, y, bw, bh = c.box
        pad = large_mark_pad(c.box, (size[0] * sx) * (size[1] * sy), t.pad_frac)
        px = pad * bw + t.pad_px
        py = pad * bh + t.pad_px
        box = Box((x - px) / sx, (y - py) / sy, (bw + 2 * px) / sx, (bh + 2 * py) / sy)
        box = box.clipped(*size)
        core = Box(x / sx, y / sy, bw / sx, bh / sy)  # the ink itself, before padding
        pieces = [box]
        for k in self.keep:
            pieces = [p for b in pieces for p in clip_away(b, k, core)]
        score = float(min(1.0, c.contrast / 3.0))
        return [Region(p, RegionKind.TATTOO, score=score, source="ink") for p in pieces]


def clip_away(box: Box, keep: Box, core: Box) -> list[Box]:
    """``box`` without ``keep``. When only the padding reaches the keep box, the one strip that
    still holds all the ink is enough, and one stable box is what the tracker follows best;
    when the ink itself reaches into it, every strip around the keep box is kept."""
    pieces = subtract_box(box, keep)
    if len(pieces) > 1 and core.intersection_area(keep) <= 0:
        # The largest rectangles of box-minus-keep: the box cut at each side of the keep box.
        halves = [
            Box.from_corners(box.x, box.y, min(box.x2, keep.x), box.y2),
            Box.from_corners(max(box.x, keep.x2), box.y, box.x2, box.y2),
            Box.from_corners(box.x, box.y, box.x2, min(box.y2, keep.y)),
            Box.from_corners(box.x, max(box.y, keep.y2), box.x2, box.y2),
        ]
        whole = [
            p
            for p in halves
            if p.w > 0
            and p.h > 0
            and p.x <= core.x
            and p.y <= core.y
            and p.x2 >= core.x2
            and p.y2 >= core.y2
        ]
        if whole:
            return [max(whole, key=lambda p: p.area)]
    return pieces


def bw_bh(box: tuple[int, int, int, int]) -> int:
    return box[2] * box[3]


def _gap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    dx = max(b[0] - (a[0] + a[2]), a[0] - (b[0] + b[2]), 0)
    dy = max(b[1] - (a[1] + a[3]), a[1] - (b[1] + b[3]), 0)
    return float(max(dx, dy))


def merge_near(cands: list[Candidate], gap_px: int) -> list[Candidate]:
    """Merge kept candidates whose boxes are closer than ``gap_px`` (work pixels).

    The letters of a word, or the parts of one design, split into groups differently from frame
    to frame; one stable box per design is what the tracker can follow (and what must be
    redacted anyway).
    """
    out = list(cands)
    merged = True
    while merged and len(out) > 1:
        merged = False
        for i in range(len(out)):
            for j in range(i + 1, len(out)):
                a, b = out[i], out[j]
                if _gap(a.box, b.box) > gap_px:
                    continue
                out[i] = joined(a, b)
                del out[j]
                merged = True
                break
            if merged:
                break
    return out


# Silhouette shade (see silhouette_shade). Measured on the 191 real rash close-ups (MSLD) and the
# 210 real tattoo photos (BIVTatt), detector alone; figures in docs/detection-lesions.md.
SHADE_SMOOTH = 1.0  # a pixel within this many ink thresholds of its surroundings' colour ...
SHADE_STEP = 0.08  # ... and with no lightness edge this steep beside it is smooth (see below)
SHADE_SKIN_SIDE = 0.7  # a smooth region is shade when this share of its inner rim is bare skin
SHADE_SHARE = 0.6  # a mark with at least this share of its ink in shade is rejected as shade


def silhouette_shade(
    lab: LabImage, ink: np.ndarray, on: np.ndarray, tuning: TattooTuning
) -> np.ndarray:
    """Ink pixels that are shade at the body's silhouette, not ink (bool, work size).

    Where a trunk or a limb turns away from the light its skin darkens, smoothly, towards the
    silhouette (and, on brown skin, turns more saturated and a little off the skin's hue), and
    the local skin estimate, taken from the lit skin nearby, scores that as ink. On real rash
    close-ups such shade merged with the papules around it into marks covering the whole
    frame. Ink under the skin has the needle's edge: a design that reaches the silhouette still
    has a sharp outline towards the body's interior. So shade is ink that is

    - smooth: its colour is within ``SHADE_SMOOTH`` ink thresholds of its surroundings' mean
      (a Gaussian over half the local-skin window, every pixel counted, so the shade itself
      sets the reference), and no lightness edge steeper than ``SHADE_STEP`` is beside it (L*
      change per pixel relative to L* + 16, per 1/480 of the width so that the figure does not
      depend on the resolution): a low-contrast outline, dark ink on dark skin, is an edge
      even where its colour is close to the mean around it;
    - in a connected region that reaches the silhouette (off the surface, or the frame edge);
    - whose rim towards the interior is mostly bare skin (``SHADE_SKIN_SIDE``): light fading
      out, not a design's sharp strokes around a smooth fill.

    A kept mark is rejected as shade when most of its ink is (``SHADE_SHARE``), and what remains
    of it is judged again (``TattooDetector._unshade``). Only asked with no sure face in view
    (see ``_candidates``).
    """
    h, w = ink.shape
    if not ink.any():
        return np.zeros((h, w), bool)
    r = max(9, w // _LOCAL_DIV)
    # The surroundings' colour at half the size: it is smooth anyway, and a Gaussian this wide
    # at the full work size cost about 16 ms of a 1080p frame's ~90 (2-core machine).
    half = (max(1, w // 2), max(1, h // 2))
    around = cv2.resize(cv2.merge([lab.L, lab.a, lab.b]), half, interpolation=cv2.INTER_AREA)
    around = cv2.GaussianBlur(around, (0, 0), 0.25 * r)
    around = cv2.resize(around, (w, h), interpolation=cv2.INTER_LINEAR)
    dark = np.abs(lab.L - around[..., 0]) / np.maximum(around[..., 0], 5.0) / tuning.dark
    col = np.hypot(lab.a - around[..., 1], lab.b - around[..., 2]) / tuning.chroma
    smooth = np.maximum(dark, col) < SHADE_SMOOTH
    lit = cv2.GaussianBlur(lab.L, (3, 3), 0)
    gx = cv2.Sobel(lit, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(lit, cv2.CV_32F, 0, 1, ksize=3)
    # Sobel answers 8 to a ramp of one L* per pixel (see soft_highlight).
    slope = cv2.magnitude(gx, gy) / (8.0 * (lab.L + 16.0)) * (w / 480.0)
    smooth &= cv2.dilate(slope, _K3) < SHADE_STEP
    smooth &= ink > 0
    # One pixel of padding: the frame edge counts as silhouette.
    n, labels = cv2.connectedComponents(np.pad(smooth.astype(np.uint8), 1), connectivity=8)
    if n <= 1:
        return np.zeros((h, w), bool)
    outside = np.pad(on == 0, 1, constant_values=True)
    reach = np.zeros(n, bool)
    reach[labels[cv2.dilate(outside.astype(np.uint8), _K3) > 0]] = True
    # The rim inside the surface: bare skin, or other ink (sharp strokes). A pixel beside two
    # regions counts for the larger label; regions rarely touch, being 8-connected apart.
    grown = cv2.dilate(labels.astype(np.float32), _K3).astype(np.int32)
    rim = (labels == 0) & (grown > 0) & ~outside
    rim_of = grown[rim]
    total = np.bincount(rim_of, minlength=n)
    skin = np.bincount(rim_of[~np.pad(ink > 0, 1)[rim]], minlength=n)
    shade = reach & (skin >= SHADE_SKIN_SIDE * np.maximum(total, 1))
    shade[0] = False
    return shade[labels][1:-1, 1:-1]
