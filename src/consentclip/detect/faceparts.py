"""Face parts filling a skin close-up: a lone eye, the lips, a nostril, half a face.

    FacePartModel().find(frame) -> list[FacePartHit]

Neither face detector family finds a face part without the rest of the face: BlazeFace and
CenterFace are trained on whole faces at ordinary scale, and a close-up of a rash beside an eye
shows one eye 200 px wide and nothing else of the face (bench/results/closeup_faces.md). So the
picture is *zoomed out* instead: it is shrunk into a face-sized square, as if it were a part of a
face crop, at a few sizes and positions (the eye at the top, the mouth at the bottom, ...), and
MediaPipe's face landmark model (``face_landmark.tflite``, bundled in the mediapipe 0.10.21 wheel,
Apache-2.0) is asked whether that square holds a face. Its second output is a face-presence
score, trained to tell a face crop from a crop that lost the face; a zoomed-out eye, mouth or
half face with the rest of the square empty scores 0.9-1.0. So do about 6% of real rash
close-ups and dermoscopy fields (a pustule, blisters, a mole with a ruler: the score alone is
not specific), so a hypothesis counts only when **CenterFace** (a second family, centerface.py)
also finds a face in the same square (>= 0.2): on those false hypotheses it answers 0.10 at most,
on a half face in the dark, an eye corner with the ear, lips and chin 0.28 to 0.75 (measured on
the real sets, see docs/detection-faces.md). The landmarks, mapped back, say where the face lies
in the picture: the box is their hull with a margin, clipped to the picture.

A lone eye is no face to either model, in any of those squares (the landmark model puts the
face beside it, CenterFace answers 0). So the picture is also asked *beside its own mirror
image*: an eye and its reflection make a pair of eyes, a face's upper half, which both models
call a face (the real lone eye of ``closeup_faces``: presence 0.98, CenterFace 0.27 / 0.28).
The pair fills 0.6 of the square's width at 5 heights, the mirror left and right of the picture
(10 squares); a mirrored square counts only when CenterFace agrees at *both* sizes, since on two
tattoo photos (a crescent moon, a cupcake) it agreed with a mirrored pair at one size only. The
landmarks that fall on the mirror half are folded back onto the picture. A picture taller than
wide is paired in square windows, top to bottom (the pair of a whole portrait-format photo has a
whole face's proportions: a star tattoo on a flank and its mirror were confirmed as a face).

A placed square counts only when at least ``on_picture`` (0.3) of its landmarks lie on the
picture: on that flank photo the model also read a face into the replicated right edge, 0.21 of
it on the picture, and CenterFace agreed at 320 px.

Cost: one 192x192 model call per hypothesis, ~2.7 ms of CPU on these cores; the default
schedule asks 75 + 10 hypotheses (+10 per further square window of a portrait-format picture:
20 for a 3:4 or 9:16 photo; 0.2-0.3 s of CPU here) once per picture or scene start,
whatever the frame size, and CenterFace twice (192 and 320 px) on each of the (at most 8 + 4)
squares scoring >= 0.9, which are rare on pictures without a face.
Run in OpenCV's DNN (``cv2.dnn.readNetFromTFLite``, OpenCV 4.11 as mediapipe brings it): no
second runtime. A missing or unreadable model raises MediaError: the caller fails closed.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from consentclip.detect._mp import Placement
from consentclip.detect.centerface import CenterFaceModel
from consentclip.detect.regions import Box
from consentclip.errors import MediaError

MODEL_REL = "modules/face_landmark/face_landmark.tflite"
_SIDE = 192  # the model's input: a face crop, RGB in [0, 1]
_FLAG = "conv2d_31"  # face presence, a logit
_LANDMARKS = "conv2d_21"  # 468 x (x, y, z) in input pixels


@dataclass(frozen=True)
class FacePartConfig:
    """Which hypotheses are asked. ``placements``: (border, zoom): the picture's longer side is
    1/zoom of the face square, placed on a ``steps`` x ``steps`` grid of positions in it; the
    rest of the square is black (as MediaPipe pads a face crop cut by the frame edge) or the
    picture's edge replicated. Chosen on the real sets (docs/detection-faces.md)."""

    placements: tuple[tuple[str, float], ...] = (
        ("black", 2.0),
        ("replicate", 1.5),
        ("replicate", 2.0),
    )
    steps: int = 5
    presence: float = 0.9
    confirm: float = 0.2  # CenterFace on the same square (false hypotheses: <= 0.10)
    confirm_sides: tuple[int, ...] = (192, 320)  # the square at its size and enlarged
    # Hypotheses confirmed at most per frame, the strongest first: a pustule can score >= 0.9
    # in 30 of the 75 squares, and each costs two CenterFace calls.
    confirm_max: int = 8
    margin: float = 0.1  # of the landmark hull's size, each side: brows and chin edges
    # Mirrored pairs (a lone eye): the picture beside its own mirror image, as one eye stands
    # beside the other across the face's midline, the pair ``mirror_widths`` of the square wide
    # (black around it), at ``mirror_rows`` heights from the top to the bottom of the square;
    # the mirror left of the picture and right of it. At 0.6 no square of the no-face sets is
    # confirmed (CenterFace <= 0.1 there); wider pairs reach 0.31 on a dermoscopy field and a
    # rash, more than the lone eye of the real set (0.28): docs/detection-faces.md.
    mirror_widths: tuple[float, ...] = (0.6,)
    mirror_rows: int = 5
    mirror_max: int = 4  # mirrored hypotheses confirmed at most per frame, the strongest first
    # A placed square counts only when this share of its 468 landmarks lies on the picture, not
    # on the black or replicated border around it: on a tattoo photo (a star on a bare flank)
    # the model read a face into the flank's replicated right edge, 0.21 of it on the picture,
    # which CenterFace confirmed at 320 px (0.26). The faces and parts found on the real sets
    # lie >= 0.36 on the picture (a face cut by the edge: 0.36 to 0.56).
    on_picture: float = 0.3
    # A picture taller than wide is paired with its mirror in square windows, top to bottom
    # (two for a portrait-format photo): a lone eye fills a close-up's width, but the pair of a
    # whole tall picture is as tall as it is wide, the proportions of a whole face, and the
    # model fits one onto it. On the real sets every mirrored square scoring >= 0.9 without a
    # face came from a portrait-format tattoo photo (5 of 210; CenterFace confirmed the one of
    # a star on a flank, 1.8 times as tall as wide, at 0.42 / 0.21); in square windows none is
    # confirmed there (the star's best: 0.15 / 0.18), and a lone eye at the top of a picture
    # twice as tall is still found.
    mirror_aspect: float = 1.0


