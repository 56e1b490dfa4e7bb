"""The second face detector family (CenterFace in OpenCV's DNN) and what FaceDetector does with it.

Real models, no mocks; images composed from scikit-image's public-domain astronaut portrait.
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np
import pytest
from faceboxes import ASTRONAUT_HEAD, coverage

from consentclip.detect._mp import Placement
from consentclip.detect.centerface import CenterFaceHit, CenterFaceModel, model_path
from consentclip.detect.faces import FaceDetector
from consentclip.detect.models import centerface_check
from consentclip.detect.regions import Box
from consentclip.detect.scene import SceneKind


@pytest.fixture(scope="module")
def model() -> Iterator[CenterFaceModel]:
    m = CenterFaceModel()
    yield m
    m.close()


def test_model_ships_in_the_package_and_doctor_checks_it() -> None:
    assert model_path().is_file() and model_path().stat().st_size > 7_000_000
    check = centerface_check()
    assert check.ok, check.detail


def test_centerface_finds_the_astronaut_face(model: CenterFaceModel, astronaut: np.ndarray) -> None:
    hits = model.detect(cv2.cvtColor(astronaut, cv2.COLOR_BGR2RGB), Placement(), 512)
    assert len(hits) == 1
    (hit,) = hits
    assert hit.score > 0.8
    assert ASTRONAUT_HEAD.intersection_area(hit.box) >= 0.9 * hit.box.area
    assert hit.keypoints.shape == (5, 2)


def test_placement_maps_a_crop_back_to_frame_pixels(
    model: CenterFaceModel, astronaut: np.ndarray
) -> None:
    rgb = cv2.cvtColor(astronaut, cv2.COLOR_BGR2RGB)
    whole = model.detect(rgb, Placement(), 512)[0].box
    crop = cv2.resize(rgb[0:256, 100:356], (128, 128))
    (hit,) = model.detect(crop, Placement(100, 0, 0.5), 128)
    assert abs(hit.box.cx - whole.cx) < 12 and abs(hit.box.cy - whole.cy) < 12


def test_alternating_input_sizes_give_stable_answers(
    model: CenterFaceModel, astronaut: np.ndarray
) -> None:
    # OpenCV 4.11's DNN returned hundreds of full-score boxes when one net was fed a third
    # input size; one net per size keeps every answer the same as the first.
    rgb = cv2.cvtColor(astronaut, cv2.COLOR_BGR2RGB)
    gray = cv2.cvtColor(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    first = {s: len(model.detect(gray, Placement(), s)) for s in (512, 256)}
    for side in (512, 256, 384, 512, 256, 448, 512):
        model.detect(rgb, Placement(), side)
        if side in first:
            assert len(model.detect(gray, Placement(), side)) == first[side]


def test_a_blank_or_noisy_image_has_no_face(model: CenterFaceModel) -> None:
    rng = np.random.default_rng(3)
    noise = cv2.GaussianBlur(rng.integers(0, 255, (480, 640, 3), dtype=np.uint8), (0, 0), 3)
    assert model.detect(noise, Placement(), 640) == []
    assert model.detect(np.full((480, 640, 3), 128, np.uint8), Placement(), 640) == []


def _crowd(
    astronaut: np.ndarray, head_px: int, rows: int, cols: int
) -> tuple[np.ndarray, list[Box]]:
    """A grey canvas with rows x cols small astronaut heads (mirrored every other one)."""
    canvas = np.full((1080, 1920, 3), 120, np.uint8)
    head = cv2.resize(astronaut[15:180, 160:320], (head_px, head_px), interpolation=cv2.INTER_AREA)
    boxes = []
    for r in range(rows):
        for c in range(cols):
            x, y = 150 + c * 3 * head_px, 150 + r * 3 * head_px
            canvas[y : y + head_px, x : x + head_px] = head if (r + c) % 2 else head[:, ::-1]
            boxes.append(Box(x, y, head_px, head_px))
    return canvas, boxes


@pytest.mark.parametrize(("lookahead", "head_px"), [(0, 40), (24, 60)])
def test_small_faces_of_a_group_are_covered_from_the_first_frame(
    astronaut: np.ndarray, lookahead: int, head_px: int
) -> None:
    # 32 heads of 40 px (faces ~24 px) in a 1080p photo, or of 60 px in a clip's first frame:
    # BlazeFace finds few of them on the whole frame or its tiles; CenterFace on the whole frame
    # (a photo: full size; a clip: the scene-start pass at 1280 px) must cover them at once.
    canvas, heads = _crowd(astronaut, head_px, 4, 8)
    _assert_most_heads_covered_at_once(canvas, heads, lookahead)


def test_a_face_in_a_dim_room_is_covered_on_the_first_frame(astronaut: np.ndarray) -> None:
    canvas = np.full((1080, 1920, 3), 18, np.uint8)
    head = cv2.resize(astronaut[15:180, 160:320], (120, 124), interpolation=cv2.INTER_AREA)
    canvas[500:624, 300:420] = (head.astype(np.float32) * 0.18).astype(np.uint8)
    truth = Box(300, 500, 120, 124)
    det = FaceDetector(lookahead=24)
    try:
        regions = det.process_frame(0, canvas)
    finally:
        det.close()
    assert coverage(truth, [r.box for r in regions]) >= 0.95


def _spotted(
    shape: tuple[int, int],
    base: tuple[int, int, int],
    spot: tuple[int, int, int],
    count: int,
    radii: tuple[int, int],
    *,
    sigma: float,
    seed: int,
) -> np.ndarray:
    """A flat BGR field of ``base`` with ``count`` round spots of ``spot`` (radius drawn from
    ``radii``, the upper end excluded), blurred by ``sigma``: a lesion field or a rash."""
    rng = np.random.default_rng(seed)
    h, w = shape
    field = np.zeros((h, w, 3), np.uint8)
    field[:] = base
    for _ in range(count):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        cv2.circle(field, (x, y), int(rng.integers(*radii)), spot, -1)
    return cv2.GaussianBlur(field, (0, 0), sigma)


def test_a_weak_large_hit_without_a_second_family_is_dropped(astronaut: np.ndarray) -> None:
    # A smooth reddish-brown blob field (a stand-in for a dermoscopy field of view) and a
    # candidate that BlazeFace might score weakly: CenterFace, asked about that spot, disagrees.
    field = _spotted((450, 600), (120, 140, 200), (60, 70, 110), 40, (5, 40), sigma=4, seed=5)
    det, other = FaceDetector(lookahead=0), FaceDetector(lookahead=0)
    try:
        weak = (Box(50, 20, 500, 420), 0.6, "short")
        assert det._second_opinion(0, field, [weak]) == []
        # The same weak score on a real face is confirmed by CenterFace and kept.
        face = (Box.from_corners(150, 10, 330, 190), 0.6, "short")
        assert other._second_opinion(0, astronaut, [face]) == [face]
        # Strong hits, small hits and pose are never second-guessed.
        strong = (Box(50, 20, 500, 420), 0.9, "short")
        small = (Box(50, 20, 60, 60), 0.4, "tile")
        pose = (Box(50, 20, 500, 420), 0.4, "pose")
        assert det._second_opinion(1, field, [strong, small, pose]) == [strong, small, pose]
    finally:
        det.close()
        other.close()


def _backlit_crowd(astronaut: np.ndarray, head_px: int) -> tuple[np.ndarray, list[Box]]:
    """A 1024x683 photo of 40 small heads, darkened to a third against a haze blown out at the
    top (as bench/real_faces.py derives its backlit set from real crowds)."""
    rng = np.random.default_rng(7)
    canvas = cv2.GaussianBlur(rng.integers(60, 160, (683, 1024, 3), dtype=np.uint8), (0, 0), 6)
    head = cv2.resize(astronaut[15:180, 160:320], (head_px, head_px), interpolation=cv2.INTER_AREA)
    boxes = []
    for r in range(4):
        for c in range(10):
            x, y = 60 + c * 90, 200 + r * 100
            canvas[y : y + head_px, x : x + head_px] = head if (r + c) % 2 else head[:, ::-1]
            boxes.append(Box(x, y, head_px, head_px))
    f = canvas.astype(np.float32) / 255.0
    ramp = np.clip(1.0 - np.linspace(0.0, 1.6, 683), 0.0, 1.0)[:, None, None].astype(np.float32)
    f = f * 0.35 + ramp * 0.9 + rng.normal(0.0, 0.01, f.shape).astype(np.float32)
    return np.clip(f * 255.0, 0, 255).astype(np.uint8), boxes


def test_a_backlit_crowd_of_small_faces_is_covered_in_a_photo(astronaut: np.ndarray) -> None:
    # Heads of 18 px (faces ~11 px) against the light: CenterFace scores them 0.1-0.2 at the
    # photo's size; the scene floor (0.2), the contrast-normalised pass and the enlarged pass on
    # a crowd find them. Before those, 2 of the 40 were covered.
    photo, heads = _backlit_crowd(astronaut, 18)
    _assert_most_heads_covered_at_once(photo, heads, lookahead=0)


def test_centerface_floor_follows_the_kind_of_picture(astronaut: np.ndarray) -> None:
    # A skin close-up (a flat skin-coloured field with a brown lesion) keeps CenterFace's floor
    # at 0.3, where pigment networks stay below it; a picture of people lowers it to 0.2.
    skin = np.zeros((480, 640, 3), np.uint8)
    skin[:] = (150, 170, 215)
    cv2.circle(skin, (320, 240), 40, (60, 80, 120), -1)
    skin = cv2.GaussianBlur(skin, (0, 0), 3)
    det = FaceDetector(lookahead=0)
    try:
        det.process_frame(0, skin)
        assert det._cf_now == pytest.approx(0.3)
        det.process_frame(1, astronaut)
        assert det._cf_now == pytest.approx(0.2)
    finally:
        det.close()
    # A stricter user threshold is never undercut by more than 0.1.
    strict = FaceDetector(threshold=0.6, lookahead=0)
    try:
        strict.process_frame(0, astronaut)
        assert strict._cf_now == pytest.approx(0.5)
    finally:
        strict.close()


def _assert_most_heads_covered_at_once(image: np.ndarray, heads: list[Box], lookahead: int) -> None:
    """On the first frame (a photo: ``lookahead`` 0), 90% of ``heads`` are >= 90% covered."""
    det = FaceDetector(lookahead=lookahead)
    try:
        regions = det.process_frame(0, image)
    finally:
        det.close()
    covered = sum(1 for h in heads if coverage(h, [r.box for r in regions]) >= 0.9)
    assert covered >= 0.9 * len(heads), f"{covered} of {len(heads)} heads covered"


def _skin_closeup(astronaut: np.ndarray | None = None) -> np.ndarray:
    """A flat skin field with small red papules (a rash close-up); with ``astronaut``, a
    180 px face in its centre. scene.classify_scene calls both a skin close-up."""
    skin = _spotted((480, 640), (150, 170, 215), (90, 100, 190), 30, (3, 9), sigma=2, seed=3)
    if astronaut is not None:
        skin[150:330, 230:410] = cv2.resize(astronaut[30:190, 160:320], (180, 180))
    return skin


def test_on_a_skin_closeup_pose_heads_need_centerface_and_confirm_nothing(
    astronaut: np.ndarray,
) -> None:
    # On real rash close-ups pose draws a body on the skin and puts a head on it (0.47-0.50),
    # and a weak, large BlazeFace hit at the same spot took that head as its confirmation.
    rash = _skin_closeup()
    det = FaceDetector(lookahead=0)
    try:
        assert det.process_frame(0, rash) == []
        assert det._scene_kind is SceneKind.SKIN_CLOSEUP
        pose = (Box(120, 60, 300, 300), 0.48, "pose")
        weak = (Box(130, 70, 280, 280), 0.6, "short")
        assert det._second_opinion(0, rash, [pose]) == []
        assert det._second_opinion(0, rash, [pose, weak]) == []
        # A small weak BlazeFace hit is still kept there (a far face costs a small patch).
        small = (Box(20, 20, 60, 60), 0.4, "tile")
        assert det._second_opinion(0, rash, [small]) == [small]
    finally:
        det.close()
    # A real face in a close-up: CenterFace, asked about the pose head, confirms it.
    face = _skin_closeup(astronaut)
    det = FaceDetector(lookahead=0)
    try:
        regions = det.process_frame(0, face)
        assert det._scene_kind is SceneKind.SKIN_CLOSEUP
        assert coverage(Box(230, 150, 180, 180), [r.box for r in regions]) >= 0.95
        on_face = (Box(215, 120, 210, 230), 0.48, "pose")
        assert det._second_opinion(1, face, [on_face]) == [on_face]
    finally:
        det.close()
    # In a picture of people pose stays trusted alone (it finds heads turned away) and still
    # confirms a weak BlazeFace hit at its head.
    det = FaceDetector(lookahead=0)
    try:
        det.process_frame(0, astronaut)
        assert det._scene_kind is SceneKind.SCENE
        assert det._second_opinion(1, rash, [pose, weak]) == [pose, weak]
    finally:
        det.close()


def _centerface_inputs(det: FaceDetector) -> list[tuple[int, float]]:
    """Spy on the detector's CenterFace: (net side, mean of the image) of every whole-frame call."""
    calls: list[tuple[int, float]] = []
    real = det._cf.detect

    def spy(
        rgb: np.ndarray, where: Placement, side: int, **kw: float | None
    ) -> list[CenterFaceHit]:
        if side != det.config.verify_side:  # the second opinions on one head are not counted
            calls.append((side, float(rgb.mean())))
        return real(rgb, where, side, **kw)

    det._cf.detect = spy  # type: ignore[method-assign]
    return calls


