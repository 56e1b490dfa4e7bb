"""Generated clinical scenes with identifying text, and their ground truth.

Used by bench/text_bench.py, tests/detect/test_text.py and scripts/make_sample_media.py. Pure
numpy/OpenCV/PIL, seeded, reads nothing from disk but consentclip's bundled DejaVu fonts.

A scene is skin from bench/skinsynth.py (a limb of one of the six Fitzpatrick tones, with moles,
freckles, hair and veins, and a dark irregular lesion: the clinical subject) with text objects
laid on it:

- ``label``: a record card beside the lesion (name, date of birth, record number), tilted;
- ``wristband``: a hospital band around the limb, moving with it;
- ``badge``: a clinician's name badge with a coloured header;
- ``screen``: a patient record open on a dark monitor.

Each line of text is drawn into a label image too, warped with the scene, so every frame comes
with exact ink masks per line, and the words a reader (tesseract) must not find afterwards.
Lighting (a gradient and a colour cast), blur and camera noise are applied last.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

_HERE = Path(__file__).resolve().parent
FONTS = _HERE.parent / "src" / "consentclip" / "consent" / "fonts"
OBJECT_KINDS = ("label", "wristband", "badge", "screen")

SURNAMES = ("KOWALSKI", "OKONKWO", "HENDERSON", "BRANDT", "MORALES", "LINDQVIST", "ABERNATHY")
GIVEN = ("Maria", "Jonathan", "Aisha", "Pieter", "Eleanor", "Tomasz", "Beatrice")


def _skinsynth():
    if "skinsynth" in sys.modules:
        return sys.modules["skinsynth"]
    spec = importlib.util.spec_from_file_location("skinsynth", _HERE / "skinsynth.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["skinsynth"] = module
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class TextSpec:
    objects: tuple[str, ...] = OBJECT_KINDS
    tone: int = 2  # Fitzpatrick 1..6 of the skin
    width: int = 1280
    height: int = 720
    frames: int = 1
    seed: int = 0
    angle: float = 8.0  # tilt of the label card and badge, degrees
    motion: float = 1.0  # sway of the whole scene (the arm moving); 0 for a still
    font: str = "sans"  # "sans", "bold", "hershey" (OpenCV's vector fonts)
    light: float = 0.0  # 0: even light; 1: strong gradient and a warm cast
    blur: float = 0.0  # Gaussian sigma in pixels at 1280 wide (focus or motion softness)
    scale: float = 1.0  # size of the text objects relative to the default


@dataclass
class TextLine:
    """One line of identifying text: its words, and which object it is on."""

    words: tuple[str, ...]
    obj: str
    label: int  # value in the frame's label image


@dataclass
class TextFrame:
    index: int
    image: np.ndarray  # HxWx3 uint8 BGR
    labels: np.ndarray  # HxW uint8: 0 nothing, line labels 1..n, LESION
    lines: list[TextLine]
    lesion_box: tuple[int, int, int, int] | None  # x1, y1, x2, y2 of the lesion in this frame
    keep: tuple[int, int, int, int] | None = None  # x, y, w, h: a keep box around the lesion

    def line_mask(self, line: TextLine) -> np.ndarray:
        return self.labels == line.label

    def line_box(self, line: TextLine) -> tuple[int, int, int, int] | None:
        ys, xs = np.nonzero(self.line_mask(line))
        if xs.size == 0:
            return None
        return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1

    def lesion_mask(self) -> np.ndarray:
        return self.labels == LESION


LESION = 250


def _font(kind: str, px: int) -> ImageFont.FreeTypeFont:
    name = "DejaVuSans-Bold.ttf" if kind == "bold" else "DejaVuSans.ttf"
    return ImageFont.truetype(str(FONTS / name), max(6, px))


class _Sheet:
    """An RGBA object (card, band, badge, screen) with its lines drawn into a label patch."""

    def __init__(self, w: int, h: int, colour: tuple[int, int, int], font: str) -> None:
        self.rgb = np.zeros((h, w, 3), np.uint8)
        self.rgb[:] = colour
        self.alpha = np.full((h, w), 255, np.uint8)
        self.labels = np.zeros((h, w), np.uint8)
        self.font = font

    def text(
        self, xy: tuple[int, int], s: str, px: int, ink: tuple[int, int, int], label: int
    ) -> None:
        """Draw ``s`` with its top-left at ``xy``, ``px`` high; record its ink as ``label``."""
        h, w = self.labels.shape
        ink_mask = np.zeros((h, w), np.uint8)
        if self.font == "hershey":
            face = cv2.FONT_HERSHEY_DUPLEX if label % 2 else cv2.FONT_HERSHEY_SIMPLEX
            scale = px / 30.0
            thick = max(1, round(px / 14))
            (_, th), _ = cv2.getTextSize(s, face, scale, thick)
            cv2.putText(ink_mask, s, (xy[0], xy[1] + th), face, scale, 255, thick, cv2.LINE_AA)
        else:
            img = Image.fromarray(ink_mask)
            ImageDraw.Draw(img).text(xy, s, fill=255, font=_font(self.font, px))
            ink_mask = np.asarray(img).copy()
        a = (ink_mask.astype(np.float32) / 255.0)[..., None]
        self.rgb[:] = (self.rgb * (1 - a) + np.asarray(ink, np.float32) * a).astype(np.uint8)
        self.labels[ink_mask > 100] = label

    def rect(self, x1: int, y1: int, x2: int, y2: int, colour: tuple[int, int, int]) -> None:
        self.rgb[y1:y2, x1:x2] = colour


def _name(rng: np.random.Generator) -> tuple[str, str]:
    return str(rng.choice(SURNAMES)), str(rng.choice(GIVEN))


class TextScene:
    """A still composition, moved per frame by a sway (the limb moving under the camera)."""

    def __init__(self, spec: TextSpec) -> None:
        self.spec = spec
        self.rng = np.random.default_rng(spec.seed)
        ss = _skinsynth()
        base = ss.SceneSpec(
            spec.tone,
            spec.width,
            spec.height,
            frames=1,
            seed=spec.seed,
            layout="closeup",
            tattoos=(),
            distractors=("mole", "freckles", "hair", "veins"),
            lesion=True,
            motion=0.0,
        )
        first = next(ss.Scene(base).frames())
        self.image = first.image.astype(np.float32)
        self.labels = np.zeros(first.labels.shape, np.uint8)
        self.labels[first.lesion_mask()] = LESION
        self.lines: list[TextLine] = []
        self.unit = min(spec.width, spec.height) * spec.scale
        for obj in spec.objects:
            getattr(self, f"_{obj}")()

    # --- objects ------------------------------------------------------------------------------

    def _place(self, sheet: _Sheet, cx: float, cy: float, angle: float) -> None:
        """Rotate the sheet by ``angle`` about its centre and paste it centred at (cx, cy)."""
        h, w = sheet.labels.shape
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        m[:, 2] += (cx - w / 2, cy - h / 2)
        size = (self.spec.width, self.spec.height)
        rgb = cv2.warpAffine(sheet.rgb, m, size, flags=cv2.INTER_LINEAR)
        alpha = cv2.warpAffine(sheet.alpha, m, size, flags=cv2.INTER_LINEAR)
        labels = cv2.warpAffine(sheet.labels, m, size, flags=cv2.INTER_NEAREST)
        # A card casts a soft shadow on the skin.
        shadow = cv2.GaussianBlur(alpha.astype(np.float32) / 255.0, (0, 0), 0.01 * self.unit)
        shadow = np.roll(shadow, (int(0.008 * self.unit), int(0.008 * self.unit)), (0, 1))
        self.image *= (1.0 - 0.35 * shadow)[..., None]
        a = (alpha.astype(np.float32) / 255.0)[..., None]
        self.image = self.image * (1 - a) + rgb.astype(np.float32) * a
        self.labels[alpha > 128] = 0  # whatever the object covers is no longer visible
        self.labels[labels > 0] = labels[labels > 0]

    def _new_line(self, words: str, obj: str) -> int:
        label = len(self.lines) + 1
        self.lines.append(TextLine(tuple(words.replace(",", " ").split()), obj, label))
        return label

    def _label(self) -> None:
        u = self.unit
        w, h = int(0.62 * u), int(0.30 * u)
        sheet = _Sheet(w, h, (238, 242, 244), self.spec.font)
        sur, giv = _name(self.rng)
        px = int(0.055 * u)
        r = self.rng.integers
        dob = f"DOB {r(1, 28):02d}/{r(1, 12):02d}/19{r(40, 99)}"
        mrn = f"MRN {self.rng.integers(1000000, 9999999)}"
        sheet.text(
            (int(0.05 * w), int(0.10 * h)),
            f"{sur}, {giv}",
            px,
            (30, 30, 30),
            self._new_line(f"{sur} {giv}", "label"),
        )
        sheet.text(
            (int(0.05 * w), int(0.42 * h)),
            dob,
            int(px * 0.85),
            (40, 40, 40),
            self._new_line(dob, "label"),
        )
        sheet.text(
            (int(0.05 * w), int(0.70 * h)),
            mrn,
            int(px * 0.85),
            (40, 40, 40),
            self._new_line(mrn, "label"),
        )
        self._place(sheet, 0.58 * self.spec.width, 0.76 * self.spec.height, self.spec.angle)

    def _wristband(self) -> None:
        u = self.unit
        w, h = int(1.25 * u), int(0.10 * u)
        sheet = _Sheet(w, h, (250, 250, 250), self.spec.font)
        sur, giv = _name(self.rng)
        r = self.rng.integers
        s = f"{sur}, {giv}  NHS {r(100, 999)} {r(100, 999)} {r(1000, 9999)}"
        sheet.text(
            (int(0.04 * w), int(0.22 * h)),
            s,
            int(0.55 * h),
            (20, 20, 20),
            self._new_line(s, "wristband"),
        )
        # The band goes round the limb: nearly perpendicular to it, across the frame's height.
        self._place(sheet, 0.87 * self.spec.width, 0.50 * self.spec.height, 84.0)

    def _badge(self) -> None:
        u = self.unit
        w, h = int(0.42 * u), int(0.24 * u)
        sheet = _Sheet(w, h, (245, 245, 245), self.spec.font)
        sheet.rect(0, 0, w, int(0.30 * h), (140, 70, 20))
        sur, giv = _name(self.rng)
        s = f"Dr {giv[0]}. {sur.title()}"
        sheet.text(
            (int(0.06 * w), int(0.42 * h)),
            s,
            int(0.20 * h),
            (25, 25, 25),
            self._new_line(s, "badge"),
        )
        ward = "Dermatology"
        sheet.text(
            (int(0.06 * w), int(0.72 * h)),
            ward,
            int(0.14 * h),
            (60, 60, 60),
            self._new_line(ward, "badge"),
        )
        self._place(sheet, 0.13 * self.spec.width, 0.24 * self.spec.height, -self.spec.angle)

    def _screen(self) -> None:
        u = self.unit
        w, h = int(0.75 * u), int(0.42 * u)
        sheet = _Sheet(w, h, (40, 32, 28), "sans" if self.spec.font == "bold" else self.spec.font)
        sur, giv = _name(self.rng)
        r = self.rng.integers
        rows = (
            f"PATIENT {sur}, {giv}",
            f"DOB 19{r(40, 99)}-0{r(1, 9)}-1{r(0, 9)}",
            f"Hospital no. {self.rng.integers(100000, 999999)}",
            "Dx: basal cell carcinoma",
        )
        px = int(0.085 * h)
        for i, row in enumerate(rows):
            sheet.text(
                (int(0.05 * w), int((0.10 + 0.21 * i) * h)),
                row,
                px,
                (225, 235, 240),
                self._new_line(row, "screen"),
            )
        self._place(sheet, 0.50 * self.spec.width, 0.27 * self.spec.height, 0.0)

    # --- frames -------------------------------------------------------------------------------

    def _affine(self, i: int) -> np.ndarray:
        s = self.spec
        t = i / 30.0
        angle = 6.0 * s.motion * np.sin(2 * np.pi * t / 2.2)
        dx = 0.05 * s.width * s.motion * np.sin(2 * np.pi * t / 1.7)
        dy = 0.03 * s.height * s.motion * np.sin(2 * np.pi * t / 2.9 + 1.0)
        m = cv2.getRotationMatrix2D((s.width / 2, s.height / 2), angle, 1.0)
        m[:, 2] += (dx, dy)
        return m

    def _light(self, img: np.ndarray) -> np.ndarray:
        s = self.spec
        if s.light <= 0:
            return img
        h, w = img.shape[:2]
        gx = np.linspace(1.0 - 0.45 * s.light, 1.0 + 0.1 * s.light, w, dtype=np.float32)
        gy = np.linspace(1.0 + 0.05 * s.light, 1.0 - 0.25 * s.light, h, dtype=np.float32)
        cast = np.array([1.0 - 0.18 * s.light, 1.0, 1.0 + 0.06 * s.light], np.float32)
        return img * (gy[:, None] * gx[None, :])[..., None] * cast

    def frames(self) -> Iterator[TextFrame]:
        s = self.spec
        noise_rng = np.random.default_rng(s.seed + 1000)
        size = (s.width, s.height)
        for i in range(s.frames):
            m = self._affine(i)
            img = cv2.warpAffine(
                self.image, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
            )
            lab = cv2.warpAffine(
                self.labels, m, size, flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT
            )
            img = self._light(img)
            if s.blur > 0:
                img = cv2.GaussianBlur(img, (0, 0), s.blur * s.width / 1280)
            img = img + noise_rng.normal(0, 2.5, img.shape).astype(np.float32)
            ys, xs = np.nonzero(lab == LESION)
            lesion = (
                (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
                if xs.size
                else None
            )
            keep = None
            if lesion is not None:
                pad = int(0.03 * self.unit)
                keep = (
                    lesion[0] - pad,
                    lesion[1] - pad,
                    lesion[2] - lesion[0] + 2 * pad,
                    lesion[3] - lesion[1] + 2 * pad,
                )
            yield TextFrame(i, np.clip(img, 0, 255).astype(np.uint8), lab, self.lines, lesion, keep)


def still(spec: TextSpec) -> TextFrame:
    """The first frame of a scene (photos)."""
    return next(TextScene(spec).frames())


__all__ = ["OBJECT_KINDS", "TextFrame", "TextLine", "TextScene", "TextSpec", "still"]


# --- an independent reader ----------------------------------------------------------------------


def normalise(word: str) -> str:
    return "".join(ch for ch in word.upper() if ch.isalnum())


def identifying_words(lines: list[TextLine]) -> set[str]:
    """The words a reader must not find afterwards: 3+ letters or digits (names, dates, numbers;
    "Dr" or "no." identify nobody)."""
    return {n for line in lines for w in line.words if len(n := normalise(w)) >= 3}


def tesseract_words(
    image: np.ndarray, psm: int = 11, min_conf: float = 0.0
) -> list[tuple[str, tuple[int, int, int, int]]]:
    """Words tesseract reads in ``image`` (BGR), with their boxes (x, y, w, h); [] when tesseract
    is not installed. ``psm`` 11 is sparse scene text, 6 a block."""
    import shutil
    import subprocess

    exe = shutil.which("tesseract")
    if exe is None:
        return []
    ok, png = cv2.imencode(".png", image)
    assert ok
    run = subprocess.run(
        [exe, "stdin", "stdout", "--psm", str(psm), "-l", "eng", "tsv"],
        input=png.tobytes(),
        capture_output=True,
        check=False,
    )
    out = []
    for row in run.stdout.decode(errors="replace").splitlines()[1:]:
        parts = row.split("\t")
        if len(parts) < 12 or not parts[11].strip():
            continue
        try:
            conf = float(parts[10])
        except ValueError:
            continue
        if conf < min_conf:
            continue
        x, y, w, h = (int(v) for v in parts[6:10])
        out.append((parts[11].strip(), (x, y, w, h)))
    return out


def words_read(
    image: np.ndarray,
    wanted: set[str],
    crops: Sequence[tuple[int, int, int, int]] = (),
    *,
    whole: bool = True,
    psms: tuple[int, ...] = (6, 11),
) -> set[str]:
    """Which of ``wanted`` tesseract finds in the whole image, or in any crop (x1, y1, x2, y2)
    enlarged twice and read as a block and as sparse text (an upright band also turned): the
    reader gets every chance a person copying the name would have."""
    found = {normalise(w) for w, _ in tesseract_words(image)} if whole else set()
    h, w = image.shape[:2]
    for x1, y1, x2, y2 in crops:
        x1, y1, x2, y2 = max(0, x1), max(0, y1), min(w, x2), min(h, y2)
        if x2 - x1 < 8 or y2 - y1 < 8:
            continue
        crop = cv2.resize(image[y1:y2, x1:x2], None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
        if (x2 - x1) < (y2 - y1):  # an upright band: read it turned
            crop = cv2.rotate(crop, cv2.ROTATE_90_CLOCKWISE)
        for psm in psms:
            found |= {normalise(t) for t, _ in tesseract_words(crop, psm)}
    return {w for w in wanted if w in found}


def object_crops(frame: TextFrame, grow: float = 0.15) -> list[tuple[int, int, int, int]]:
    """One crop per text object around all its lines (x1, y1, x2, y2)."""
    crops = []
    for obj in sorted({line.obj for line in frame.lines}):
        boxes = [b for line in frame.lines if line.obj == obj and (b := frame.line_box(line))]
        if not boxes:
            continue
        x1, y1 = min(b[0] for b in boxes), min(b[1] for b in boxes)
        x2, y2 = max(b[2] for b in boxes), max(b[3] for b in boxes)
        gx, gy = int((x2 - x1) * grow) + 8, int((y2 - y1) * grow) + 8
        crops.append((x1 - gx, y1 - gy, x2 + gx, y2 + gy))
    return crops
