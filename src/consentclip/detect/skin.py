"""An adaptive skin model: which pixels are skin, what colour the skin is *here*, and where the
body surface lies, for one person in one clip.

Why adaptive: a fixed skin-colour box fails at the ends of the Fitzpatrick scale (type I is
pale pink, type VI is dark brown with little chroma), and lighting tints everything. So the
model is learned from the frame itself:

- a broad prior keeps only colours any human skin can have under ordinary light (reddish-yellow
  hue, some chroma, not black, not blown out);
- when a face was found, the cheeks and nose in the face box give this person's skin colour, so
  a beige wall cannot take over a portrait; otherwise the dominant colour cluster inside the prior
  is taken (a close-up limb fills most of the frame);
- the estimate is smoothed across frames (one clip, one person), and reset on a scene change.

Everything runs on a small Lab image (the caller downscales), in float32, with OpenCV box
filters: a few milliseconds a frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from consentclip.detect.regions import Box

# Broad prior in CIE L*a*b* (a*, b* centred on 0). Skin hue angles sit between orange-red and
# yellow for every Fitzpatrick type; type VI has chroma down to about 8 in shade.
PRIOR_L = (8.0, 97.0)
PRIOR_HUE_DEG = (15.0, 85.0)
PRIOR_MIN_CHROMA = 4.0
# Light skin is never as grey as a white shirt or a beige wall in the same light: the palest skin
# still has chroma about 0.12 of its lightness; dark skin has several times that.
PRIOR_MIN_CHROMA_PER_L = 0.11
PRIOR_MAX_CHROMA = 48.0


@dataclass(frozen=True)
class SkinTone:
    """The centre of this person's skin colour (L*, a*, b*) and its spread in chroma."""

    L: float
    a: float
    b: float
    spread: float  # robust std of the chroma around the centre, floored

    def distance(self, other: SkinTone) -> float:
        return float(np.hypot(np.hypot(self.L - other.L, self.a - other.a), self.b - other.b))

    def blend(self, other: SkinTone, weight: float) -> SkinTone:
        """Move ``weight`` of the way towards ``other`` (exponential smoothing over frames)."""
        w = min(max(weight, 0.0), 1.0)
        return SkinTone(
            self.L + (other.L - self.L) * w,
            self.a + (other.a - self.a) * w,
            self.b + (other.b - self.b) * w,
            self.spread + (other.spread - self.spread) * w,
        )


@dataclass(frozen=True)
class LabImage:
    """A frame in float32 CIE L*a*b*, channels split."""

    L: np.ndarray
    a: np.ndarray
    b: np.ndarray

    @classmethod
    def from_bgr(cls, bgr: np.ndarray) -> LabImage:
        # OpenCV's 8-bit Lab stores L*255/100 and a, b offset by 128; converting the uint8 frame
        # is about 4x faster than converting a float frame, and its quantisation is below noise.
        lab = cv2.cvtColor(bgr, cv2.COLOR_BGR2LAB).astype(np.float32)
        return cls(lab[..., 0] * (100.0 / 255.0), lab[..., 1] - 128.0, lab[..., 2] - 128.0)

    @property
    def shape(self) -> tuple[int, int]:
        return self.L.shape  # type: ignore[return-value]


def prior_mask(lab: LabImage, min_chroma_per_l: float = PRIOR_MIN_CHROMA_PER_L) -> np.ndarray:
    """Pixels whose colour any human skin could have (bool). ``min_chroma_per_l`` below the
    default admits skin washed out by a cold or grey light (see ``skin_prior``)."""
    a, b = lab.a, lab.b
    c2 = a * a + b * b
    # The hue window as two half-planes (cheaper than arctan2 on every pixel).
    lo, hi = np.tan(np.radians(PRIOR_HUE_DEG[0])), np.tan(np.radians(PRIOR_HUE_DEG[1]))
    return (
        (PRIOR_L[0] <= lab.L)
        & (PRIOR_L[1] >= lab.L)
        & (c2 >= PRIOR_MIN_CHROMA**2)
        & (c2 >= (min_chroma_per_l * lab.L) ** 2)
        & (c2 <= PRIOR_MAX_CHROMA**2)
        & (a > 0)
        & (b >= a * lo)
        & (b <= a * hi)
    )


