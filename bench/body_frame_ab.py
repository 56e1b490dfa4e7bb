# ruff: noqa: E501  (markdown table rows read best on one line)
"""The body-fills-the-frame close-up cue on and off, side by side in one run, on the real sets.

    .venv/bin/python bench/real/build.py closeups tattoos lesions closeup_faces people text
    GLOG_minloglevel=2 .venv/bin/python bench/body_frame_ab.py [--out FILE] [--csv FILE] [--limit N]

``scene._body_fills_frame`` (a third way to ``skin_closeup``: a rash over a shaded trunk or limb
filling the frame) is the only thing switched. Reported:

- the scene kind of every real picture both ways, per set (the clips of people every 10th of
  their first 600 frames), with every picture that changes kind and the cue's features (at 96
  pixels wide, as ``classify_scene`` sees them) for it and for the nearest pictures that do not
  pass;
- the tattoo detector alone (``TattooDetector``, default settings, no face boxes; the engine's
  own figures come from bench/real_skin.py) on the ``closeups`` set (MSLD rash close-ups:
  nothing to redact) and the ``tattoos`` set (BIVTatt, human-drawn boxes) both ways: close-ups
  with any pixel boxed and the mean share boxed; tattoo boxes >= 95% covered and every box whose
  verdict changes;
- ``classify_scene``'s time both ways.

``--csv FILE`` also writes the cue's features and both kinds for every picture.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import tomllib

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from consentclip.atomic import write_text_atomic  # noqa: E402
from consentclip.detect import scene, tattoos  # noqa: E402
from consentclip.detect.skin import LabImage  # noqa: E402
from consentclip.media.photo import load_photo  # noqa: E402
from real_skin import box_masks, region_mask  # noqa: E402

DATA = Path(os.environ.get("CONSENTCLIP_REAL_DATA", ROOT / "bench" / "real" / "data"))
SETS = ("closeups", "tattoos", "lesions", "closeup_faces", "people", "text")
COVERED = 0.95
SHIPPED = scene._body_fills_frame


def switch(on: bool) -> None:
    scene._body_fills_frame = SHIPPED if on else (lambda lab, ring: False)


def pictures(name: str, limit: int) -> list[tuple[str, np.ndarray, dict]]:
    """(label, BGR frame, manifest item) of a set; clips every 10th of their first 600 frames."""
    path = ROOT / "bench" / "real" / name / "manifest.toml"
    if not path.exists():
        return []
    out = []
    for it in tomllib.loads(path.read_text())["item"]:
        f = DATA / name / it["file"]
        if not f.exists():
            continue
        if f.suffix.lower() in (".mp4", ".mov", ".mkv", ".webm"):
            cap = cv2.VideoCapture(str(f))
            i = 0
            while i < 600:
                ok, frame = cap.read()
                if not ok:
                    break
                if i % 10 == 0:
                    out.append((f"{f.name}#{i}", frame, it))
                i += 1
            cap.release()
        elif f.suffix.lower() in (".jpg", ".jpeg", ".png"):
            out.append((f.name, load_photo(f), it))
        if limit and len(out) >= limit:
            break
    return out


def features(frame: np.ndarray) -> dict[str, float]:
    lab = LabImage.from_bgr(scene._small(frame))
    other = scene._no_skin_colour(lab).astype(np.uint8)
    hued = float(scene._skin_hued(lab).mean())
    ring = scene._skin_field_share(lab)
    return {
        "lit": float((lab.L >= 12.0).mean()),
        "hued": hued,
        "other": float(cv2.morphologyEx(other, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)).mean()),
        "ring": ring,
        "sum": hued + ring,
    }


def boxed(img: np.ndarray) -> np.ndarray:
    det = tattoos.TattooDetector()
    try:
        regions = det.process_frame(0, img)
    finally:
        det.close()
    return region_mask(img.shape[:2], regions)


def feat_row(name: str, label: str, f: dict[str, float], off: str, on: str) -> str:
    return (
        f"| {name} | {label} | {f['lit']:.2f} | {f['hued']:.2f} | {f['other']:.3f} | "
        f"{f['ring']:.2f} | {f['sum']:.2f} | {off} -> {on} |"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--limit", type=int, default=0, help="at most N pictures per set (0: all)")
    ap.add_argument("--csv", type=Path, default=None, help="every picture's cue features here")
    args = ap.parse_args()
    t0 = time.time()
    data = {name: pictures(name, args.limit) for name in SETS}
    if not data["closeups"] or not data["tattoos"]:
        print("Real data absent: run bench/real/build.py closeups tattoos first. Nothing measured.")
        return 0
    lines = [
        f"Command: `GLOG_minloglevel=2 bench/body_frame_ab.py`; `scene._body_fills_frame` off and on, side by side in one run. Thresholds: lit >= {scene.BODY_MIN_LIT}, skin-hued share >= {scene.BODY_MIN_HUED}, no skin colour <= {scene.BODY_MAX_OTHER}, ring share >= {scene.BODY_MIN_RING}, hued + ring >= {scene.BODY_MIN_SUM}.",
        "",
        "### Scene kinds, every real picture",
        "",
        "| set | pictures | kinds, cue off | kinds, cue on |",
        "|---|---|---|---|",
    ]
    changed: list[str] = []
    nearest: list[tuple[float, str]] = []
    rows = ["set,picture,lit,skin_hued,no_skin_colour,ring,hued_plus_ring,kind_off,kind_on"]
    for name, pics in data.items():
        if not pics:
            continue
        kinds = {"off": Counter(), "on": Counter()}
        for label, frame, _ in pics:
            got = {}
            for mode in ("off", "on"):
                switch(mode == "on")
                got[mode] = scene.classify_scene(frame).value
                kinds[mode][got[mode]] += 1
            if args.csv:
                f = features(frame)
                rows.append(
                    f"{name},{label},{f['lit']:.4f},{f['hued']:.4f},{f['other']:.4f},"
                    f"{f['ring']:.4f},{f['sum']:.4f},{got['off']},{got['on']}"
                )
            if got["off"] != got["on"] or (name != "closeups" and got["on"] == "scene"):
                f = features(frame)
                if got["off"] != got["on"]:
                    changed.append(feat_row(name, label, f, got["off"], got["on"]))
                elif f["other"] <= scene.BODY_MAX_OTHER and f["lit"] >= scene.BODY_MIN_LIT:
                    nearest.append((f["sum"], feat_row(name, label, f, got["off"], got["on"])))
        lines.append(
            f"| {name} | {len(pics)} | {dict(sorted(kinds['off'].items()))} | {dict(sorted(kinds['on'].items()))} |"
        )
    switch(True)
    if args.csv:
        args.csv.write_text("\n".join(rows) + "\n")
    head = [
        "| set | picture | lit | skin-hued | no skin colour | ring | hued + ring | kind |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += ["", "Pictures that change kind:", "", *head, *changed]
    lines += [
        "",
        "Nearest pictures of the other sets that stay `scene` (lit and no-skin-colour cues passed; highest hued + ring first):",
        "",
        *head,
        *[row for _, row in sorted(nearest, reverse=True)[:8]],
    ]

    # classify_scene's cost, both ways (alternating rounds over the same pictures).
    frames = [img for _, img, _ in (data["closeups"][:20] + data["tattoos"][:20])]
    ms: dict[str, list[float]] = {"off": [], "on": []}
    for k in range(3):
        for mode in ("off", "on") if k % 2 == 0 else ("on", "off"):
            switch(mode == "on")
            t = time.perf_counter()
            for f in frames:
                scene.classify_scene(f)
            ms[mode].append((time.perf_counter() - t) / len(frames) * 1000)
    switch(True)
    cost = f"| classify_scene ms per picture (median of 3 alternating rounds x {len(frames)}) | {np.median(ms['off']):.2f} | {np.median(ms['on']):.2f} |"
    lines += [*detector_ab(data, switch, [cost]), "", f"Wall time {time.time() - t0:.0f} s."]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        write_text_atomic(args.out, text)
    return 0


def detector_ab(data: dict, switch: Callable[[bool], None], cost_rows: list[str]) -> list[str]:
    """The tattoo detector alone (no face boxes) on the close-ups and the tattoo photos, with
    ``switch(False)`` and ``switch(True)``: the report's table (``cost_rows``, the cue's own
    cost measured by the caller, at its end) and the pictures that moved. Shared by the A/B
    scripts of the close-up cues (this one and bench/dark_ground_ab.py)."""
    share: dict[str, list[float]] = {"off": [], "on": []}
    names_c = [label for label, _, _ in data["closeups"]]
    for _, img, _ in data["closeups"]:
        for mode in ("off", "on"):
            switch(mode == "on")
            share[mode].append(float(boxed(img).mean()))
    covs: dict[str, list[float]] = {"off": [], "on": []}
    names_t: list[str] = []
    for label, img, it in data["tattoos"]:
        _, masks = box_masks(it.get("boxes", []), img.shape[:2])
        if not masks:
            continue
        for mode in ("off", "on"):
            switch(mode == "on")
            m = boxed(img)
            covs[mode] += [float(m[bm].mean()) for bm in masks]
        names_t += [f"{label} box {i}" for i in range(len(masks))]
    switch(True)

    def dmg(mode: str) -> int:
        return sum(s > 0 for s in share[mode])

    def cov(mode: str) -> float:
        return 100.0 * sum(c >= COVERED for c in covs[mode]) / max(1, len(covs[mode]))

    pairs = list(zip(names_c, share["off"], share["on"], strict=True))
    cleared = [f"{n} ({100 * a:.0f}%)" for n, a, b in pairs if a > 0 and b == 0]
    smaller = [f"{n} ({100 * a:.0f} -> {100 * b:.0f}%)" for n, a, b in pairs if 0 < b < a]
    worse = [f"{n} ({100 * a:.0f} -> {100 * b:.0f}%)" for n, a, b in pairs if b > a]
    tpairs = list(zip(names_t, covs["off"], covs["on"], strict=True))
    moved = [f"{n} ({100 * a:.0f} -> {100 * b:.0f}%)" for n, a, b in tpairs if abs(a - b) > 1e-3]
    return [
        "",
        "### The tattoo detector alone (no face boxes), cue off and on",
        "",
        "| measure | cue off | cue on |",
        "|---|---|---|",
        f"| close-ups with any pixel under a tattoo box (of {len(share['on'])}) | {dmg('off')} | {dmg('on')} |",
        f"| close-ups: mean share of the picture boxed | {100 * np.mean(share['off']):.1f}% | {100 * np.mean(share['on']):.1f}% |",
        f"| tattoo boxes >= 95% covered (of {len(covs['on'])}) | {cov('off'):.1f}% | {cov('on'):.1f}% |",
        f"| tattoo boxes: mean share covered | {100 * np.mean(covs['off']):.1f}% | {100 * np.mean(covs['on']):.1f}% |",
        *cost_rows,
        "",
        f"Close-ups cleared: {', '.join(cleared) or 'none'}.",
        f"Close-ups boxed less: {', '.join(smaller) or 'none'}. Boxed more: {', '.join(worse) or 'none'}.",
        f"Tattoo boxes whose coverage moved: {', '.join(moved) or 'none'}.",
    ]


if __name__ == "__main__":
    raise SystemExit(main())
