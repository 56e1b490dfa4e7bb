"""A body on a plain, lit ground (plainground.body_on_plain_ground): a scene the tattoo detector
reads with a close-up's ink rules, faces staying as strict as in a scene."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from faceboxes import mask_coverage

from consentclip.detect import plainground, scene
from consentclip.detect.plainground import (
    BARE_MAX_BLACK,
    PLAIN_MAX_ENCLOSED,
    PLAIN_MIN_HUED,
    body_on_plain_ground,
    plain_ground_features,
)
from consentclip.detect.scene import SceneKind, SceneWatch, body_on_dark_ground, classify_scene
from consentclip.detect.skin import LabImage
from consentclip.detect.tattoos import TattooDetector

RASH_SKINS = [(95, 125, 175), (60, 90, 140), (40, 60, 95)]  # BGR: light, brown, dark brown


def _rash(skin: tuple[int, int, int], seed: int = 0) -> np.ndarray:
    """A disseminated rash (red papules) over a trunk shading away to its right (float32 BGR),
    as tests/detect/test_scene.py draws it."""
    h, w = 360, 480
    rng = np.random.default_rng(seed)
    xx = np.linspace(0.0, 1.0, w, dtype=np.float32)
    fall = 1.0 - 0.6 * np.clip((xx - 0.45) / 0.55, 0, 1) ** 1.5
    image = np.repeat(np.asarray(skin, np.float32)[None, None, :] * fall[None, :, None], h, axis=0)
    for _ in range(800):
        x, y, r = int(rng.integers(0, w)), int(rng.integers(0, h)), int(rng.integers(3, 8))
        cv2.circle(image, (x, y), r, tuple(float(c * fall[x]) for c in (70, 60, 190)), -1)
    return image + rng.normal(0, 3, image.shape).astype(np.float32)


def _on_sheet(skin: tuple[int, int, int], top: int = 290) -> np.ndarray:
    """The rash with a white sheet below row ``top`` (as MSLD a7: a foot on a white bed)."""
    image = _rash(skin)
    rng = np.random.default_rng(1)
    image[top:] = np.asarray((228, 230, 232), np.float32) + rng.normal(0, 2, image[top:].shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def _features(image: np.ndarray) -> dict[str, float]:
    return plain_ground_features(LabImage.from_bgr(scene._small(image)))


@pytest.mark.parametrize("skin", RASH_SKINS)
def test_rash_on_a_sheet_is_a_body_on_a_plain_ground(skin: tuple[int, int, int]) -> None:
    image = _on_sheet(skin)
    # A scene (faces strict), and not the dark-ground cue's: the sheet is lit.
    assert classify_scene(image) is SceneKind.SCENE
    assert not body_on_dark_ground(image)
    assert body_on_plain_ground(image)
    det = TattooDetector()
    try:
        det.process_frame(0, image)
        assert det._closeup  # read with a close-up's ink rules
    finally:
        det.close()


@pytest.mark.parametrize("skin", RASH_SKINS)
def test_rash_before_a_busy_ground_is_not(skin: tuple[int, int, int]) -> None:
    # A room's many colours and edges along the bottom: not a plain ground.
    image = _on_sheet(skin)
    rng = np.random.default_rng(2)
    for y in range(290, 360, 12):
        for x in range(0, 480, 16):
            image[y : y + 12, x : x + 16] = rng.integers(60, 230, 3)
    assert not body_on_plain_ground(image)


@pytest.mark.parametrize("skin", RASH_SKINS)
def test_rash_on_a_dark_ground_is_left_to_the_dark_ground_cue(skin: tuple[int, int, int]) -> None:
    image = _on_sheet(skin)
    image[290:] = (10, 10, 12)
    assert not body_on_plain_ground(image)
    assert body_on_dark_ground(image)


@pytest.mark.parametrize("skin", RASH_SKINS)
def test_a_bold_design_inside_the_skin_is_not_a_ground(skin: tuple[int, int, int]) -> None:
    # Solid ink lies in the skin: what is not skin-hued is then enclosed by it, not around it.
    image = _on_sheet(skin, top=320)
    cv2.ellipse(image, (170, 140), (60, 45), 20, 0, 360, (40, 35, 30), -1)
    cv2.circle(image, (300, 150), 30, (90, 60, 30), -1)
    f = _features(image)
    assert f["hued"] >= PLAIN_MIN_HUED  # it is the enclosed ink that keeps the cue off
    assert f["enclosed"] > PLAIN_MAX_ENCLOSED
    assert not body_on_plain_ground(image)


@pytest.mark.parametrize("skin", RASH_SKINS)
def test_a_line_design_on_a_body_on_a_sheet_is_still_covered(skin: tuple[int, int, int]) -> None:
    # Thin strokes vanish at 96 px, so the cue takes the frame; a close-up's rules still keep
    # a clear design.
    image = _on_sheet(skin).astype(np.float32)
    ink = np.zeros(image.shape[:2], np.uint8)
    cv2.ellipse(ink, (170, 140), (70, 90), 0, 0, 360, 1, 5)
    cv2.line(ink, (120, 80), (220, 220), 1, 5)
    cv2.line(ink, (220, 80), (120, 220), 1, 5)
    m = ink > 0
    image[m] = image[m] * 0.3 + np.asarray((60, 45, 35), np.float32) * 0.7
    frame = np.clip(image, 0, 255).astype(np.uint8)
    assert body_on_plain_ground(frame)
    det = TattooDetector()
    try:
        regions = det.process_frame(0, frame)
        assert det._closeup
    finally:
        det.close()
    assert mask_coverage(regions, m) >= 0.95


def test_the_tattoo_detector_asks_the_ground_once_per_cadence_step(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Asked through the engine's scene frame (SceneWatch.per_step, tested in test_scene), on a
    # sheet: not a dark ground, so the plain-ground cue is asked, once in four frames.
    asked: list[int] = []
    real = plainground.body_on_plain_ground

    def counted(frame: np.ndarray) -> bool:
        asked.append(1)
        return real(frame)

    image = _on_sheet(RASH_SKINS[0])
    monkeypatch.setattr(plainground, "body_on_plain_ground", counted)
    watch = SceneWatch(every=4)
    det = TattooDetector(segmentation=False)
    try:
        for index in range(4):
            det.process_frame(index, image, scene=watch.look(index, image))
    finally:
        det.close()
    assert len(asked) == 1


# --- the second way: nothing dark in view (pale skin too pale to be skin-hued) ------------------


def _pale_rash(seed: int = 0) -> np.ndarray:
    """Very pale skin (its right half too pale to be skin-hued) with pink papules and fine
    hairs, filling the frame (as MSLD a16, others-47_1)."""
    h, w = 360, 480
    rng = np.random.default_rng(seed)
    image = np.empty((h, w, 3), np.float32)
    image[:] = (228, 232, 238)
    image[:, :240] = (222, 226, 238)
    image *= 1.0 - 0.08 * np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    for _ in range(40):
        x, y, r = int(rng.integers(0, w)), int(rng.integers(0, h)), int(rng.integers(5, 12))
        cv2.circle(image, (x, y), r, (170, 165, 225), -1)
    for _ in range(60):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        end = (x + int(rng.integers(-30, 30)), y + int(rng.integers(10, 40)))
        cv2.line(image, (x, y), end, (120, 130, 150), 1)
    image += rng.normal(0, 2, image.shape).astype(np.float32)
    return np.clip(image, 0, 255).astype(np.uint8)


def _boxed(image: np.ndarray) -> float:
    det = TattooDetector()
    try:
        regions = det.process_frame(0, image)
    finally:
        det.close()
    return mask_coverage(regions, np.ones(image.shape[:2], bool))


def test_pale_rash_with_nothing_dark_is_read_as_a_closeup(monkeypatch: pytest.MonkeyPatch) -> None:
    image = _pale_rash()
    f = _features(image)
    assert classify_scene(image) is SceneKind.SCENE
    assert f["hued"] < PLAIN_MIN_HUED  # the first way cannot see it: the second does
    assert body_on_plain_ground(image)
    on = _boxed(image)
    monkeypatch.setattr(plainground, "body_on_plain_ground", lambda frame: False)
    off = _boxed(image)
    assert on < off  # as a scene, the papules and hairs were boxed


def test_a_black_design_on_pale_skin_is_something_dark() -> None:
    image = _pale_rash()
    cv2.ellipse(image, (240, 180), (70, 90), 0, 0, 360, (30, 30, 35), 8)
    cv2.line(image, (190, 110), (290, 250), (30, 30, 35), 8)
    assert _features(image)["black"] > BARE_MAX_BLACK
    assert not body_on_plain_ground(image)
