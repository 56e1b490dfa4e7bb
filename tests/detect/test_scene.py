"""classify_scene and find_lesion (--keep auto) on generated dermoscopy fields, close-ups and
limbs (bench/skinsynth.py), and on the committed sample media. Real OpenCV, no mocks."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from faceboxes import mask_coverage

from benchmods import bench_module
from consentclip.detect.lesion import find_lesion
from consentclip.detect.scene import (
    CUT_SIDE,
    SceneKind,
    SceneWatch,
    _body_fills_frame,
    _body_on_dark_ground,
    _one_skin_surface,
    _skin_field_share,
    _small,
    body_on_dark_ground,
    classify_scene,
)
from consentclip.detect.skin import LabImage
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


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per classify_scene call the scene watch makes."""
    import consentclip.detect.scene as scene

    made: list[int] = []
    real = scene.classify_scene
    monkeypatch.setattr(scene, "classify_scene", lambda f: made.append(1) or real(f))
    return made


def test_scene_watch_shared_by_two_callers_counts_each_frame_once(calls: list[int]) -> None:
    # The engine and its tattoo detector ask one watch about the same frame: one
    # classification per cadence step, one count per frame (the manifest's dominant scene).
    derm, _ = skinsynth.dermoscopy_field(2, vignette=True)
    limb = skinsynth.plain_limb(2)
    watch = SceneWatch(every=5)
    for index in range(12):
        frame = derm if index < 5 else limb
        first = watch.get(index, frame)
        if index % 2 == 0:  # the second caller runs every other frame
            assert watch.get(index, frame) is first
    assert len(calls) == 3  # frames 0, 5 and 10
    assert watch.seen == {SceneKind.DERMOSCOPY: 5, SceneKind.SCENE: 7}


