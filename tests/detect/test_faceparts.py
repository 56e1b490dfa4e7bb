"""Face parts filling a close-up (faceparts.py): real models, no mocks.

The parts are cut from scikit-image's public-domain astronaut portrait and enlarged 3x, the way a
clinical close-up shows the lower half of a face or one side of it: neither BlazeFace nor
CenterFace finds a face there, so what covers them in FaceDetector is the part cue ("part").
The pictures without a face are the committed sample_media lesion photos.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from faceboxes import coverage

import consentclip.detect.faceparts as faceparts
from consentclip.detect.centerface import CenterFaceModel
from consentclip.detect.faceparts import FacePartConfig, FacePartModel
from consentclip.detect.faces import FaceDetector
from consentclip.detect.regions import SURE_FACE, Box
from consentclip.errors import MediaError

SAMPLES = Path(__file__).resolve().parents[2] / "sample_media"

# (x1, y1, x2, y2) in the astronaut portrait: parts of his face without the rest of it.
PARTS = {
    "mouth and chin": (180, 120, 300, 185),
    "left half": (150, 40, 250, 190),
    "nose and mouth": (200, 90, 280, 170),
}
# A lone eye filling the picture: (crop, the eye itself), both in the portrait's pixels (eye
# centres from CenterFace's keypoints on the whole portrait: (203, 102) and (247, 104)).
EYES = {
    "right eye": ((178, 86, 218, 114), (193, 97, 213, 107)),
    "left eye": ((228, 86, 268, 114), (237, 99, 257, 110)),
}


@pytest.fixture(scope="module")
def model() -> Iterator[FacePartModel]:
    m = FacePartModel(CenterFaceModel())
    yield m
    m.close()


def _part(astronaut: np.ndarray, name: str) -> np.ndarray:
    x1, y1, x2, y2 = PARTS[name]
    return cv2.resize(astronaut[y1:y2, x1:x2], None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)


def _whole(image: np.ndarray) -> Box:
    return Box.from_corners(0, 0, image.shape[1], image.shape[0])


@pytest.mark.parametrize("name", sorted(PARTS))
def test_a_face_part_filling_the_picture_is_found(
    model: FacePartModel, astronaut: np.ndarray, name: str
) -> None:
    picture = _part(astronaut, name)
    hits = model.find(picture)
    assert hits, f"{name}: no face part found"
    assert all(h.score >= model.config.presence for h in hits)
    # The face continues beyond the picture: its landmark hull, clipped, covers most of it.
    assert coverage(_whole(picture), [h.box for h in hits]) >= 0.8


@pytest.mark.parametrize("name", sorted(EYES))
def test_a_lone_eye_filling_the_picture_is_found_beside_its_mirror(
    model: FacePartModel, astronaut: np.ndarray, name: str
) -> None:
    (x1, y1, x2, y2), (ex1, ey1, ex2, ey2) = EYES[name]
    k = 5.6  # a 40 px wide crop to 224 px, as a close-up of the eye
    picture = cv2.resize(astronaut[y1:y2, x1:x2], None, fx=k, fy=k, interpolation=cv2.INTER_CUBIC)
    eye = Box.from_corners((ex1 - x1) * k, (ey1 - y1) * k, (ex2 - x1) * k, (ey2 - y1) * k)
    # Alone, the eye is no face to either model: the placed squares find nothing ...
    placed_only = FacePartModel(CenterFaceModel(), FacePartConfig(mirror_widths=()))
    try:
        assert placed_only.find(picture) == []
    finally:
        placed_only.close()
    # ... beside its mirror image it makes a pair of eyes, which both models call a face.
    hits = model.find(picture)
    assert hits, f"{name}: not found"
    assert coverage(eye, [h.box for h in hits]) >= 0.95


@pytest.mark.parametrize("name", sorted(EYES))
def test_a_lone_eye_atop_a_tall_picture_is_found_in_a_square_window(
    model: FacePartModel, astronaut: np.ndarray, name: str
) -> None:
    # The eye close-up with the skin below it stretched to a picture twice as tall as wide (a
    # portrait-format close-up): the whole picture beside its mirror would be a face's
    # proportions, so it is paired in square windows; the top one holds the eye.
    (x1, y1, x2, y2), (ex1, ey1, ex2, ey2) = EYES[name]
    k = 5.6
    close = cv2.resize(astronaut[y1:y2, x1:x2], None, fx=k, fy=k, interpolation=cv2.INTER_CUBIC)
    width = close.shape[1]
    picture = cv2.copyMakeBorder(close, 0, 2 * width - close.shape[0], 0, 0, cv2.BORDER_REPLICATE)
    eye = Box.from_corners((ex1 - x1) * k, (ey1 - y1) * k, (ex2 - x1) * k, (ey2 - y1) * k)
    mirrored = model._mirrored_hypotheses(picture)
    assert mirrored, f"{name}: no mirrored square called a face"
    hits = model.find(picture)
    assert coverage(eye, [h.box for h in hits]) >= 0.95


def test_a_placed_face_lying_mostly_off_the_picture_is_dropped(astronaut: np.ndarray) -> None:
    # The mouth and chin: the face the landmark model fits continues above the picture, onto the
    # square's border. Found with no share required on the picture, and not when nearly the
    # whole face must lie on it (a tattoo photo's false face lay 0.21 on the picture).
    picture = _part(astronaut, "mouth and chin")
    loose = FacePartModel(CenterFaceModel(), FacePartConfig(on_picture=0.0, mirror_widths=()))
    strict = FacePartModel(CenterFaceModel(), FacePartConfig(on_picture=0.95, mirror_widths=()))
    try:
        assert loose.find(picture)
        assert strict.find(picture) == []
    finally:
        loose.close()
        strict.close()


def test_on_picture_counts_the_landmarks_inside_the_frame() -> None:
    pts = np.array([[0.0, 0.0], [99.5, 49.5], [100.0, 10.0], [-1.0, 10.0], [10.0, 50.0]])
    assert faceparts._on_picture(pts, 100, 50) == pytest.approx(2 / 5)


def test_lesion_photos_get_no_face_part(model: FacePartModel) -> None:
    for name in ("lesion_photo.jpg", "label_card_lesion.jpg"):
        picture = cv2.imread(str(SAMPLES / name))
        assert picture is not None
        assert model.find(picture) == [], name


def test_a_hypothesis_centerface_does_not_confirm_is_dropped(astronaut: np.ndarray) -> None:
    # The same mouth and chin, with a confirmation CenterFace can never give: the landmark
    # model's presence score alone (which real pustules and moles also reach) covers nothing.
    strict = FacePartModel(CenterFaceModel(), FacePartConfig(confirm=0.999))
    try:
        assert strict.find(_part(astronaut, "mouth and chin")) == []
    finally:
        strict.close()


def test_face_detector_covers_a_half_face_with_the_part_cue(astronaut: np.ndarray) -> None:
    picture = _part(astronaut, "left half")
    detector = FaceDetector(lookahead=0)
    try:
        regions = detector.process_frame(0, picture)
    finally:
        detector.close()
    assert [r.source for r in regions] == ["part"]
    assert coverage(_whole(picture), [r.box for r in regions]) >= 0.8


def test_a_missing_model_fails_closed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(faceparts, "model_path", lambda: tmp_path / "face_landmark.tflite")
    with pytest.raises(MediaError, match="face landmark model is missing"):
        FacePartModel(CenterFaceModel())


def test_in_a_clip_a_found_part_is_looked_for_again_on_centerface_cadence(
    astronaut: np.ndarray,
) -> None:
    # A clip that stays on the nose and mouth (a skin close-up): found at the scene start and
    # again 24 frames later (CenterFace's cadence), so the tracker, which holds a head for 30
    # frames, never drops it. (In a clip the half face and the mouth and chin are found by
    # BlazeFace and CenterFace at the cut, which then skips the cue: the next test.)
    picture = _part(astronaut, "nose and mouth")
    detector = FaceDetector(lookahead=24)
    try:
        found = [
            i
            for i in range(25)
            if any(r.source == "part" for r in detector.process_frame(i, picture))
        ]
    finally:
        detector.close()
    assert found == [0, 24]


@pytest.mark.parametrize(("lookahead", "asked"), [(24, 0), (0, 1)])
def test_a_clip_cut_that_shows_a_sure_face_skips_the_part_cue(
    astronaut: np.ndarray, lookahead: int, asked: int
) -> None:
    # The whole portrait: a face at ordinary scale, found by BlazeFace at >= SURE_FACE. In a clip
    # a face filling the picture cannot be there too, so the cue's 0.3 s is saved at the cut; a
    # photo (no look-ahead) is looked at once, and is always asked.
    detector = FaceDetector(lookahead=lookahead)
    calls: list[int] = []
    find = detector._parts.find

    def counted(frame: np.ndarray) -> list:
        calls.append(1)
        return find(frame)

    detector._parts.find = counted  # type: ignore[method-assign]
    try:
        regions = detector.process_frame(0, astronaut)
    finally:
        detector.close()
    assert len(calls) == asked
    assert any(r.score >= SURE_FACE for r in regions)
