"""Tattoo marks in a dim picture of people (detect/dimlight.py), on generated frames: the dark
room and a dark jacket under a dimly lit face are not ink; a design on lit skin still is.
Real OpenCV, the real TattooDetector; the face is passed as the face detector would."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from consentclip.detect import tattoos
from consentclip.detect.dimlight import DIM_FRAME_L, DIM_SKIN_MIN_L
from consentclip.detect.regions import Box, Region, RegionKind
from consentclip.detect.skin import LabImage
from consentclip.detect.tattoos import TattooDetector


def _lab_bgr(lightness: float, a: float, b: float) -> tuple[float, float, float]:
    px = np.array([[[lightness * 255 / 100, a + 128, b + 128]]], np.uint8)
    return tuple(float(v) for v in cv2.cvtColor(px, cv2.COLOR_LAB2BGR)[0, 0])


def _dim_stage(
    arm: bool, face_l: float = 30.0, seed: int = 0
) -> tuple[np.ndarray, list[Region], np.ndarray]:
    """A room lit by candles (L* ~12, faintly warm, the audience's shapes a little lighter and
    darker), a person whose face is dimly lit (L* ``face_l``) in a dark jacket with folds; with
    ``arm`` a lit forearm (L* 50) beside them with four blue-black strokes. Returns the frame,
    the face as the face detector reports it, and the ink mask."""
    rng = np.random.default_rng(seed)
    h, w = 360, 640
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.ones((h, w, 3), np.float32) * np.asarray(_lab_bgr(12, 2, 3), np.float32)
    img += (6 * np.sin(xx / 23.0) * np.cos(yy / 17.0))[..., None]
    cv2.ellipse(img, (320, 100), (48, 60), 0, 0, 360, _lab_bgr(face_l, 10, 16), -1)
    jacket = np.zeros((h, w), np.uint8)
    cv2.fillPoly(jacket, [np.array([[200, 170], [440, 170], [520, 359], [120, 359]])], 1)
    folds = (5 + 4 * np.sin(xx / 11.0 + yy / 29.0)) * 2.55
    img[jacket > 0] = np.stack([folds + 2.5, folds, folds], axis=-1)[jacket > 0]
    ink = np.zeros((h, w), np.uint8)
    if arm:
        cv2.ellipse(img, (560, 250), (40, 110), 10, 0, 360, _lab_bgr(50, 14, 18), -1)
        for k in range(4):
            cv2.line(ink, (540 + 4 * k, 190 + 30 * k), (585 - 3 * k, 215 + 30 * k), 1, 4)
        img[ink > 0] = _lab_bgr(25, 2, -6)
    img += rng.normal(0, 2.0, img.shape)
    face = Region(Box(270, 40, 100, 120), RegionKind.FACE, score=0.9)
    return np.clip(img, 0, 255).astype(np.uint8), [face], ink > 0


def _covered(regions: list[Region], shape: tuple[int, ...]) -> np.ndarray:
    cov = np.zeros(shape[:2], bool)
    for r in regions:
        x1, y1, x2, y2 = r.box.int_corners()
        cov[max(y1, 0) : max(y2, 0), max(x1, 0) : max(x2, 0)] = True
    return cov


def test_the_generated_stage_is_dim() -> None:
    image, _, _ = _dim_stage(arm=False)
    assert float(LabImage.from_bgr(image).L.mean()) < DIM_FRAME_L


def _without_the_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tattoos, "is_dim", lambda lightness: False)
    monkeypatch.setattr(tattoos, "unlit_people", lambda lightness, tone: False)


def test_dim_room_and_dark_jacket_under_a_lit_face_are_not_a_tattoo(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    image, faces, _ = _dim_stage(arm=False, face_l=30.0)
    det = TattooDetector()
    assert det.process_frame(0, image, faces) == []
    assert det.skin.tone is not None and det.skin.tone.L >= DIM_SKIN_MIN_L  # the marks were judged
    assert "dim" in {c.reason for c in det.last_candidates}
    # The same frame without the rule: the room, jacket and all, is one frame-wide "tattoo"
    # (what the real broadcast clip hamilton showed), so the assertions above can fail.
    _without_the_rule(monkeypatch)
    before = TattooDetector().process_frame(0, image, faces)
    assert _covered(before, image.shape).mean() > 0.5


def test_no_ink_is_looked_for_when_the_faces_skin_is_not_lit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    image, faces, _ = _dim_stage(arm=False, face_l=22.0)
    det = TattooDetector()
    assert det.process_frame(0, image, faces) == []
    assert det.skin.tone is not None and det.skin.tone.L < DIM_SKIN_MIN_L
    assert det.last_candidates == []  # stopped before the ink stage
    _without_the_rule(monkeypatch)
    before = TattooDetector().process_frame(0, image, faces)
    assert _covered(before, image.shape).mean() > 0.5


def test_a_design_on_lit_skin_in_the_dim_room_is_still_covered() -> None:
    image, faces, ink = _dim_stage(arm=True)
    regions = TattooDetector().process_frame(0, image, faces)
    assert float((_covered(regions, image.shape) & ink).sum() / ink.sum()) >= 0.95