# Under fluorescent or cold light (or a camera's white balance gone grey) skin keeps its hue but
# loses chroma: on real tattoo photos two such pictures had under 2% of the frame pass the prior.
# When the ordinary prior finds almost nothing, this one is tried.
PRIOR_MIN_CHROMA_PER_L_WASHED = 0.05
_WASHED_OUT_BELOW = 0.05  # share of the frame the ordinary prior must reach


def skin_prior(lab: LabImage) -> np.ndarray:
    """``prior_mask``, relaxed for washed-out colour when the ordinary one finds almost nothing."""
    prior = prior_mask(lab)
    if prior.mean() >= _WASHED_OUT_BELOW:
        return prior
    return prior_mask(lab, PRIOR_MIN_CHROMA_PER_L_WASHED)


def _face_sample_boxes(faces: Sequence[Box], scale: float) -> list[tuple[int, int, int, int]]:
    """The cheeks-and-nose part of each face box, in work-image pixels.

    A FACE region covers the whole head (hair, ears, some background), so only its centre,
    a little below the middle, is reliably skin.
    """
    out = []
    for f in faces:
        inner = Box(f.cx - f.w * 0.18, f.cy - f.h * 0.05, f.w * 0.36, f.h * 0.25)
        x1, y1, x2, y2 = inner.int_corners()
        out.append((int(x1 * scale), int(y1 * scale), int(x2 * scale) + 1, int(y2 * scale) + 1))
    return out


def estimate_tone(
    lab: LabImage, prior: np.ndarray, faces: Sequence[Box] = (), face_scale: float = 1.0
) -> SkinTone | None:
    """This person's skin colour: the face's when faces are given, else the dominant cluster.

    Returns None when fewer than 0.5% of the pixels could be skin (a non-skin image).
    """
    h, w = prior.shape
    if prior.sum() < max(50, 0.005 * h * w):
        return None
    # Every other pixel in each direction is plenty for a colour estimate and 4x cheaper.
    sub = prior[::2, ::2]
    a = lab.a[::2, ::2][sub]
    b = lab.b[::2, ::2][sub]
    L = lab.L[::2, ::2][sub]
    # 2-D histogram of chroma in 2-unit bins over [-2, 50), lightly smoothed, so the peak is a
    # cluster and not one noisy bin.
    nb = 26
    ia = np.clip(((a + 2.0) * 0.5).astype(np.int32), 0, nb - 1)
    ib = np.clip(((b + 2.0) * 0.5).astype(np.int32), 0, nb - 1)
    hist = np.bincount(ia * nb + ib, minlength=nb * nb).reshape(nb, nb).astype(np.float32)
    hist = cv2.GaussianBlur(hist, (5, 5), 1.0)
    face_ab = _face_chroma(lab, prior, faces, face_scale)
    if face_ab is not None:
        # The face is this person's skin for sure; the body is close to it (a tan, a flush).
        a0, b0 = face_ab
    else:
        pa, pb = np.unravel_index(int(np.argmax(hist)), hist.shape)
        a0, b0 = pa * 2.0 - 1.0, pb * 2.0 - 1.0
    near = (a - a0) ** 2 + (b - b0) ** 2 <= 7.0**2
    # A real skin cluster is a sizeable part of the frame, not a handful of stray pixels
    # (noise and textures pass the prior here and there).
    if near.sum() < max(30, 0.02 * sub.size):
        return None
    L_near, a_near, b_near = L[near], a[near], b[near]
    am, bm = float(np.median(a_near)), float(np.median(b_near))
    mad = float(np.median(np.hypot(a_near - am, b_near - bm)))
    return SkinTone(float(np.median(L_near)), am, bm, max(2.5, 1.4826 * mad))


