"""Thin wrappers around the MediaPipe legacy solutions consentclip uses, created once and reused.

Only models bundled in the pinned mediapipe 0.10.21 wheel are touched: face detection
short-range (``model_selection=0``) and full-range sparse (``model_selection=1``), and pose with
``model_complexity=1`` (0 and 2 would be downloaded at run time, which we never allow).
Everything returned is in the caller's pixel coordinates: each call takes the offset and scale
of the image it was given relative to the frame.
"""

from __future__ import annotations

import importlib
import os
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from consentclip.detect._quiet import native_stderr_filtered
from consentclip.detect.regions import Box
from consentclip.errors import MediaError

# MediaPipe's C++ logging is noise for a CLI user; keep warnings and errors only.
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

POSE_HEAD_LANDMARKS = 11  # 0 nose, 1-3 left eye, 4-6 right eye, 7-8 ears, 9-10 mouth


@dataclass(frozen=True)
class Placement:
    """Where an image handed to a model sits in the frame: frame = offset + image / scale."""

    x0: float = 0.0
    y0: float = 0.0
    scale: float = 1.0

    def to_frame(self, x: float, y: float) -> tuple[float, float]:
        return self.x0 + x / self.scale, self.y0 + y / self.scale


@dataclass(frozen=True)
class FaceHit:
    box: Box  # BlazeFace's box: brows to chin, in frame pixels
    score: float
    # 6 x 2 in frame pixels: right eye, left eye, nose tip, mouth, right ear, left ear (tragion)
    keypoints: np.ndarray | None = None


def solutions() -> Any:
    """``mediapipe.solutions``, imported the one way the package imports mediapipe (below)."""
    try:
        # Here, not at the top: mediapipe takes over a second to import, paid only when a
        # detector builds its first graph (never by `--help`, `consent` or `doctor`).
        mp = _import_mediapipe()
    except ImportError as exc:  # the install is broken, not the input
        raise MediaError(
            "mediapipe is not installed", hint="run 'make setup' or 'consentclip doctor'"
        ) from exc
    return mp.solutions


_PLOT_MODULES = ("matplotlib", "matplotlib.pyplot")
_TASKS = "mediapipe.tasks.python"