@pytest.mark.parametrize("dim", [True, False])
def test_the_periodic_centerface_pass_in_dim_footage_sees_the_normalised_copy_only(
    astronaut: np.ndarray, dim: bool
) -> None:
    # A still 640x360 shot of one head, dim (mean luma ~25) or lit. Frame 0 is a scene start
    # (CenterFace on the plain copy, and in dim light on the normalised one too); frame 24 the
    # first periodic pass: in dim light only the normalised copy (brighter than the plain one),
    # in a lit scene only the plain copy. The head stays covered either way.
    canvas = np.full((360, 640, 3), 20 if dim else 120, np.uint8)
    head = cv2.resize(astronaut[15:180, 160:320], (96, 100), interpolation=cv2.INTER_AREA)
    canvas[120:220, 300:396] = (head.astype(np.float32) * (0.25 if dim else 1.0)).astype(np.uint8)
    truth = Box(300, 120, 96, 100)
    det = FaceDetector(lookahead=24)
    calls = _centerface_inputs(det)
    try:
        for index in range(24):
            det.process_frame(index, canvas)
        start = list(calls)
        calls.clear()
        regions = det.process_frame(24, canvas)
    finally:
        det.close()
    plain = float(cv2.resize(canvas, (480, 270), interpolation=cv2.INTER_LINEAR).mean())
    assert [side for side, _ in calls] == [det.config.cf_side]
    (mean,) = [m for _, m in calls]
    assert (mean > plain + 5) if dim else abs(mean - plain) < 1
    assert len(start) == (2 if dim else 1)
    assert coverage(truth, [r.box for r in regions]) >= 0.95