def test_scene_watch_look_decides_cuts_for_every_detector(calls: list[int]) -> None:
    # The engine's one scene check (SceneWatch.look): a cut at the first frame, at a new
    # picture and at a new frame size, not within a shot; the kind on the cadence; the fresh
    # kind of a cut frame computed once, and not at all where the cadence classified it.
    derm, _ = skinsynth.dermoscopy_field(2, vignette=True)
    limb = skinsynth.plain_limb(2)
    watch = SceneWatch(every=10)
    first = watch.look(0, derm)
    assert first.cut and first.kind is SceneKind.DERMOSCOPY
    assert first.fresh_kind() is SceneKind.DERMOSCOPY and len(calls) == 1
    assert watch.look(0, derm) is first  # asked again: the same answer, counted once
    assert not watch.look(1, derm.copy()).cut
    moved = watch.look(2, limb)
    assert moved.cut and moved.kind is SceneKind.DERMOSCOPY  # the cadence's, 2 frames old
    assert moved.fresh_kind() is SceneKind.SCENE and moved.fresh_kind() is SceneKind.SCENE
    assert len(calls) == 2
    small = cv2.resize(limb, (limb.shape[1] // 2, limb.shape[0] // 2))
    assert watch.look(3, small).cut  # another frame size: a new picture
    assert not watch.look(4, small).cut
    image, scale = watch.look(5, limb).downscaled(CUT_SIDE)
    assert max(image.shape[:2]) <= CUT_SIDE and 0 < scale <= 1.0
    assert watch.seen == {SceneKind.DERMOSCOPY: 6}
    # Without a cadence the watch only cuts; the kind is what fresh_kind is asked for.
    bare = SceneWatch(every=0)
    view = bare.look(0, limb)
    assert view.cut and view.kind is SceneKind.SCENE and len(calls) == 2
    assert bare.seen == {}


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


# --- "one skin surface": the second way to a close-up (scene._one_skin_surface) ---------------


def _large_lesion_on_pale_skin(centre: tuple[int, int] = (240, 180)) -> np.ndarray:
    """A brown lesion so large that it reaches the frame's outer ring, on pale, over-exposed
    skin of almost no colour (as ISIC_0027287): the ring test alone does not see a close-up."""
    h, w = 360, 480
    rng = np.random.default_rng(3)
    image = np.full((h, w, 3), (228, 232, 240), np.uint8)  # BGR: near-white, a trace of warmth
    cv2.ellipse(image, centre, (190, 150), 0, 0, 360, (70, 105, 160), -1)
    cv2.ellipse(image, centre, (90, 70), 20, 0, 360, (55, 80, 125), -1)
    noise = rng.normal(0, 4, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


def test_large_central_lesion_on_pale_skin_is_a_closeup() -> None:
    image = _large_lesion_on_pale_skin()
    # The ring test alone misses it: this exercises the one-surface rule.
    assert _skin_field_share(LabImage.from_bgr(_small(image))) < 0.8
    assert classify_scene(image) is SceneKind.SKIN_CLOSEUP


def test_off_centre_blob_on_pale_skin_is_not_a_closeup() -> None:
    # The same surface, the dark content far from the centre: a design placed anywhere, not the
    # lesion a clinician centred.
    h, w = 360, 480
    image = np.full((h, w, 3), (228, 232, 240), np.uint8)
    cv2.ellipse(image, (400, 290), (70, 55), 0, 0, 360, (70, 105, 160), -1)
    assert classify_scene(image) is SceneKind.SCENE


def test_black_ink_on_pale_skin_is_not_a_closeup() -> None:
    # One surface with a centred mark, but the mark is black, colourless ink: tattoo photos and
    # photos of people hold such matter, lesions do not.
    image = _large_lesion_on_pale_skin()
    cv2.ellipse(image, (240, 180), (120, 90), 0, 0, 360, (25, 25, 25), 14)
    cv2.line(image, (150, 120), (330, 240), (25, 25, 25), 14)
    assert classify_scene(image) is SceneKind.SCENE


def test_pen_hatching_around_a_central_lesion_stays_a_closeup() -> None:
    # Violet-blue surgical-marker lines around the lesion (as ISIC_0030608) are thin and not
    # skin-hued: they neither break the surface nor count as the lesion.
    small = np.full((360, 480, 3), (228, 232, 240), np.uint8)
    cv2.ellipse(small, (240, 180), (80, 60), 0, 0, 360, (70, 105, 160), -1)
    for x in range(0, 480, 24):
        cv2.line(small, (x, 0), (x + 60, 80), (200, 60, 40), 2)
        cv2.line(small, (x, 280), (x + 60, 359), (200, 60, 40), 2)
    assert classify_scene(small) is SceneKind.SKIN_CLOSEUP


# --- "the body fills the frame": the third way to a close-up (scene._body_fills_frame) --------


def _rash_over_shade(skin: tuple[int, int, int], seed: int = 0) -> np.ndarray:
    """A disseminated rash (hundreds of red papules, many confluent) over a trunk that turns
    away from the light on its right side, filling the frame (as the MSLD close-ups): the
    papules break the ring's skin cluster and there is no one central blob."""
    h, w = 360, 480
    rng = np.random.default_rng(seed)
    xx = np.linspace(0.0, 1.0, w, dtype=np.float32)
    fall = 1.0 - 0.6 * np.clip((xx - 0.45) / 0.55, 0, 1) ** 1.5  # shade to 40% at the edge
    image = np.asarray(skin, np.float32)[None, None, :] * fall[None, :, None]
    image = np.repeat(image, h, axis=0)
    for _ in range(800):
        x, y, r = int(rng.integers(0, w)), int(rng.integers(0, h)), int(rng.integers(3, 8))
        cv2.circle(image, (x, y), r, tuple(float(c * fall[x]) for c in (70, 60, 190)), -1)
    image += rng.normal(0, 3, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


RASH_SKINS = [(95, 125, 175), (60, 90, 140), (40, 60, 95)]  # BGR: light, brown, dark brown


@pytest.mark.parametrize("skin", RASH_SKINS)
def test_rash_filling_the_frame_is_a_closeup(skin: tuple[int, int, int]) -> None:
    image = _rash_over_shade(skin)
    lab = LabImage.from_bgr(_small(image))
    # Neither of the first two ways sees it: this exercises the body-fills-the-frame rule.
    assert _skin_field_share(lab) < 0.8
    assert not _one_skin_surface(lab)
    assert classify_scene(image) is SceneKind.SKIN_CLOSEUP


@pytest.mark.parametrize("skin", RASH_SKINS)
def test_rash_beside_a_drape_is_a_scene(skin: tuple[int, int, int]) -> None:
    # The same rash with a blue drape along the bottom: the body no longer fills the frame.
    image = _rash_over_shade(skin)
    image[270:] = (150, 90, 40)
    assert classify_scene(image) is SceneKind.SCENE


@pytest.mark.parametrize("skin", RASH_SKINS)
def test_colour_ink_on_a_skin_filling_frame_is_a_scene(skin: tuple[int, int, int]) -> None:
    # Skin edge to edge, but with a green and blue design on it: a colour no skin takes, as
    # tattoo photos hold (the real ones that fill the frame with skin: 5-25% of such colour).
    image = _rash_over_shade(skin)
    cv2.ellipse(image, (240, 180), (110, 80), 0, 0, 360, (60, 140, 40), 16)
    cv2.ellipse(image, (240, 180), (60, 40), 30, 0, 360, (160, 90, 30), -1)
    assert classify_scene(image) is SceneKind.SCENE


# --- a body on a dark ground (scene.body_on_dark_ground): a scene the tattoo detector reads with
# a close-up's ink rules, faces staying as strict as in a scene --------------------------------


def _rash_on_dark_ground(skin: tuple[int, int, int]) -> np.ndarray:
    """The rash over a shaded trunk, its right third a black backdrop (as MSLD P8_1, P38_1)."""
    image = _rash_over_shade(skin)
    image[:, 340:] = (8, 8, 10)
    return image


@pytest.mark.parametrize("skin", RASH_SKINS)
def test_rash_on_a_dark_ground_is_a_body_on_a_dark_ground(skin: tuple[int, int, int]) -> None:
    image = _rash_on_dark_ground(skin)
    lab = LabImage.from_bgr(_small(image))
    ring = _skin_field_share(lab)
    # None of the three close-up ways sees it: the black third keeps the body from filling the
    # frame. It stays a scene (faces strict) and the cue says what the tattoo detector reads.
    assert ring < 0.8
    assert not _one_skin_surface(lab)
    assert not _body_fills_frame(lab, ring)
    assert classify_scene(image) is SceneKind.SCENE
    assert body_on_dark_ground(image)


@pytest.mark.parametrize("skin", RASH_SKINS)
def test_body_on_a_dark_ground_with_lit_clothing_is_not(skin: tuple[int, int, int]) -> None:
    # A lit shirt along the bottom: lit colours other than skin, as a person in a room.
    image = _rash_on_dark_ground(skin)
    image[290:, :340] = (150, 140, 135)
    assert not body_on_dark_ground(image)


@pytest.mark.parametrize("skin", RASH_SKINS)
def test_skin_patches_spread_over_a_dark_ground_are_a_scene(skin: tuple[int, int, int]) -> None:
    # Faces, hands and arms scattered over a dark room: no one part holds the skin.
    rash = _rash_over_shade(skin)
    image = np.full_like(rash, (8, 8, 10))
    for x in (0, 165, 330):
        for y in (0, 125, 250):
            image[y : y + 110, x : x + 150] = rash[y : y + 110, x : x + 150]
    lab = LabImage.from_bgr(_small(image))
    assert not _body_on_dark_ground(lab, _skin_field_share(lab))


@pytest.mark.parametrize("skin", RASH_SKINS)
def test_a_design_on_a_body_on_a_dark_ground_is_still_covered(skin: tuple[int, int, int]) -> None:
    # As a close-up the tattoo detector's stricter ink rules apply; a clear black design passes.
    from consentclip.detect.tattoos import TattooDetector

    image = _rash_on_dark_ground(skin).astype(np.float32)
    ink = np.zeros(image.shape[:2], np.uint8)
    cv2.ellipse(ink, (170, 180), (70, 100), 0, 0, 360, 1, 5)
    cv2.line(ink, (120, 110), (220, 250), 1, 5)
    cv2.line(ink, (220, 110), (120, 250), 1, 5)
    m = ink > 0
    image[m] = image[m] * 0.3 + np.asarray((60, 45, 35), np.float32) * 0.7
    frame = np.clip(image, 0, 255).astype(np.uint8)
    assert body_on_dark_ground(frame)
    det = TattooDetector()
    regions = det.process_frame(0, frame)
    assert det._closeup  # read with a close-up's ink rules
    assert mask_coverage(regions, m) >= 0.95


def test_a_per_scene_question_is_asked_once_per_cadence_step() -> None:
    # The tattoo detector asks its per-scene question (plainground.closeup_ground) on every
    # frame it runs; the watch answers once per step of its cadence (like the kind), on the
    # first frame of the step that asks, and on every frame when it keeps no cadence.
    asked: list[int] = []

    def counted(frame: np.ndarray) -> bool:
        asked.append(1)
        return body_on_dark_ground(frame)

    image = _rash_on_dark_ground(RASH_SKINS[0])
    watch = SceneWatch(every=4)
    answers = [watch.look(index, image).ask(counted) for index in range(0, 12, 2)]
    assert answers == [True] * 6
    assert len(asked) == 3  # the steps begun at frames 0, 4 and 8
    asked.clear()
    bare = SceneWatch(every=0)
    assert [bare.per_step(counted, image) for _ in range(3)] == [True] * 3
    assert len(asked) == 3
