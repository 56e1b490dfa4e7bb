"""classify_scene and find_lesion (--keep auto) on generated dermoscopy fields, close-ups and
limbs (bench/skinsynth.py), and on the committed sample media. Real OpenCV, no mocks."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from benchmods import bench_module
from consentclip.detect.lesion import find_lesion
from consentclip.detect.scene import SceneKind, SceneWatch, classify_scene
from consentclip.media.photo import load_photo

REPO = Path(__file__).resolve().parents[2]


skinsynth = bench_module("skinsynth")


@pytest.mark.parametrize("tone", [1, 2, 3, 4, 5, 6])
def test_dermoscope_field_is_dermoscopy(tone: int) -> None:
    image, _ = skinsynth.dermoscopy_field(tone, vignette=True, seed=tone)
    assert classify_scene(image) is SceneKind.DERMOSCOPY


@pytest.mark.parametrize("tone", [1, 3, 6])
def test_field_without_vignette_is_a_skin_closeup(tone: int) -> None:
    image, _ = skinsynth.dermoscopy_field(tone, vignette=False, seed=tone)
    assert classify_scene(image) is SceneKind.SKIN_CLOSEUP


@pytest.mark.parametrize("tone", [1, 4, 6])
def test_limb_on_a_drape_is_a_scene(tone: int) -> None:
    assert classify_scene(skinsynth.plain_limb(tone)) is SceneKind.SCENE


def test_sample_media_arm_photo_is_a_scene() -> None:
    assert classify_scene(load_photo(REPO / "sample_media" / "lesion_photo.jpg")) is SceneKind.SCENE


def test_dark_corners_without_a_round_field_are_not_dermoscopy() -> None:
    # A skin-coloured picture darkened towards the corners by a soft vignette (a phone photo in
    # dim light): no sharp round edge, so not a dermoscope, and the face detector stays strict.
    h, w = 360, 480
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    fall = np.clip(1.3 - np.hypot(xx - w / 2, yy - h / 2) / (0.5 * w), 0, 1)
    image = (np.asarray((120, 150, 200), np.float32) * fall[..., None]).astype(np.uint8)
    assert classify_scene(image) is not SceneKind.DERMOSCOPY


def test_square_black_frame_is_not_dermoscopy() -> None:
    image, _ = skinsynth.dermoscopy_field(2, vignette=False)
    framed = cv2.copyMakeBorder(image, 60, 60, 60, 60, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    assert classify_scene(framed) is not SceneKind.DERMOSCOPY


def test_uniform_and_tiny_frames_do_not_fail() -> None:
    for image in (
        np.zeros((10, 10, 3), np.uint8),
        np.full((50, 80, 3), 255, np.uint8),
        np.full((240, 320, 3), (200, 120, 40), np.uint8),
    ):
        assert classify_scene(image) in set(SceneKind)


def test_scene_watch_reclassifies_on_its_cadence() -> None:
    derm, _ = skinsynth.dermoscopy_field(2, vignette=True)
    limb = skinsynth.plain_limb(2)
    watch = SceneWatch(every=5)
    assert watch.get(0, derm) is SceneKind.DERMOSCOPY
    assert watch.get(3, limb) is SceneKind.DERMOSCOPY  # cached within the cadence
    assert watch.get(5, limb) is SceneKind.SCENE
    assert watch.dominant() is SceneKind.SCENE or watch.dominant() is SceneKind.DERMOSCOPY


@pytest.mark.parametrize("tone", [1, 2, 3, 4, 5, 6])
@pytest.mark.parametrize("vignette", [True, False])
def test_find_lesion_boxes_the_central_lesion(tone: int, vignette: bool) -> None:
    image, mask = skinsynth.dermoscopy_field(tone, vignette=vignette, seed=10 + tone)
    boxes = find_lesion(image)
    assert len(boxes) == 1
    x1, y1, x2, y2 = boxes[0].int_corners()
    inside = np.zeros_like(mask)
    inside[y1:y2, x1:x2] = True
    assert mask[inside].sum() >= 0.98 * mask.sum()  # the whole lesion is protected ...
    assert inside.sum() <= 3.0 * mask.sum()  # ... by a box not much larger than it


def test_find_lesion_proposes_nothing_outside_close_ups() -> None:
    assert find_lesion(skinsynth.plain_limb(3)) == ()
    assert find_lesion(load_photo(REPO / "sample_media" / "lesion_photo.jpg")) == ()


def test_find_lesion_on_plain_skin_proposes_nothing() -> None:
    image, _ = skinsynth.dermoscopy_field(3, vignette=False, lesion_frac=0.0)
    assert find_lesion(image) == ()
