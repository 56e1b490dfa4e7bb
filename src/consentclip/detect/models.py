"""The model files consentclip relies on: MediaPipe's, bundled in the pinned 0.10.21 wheel, and
CenterFace's and the PP-OCRv4 text detector's, bundled in this package (detect/weights).

Nothing is ever downloaded: if a file is missing, the install is wrong and we say so.
Only ``model_complexity=1`` pose is bundled (lite and heavy would be fetched at run time).
"""

from __future__ import annotations

import importlib.util
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from consentclip.detect._mp import Placement
from consentclip.detect.centerface import CenterFaceModel, model_path
from consentclip.errors import MediaError
from consentclip.health import Check

PINNED_MEDIAPIPE = "0.10.21"

REQUIRED_MODELS: dict[str, str] = {
    "face detection, short range": "modules/face_detection/face_detection_short_range.tflite",
    "face detection, full range": "modules/face_detection/face_detection_full_range_sparse.tflite",
    "pose landmarks (full)": "modules/pose_landmark/pose_landmark_full.tflite",
    "pose detection": "modules/pose_detection/pose_detection.tflite",
    "face landmarks (face parts, OpenCV DNN)": "modules/face_landmark/face_landmark.tflite",
    "selfie segmentation": "modules/selfie_segmentation/selfie_segmentation.tflite",
    "selfie segmentation, landscape": (
        "modules/selfie_segmentation/selfie_segmentation_landscape.tflite"
    ),
}


def mediapipe_root() -> Path | None:
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def mediapipe_version() -> str:
    """The installed mediapipe wheel's version, which is the version of its bundled models."""
    try:
        return version("mediapipe")
    except PackageNotFoundError:
        return "missing"


def model_checks() -> list[Check]:
    root = mediapipe_root()
    if root is None:
        return [Check("mediapipe", False, "not installed; run 'make setup'")]
    installed = version("mediapipe")
    checks = [
        Check(
            "mediapipe",
            installed == PINNED_MEDIAPIPE,
            f"{installed}"
            + ("" if installed == PINNED_MEDIAPIPE else f" (consentclip needs {PINNED_MEDIAPIPE})"),
        )
    ]
    for label, rel in REQUIRED_MODELS.items():
        path = root / rel
        ok = path.is_file() and path.stat().st_size > 0
        checks.append(Check(f"model: {label}", ok, path.name if ok else f"missing: {path}"))
    checks.append(centerface_check())
    return checks


def centerface_check() -> Check:
    """The bundled CenterFace model loads in OpenCV's DNN and finds nothing in a blank image."""
    name = "model: face detection, CenterFace (OpenCV DNN)"
    try:
        hits = CenterFaceModel().detect(np.zeros((64, 64, 3), np.uint8), Placement(), 64)
    except (MediaError, OSError) as exc:
        return Check(name, False, str(exc))
    if hits:
        return Check(name, False, "answers faces in a blank image: the model file is damaged")
    return Check(name, True, model_path().name)
