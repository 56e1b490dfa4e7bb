"""Generated skin-toned moving limbs with tattoos and distractors, and their ground truth.

Used by bench/tattoo_bench.py and by tests/detect/test_tattoos.py. Pure numpy/OpenCV, seeded,
nothing read from disk.

Skin is drawn as a limb (a band across the frame) of one of the six Fitzpatrick tones, with
low-frequency blotches, cylinder shading and camera noise. Ink and pigment are applied the way
they look through skin: multiplicatively (pixel = skin * (1 - alpha + alpha * T), T a per-channel
transmittance), so the same ink is lower in absolute contrast on darker skin, as in life.

Every mark is also written into a label image, warped with the limb, so that each output frame
comes with exact ground-truth masks:

- tattoos: black line art, coloured (red/green fill with black outline), script text, faded
  (old blue-green ink at low alpha, blurred);
- distractors: moles, freckles, hair, veins, a soft moving shadow, a clothing sleeve, and a dark
  irregular lesion that the clinician protects with a keep box.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np

# Typical skin colours, BGR, for Fitzpatrick I..VI (from published colorimetry of skin types,
# rounded; what matters here is the spread from pale pink to dark brown with low chroma).
FITZPATRICK_BGR: dict[int, tuple[int, int, int]] = {
    1: (196, 214, 242),
    2: (162, 190, 232),
    3: (125, 160, 210),
    4: (86, 121, 172),
    5: (55, 82, 122),
    6: (38, 50, 76),
}

TATTOO_KINDS = ("line_art", "coloured", "script", "faded")
DISTRACTOR_KINDS = ("mole", "freckles", "hair", "veins", "shadow", "clothing")

# Label values in the ground-truth image.
L_BG, L_SKIN = 0, 30
L_TATTOO = {k: i + 1 for i, k in enumerate(TATTOO_KINDS)}
L_DISTRACTOR = {"mole": 10, "freckles": 11, "hair": 12, "veins": 13, "clothing": 15}
L_LESION = 14

# Transmittances (BGR): what fraction of the light the mark lets through, per channel.
T_BLACK_INK = (0.30, 0.24, 0.20)  # carbon ink under the epidermis looks blue-black
T_RED_INK = (0.30, 0.28, 0.85)
T_GREEN_INK = (0.45, 0.62, 0.22)
T_FADED_INK = (0.62, 0.58, 0.45)  # old ink drifts towards blue-green-grey
T_MOLE = (0.45, 0.55, 0.68)  # brown: darker, same hue as skin
T_FRECKLE = (0.70, 0.78, 0.90)
T_HAIR = (0.35, 0.35, 0.38)
T_VEIN = (0.97, 0.86, 0.82)  # a bluish tint: less red and green
T_LESION = (0.25, 0.30, 0.42)  # dark brown-black, irregular: the clinical subject


@dataclass(frozen=True)
class SceneSpec:
    tone: int  # Fitzpatrick 1..6
    width: int = 1280
    height: int = 720
    frames: int = 30
    seed: int = 0
    layout: str = "closeup"  # "closeup": the limb fills the frame; "arm": a forearm on a drape
    tattoos: tuple[str, ...] = TATTOO_KINDS
    distractors: tuple[str, ...] = DISTRACTOR_KINDS
    lesion: bool = True
    motion: float = 1.0  # scales the sway
    faded_alpha: float = 0.55  # ink density of the faded tattoo (lower: fainter)


@dataclass
class SynthFrame:
    index: int
    image: np.ndarray  # HxWx3 uint8 BGR
    labels: np.ndarray  # HxW uint8 (see L_* above)
    shadow: np.ndarray  # HxW bool: skin darkened by the moving shadow by more than 15%
    keep: tuple[tuple[int, int, int, int], ...] = field(default_factory=tuple)  # x, y, w, h

    def tattoo_mask(self, kind: str | None = None) -> np.ndarray:
        if kind is not None:
            return self.labels == L_TATTOO[kind]
        return (self.labels >= 1) & (self.labels <= len(TATTOO_KINDS))

    def distractor_mask(self, kind: str) -> np.ndarray:
        if kind == "shadow":
            return self.shadow
        return self.labels == L_DISTRACTOR[kind]

    def lesion_mask(self) -> np.ndarray:
        return self.labels == L_LESION

    def tattoo_zone(self, pad: float = 0.25) -> np.ndarray:
        """Each tattoo's box grown by ``pad`` of its size on each side (plus 4 pixels): the skin
        that redacting the tattoo necessarily covers, left out of false-positive counts."""
        zone = np.zeros(self.labels.shape, bool)
        h, w = zone.shape
        for kind in TATTOO_KINDS:
            ys, xs = np.nonzero(self.tattoo_mask(kind))
            if xs.size == 0:
                continue
            x1, x2, y1, y2 = xs.min(), xs.max(), ys.min(), ys.max()
            px, py = int((x2 - x1) * pad) + 4, int((y2 - y1) * pad) + 4
            zone[max(0, y1 - py) : min(h, y2 + py), max(0, x1 - px) : min(w, x2 + px)] = True
        return zone


def _apply(sheet: np.ndarray, alpha: np.ndarray, t: tuple[float, float, float]) -> None:
    a = alpha[..., None]
    sheet *= 1.0 - a + a * np.asarray(t, np.float32)


class _Painter:
    """Draws marks on the sheet (colour) and the label image at once."""

    def __init__(self, sheet: np.ndarray, labels: np.ndarray, unit: float) -> None:
        self.sheet, self.labels, self.unit = sheet, labels, unit
        self.h, self.w = labels.shape

    def mark(
        self, mask: np.ndarray, t: tuple[float, float, float], alpha: float, label: int, blur: float
    ) -> None:
        m = mask.astype(np.float32)
        if blur > 0:
            m = cv2.GaussianBlur(m, (0, 0), blur)
        _apply(self.sheet, np.clip(m * alpha, 0, 1), t)
        self.labels[mask > 0] = label

    def blank(self) -> np.ndarray:
        return np.zeros((self.h, self.w), np.uint8)


def _line_art(p: _Painter, cx: int, cy: int, r: int, thick: int) -> np.ndarray:
    m = p.blank()
    cv2.circle(m, (cx, cy), r, 255, thick, cv2.LINE_AA)
    pts = [
        (cx + int(0.85 * r * np.cos(a)), cy + int(0.85 * r * np.sin(a)))
        for a in np.linspace(-np.pi / 2, 3.5 * np.pi, 6)[:-1]
    ]
    for i in range(5):
        cv2.line(m, pts[i], pts[(i + 2) % 5], 255, thick, cv2.LINE_AA)
    # Flourishes outside the circle: line art is rarely one closed shape.
    for s in (-1, 1):
        curve = np.array(
            [
                (cx + s * (r + int(k * r * 0.08)), cy + int(r * 0.6 * np.sin(k / 3.0)))
                for k in range(9)
            ],
            np.int32,
        )
        cv2.polylines(m, [curve], False, 255, max(1, thick - 1), cv2.LINE_AA)
    return m > 96


def _coloured(p: _Painter, cx: int, cy: int, r: int, thick: int) -> list[tuple[np.ndarray, tuple]]:
    heart = p.blank()
    pts = np.array(
        [
            (
                cx + int(r * 16 * np.sin(t) ** 3 / 17),
                cy
                - int(
                    r
                    * (13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
                    / 17
                ),
            )
            for t in np.linspace(0, 2 * np.pi, 60)
        ],
        np.int32,
    )
    cv2.fillPoly(heart, [pts], 255, cv2.LINE_AA)
    leaf = p.blank()
    cv2.ellipse(
        leaf,
        (cx + int(1.1 * r), cy + int(0.5 * r)),
        (int(0.7 * r), int(0.3 * r)),
        30,
        0,
        360,
        255,
        -1,
        cv2.LINE_AA,
    )
    outline = p.blank()
    cv2.polylines(outline, [pts], True, 255, thick, cv2.LINE_AA)
    cv2.ellipse(
        outline,
        (cx + int(1.1 * r), cy + int(0.5 * r)),
        (int(0.7 * r), int(0.3 * r)),
        30,
        0,
        360,
        255,
        max(1, thick - 1),
        cv2.LINE_AA,
    )
    return [(heart > 96, T_RED_INK), (leaf > 96, T_GREEN_INK), (outline > 96, T_BLACK_INK)]


def _script(p: _Painter, x: int, y: int, scale: float, thick: int) -> np.ndarray:
    m = p.blank()
    cv2.putText(
        m, "Forever", (x, y), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, scale, 255, thick, cv2.LINE_AA
    )
    return m > 96


def _faded(p: _Painter, cx: int, cy: int, r: int, thick: int) -> np.ndarray:
    m = p.blank()
    # An anchor: shank, stock, arms.
    cv2.line(m, (cx, cy - r), (cx, cy + r), 255, thick, cv2.LINE_AA)
    cv2.line(
        m,
        (cx - r // 2, cy - int(0.6 * r)),
        (cx + r // 2, cy - int(0.6 * r)),
        255,
        thick,
        cv2.LINE_AA,
    )
    cv2.ellipse(
        m,
        (cx, cy + int(0.3 * r)),
        (int(0.7 * r), int(0.7 * r)),
        0,
        20,
        160,
        255,
        thick,
        cv2.LINE_AA,
    )
    cv2.circle(m, (cx, cy - r - int(0.15 * r)), int(0.15 * r), 255, thick, cv2.LINE_AA)
    return m > 96


@dataclass(frozen=True)
class _Layout:
    band: tuple[float, float]  # limb top and bottom, fractions of the sheet height
    scale: float  # size of the marks relative to the close-up


LAYOUTS = {"closeup": _Layout((0.02, 0.98), 1.0), "arm": _Layout((0.25, 0.78), 0.6)}


class Scene:
    """One generated clip: ``frames()`` yields SynthFrame; ``keep`` is the protected box."""

    def __init__(self, spec: SceneSpec) -> None:
        self.spec = spec
        self.rng = np.random.default_rng(spec.seed * 101 + spec.tone)
        w, h = spec.width, spec.height
        self.margin = int(0.08 * max(w, h))
        sw, sh = w + 2 * self.margin, h + 2 * self.margin
        lay = LAYOUTS[spec.layout]
        unit = h * lay.scale  # marks are sized from the frame height
        self.unit = unit
        sheet = np.empty((sh, sw, 3), np.float32)
        labels = np.zeros((sh, sw), np.uint8)
        self._draw_background(sheet)
        y0 = self.margin + int(lay.band[0] * h)
        y1 = self.margin + int(lay.band[1] * h)
        self._draw_limb(sheet, labels, y0, y1)
        p = _Painter(sheet, labels, unit)
        self.zones: list[tuple[int, int, int, int]] = []  # tattoo/lesion areas distractors avoid
        self._draw_tattoos(p, y0, y1)
        self.lesion_box = self._draw_lesion(p, y0, y1) if spec.lesion else None
        self._draw_distractors(p, y0, y1)
        self.sheet, self.labels = sheet, labels
        self.keep = self._keep_box()

    # --- drawing --------------------------------------------------------------------------------

    def _draw_background(self, sheet: np.ndarray) -> None:
        sheet[:] = (120, 78, 40)  # a blue-green drape
        noise = self.rng.normal(0, 1, (sheet.shape[0] // 16 + 1, sheet.shape[1] // 16 + 1))
        tex = cv2.resize(noise.astype(np.float32), (sheet.shape[1], sheet.shape[0]))
        sheet *= (1 + 0.06 * tex)[..., None]

    def _draw_limb(self, sheet: np.ndarray, labels: np.ndarray, y0: int, y1: int) -> None:
        sh, sw = labels.shape
        limb = np.zeros((sh, sw), np.uint8)
        # Slightly tapering band (a forearm), rounded edges.
        taper = int(0.04 * (y1 - y0))
        pts = np.array([(0, y0), (sw, y0 + taper), (sw, y1 - taper), (0, y1)], np.int32)
        cv2.fillPoly(limb, [pts], 255, cv2.LINE_AA)
        skin = np.asarray(FITZPATRICK_BGR[self.spec.tone], np.float32)
        # Cylinder shading across the limb, and low-frequency blotches of +-4%.
        yy = (np.arange(sh, dtype=np.float32) - (y0 + y1) / 2) / max((y1 - y0) / 2, 1)
        shade = 0.72 + 0.33 * np.sqrt(np.clip(1 - yy**2 * 0.85, 0, 1))
        blot = self.rng.normal(0, 1, (sh // 40 + 1, sw // 40 + 1)).astype(np.float32)
        blot = cv2.resize(blot, (sw, sh), interpolation=cv2.INTER_CUBIC)
        colour = skin[None, None, :] * shade[:, None, None] * (1 + 0.04 * blot)[..., None]
        a = (limb.astype(np.float32) / 255)[..., None]
        sheet[:] = sheet * (1 - a) + colour * a
        labels[limb > 127] = L_SKIN

    def _draw_tattoos(self, p: _Painter, y0: int, y1: int) -> None:
        u, m, sw = self.unit, self.margin, p.w
        band = y1 - y0
        thick = max(2, round(0.0075 * u))
        W = sw - 2 * m

        def at(fx: float, fy: float) -> tuple[int, int]:
            return m + int(fx * W), y0 + int(fy * band)

        kinds = self.spec.tattoos
        if "line_art" in kinds:
            cx, cy = at(0.24, 0.36)
            r = int(0.13 * u)
            mask = _line_art(p, cx, cy, r, thick)
            p.mark(mask, T_BLACK_INK, 0.92, L_TATTOO["line_art"], 0.8)
            self._zone(mask)
        if "coloured" in kinds:
            cx, cy = at(0.46, 0.64)
            r = int(0.10 * u)
            parts = _coloured(p, cx, cy, r, thick)
            union = np.zeros_like(parts[0][0])
            for mask, t in parts:
                p.mark(mask, t, 0.9, L_TATTOO["coloured"], 0.8)
                union |= mask
            self._zone(union)
        if "script" in kinds:
            x, y = at(0.52, 0.33)
            mask = _script(p, x, y, 0.0042 * u, max(2, round(0.006 * u)))
            p.mark(mask, T_BLACK_INK, 0.88, L_TATTOO["script"], 0.7)
            self._zone(mask)
        if "faded" in kinds:
            cx, cy = at(0.86, 0.50)
            r = int(0.14 * u)
            mask = _faded(p, cx, cy, r, thick + 1)
            p.mark(mask, T_FADED_INK, self.spec.faded_alpha, L_TATTOO["faded"], 1.6)
            self._zone(mask)

    def _zone(self, mask: np.ndarray, pad: float = 0.3) -> None:
        ys, xs = np.nonzero(mask)
        if xs.size == 0:
            return
        x1, x2, y1, y2 = xs.min(), xs.max(), ys.min(), ys.max()
        px, py = int((x2 - x1) * pad) + 10, int((y2 - y1) * pad) + 10
        self.zones.append((x1 - px, y1 - py, x2 + px, y2 + py))

    def _free(self, x: float, y: float) -> bool:
        return not any(a <= x <= c and b <= y <= d for a, b, c, d in self.zones)

    def _draw_lesion(self, p: _Painter, y0: int, y1: int) -> tuple[int, int, int, int]:
        u, m = self.unit, self.margin
        cx = m + int(0.25 * (p.w - 2 * m))
        cy = y0 + int(0.74 * (y1 - y0))
        mask = p.blank()
        for _ in range(5):  # irregular: a union of offset ellipses
            ox, oy = self.rng.normal(0, 0.012 * u, 2)
            ax, ay = self.rng.uniform(0.02, 0.035, 2) * u
            cv2.ellipse(
                mask,
                (int(cx + ox), int(cy + oy)),
                (int(ax), int(ay)),
                float(self.rng.uniform(0, 180)),
                0,
                360,
                255,
                -1,
                cv2.LINE_AA,
            )
        mask = mask > 96
        p.mark(mask, T_LESION, 0.95, L_LESION, 1.5)
        self._zone(mask, 0.2)
        ys, xs = np.nonzero(mask)
        return int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())

    def _scatter(self, n: int, y0: int, y1: int) -> Iterator[tuple[int, int]]:
        m = self.margin
        got, tries = 0, 0
        while got < n and tries < n * 50:
            tries += 1
            x = int(self.rng.uniform(m + 0.02 * self.spec.width, m + 0.98 * self.spec.width))
            y = int(self.rng.uniform(y0 + 0.1 * (y1 - y0), y1 - 0.1 * (y1 - y0)))
            if self._free(x, y):
                got += 1
                yield x, y

    def _draw_distractors(self, p: _Painter, y0: int, y1: int) -> None:
        u, kinds = self.unit, self.spec.distractors
        if "veins" in kinds:
            mask = p.blank()
            for _ in range(3):
                x = int(self.rng.uniform(0.2, 0.8) * p.w)
                y = int(self.rng.uniform(y0 + 0.2 * (y1 - y0), y1 - 0.2 * (y1 - y0)))
                pts = [
                    (x + int(k * 0.03 * u), y + int(0.04 * u * np.sin(k / 4.0))) for k in range(14)
                ]
                # Only the runs of the curve that stay clear of the tattoos: the benchmark
                # measures veins as distractors, not veins merged into a tattoo.
                runs: list[list[tuple[int, int]]] = [[]]
                for pt in pts:
                    if self._free(*pt):
                        runs[-1].append(pt)
                    elif runs[-1]:
                        runs.append([])
                for run in runs:
                    if len(run) > 1:
                        cv2.polylines(
                            mask,
                            [np.array(run, np.int32)],
                            False,
                            255,
                            max(2, round(0.007 * u)),
                            cv2.LINE_AA,
                        )
            p.mark(mask > 96, T_VEIN, 0.7, L_DISTRACTOR["veins"], 2.0)
        if "freckles" in kinds:
            mask = p.blank()
            for x, y in self._scatter(60, y0, y1):
                cv2.circle(
                    mask,
                    (x, y),
                    max(1, round(self.rng.uniform(0.002, 0.004) * u)),
                    255,
                    -1,
                    cv2.LINE_AA,
                )
            p.mark(mask > 96, T_FRECKLE, 0.6, L_DISTRACTOR["freckles"], 0.8)
        if "mole" in kinds:
            mask = p.blank()
            for x, y in self._scatter(5, y0, y1):
                r = self.rng.uniform(0.006, 0.014) * u
                cv2.ellipse(
                    mask,
                    (x, y),
                    (int(r), int(r * self.rng.uniform(0.75, 1.0))),
                    float(self.rng.uniform(0, 180)),
                    0,
                    360,
                    255,
                    -1,
                    cv2.LINE_AA,
                )
            p.mark(mask > 96, T_MOLE, 0.9, L_DISTRACTOR["mole"], 1.0)
        if "hair" in kinds:
            mask = p.blank()
            for x, y in self._scatter(80, y0, y1):
                ang = self.rng.uniform(-0.5, 0.5)  # hairs lie along the limb
                length = self.rng.uniform(0.03, 0.06) * u
                bend = self.rng.uniform(-0.2, 0.2)
                pts = [
                    (
                        int(x + k / 8 * length * np.cos(ang + bend * k / 8)),
                        int(y + k / 8 * length * np.sin(ang + bend * k / 8)),
                    )
                    for k in range(9)
                ]
                cv2.polylines(mask, [np.array(pts, np.int32)], False, 255, 1, cv2.LINE_AA)
            p.mark(mask > 96, T_HAIR, 0.55, L_DISTRACTOR["hair"], 0.0)
        if "clothing" in kinds:
            # A sleeve over the left end of the limb: striped cloth, with a hard edge on the skin.
            sh, sw = p.h, p.w
            edge = self.margin + int(0.06 * self.spec.width)
            sleeve = np.zeros((sh, sw), np.uint8)
            pts = np.array(
                [
                    (0, y0 - int(0.05 * u)),
                    (edge, y0 - int(0.05 * u)),
                    (edge + int(0.03 * u), y1 + int(0.05 * u)),
                    (0, y1 + int(0.05 * u)),
                ],
                np.int32,
            )
            cv2.fillPoly(sleeve, [pts], 255)
            stripes = ((np.arange(sh)[:, None] // max(4, int(0.03 * u))) % 2).astype(np.float32)
            cloth = np.empty((sh, sw, 3), np.float32)
            cloth[:] = (60, 40, 150)  # a dark red sleeve with lighter stripes
            cloth *= (0.7 + 0.5 * stripes)[..., None]
            s = sleeve > 0
            p.sheet[s] = cloth[s]
            p.labels[s] = L_DISTRACTOR["clothing"]

    # --- motion -------------------------------------------------------------------------------

    def _affine(self, i: int) -> np.ndarray:
        """Sheet -> frame transform at frame i: a slow sway, a slight rotation."""
        s = self.spec
        t = i / max(s.frames, 1)
        ax, ay = 0.025 * s.width * s.motion, 0.02 * s.height * s.motion
        dx = ax * np.sin(2 * np.pi * t)
        dy = ay * np.sin(2 * np.pi * 1.5 * t + 0.7)
        ang = 1.5 * s.motion * np.sin(2 * np.pi * t + 1.3)
        cx, cy = self.sheet.shape[1] / 2, self.sheet.shape[0] / 2
        rot = cv2.getRotationMatrix2D((cx, cy), ang, 1.0)
        rot[0, 2] += dx - self.margin
        rot[1, 2] += dy - self.margin
        return rot

    def _keep_box(self) -> tuple[tuple[int, int, int, int], ...]:
        """The clinician's --keep box: the lesion's extent over the whole clip, plus a margin."""
        if self.lesion_box is None:
            return ()
        x1, y1, x2, y2 = self.lesion_box
        corners = np.array([[x1, y1, 1], [x2, y1, 1], [x1, y2, 1], [x2, y2, 1]], np.float64)
        xs, ys = [], []
        for i in range(self.spec.frames):
            c = corners @ self._affine(i).T
            xs += list(c[:, 0])
            ys += list(c[:, 1])
        pad = 0.01 * self.unit
        bx1, by1 = int(min(xs) - pad), int(min(ys) - pad)
        bx2, by2 = int(max(xs) + pad) + 1, int(max(ys) + pad) + 1
        return ((bx1, by1, bx2 - bx1, by2 - by1),)

    def frames(self) -> Iterator[SynthFrame]:
        s = self.spec
        noise_rng = np.random.default_rng(s.seed + 7)
        xx = np.arange(s.width, dtype=np.float32)[None, :]
        for i in range(s.frames):
            a = self._affine(i)
            img = cv2.warpAffine(
                self.sheet,
                a,
                (s.width, s.height),
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REFLECT,
            )
            lab = cv2.warpAffine(
                self.labels,
                a,
                (s.width, s.height),
                flags=cv2.INTER_NEAREST,
                borderMode=cv2.BORDER_REFLECT,
            )
            shadow = np.zeros((s.height, s.width), bool)
            if "shadow" in s.distractors:
                # A soft shadow (a gaussian band ~12% of the width) drifting across the limb.
                centre = (0.15 + 0.7 * i / max(s.frames - 1, 1)) * s.width
                sigma = 0.06 * s.width
                dark = 0.40 * np.exp(-((xx - centre) ** 2) / (2 * sigma**2))
                img *= (1 - dark)[..., None]
                shadow = np.broadcast_to(dark > 0.15, shadow.shape) & (lab == L_SKIN)
            img += noise_rng.normal(0, 2.0, img.shape).astype(np.float32)
            yield SynthFrame(i, np.clip(img, 0, 255).astype(np.uint8), lab, shadow, self.keep)


def green_drape(height: int, width: int) -> np.ndarray:
    """A folded green drape (float32 BGR): the even background a limb is photographed on."""
    yy, xx = np.mgrid[0:height, 0:width]
    fold = 70 + 30 * np.sin(xx / 23.0 + yy / 41.0)
    return np.stack([fold * 0.8, fold * 1.1, fold * 0.6], axis=-1).astype(np.float32)


def forearm_on_drape(
    height: int, width: int, tone: int, x0: int = 201, x1: int = 440
) -> np.ndarray:
    """A bare forearm crossing the frame top to bottom (columns x0..x1) on the green drape, in
    Fitzpatrick tone ``tone`` (float32 BGR): the limb the silhouette and portrait tests draw on."""
    img = green_drape(height, width)
    img[:, x0:x1] = np.asarray(FITZPATRICK_BGR[tone], np.float32)
    return img


def design_on_forearm(
    tone: int,
    colour: tuple[int, int, int],
    ink: tuple[slice, slice],
    strokes: list[np.ndarray],
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """A forearm crossing the green drape (480x640, ``forearm_on_drape``) with a shaded colour
    design filling ``ink`` (rows, columns) and black line work along ``strokes`` (polylines,
    3 px) inside it, plus sensor noise: the uint8 BGR picture and the design's mask. The large
    designs of the silhouette-pocket and limb-band tests."""
    rng = np.random.default_rng(seed)
    h, w = 480, 640
    yy, xx = np.mgrid[0:h, 0:w]
    img = forearm_on_drape(h, w, tone)
    mask = np.zeros((h, w), bool)
    mask[ink] = True
    shade = (0.3 + 0.3 * np.abs(np.sin(yy / 37.0 + xx / 53.0)))[..., None]
    blend = np.asarray(colour, np.float32) * (1 - shade) + img * shade
    img[mask] = blend[mask]
    lines = np.zeros((h, w), np.uint8)
    cv2.polylines(lines, [p.astype(np.int32) for p in strokes], False, 1, 3)
    stroke = (lines > 0) & mask
    img[stroke] = img[stroke] * 0.25 + np.asarray((30, 30, 35), np.float32) * 0.75
    img += rng.normal(0, 3.0, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8), mask


def plain_limb(tone: int, width: int = 640, height: int = 360, seed: int = 0) -> np.ndarray:
    """One frame of a limb with no marks at all (for 'finds nothing' tests)."""
    spec = SceneSpec(
        tone,
        width,
        height,
        frames=1,
        seed=seed,
        layout="arm",
        tattoos=(),
        distractors=(),
        lesion=False,
    )
    return next(Scene(spec).frames()).image


# Dermoscope light turns skin pink to mauve (hue angles near 0 degrees in CIE Lab), whatever the
# person's tone, and lifts it; the tone still sets how light and how saturated the field is.
_DERMOSCOPY_SKIN_BGR: dict[int, tuple[int, int, int]] = {
    1: (196, 184, 226),
    2: (182, 170, 218),
    3: (160, 150, 205),
    4: (136, 130, 182),
    5: (112, 108, 150),
    6: (88, 86, 118),
}


def dermoscopy_field(
    tone: int = 2,
    width: int = 600,
    height: int = 450,
    *,
    vignette: bool = True,
    lesion_frac: float = 0.22,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """A dermoscopy-like image: magnified skin with a pigmented lesion (a brown blob with a darker
    reticular network and globules) near the centre, a few hairs, and (``vignette``) the black
    surround of the dermoscope's round field of view. Returns (BGR image, lesion mask)."""
    rng = np.random.default_rng(seed)
    base = np.asarray(_DERMOSCOPY_SKIN_BGR[tone], np.float32)
    noise = cv2.resize(
        rng.normal(0, 1, (height // 12, width // 12)).astype(np.float32),
        (width, height),
        interpolation=cv2.INTER_CUBIC,
    )
    img = np.ones((height, width, 3), np.float32) * base * (1 + 0.04 * noise[..., None])
    # The lesion: an irregular blob (radius modulated by a few harmonics), brown, darker inside.
    cx, cy = width * (0.5 + rng.uniform(-0.06, 0.06)), height * (0.5 + rng.uniform(-0.06, 0.06))
    r0 = max(lesion_frac * min(width, height), 1e-3)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    ang = np.arctan2(yy - cy, xx - cx)
    wobble = 1 + sum(
        rng.uniform(0.03, 0.1) * np.cos(k * ang + rng.uniform(0, 6.3)) for k in (2, 3, 5)
    )
    rr = np.hypot(xx - cx, yy - cy) / (r0 * wobble)
    mask = (rr <= 1.0) & (lesion_frac > 0)
    alpha = np.clip((1.05 - rr) / 0.15, 0, 1) * (lesion_frac > 0)
    brown = np.asarray((40, 70, 120), np.float32) * (0.55 + 0.45 * (tone <= 3))
    img = img * (1 - 0.75 * alpha[..., None]) + brown * 0.75 * alpha[..., None]
    # Pigment network: a dark reticulum, and a few globules.
    net = (np.sin(xx / 5.5) * np.sin(yy / 5.0) > 0.55) & mask
    img[net] *= 0.7
    for _ in range(12 if lesion_frac > 0 else 0):
        gx, gy = cx + rng.uniform(-0.7, 0.7) * r0, cy + rng.uniform(-0.7, 0.7) * r0
        cv2.circle(img, (int(gx), int(gy)), int(rng.integers(3, 7)), (25, 35, 60), -1)
    # Hairs: thin dark curves across the field.
    for _ in range(5):
        pts = np.cumsum(rng.normal(0, 12, (8, 2)), axis=0) + rng.uniform(0, 1, 2) * (width, height)
        cv2.polylines(img, [pts.astype(np.int32)], False, (40, 45, 60), 1, cv2.LINE_AA)
    if vignette:
        rad = np.hypot(xx - width / 2, yy - height / 2) / (0.52 * width)
        img *= np.clip((1.0 - rad) / 0.03, 0, 1)[..., None]
    img += rng.normal(0, 2.0, img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8), mask
