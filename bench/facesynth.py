"""Clips with known face positions, composed from real face photographs in motion.

Faces: NASA's portrait of Eileen Collins (``skimage.data.astronaut()``, public domain) and Lav
Varshney's cameraman (``skimage.data.camera()``, CC0), a real face in near profile, partly
hidden by his camera. Variants: mirrored, scaled, brightness and colour shifted, rotated, and
squeezed with a side crop (a face turning away). Heads are pasted through a feathered ellipse so
that no rectangle edge helps the detector; the ground truth of each head is the box of its
ellipse, i.e. the whole head, hair included, clipped to the frame.

Each scenario yields (frame, [head boxes]) per frame. Nothing is read from disk; everything is
deterministic (fixed seeds).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np
from skimage import data

from consentclip.detect.regions import Box

Frame = tuple[np.ndarray, list[Box]]


@dataclass(frozen=True)
class Sprite:
    image: np.ndarray  # BGR uint8
    alpha: np.ndarray  # float32 0..1, same height and width
    head: tuple[float, float, float, float]  # head box inside the sprite, fractions (x, y, w, h)


def _ellipse_alpha(h: int, w: int, feather: float = 0.08) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.sqrt(((xx + 0.5 - w / 2) / (w / 2)) ** 2 + ((yy + 0.5 - h / 2) / (h / 2)) ** 2)
    return np.clip((1.0 - r) / feather, 0.0, 1.0).astype(np.float32)


def astronaut_head() -> Sprite:
    img = np.ascontiguousarray(data.astronaut()[15:180, 160:320, ::-1])
    return Sprite(img, _ellipse_alpha(*img.shape[:2]), (0.0, 0.0, 1.0, 1.0))


def astronaut_bust() -> Sprite:
    """Head and shoulders in the space suit: a body for pose to find. Pasted as a rectangle."""
    img = np.ascontiguousarray(data.astronaut()[0:400, 40:440, ::-1])
    alpha = np.ones(img.shape[:2], np.float32)
    return Sprite(img, alpha, (120 / 400, 15 / 400, 160 / 400, 165 / 400))


def cameraman_head() -> Sprite:
    gray = data.camera()[58:202, 148:266]
    img = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    return Sprite(img, _ellipse_alpha(*img.shape[:2]), (0.0, 0.0, 1.0, 1.0))


def variant(
    s: Sprite,
    *,
    mirror: bool = False,
    gain: tuple[float, float, float] = (1.0, 1.0, 1.0),
    angle: float = 0.0,
) -> Sprite:
    img, alpha = s.image, s.alpha
    if mirror:
        img, alpha = img[:, ::-1], alpha[:, ::-1]
    img = np.clip(img.astype(np.float32) * np.asarray(gain, np.float32), 0, 255).astype(np.uint8)
    if angle:
        h, w = alpha.shape
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        img = cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
        alpha = cv2.warpAffine(alpha, m, (w, h), borderValue=0)
    hx, hy, hw, hh = s.head
    if mirror:
        hx = 1.0 - hx - hw
    return Sprite(np.ascontiguousarray(img), np.ascontiguousarray(alpha), (hx, hy, hw, hh))


def turned(s: Sprite, amount: float) -> Sprite:
    """A face turning away: keep the near side (drop ``amount/2`` of the far side) and squeeze
    what is left horizontally. amount 0 = frontal, 0.6 = nearly profile."""
    h, w = s.alpha.shape
    keep = max(2, round(w * (1.0 - amount / 2)))
    img = s.image[:, :keep]
    new_w = max(2, round(w * (1.0 - amount)))
    img = cv2.resize(img, (new_w, h), interpolation=cv2.INTER_AREA)
    return Sprite(img, _ellipse_alpha(h, new_w), (0.0, 0.0, 1.0, 1.0))


def paste(frame: np.ndarray, s: Sprite, x: float, y: float, width: float) -> Box | None:
    """Paste ``s`` scaled to ``width`` px with its top-left at (x, y); returns the head's box in
    frame coordinates (not clipped: it may stick out of the frame), or None when it is off-frame."""
    sh, sw = s.alpha.shape
    w = max(2, round(width))
    h = max(2, round(width * sh / sw))
    img = cv2.resize(s.image, (w, h), interpolation=cv2.INTER_AREA)
    alpha = cv2.resize(s.alpha, (w, h), interpolation=cv2.INTER_LINEAR)
    fh, fw = frame.shape[:2]
    x0, y0 = round(x), round(y)
    x1, y1 = max(x0, 0), max(y0, 0)
    x2, y2 = min(x0 + w, fw), min(y0 + h, fh)
    if x2 <= x1 or y2 <= y1:
        return None
    a = alpha[y1 - y0 : y2 - y0, x1 - x0 : x2 - x0, None]
    src = img[y1 - y0 : y2 - y0, x1 - x0 : x2 - x0].astype(np.float32)
    dst = frame[y1:y2, x1:x2].astype(np.float32)
    frame[y1:y2, x1:x2] = (src * a + dst * (1 - a)).astype(np.uint8)
    hx, hy, hw, hh = s.head
    head = Box(x0 + hx * w, y0 + hy * h, hw * w, hh * h)
    visible = head.clipped(fw, fh)
    # Unclipped, so that a benchmark can tell how much of a head is inside the frame.
    return head if visible.w > 0 and visible.h > 0 else None


def background(width: int, height: int, seed: int = 3) -> np.ndarray:
    """A consulting room: a shaded wall, a door, a shelf, a poster, sensor noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    wall = 170 + 30 * np.sin(xx / width * 2.0) - 25 * (yy / height)
    img = np.dstack([wall * 0.92, wall * 0.97, wall]).astype(np.float32)
    img += rng.normal(0, 3, img.shape).astype(np.float32)
    img = np.clip(img, 0, 255).astype(np.uint8)
    cv2.rectangle(
        img, (int(width * 0.08), int(height * 0.2)), (int(width * 0.2), height), (70, 90, 120), -1
    )
    cv2.rectangle(
        img,
        (int(width * 0.6), int(height * 0.15)),
        (int(width * 0.75), int(height * 0.4)),
        (160, 120, 60),
        -1,
    )
    cv2.line(
        img,
        (int(width * 0.3), int(height * 0.55)),
        (int(width * 0.55), int(height * 0.55)),
        (60, 60, 60),
        max(2, height // 80),
    )
    return img


@dataclass(frozen=True)
class Scenario:
    name: str
    width: int
    height: int
    frames: int
    render: Callable[[int], Frame]
    has_faces: bool = True
    fps: int = 30


def _small_far(n: int, w: int = 1920, h: int = 1080) -> Scenario:
    bg = background(w, h)
    heads = [
        (variant(astronaut_head()), 56, (300, 700)),
        (variant(astronaut_head(), mirror=True, gain=(0.8, 0.95, 1.15)), 80, (1400, 250)),
        (variant(astronaut_head(), angle=8, gain=(1.2, 1.1, 1.0)), 110, (900, 600)),
        (variant(cameraman_head(), mirror=True), 90, (1650, 820)),
    ]

    def render(i: int) -> Frame:
        frame = bg.copy()
        boxes = []
        for k, (s, width, (x, y)) in enumerate(heads):
            t = i / 30
            bx = paste(
                frame, s, x + 60 * math.sin(t * 0.9 + k), y + 25 * math.sin(t * 1.3 + 2 * k), width
            )
            if bx:
                boxes.append(bx)
        return frame, boxes

    return Scenario("small_far", w, h, n, render)


def _profile_turn(n: int, w: int = 1920, h: int = 1080) -> Scenario:
    bg = background(w, h, seed=4)
    astro = astronaut_head()
    cam = cameraman_head()

    def render(i: int) -> Frame:
        frame = bg.copy()
        phase = (i % 90) / 90  # 0..1: frontal -> profile -> frontal, every 3 s
        amount = 0.62 * math.sin(math.pi * phase)
        b1 = paste(
            frame, turned(astro, amount), 500 + 100 * math.sin(i / 25), 300, 300 * (1 - amount)
        )
        b2 = paste(frame, cam, 1300 - 2 * (i % 120), 420, 220)
        return frame, [b for b in (b1, b2) if b]

    return Scenario("profile_turn", w, h, n, render)


def _enter_leave(n: int, w: int = 1920, h: int = 1080) -> Scenario:
    bg = background(w, h, seed=5)
    a = variant(astronaut_head(), mirror=True, gain=(1.0, 1.05, 0.9))
    cam = cameraman_head()
    span = w + 600

    def render(i: int) -> Frame:
        frame = bg.copy()
        speed = span / max(n - 1, 1)
        x1 = -300 + speed * i
        x2 = w + 40 - speed * i * 0.8
        boxes = [
            paste(frame, a, x1, 250 + 40 * math.sin(i / 9), 260),
            paste(frame, cam, x2, 620, 200),
        ]
        return frame, [b for b in boxes if b]

    return Scenario("enter_leave", w, h, n, render)


def _occlusion(n: int, w: int = 1920, h: int = 1080) -> Scenario:
    bg = background(w, h, seed=6)
    a = variant(astronaut_head(), angle=-5)

    def render(i: int) -> Frame:
        frame = bg.copy()
        x, y = 800 + 40 * math.sin(i / 20), 300
        head = paste(frame, a, x, y, 300)
        # A gloved hand / clipboard sliding across the face, covering up to ~60% of it.
        t = (i % 60) / 60
        cover = 0.6 * math.sin(math.pi * t)
        hx = int(x + 300 * (1 - cover))
        cv2.rectangle(frame, (hx, int(y) - 20), (hx + 320, int(y) + 360), (90, 110, 150), -1)
        return frame, [head] if head else []

    return Scenario("occlusion", w, h, n, render)


def _two_people(n: int, w: int = 1920, h: int = 1080) -> Scenario:
    bg = background(w, h, seed=7)
    bust = astronaut_bust()
    other = variant(astronaut_head(), mirror=True, gain=(1.15, 1.0, 0.8), angle=10)
    cam = variant(cameraman_head(), gain=(0.9, 1.0, 1.1))

    def render(i: int) -> Frame:
        frame = bg.copy()
        t = i / max(n - 1, 1)
        boxes = [
            paste(frame, bust, 150 + 500 * t, 380, 700),
            paste(frame, other, 1500 - 700 * t, 260 + 60 * math.sin(i / 12), 240),
            paste(frame, cam, 1200 - 200 * t, 640, 170),
        ]
        return frame, [b for b in boxes if b]

    return Scenario("two_people", w, h, n, render)


def _arm(n: int, w: int = 1920, h: int = 1080) -> Scenario:
    """No face: a skin-coloured forearm swinging over a blue drape (false-positive check)."""
    rng = np.random.default_rng(11)
    drape = np.zeros((h, w, 3), np.uint8)
    drape[:] = (150, 110, 60)
    drape = np.clip(drape + rng.normal(0, 4, drape.shape), 0, 255).astype(np.uint8)
    skin = (125, 160, 210)

    def render(i: int) -> Frame:
        frame = drape.copy()
        ang = 0.4 * math.sin(i / 15)
        cx, cy = w * 0.3, h * 0.6
        ex, ey = cx + 1100 * math.cos(ang), cy - 500 * math.sin(ang)
        cv2.line(frame, (int(cx), int(cy)), (int(ex), int(ey)), skin, 170, cv2.LINE_AA)
        cv2.circle(frame, (int(ex), int(ey)), 110, (115, 150, 200), -1, cv2.LINE_AA)  # the hand
        for k in range(5):  # fingers
            fa = ang + (k - 2) * 0.25
            fx, fy = ex + 190 * math.cos(fa), ey - 190 * math.sin(fa)
            cv2.line(
                frame, (int(ex), int(ey)), (int(fx), int(fy)), (118, 152, 205), 36, cv2.LINE_AA
            )
        return frame, []

    return Scenario("arm_no_face", w, h, n, render, has_faces=False)


def scenarios(frames: int) -> list[Scenario]:
    """Every scenario, ``frames`` frames long (30 fps)."""
    return [
        _small_far(frames),
        _profile_turn(frames),
        _enter_leave(frames),
        _occlusion(frames),
        _two_people(frames),
        _arm(frames),
    ]


def iterate(s: Scenario) -> Iterator[Frame]:
    for i in range(s.frames):
        yield s.render(i)