def _face_chroma(
    lab: LabImage, prior: np.ndarray, faces: Sequence[Box], scale: float
) -> tuple[float, float] | None:
    h, w = prior.shape
    a_vals: list[np.ndarray] = []
    b_vals: list[np.ndarray] = []
    for x1, y1, x2, y2 in _face_sample_boxes(faces, scale):
        x1, y1, x2, y2 = max(x1, 0), max(y1, 0), min(x2, w), min(y2, h)
        if x2 <= x1 or y2 <= y1:
            continue
        m = prior[y1:y2, x1:x2]
        a_vals.append(lab.a[y1:y2, x1:x2][m])
        b_vals.append(lab.b[y1:y2, x1:x2][m])
    if not a_vals:
        return None
    a_all, b_all = np.concatenate(a_vals), np.concatenate(b_vals)
    if a_all.size < 20:
        return None
    return float(np.median(a_all)), float(np.median(b_all))


def skin_colour_mask(lab: LabImage, tone: SkinTone, tolerance: float = 1.0) -> np.ndarray:
    """Pixels of this person's skin colour, allowing for shading (bool).

    Shading scales L* and, roughly in proportion, a* and b*; so the expected chroma at a pixel is
    the tone's chroma scaled by the pixel's lightness relative to the tone.
    """
    r = np.clip(lab.L / max(tone.L, 1.0), 0.45, 1.4)
    d = np.hypot(lab.a - tone.a * r, lab.b - tone.b * r)
    tol = tolerance * max(6.0, 2.5 * tone.spread)
    return (d < tol) & (lab.L > 0.4 * tone.L) & (lab.L < 1.45 * tone.L + 12.0)


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """Fill every hole enclosed by the mask (uint8 0/255 in, uint8 0/255 out).

    A tattoo is not skin-coloured, but it is enclosed by skin: filling holes is what puts it back
    on the body surface, while the background around a limb stays outside.
    """
    h, w = mask.shape
    flood = np.zeros((h + 2, w + 2), np.uint8)
    flood[1:-1, 1:-1] = mask
    # Flood the outside from the border; whatever the flood did not reach and is not mask is a hole.
    cv2.floodFill(flood, None, (0, 0), 255)
    holes = cv2.bitwise_not(flood[1:-1, 1:-1])
    return cv2.bitwise_or(mask, holes)


def edge_counts(labels: np.ndarray, n: int) -> np.ndarray:
    """How many pixels of the frame's edge each label ``0..n-1`` of ``labels`` holds (the
    corners count twice): which regions the frame's edge cuts."""
    border = np.concatenate([labels[0, :], labels[-1, :], labels[:, 0], labels[:, -1]])
    return np.bincount(border, minlength=n)


def fill_edge_pockets(mask: np.ndarray, max_edge_share: float = 0.3) -> np.ndarray:
    """Add to the surface the non-surface regions that the frame's edge cuts open but skin
    otherwise encloses (uint8 0/255 in and out).

    A large tattoo often runs off the edge of the picture (a back piece, a thigh filling the
    frame): ``fill_holes`` cannot see it as enclosed, and on real tattoo photographs that was
    the commonest miss. Such a region is bounded by skin everywhere except a short stretch of
    frame edge (at most ``max_edge_share`` of its outline). The background around a limb is not:
    a drape above an arm that crosses the frame has as much frame edge as limb around it, so it
    stays outside. Vectorised (one dilation of the label image, two bincounts): it runs on every
    frame.
    """
    h, w = mask.shape
    inv = (mask == 0).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(inv, connectivity=4)
    if n <= 1 or n >= 65535:
        return mask
    # Skin pixels next to each region (a pixel next to two regions counts for one of them).
    grown = cv2.dilate(labels.astype(np.uint16), cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3)))
    around = np.bincount(grown[mask > 0], minlength=n)
    on_edge = edge_counts(labels, n)
    area = stats[:, cv2.CC_STAT_AREA]
    ok = (
        (area >= 0.002 * h * w)
        & (area <= 0.6 * h * w)
        & (on_edge > 0)
        & (around > 0)
        & (on_edge <= max_edge_share * (around + on_edge))
    )
    ok[0] = False
    if not ok.any():
        return mask
    out = mask.copy()
    out[ok[labels]] = 255
    return out


