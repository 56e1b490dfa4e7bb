"""Simulated paper: hand strokes on a printed consent form, and how a scanner or phone sees it.

Shared by bench/scan_signatures.py and the tests. Strokes are random pen paths (smooth curves of
a few loops, like a signature or initials) drawn into the fields the form's layout reports.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pypdfium2 as pdfium

from consentclip.consent.pdf import FormLayout


@dataclass(frozen=True)
class Pen:
    darkness: int = 200  # how far below white the ink is (255 = black)
    width: float = 2.2  # stroke width, in points


BALLPOINT = Pen(200, 1.6)
FAINT = Pen(70, 0.8)  # a pen running dry / very light pressure


def render(pdf: bytes, dpi: int) -> list[np.ndarray]:
    doc = pdfium.PdfDocument(pdf)
    try:
        return [
            np.array(doc[i].render(scale=dpi / 72, grayscale=True).to_pil().convert("L"))
            for i in range(len(doc))
        ]
    finally:
        doc.close()


def scribble(
    page: np.ndarray,
    box: tuple[float, float, float, float],
    dpi: int,
    rng: np.random.Generator,
    pen: Pen = BALLPOINT,
    initials: bool = False,
) -> None:
    """A signature-like path across most of ``box`` (points, top-left origin), drawn in place."""
    s = dpi / 72
    x0, y0, x1, y1 = (v * s for v in box)
    w, h = x1 - x0, y1 - y0
    n = 2 if initials else int(rng.integers(3, 6))
    t = np.linspace(0, 1, 120 * n)
    xs = x0 + w * (0.15 + 0.7 * t)
    phase = rng.uniform(0, 2 * np.pi, 3)
    ys = y0 + h * (
        0.5
        + 0.3 * np.sin(2 * np.pi * n * t + phase[0])
        + 0.08 * np.sin(2 * np.pi * 3 * n * t + phase[1])
    )
    xs = xs + w * 0.06 * np.sin(2 * np.pi * 2 * n * t + phase[2])
    pts = np.stack([xs, ys], axis=1).astype(np.int32)
    thickness = max(1, round(pen.width * s))
    cv2.polylines(page, [pts], False, int(255 - pen.darkness), thickness, cv2.LINE_AA)


def sign(
    pages: list[np.ndarray],
    layout: FormLayout,
    fields: list[tuple[str, str]],
    dpi: int,
    rng: np.random.Generator,
    pen: Pen = BALLPOINT,
) -> None:
    for kind, key in fields:
        spot = layout.field(kind, key)
        assert spot is not None, (kind, key)
        scribble(pages[spot.page - 1], spot.box, dpi, rng, pen, initials=kind == "initials")


def flatbed(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A scanner: a slight turn and shift, a little noise, JPEG 85."""
    h, w = page.shape
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), float(rng.uniform(-1.5, 1.5)), 1.0)
    turn[:, 2] += rng.uniform(-15, 15, 2)
    out = cv2.warpAffine(page, turn, (w, h), borderValue=255).astype(np.float32)
    out += rng.normal(0, 3, out.shape)
    return _jpeg(out, 85)


def phone(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A phone photo: the page in perspective on a darker desk, a shadow across it, uneven
    light, slight blur, grain, JPEG 75. The photo is 1.3x the page's pixel size."""
    h, w = page.shape
    big_w, big_h = int(w * 1.3), int(h * 1.3)
    ox, oy = (big_w - w) / 2, (big_h - h) / 2
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    jitter = rng.uniform(-0.07, 0.07, (4, 2)) * [w, h]
    dst = (src + np.float32([ox, oy]) + jitter).astype(np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst)
    photo = cv2.warpPerspective(page, matrix, (big_w, big_h), borderValue=90).astype(np.float32)
    yy, xx = np.mgrid[0:big_h, 0:big_w].astype(np.float32)
    light = 0.8 + 0.2 * (xx / big_w) * (1 - 0.5 * yy / big_h)
    angle = rng.uniform(0, np.pi)
    edge = (xx - big_w / 2) * np.cos(angle) + (yy - big_h / 2) * np.sin(angle)
    shadow = 1 - 0.35 / (1 + np.exp(-edge / (0.03 * big_w)))  # a soft-edged hand/phone shadow
    photo *= light * shadow
    photo = cv2.GaussianBlur(photo, (0, 0), 0.8)
    photo += rng.normal(0, 5, photo.shape)
    return _jpeg(photo, 75)


def _jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    ok, data = cv2.imencode(
        ".jpg", np.clip(image, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    assert ok
    return cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)
