"""Redaction strength, judged by detectors independent of ours: OpenCV's Haar cascade and
MediaPipe's face detector must find the real face before redaction and nothing after, even
after an attacker sharpens the result."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from consentclip.detect.regions import Box, Region, RegionKind
from consentclip.media.decode import FrameReader
from consentclip.media.probe import probe_video
from consentclip.pipeline import anonymise
from consentclip.redact import RedactPlan, redact_frame
from consentclip.settings import EngineSettings, RedactMode

SAMPLES = Path(__file__).resolve().parents[2] / "sample_media"
# The astronaut's head in skimage.data.astronaut() (512x512), hair and ears included.
HEAD = Box(140, 10, 150, 200)

DetectFn = Callable[[np.ndarray], list[Box]]


@pytest.fixture(scope="module")
def haar() -> DetectFn:
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    assert not cascade.empty()

    def find(frame: np.ndarray) -> list[Box]:
        grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        hits = cascade.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=3)
        return [Box(float(x), float(y), float(w), float(h)) for x, y, w, h in hits]

    return find


@pytest.fixture(scope="module")
def mediapipe_faces() -> DetectFn:
    import mediapipe as mp

    detectors = [
        mp.solutions.face_detection.FaceDetection(model_selection=m, min_detection_confidence=0.3)
        for m in (0, 1)
    ]

    def find(frame: np.ndarray) -> list[Box]:
        h, w = frame.shape[:2]
        rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        boxes = []
        for d in detectors:
            for det in d.process(rgb).detections or ():
                b = det.location_data.relative_bounding_box
                boxes.append(Box(b.xmin * w, b.ymin * h, b.width * w, b.height * h))
        return boxes

    return find


def _inside(hits: list[Box], where: list[Box]) -> list[Box]:
    """Hits centred on a known face: elsewhere both detectors have false positives (Haar finds
    "faces" in the astronaut's flag and in folds of clothing), which say nothing about a leak."""
    return [h for h in hits if any(w.x <= h.cx <= w.x2 and w.y <= h.cy <= w.y2 for w in where)]


def _sharpened(frame: np.ndarray) -> np.ndarray:
    soft = cv2.GaussianBlur(frame, (0, 0), 3)
    return cv2.addWeighted(frame, 2.5, soft, -1.5, 0)


@pytest.mark.parametrize("scale", [0.5, 1.5])
@pytest.mark.parametrize("mode", list(RedactMode))
def test_no_independent_detector_finds_the_redacted_face(
    mode: RedactMode,
    scale: float,
    astronaut_bgr: np.ndarray,
    haar: DetectFn,
    mediapipe_faces: DetectFn,
) -> None:
    frame = cv2.resize(astronaut_bgr, None, fx=scale, fy=scale)
    head = Box(HEAD.x * scale, HEAD.y * scale, HEAD.w * scale, HEAD.h * scale)
    # The test can fail: both detectors find the real face before redaction.
    assert _inside(haar(frame), [head]) and _inside(mediapipe_faces(frame), [head])
    redact_frame(frame, [Region(head, RegionKind.FACE)], RedactPlan(mode=mode))
    for attempt in (frame, _sharpened(frame)):
        assert _inside(haar(attempt), [head]) == []
        assert _inside(mediapipe_faces(attempt), [head]) == []


def test_blur_grows_with_the_region(astronaut_bgr: np.ndarray) -> None:
    """A small and a large copy of the face keep the same (tiny) amount of detail."""

    def detail(scale: float, redact: bool) -> float:
        img = cv2.resize(astronaut_bgr, None, fx=scale, fy=scale)
        box = Box(HEAD.x * scale, HEAD.y * scale, HEAD.w * scale, HEAD.h * scale)
        if redact:
            redact_frame(img, [Region(box, RegionKind.FACE)], RedactPlan())
        x1, y1, x2, y2 = box.int_corners()
        crop = cv2.resize(img[y1:y2, x1:x2], (64, 64), interpolation=cv2.INTER_AREA)
        return float(cv2.Laplacian(crop, cv2.CV_64F).var())

    for scale in (0.5, 1.0, 2.0):
        assert detail(scale, redact=True) < detail(scale, redact=False) / 10, scale


def test_real_engine_on_talking_head(
    tmp_path: Path, ffmpeg_bin: str, haar: DetectFn, mediapipe_faces: DetectFn
) -> None:
    """The real detectors and tracker end to end: faces in the input, none in the output."""
    src = tmp_path / "head.mp4"  # the first 1.6 s of the sample keeps this test short
    subprocess.run(
        [ffmpeg_bin, "-loglevel", "error", "-i", str(SAMPLES / "talking_head.mp4"), "-t", "1.6",
         "-c:v", "libx264", "-preset", "ultrafast", "-an", str(src)],
        check=True,
    )  # fmt: skip
    out = tmp_path / "anon.mp4"
    result = anonymise(src, out, EngineSettings(tattoos=False))
    assert result.face_tracks >= 1 and result.frames_with_faces == result.frames
    found_in, found_out = 0, 0
    with FrameReader(probe_video(src)) as a, FrameReader(probe_video(out)) as b:
        for (i, before), (_, after) in zip(a, b, strict=True):
            if i % 4:
                continue
            faces = [f.scaled(1.5) for f in mediapipe_faces(before)]
            found_in += len(faces)
            found_out += len(_inside(haar(after) + mediapipe_faces(after), faces))
    assert found_in >= 10 and found_out == 0
