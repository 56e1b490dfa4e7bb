"""Per-call CPU of the engine's pure speed-ups of branch cost4, old way against new, side by side.

    .venv/bin/python bench/engine_micro_ab.py [--rounds 5]

Each pair runs the same work both ways in alternating rounds (the median of the rounds; the
load of other processes falls on both) and checks that both give the same answer:

- a BlazeFace call through MediaPipe's public ``SolutionBase.process`` (which builds a
  namedtuple class per call) against ``_mp._detections`` (the same graph steps);
- ``Box.iou`` through the properties (the old code, rebuilt here) against the inlined one;
- a redacted region's feather: the old ROI-sized outer product of the ramps against the rim's
  weights built per strip.

Multiply by the calls per clip (bench/engine_profile.py) for what each buys per export.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from consentclip.detect._mp import FaceModel, _detections  # noqa: E402
from consentclip.detect.regions import Box  # noqa: E402
from consentclip.redact import regions as red  # noqa: E402


def _old_iou(a: Box, b: Box) -> float:
    w = min(a.x2, b.x2) - max(a.x, b.x)
    h = min(a.y2, b.y2) - max(a.y, b.y)
    inter = w * h if w > 0 and h > 0 else 0.0
    union = a.area + b.area - inter
    return inter / union if union > 0 else 0.0


def _old_blend(roi: np.ndarray, redd: np.ndarray, ry: np.ndarray, rx: np.ndarray, inner) -> None:
    alpha = np.outer(ry, rx)
    ix1, iy1, ix2, iy2 = inner
    roi[iy1:iy2, ix1:ix2] = redd[iy1:iy2, ix1:ix2]
    h, w = roi.shape[:2]
    for ys, xs in (
        (slice(0, iy1), slice(0, w)),
        (slice(iy2, h), slice(0, w)),
        (slice(iy1, iy2), slice(0, ix1)),
        (slice(iy1, iy2), slice(ix2, w)),
    ):
        part = alpha[ys, xs]
        if part.size:
            roi[ys, xs] = cv2.blendLinear(redd[ys, xs], roi[ys, xs], part, 1.0 - part)


def _pair(old, new, calls: int, rounds: int) -> tuple[float, float]:
    times: dict[str, list[float]] = {"old": [], "new": []}
    for _ in range(rounds):
        for name, fn in (("old", old), ("new", new)):
            start = time.process_time()
            for _ in range(calls):
                fn()
            times[name].append((time.process_time() - start) / calls * 1e3)
    return statistics.median(times["old"]), statistics.median(times["new"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    rows = []
    from skimage import data  # a real face, from a dev dependency

    rgb = np.ascontiguousarray(cv2.resize(data.astronaut(), (640, 360)))
    for full in (False, True):
        model = FaceModel(full_range=full, threshold=0.3)
        graph = model._graph
        a = [d.SerializeToString() for d in graph.process(rgb).detections or ()]
        b = [d.SerializeToString() for d in _detections(graph, rgb)]
        assert a == b
        old, new = _pair(
            lambda g=graph: g.process(rgb), lambda g=graph: _detections(g, rgb), 100, args.rounds
        )
        rows.append((f"BlazeFace {'full' if full else 'short'}-range call, 640x360", old, new))
        model.close()
    boxes = [Box(*rng.uniform(0, 300, 2), *rng.uniform(5, 200, 2)) for _ in range(200)]
    pairs = [(boxes[i], boxes[(i * 7 + 3) % 200]) for i in range(200)]
    assert all(_old_iou(p, q) == p.iou(q) for p, q in pairs)
    old, new = _pair(
        lambda: [_old_iou(p, q) for p, q in pairs], lambda: [p.iou(q) for p, q in pairs], 50,
        args.rounds,
    )  # fmt: skip
    rows.append(("Box.iou (per call)", old / 200, new / 200))
    # A 150-px head at 1080p: ROI with an 18-px feather.
    frame = rng.integers(0, 256, (240, 240, 3), np.uint8)
    redd = rng.integers(0, 256, (240, 240, 3), np.uint8)
    ry = red._ramp(240, 18, 222, 18)
    rx = red._ramp(240, 18, 222, 18)
    inner = (18, 18, 222, 222)
    one, two = frame.copy(), frame.copy()
    _old_blend(one, redd, ry, rx, inner)
    red._blend_rim(two, redd, (ry, rx), inner)
    assert (one == two).all()
    old, new = _pair(
        lambda: _old_blend(frame.copy(), redd, ry, rx, inner),
        lambda: red._blend_rim(frame.copy(), redd, (ry, rx), inner),
        300, args.rounds,
    )  # fmt: skip
    rows.append(("feather of a 204-px region (ROI 240 px)", old, new))
    print("| per call | old ms | new ms | saved ms |\n|---|---:|---:|---:|")
    for name, old, new in rows:
        print(f"| {name} | {old:.4f} | {new:.4f} | {old - new:.4f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