def body_surface(
    skin: np.ndarray,
    close_px: int | None = None,
    min_area_frac: float = 0.01,
    min_skin_frac: float = 0.45,
) -> np.ndarray:
    """The skin surface: skin pixels closed, holes filled, small islands removed (uint8 0/255).
    ``close_px``: the closing's size; by default 1/40 of the image width, at least 5 px (the
    gaps between a design's strokes at the tattoo detector's work width)."""
    if close_px is None:
        close_px = max(5, skin.shape[1] // 40)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (close_px | 1, close_px | 1))
    # Pad with background first: OpenCV's default border would let the closing swallow a thin
    # strip of background along the frame edge (a limb crossing the frame edge to edge).
    pad = close_px + 1
    m = cv2.copyMakeBorder(skin.astype(np.uint8) * 255, pad, pad, pad, pad, cv2.BORDER_CONSTANT)
    m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, k)[pad:-pad, pad:-pad]
    closed = np.ascontiguousarray(m)
    m = fill_edge_pockets(fill_holes(closed))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    if n <= 1:
        return m
    area = stats[:, cv2.CC_STAT_AREA]
    # A body part is mostly skin. Scattered skin-coloured bits (highlights on clothing, wood,
    # blond hair against a wall) can close into a large web; most of its area is then not skin.
    # Judged on the closed mask, before holes are filled: a limb mostly covered by a large
    # tattoo is a small share of skin around a large hole, and is a body part all the same.
    skin_px = np.bincount(labels[skin], minlength=n)
    closed_px = np.bincount(labels[closed > 0], minlength=n)
    ok = (area >= min_area_frac * m.size) & (skin_px >= min_skin_frac * closed_px)
    ok[0] = False
    return (ok.astype(np.uint8) * 255)[labels]


def local_skin(
    lab: LabImage, skin: np.ndarray, tone: SkinTone, radius: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The colour the skin has around each pixel (L*, a*, b* maps).

    A normalised box filter over skin pixels only: ink, moles and background do not pull the
    estimate, and soft shading is followed. Where there is no skin nearby (inside a large tattoo)
    it falls back to the global tone. Computed at a quarter of the size: it is smooth anyway.
    """
    h, w = skin.shape
    sw, sh = max(w // 4, 1), max(h // 4, 1)
    m = skin.astype(np.float32)
    # One 4-channel image (L*m, a*m, b*m, m): one resize down, one blur, one resize up.
    stack = cv2.merge([lab.L * m, lab.a * m, lab.b * m, m])
    small = cv2.resize(stack, (sw, sh), interpolation=cv2.INTER_AREA)
    k = max(3, radius // 4) | 1
    small = cv2.blur(small, (k, k))
    eps = 0.02  # weight of the global tone: only matters where skin is scarce
    weight = small[..., 3] + eps
    est = np.empty((sh, sw, 3), np.float32)
    for i, g in enumerate((tone.L, tone.a, tone.b)):
        est[..., i] = (small[..., i] + eps * g) / weight
    big = cv2.resize(est, (w, h), interpolation=cv2.INTER_LINEAR)
    return big[..., 0], big[..., 1], big[..., 2]


class SkinModel:
    """Per-clip skin model: call ``update`` once per frame, then use ``tone``.

    ``smoothing`` is the weight of the new frame's estimate; a jump larger than ``reset_at``
    (a cut to another scene or another person) replaces the estimate instead of blending.
    """

    def __init__(self, smoothing: float = 0.3, reset_at: float = 14.0) -> None:
        self.smoothing = smoothing
        self.reset_at = reset_at
        self.tone: SkinTone | None = None

    def update(
        self, lab: LabImage, prior: np.ndarray, faces: Sequence[Box] = (), face_scale: float = 1.0
    ) -> SkinTone | None:
        new = estimate_tone(lab, prior, faces, face_scale)
        if new is None:
            # No skin in this frame: forget, so a later frame starts fresh rather than being
            # judged against a stale tone.
            self.tone = None
        elif self.tone is None or self.tone.distance(new) > self.reset_at:
            self.tone = new
        else:
            self.tone = self.tone.blend(new, self.smoothing)
        return self.tone
