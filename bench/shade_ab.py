# ruff: noqa: E501  (markdown table rows read best on one line)
"""The silhouette-shade rule on and off, side by side in one run: the tattoo detector alone.

    .venv/bin/python bench/real/build.py closeups tattoos   # the real sets, from the mirrors
    GLOG_minloglevel=2 .venv/bin/python bench/shade_ab.py [--out FILE] [--limit N]

For every image of the real ``closeups`` set (MSLD rash close-ups: nothing to redact) and the
real ``tattoos`` set (BIVTatt, human-drawn boxes) the detector (``TattooDetector``, default
settings, no face boxes) runs twice, with ``tattoos.silhouette_shade`` as shipped and with it
answering "no shade" (the detector as before the rule). Reported: close-ups with any pixel under
a tattoo box and the mean share boxed; tattoo boxes >= 95% covered, per box changes of verdict;
the share of the tattoo photos boxed outside the human boxes; and the detector's time per 1080p
frame both ways (the same real photos scaled to 1920x1080, alternating rounds).

The engine's own figures (faces and text too, as an export) come from bench/real_skin.py.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import tomllib

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from consentclip.atomic import write_text_atomic  # noqa: E402
from consentclip.detect import tattoos  # noqa: E402
from consentclip.media.photo import load_photo  # noqa: E402
from real_skin import box_masks, region_mask  # noqa: E402

DATA = Path(os.environ.get("CONSENTCLIP_REAL_DATA", ROOT / "bench" / "real" / "data"))
COVERED = 0.95
SHIPPED = tattoos.silhouette_shade


def no_shade(lab, ink, on, tuning) -> np.ndarray:
    return np.zeros(ink.shape, bool)


def items(name: str, limit: int) -> list[tuple[Path, dict]]:
    man = tomllib.loads((ROOT / "bench" / "real" / name / "manifest.toml").read_text())
    out = [(DATA / name / it["file"], it) for it in man["item"]]
    out = [(f, it) for f, it in out if f.exists()]
    return out[:limit] if limit else out


def boxed(img: np.ndarray, rule: Callable) -> tuple[np.ndarray, list[str]]:
    tattoos.silhouette_shade = rule
    det = tattoos.TattooDetector()
    try:
        regions = det.process_frame(0, img)
    finally:
        det.close()
    return region_mask(img.shape[:2], regions), [c.reason for c in det.last_candidates]


def cost(frames: list[np.ndarray], rounds: int = 3) -> dict[str, float]:
    times: dict[str, list[float]] = {"off": [], "on": []}
    for k in range(rounds):
        for mode in ("off", "on") if k % 2 == 0 else ("on", "off"):
            tattoos.silhouette_shade = SHIPPED if mode == "on" else no_shade
            det = tattoos.TattooDetector(segmentation=False)
            det.process_frame(0, frames[0])  # warm-up
            t0 = time.perf_counter()
            for f in frames:
                det.process_frame(0, f)
            times[mode].append((time.perf_counter() - t0) / len(frames) * 1000)
    return {m: float(np.median(v)) for m, v in times.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--limit", type=int, default=0, help="at most N images per set (0: all)")
    args = ap.parse_args()
    close, tat = items("closeups", args.limit), items("tattoos", args.limit)
    if not close or not tat:
        print("Real data absent: run bench/real/build.py closeups tattoos first. Nothing measured.")
        return 0
    t0 = time.time()
    share = {"off": [], "on": []}
    shade_marks = {"closeups": 0, "tattoos": 0}
    for f, _ in close:
        img = load_photo(f)
        for mode, rule in (("off", no_shade), ("on", SHIPPED)):
            m, reasons = boxed(img, rule)
            share[mode].append(float(m.mean()))
            if mode == "on":
                shade_marks["closeups"] += "shade" in reasons
    covs = {"off": [], "on": []}
    outside = {"off": [], "on": []}
    names: list[str] = []
    for f, it in tat:
        img = load_photo(f)
        h, w = img.shape[:2]
        _, masks = box_masks(it.get("boxes", []), (h, w))
        if not masks:
            continue
        allbox = np.logical_or.reduce(masks)
        for mode, rule in (("off", no_shade), ("on", SHIPPED)):
            m, reasons = boxed(img, rule)
            covs[mode] += [float(m[bm].mean()) for bm in masks]
            outside[mode].append(float(m[~allbox].mean()))
            if mode == "on":
                shade_marks["tattoos"] += "shade" in reasons
        names += [f"{f.name} box {i}" for i in range(len(masks))]
    frames = [cv2.resize(load_photo(f), (1920, 1080)) for f, _ in (tat[:10] + close[:10])]
    ms = cost(frames)
    tattoos.silhouette_shade = SHIPPED

    def dmg(mode: str) -> int:
        return sum(s > 0 for s in share[mode])

    def cov(mode: str) -> float:
        return 100.0 * sum(c >= COVERED for c in covs[mode]) / len(covs[mode])

    lost = [n for n, a, b in zip(names, covs["off"], covs["on"], strict=True) if a >= COVERED > b]
    gained = [n for n, a, b in zip(names, covs["off"], covs["on"], strict=True) if b >= COVERED > a]
    fixed = [
        f.name
        for (f, _), a, b in zip(close, share["off"], share["on"], strict=True)
        if a > 0 and b == 0
    ]
    worse = [f.name for (f, _), a, b in zip(close, share["off"], share["on"], strict=True) if b > a]
    lines = [
        "Command: `GLOG_minloglevel=2 bench/shade_ab.py`; the tattoo detector alone (default settings, no face boxes), "
        f"with `silhouette_shade` off and on, side by side in one run. Wall time {time.time() - t0:.0f} s.",
        "",
        "| measure | rule off | rule on |",
        "|---|---|---|",
        f"| close-ups with any pixel under a tattoo box (of {len(close)}) | {dmg('off')} | {dmg('on')} |",
        f"| close-ups: mean share of the picture boxed | {100 * np.mean(share['off']):.1f}% | {100 * np.mean(share['on']):.1f}% |",
        f"| tattoo boxes >= 95% covered (of {len(covs['on'])}) | {cov('off'):.1f}% | {cov('on'):.1f}% |",
        f"| tattoo boxes: mean share covered | {100 * np.mean(covs['off']):.1f}% | {100 * np.mean(covs['on']):.1f}% |",
        f"| tattoo photos: share boxed outside the human boxes (mean) | {100 * np.mean(outside['off']):.1f}% | {100 * np.mean(outside['on']):.1f}% |",
        f"| detector ms per 1080p frame (median of 3 alternating rounds x {len(frames)} frames) | {ms['off']:.1f} | {ms['on']:.1f} (x{ms['on'] / ms['off']:.3f}) |",
        "",
        f"Images with a mark rejected as `shade`: close-ups {shade_marks['closeups']}, tattoo photos {shade_marks['tattoos']}.",
        f"Close-ups cleared: {', '.join(fixed) or 'none'}. Close-ups boxed more: {', '.join(worse) or 'none'}.",
        f"Tattoo boxes no longer covered: {', '.join(lost) or 'none'}. Newly covered: {', '.join(gained) or 'none'}.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        write_text_atomic(args.out, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