class _ImportOnUse(types.ModuleType):
    """Stands in for the module of the same name: the real one is imported the first time
    anything of it is used (``matplotlib.pyplot`` in mediapipe's ``drawing_utils``, ~0.45 s,
    needed only by its plotting helper; ``mediapipe.tasks.python``, the Tasks API: audio, text,
    vision, genai; consentclip runs the legacy solutions only)."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # the import system's probes (__path__, ...): not a use
            raise AttributeError(name)
        real = importlib.import_module(self.__name__)
        if self.__name__ == _TASKS:
            # Importing it sets ``mediapipe.tasks`` to the ``mediapipe.tasks`` package;
            # mediapipe binds that name to ``mediapipe.tasks.python`` (``import ... as
            # tasks``): so do we.
            sys.modules["mediapipe"].tasks = real
        return getattr(real, name)


def _import_mediapipe() -> Any:
    """``import mediapipe``, without importing matplotlib or the Tasks API.

    The package imports every legacy solution, and ``drawing_utils`` imports
    ``matplotlib.pyplot`` for a 3-D plotting helper that consentclip never calls: about 0.45 of
    the ~0.75 CPU seconds the import costs, paid by every export run in a fresh process (the
    CLI's ``export`` and ``photo``; measured in bench/results/engine_ab.md). It also imports the
    whole Tasks API (``mediapipe.tasks.python``: audio with sounddevice, text, vision, genai),
    which consentclip never uses: about 0.07 of the ~0.15 CPU seconds left. While mediapipe is
    imported, placeholders stand in for both; they are removed from ``sys.modules`` afterwards,
    so the rest of the process imports the real modules as usual, and what mediapipe kept a
    reference to (``drawing_utils.plt``, ``mediapipe.tasks``) is a stand-in that imports the
    real module on first use. When matplotlib is already loaded there is nothing to save and
    mediapipe is imported as it is.
    """
    loaded = ("mediapipe", "mediapipe.tasks", *_PLOT_MODULES)
    if any(name in sys.modules for name in loaded):
        # In the function, as everywhere here: mediapipe is paid for only when a graph is built.
        import mediapipe

        return mediapipe
    package = types.ModuleType("matplotlib", "placeholder while mediapipe is imported")
    package.__path__ = []  # a package, so that ``import matplotlib.pyplot`` resolves
    pyplot = _ImportOnUse("matplotlib.pyplot")
    package.pyplot = pyplot  # type: ignore[attr-defined]
    # ``import mediapipe.tasks.python as tasks``: with both names in sys.modules the import
    # system loads neither (the parent package is found there too).
    tasks_package = types.ModuleType("mediapipe.tasks", "placeholder while mediapipe is imported")
    tasks_package.__path__ = []
    tasks = _ImportOnUse(_TASKS)
    tasks_package.python = tasks  # type: ignore[attr-defined]
    placeholders = {
        "matplotlib": package,
        "matplotlib.pyplot": pyplot,
        "mediapipe.tasks": tasks_package,
        _TASKS: tasks,
    }
    sys.modules.update(placeholders)
    try:
        # Here: the placeholders must be in place first (see the docstring).
        import mediapipe
    finally:
        for name, module in placeholders.items():
            if sys.modules.get(name) is module:
                del sys.modules[name]
    return mediapipe


def started(make: Callable[[], Any]) -> Any:
    """Build a MediaPipe solution graph and run it once on a blank image, with its native
    start-up chatter filtered from stderr (see ``_quiet``); real errors still get through."""
    with native_stderr_filtered():
        graph = make()
        graph.process(np.zeros((64, 64, 3), np.uint8))
    return graph


class FaceModel:
    """One BlazeFace graph (short- or full-range). ``detect`` takes an RGB uint8 image."""

    def __init__(self, *, full_range: bool, threshold: float) -> None:
        fd = solutions().face_detection
        self._graph = started(
            lambda: fd.FaceDetection(
                model_selection=1 if full_range else 0, min_detection_confidence=threshold
            )
        )

    def detect(self, rgb: np.ndarray, where: Placement) -> list[FaceHit]:
        """Faces (BlazeFace's brows-to-chin box and its keypoints) in frame pixels."""
        h, w = rgb.shape[:2]
        found: list[FaceHit] = []
        for det in _detections(self._graph, rgb):
            bb = det.location_data.relative_bounding_box
            x1, y1 = where.to_frame(bb.xmin * w, bb.ymin * h)
            x2, y2 = where.to_frame((bb.xmin + bb.width) * w, (bb.ymin + bb.height) * h)
            if x2 <= x1 or y2 <= y1:
                continue
            points = [
                where.to_frame(k.x * w, k.y * h) for k in det.location_data.relative_keypoints
            ]
            keypoints = np.asarray(points, np.float64) if len(points) == 6 else None
            found.append(FaceHit(Box.from_corners(x1, y1, x2, y2), float(det.score[0]), keypoints))
        return found

    def close(self) -> None:
        self._graph.close()


def _detections(graph: Any, rgb: np.ndarray) -> list[Any]:
    """``graph.process(rgb).detections`` without what ``SolutionBase.process`` adds around it:
    it builds a new namedtuple class on every call (``collections.namedtuple``: an ``eval`` and
    a class creation, ~0.4 ms, as much as a tenth of a short-range model call). The same steps
    on the same graph, in the same order: the image packet at the next simulated timestamp,
    wait until the graph is idle, read the ``detections`` stream. A mediapipe whose
    SolutionBase lacks these internals (other than the pinned 0.10.21) takes the public way."""
    try:
        inner, outputs = graph._graph, graph._graph_outputs
        kind = graph._input_stream_type_info["image"]
        out_kind = graph._output_stream_type_info["detections"]
        make, content = graph._make_packet, graph._get_packet_content
    except (AttributeError, KeyError, TypeError):
        return list(graph.process(rgb).detections or ())
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError("Input image must contain three channel rgb data.")
    outputs.clear()
    graph._simulated_timestamp += 33333
    inner.add_packet_to_input_stream(
        stream="image", packet=make(kind, rgb).at(graph._simulated_timestamp)
    )
    inner.wait_until_idle()
    packet = outputs.get("detections")
    return list(content(out_kind, packet) or ()) if packet is not None else []


class PoseModel:
    """MediaPipe pose (complexity 1, the only bundled one) in static-image mode: we run it on a
    cadence, not on every frame, so its own frame-to-frame tracking would follow stale ROIs."""

    def __init__(self, *, threshold: float = 0.5) -> None:
        pose = solutions().pose
        self._graph = started(
            lambda: pose.Pose(
                static_image_mode=True,
                model_complexity=1,
                enable_segmentation=False,
                min_detection_confidence=threshold,
            )
        )

    def head_landmarks(self, rgb: np.ndarray, where: Placement) -> np.ndarray | None:
        """The 11 head landmarks (nose, eyes, ears, mouth) as rows (x, y, visibility) in frame
        pixels, or None when no person is found."""
        h, w = rgb.shape[:2]
        # Pose logs a projection warning on its first non-square image; it runs on a cadence,
        # so filtering every call costs little.
        with native_stderr_filtered():
            result = self._graph.process(rgb)
        if result.pose_landmarks is None:
            return None
        rows = []
        for lm in result.pose_landmarks.landmark[:POSE_HEAD_LANDMARKS]:
            x, y = where.to_frame(lm.x * w, lm.y * h)
            rows.append((x, y, lm.visibility))
        return np.asarray(rows, dtype=np.float64)

    def close(self) -> None:
        self._graph.close()