# (presence, the square asked, its landmarks in square pixels, the landmarks in frame pixels)
_Hypothesis = tuple[float, np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class FacePartHit:
    box: Box  # where the face lies in the picture, frame pixels, clipped to the frame
    score: float  # the model's face presence


def model_path() -> Path:
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.submodule_search_locations:
        raise MediaError("mediapipe is not installed", hint="run 'make setup'")
    return Path(next(iter(spec.submodule_search_locations))) / MODEL_REL


class FacePartModel:
    """MediaPipe's face landmark model asked about zoomed-out copies of a picture, each answer
    confirmed by CenterFace (``centerface``: the caller's model, shared to load it once)."""

    def __init__(self, centerface: CenterFaceModel, config: FacePartConfig | None = None) -> None:
        self.config = config or FacePartConfig()
        self._cf = centerface
        path = model_path()
        if not path.is_file():
            raise MediaError(
                f"the face landmark model is missing: {path}", hint="reinstall mediapipe 0.10.21"
            )
        try:
            self._net: Any = cv2.dnn.readNetFromTFLite(str(path))
        except cv2.error as exc:
            raise MediaError(f"OpenCV cannot load the face landmark model: {exc}") from exc

    def presence(self, squares: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Face presence (0-1) and landmarks (N x 468 x 2, input pixels) of 192x192 RGB crops."""
        scores, marks = [], []
        for square in squares:
            # One at a time: OpenCV's TFLite import runs a batch no faster, and a fixed input
            # shape keeps its state simple.
            self._net.setInput(cv2.dnn.blobFromImage(square, 1.0 / 255.0))
            flag, landmarks = self._net.forward([_FLAG, _LANDMARKS])
            scores.append(1.0 / (1.0 + np.exp(-float(flag.reshape(-1)[0]))))
            marks.append(landmarks.reshape(468, 3)[:, :2])
        return np.asarray(scores, np.float64), np.asarray(marks, np.float64).reshape(-1, 468, 2)

    def find(self, frame: np.ndarray) -> list[FacePartHit]:
        """Where a face (or the part of one that fills the picture) lies in a BGR frame."""
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError("expected an HxWx3 uint8 BGR frame")
        cfg = self.config
        height, width = frame.shape[:2]
        asked = self._placed_hypotheses(frame)
        mirrored = self._mirrored_hypotheses(frame)
        hits: list[FacePartHit] = []
        # A mirrored square must be confirmed at every size: on tattoos (a crescent moon, a
        # cupcake) CenterFace agreed with a mirrored pair at one size only (0.41 at 320 px, 0.16
        # at 192), on the lone eyes at both (0.27 and 0.28 on the real one).
        tried = [
            (h, False)
            for h in asked[: cfg.confirm_max]
            if _on_picture(h[3], width, height) >= cfg.on_picture
        ]
        tried += [(h, True) for h in mirrored[: cfg.mirror_max]]
        for (score, square, marks, pts), every_side in tried:
            if not self._confirmed(square, marks, every_side=every_side):
                continue
            x1, y1 = pts.min(axis=0)
            x2, y2 = pts.max(axis=0)
            mx, my = cfg.margin * (x2 - x1), cfg.margin * (y2 - y1)
            box = Box.from_corners(x1 - mx, y1 - my, x2 + mx, y2 + my).clipped(width, height)
            if box.w >= 2 and box.h >= 2:
                hits.append(FacePartHit(box, score))
        return hits

    def _placed_hypotheses(self, frame: np.ndarray) -> list[_Hypothesis]:
        """The picture shrunk into the square at each placement: those the model calls a face,
        the strongest first, with their landmarks in frame pixels."""
        cfg = self.config
        height, width = frame.shape[:2]
        asked: list[_Hypothesis] = []
        for border, zoom in cfg.placements:
            scale = _SIDE / (zoom * max(width, height))
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            small = cv2.cvtColor(
                cv2.resize(frame, size, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB
            )
            squares, offsets = [], []
            for fy in np.linspace(0.0, 1.0, cfg.steps):
                for fx in np.linspace(0.0, 1.0, cfg.steps):
                    ox, oy = round(fx * (_SIDE - size[0])), round(fy * (_SIDE - size[1]))
                    squares.append(_placed(small, ox, oy, border))
                    offsets.append((ox, oy))
            scores, marks = self.presence(squares)
            for i in np.nonzero(scores >= cfg.presence)[0]:
                # Landmarks in frame pixels.
                pts = (marks[i] - offsets[i]) / scale
                asked.append((float(scores[i]), squares[i], marks[i], pts))
        asked.sort(key=lambda a: -a[0])
        return asked

    def _mirrored_hypotheses(self, frame: np.ndarray) -> list[_Hypothesis]:
        """The picture beside its mirror image (a lone eye and its mirror make a pair of eyes),
        shrunk into the square: those the model calls a face, the strongest first, with their
        landmarks folded back into frame pixels (a point on the mirror is its reflection). A
        picture taller than ``mirror_aspect`` is asked in windows that tall, top to bottom."""
        cfg = self.config
        height, width = frame.shape[:2]
        rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        tall = height if height <= cfg.mirror_aspect * width else round(cfg.mirror_aspect * width)
        if height <= tall:
            tops = [0]
        else:
            count = -(-height // tall)  # ceil: windows overlap, every row in one
            tops = [round(t) for t in np.linspace(0, height - tall, count)]
        asked: list[_Hypothesis] = []
        for top in tops:
            asked += self._mirrored_window(rgb[top : top + tall], top)
        asked.sort(key=lambda a: -a[0])
        return asked

    def _mirrored_window(self, rgb: np.ndarray, top: int) -> list[_Hypothesis]:
        cfg = self.config
        height, width = rgb.shape[:2]
        asked: list[_Hypothesis] = []
        for side in ("left", "right"):  # where the mirror image stands
            flipped = rgb[:, ::-1]
            pair = np.hstack([flipped, rgb] if side == "left" else [rgb, flipped])
            for share in cfg.mirror_widths:
                scale = min(share * _SIDE / (2 * width), _SIDE / height)
                size = (max(1, round(2 * width * scale)), max(1, round(height * scale)))
                small = cv2.resize(pair, size, interpolation=cv2.INTER_AREA)
                ox = (_SIDE - size[0]) // 2
                squares, offsets = [], []
                for fy in np.linspace(0.0, 1.0, cfg.mirror_rows):
                    oy = round(fy * (_SIDE - size[1]))
                    squares.append(_placed(small, ox, oy, "black"))
                    offsets.append((ox, oy))
                scores, marks = self.presence(squares)
                for i in np.nonzero(scores >= cfg.presence)[0]:
                    pts = (marks[i] - offsets[i]) / scale  # in the pair's pixels
                    x = pts[:, 0]
                    # Column j of the mirror image shows column width - 1 - j of the picture.
                    if side == "left":
                        folded = np.where(x < width, width - 1 - x, x - width)
                    else:
                        folded = np.where(x < width, x, 2 * width - 1 - x)
                    pts = np.stack([folded, pts[:, 1] + top], axis=1)
                    asked.append((float(scores[i]), squares[i], marks[i], pts))
        return asked

    def _confirmed(self, square: np.ndarray, marks: np.ndarray, *, every_side: bool) -> bool:
        """CenterFace finds a face in the same square, where the landmarks put it: at one of
        ``confirm_sides`` or, with ``every_side``, at each of them."""
        x1, y1 = marks.min(axis=0)
        x2, y2 = marks.max(axis=0)
        hull = Box.from_corners(x1, y1, x2, y2)
        for side in self.config.confirm_sides:
            hits = self._cf.detect(square, Placement(), side, threshold=self.config.confirm)
            # Most of CenterFace's box on the landmarks' face: the same face, not another spot.
            agreed = any(hull.intersection_area(h.box) >= 0.3 * h.box.area for h in hits)
            if agreed != every_side:
                return agreed
        return every_side

    def close(self) -> None:
        self._net = None


def _placed(small: np.ndarray, ox: int, oy: int, border: str) -> np.ndarray:
    h, w = small.shape[:2]
    bottom, right = _SIDE - h - oy, _SIDE - w - ox
    mode = cv2.BORDER_REPLICATE if border == "replicate" else cv2.BORDER_CONSTANT
    return cv2.copyMakeBorder(small, oy, bottom, ox, right, mode, value=(0, 0, 0))


def _on_picture(pts: np.ndarray, width: int, height: int) -> float:
    """The share of landmarks (frame pixels) that lie on the picture."""
    x, y = pts[:, 0], pts[:, 1]
    return float(np.mean((x >= 0) & (x < width) & (y >= 0) & (y < height)))
