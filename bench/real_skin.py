# ruff: noqa: E501  (markdown table rows read best on one line)
"""Real-material skin benchmark: lesions kept, tattoos covered, photo and video agreeing.

    .venv/bin/python bench/real/build.py lesions closeups closeup_faces tattoos   # copy the sets out of the mirrors
    .venv/bin/python bench/real_skin.py [--out bench/results/real_skin.md] [--limit N]
        [--png DIR] [--no-synthetic] [--video-sample N] [--sets lesions,closeups,closeup_faces,tattoos]

Runs the product's own engine (``consentclip.pipeline.anonymise``, default ``EngineSettings``:
faces and tattoos on, as an export runs) on every image of the two real sets built from
``bench/real/<set>/manifest.toml``:

- lesion sets (every set but ``tattoos``: ``lesions``, HAM10000 dermoscopy, and any further set
  of lesion photographs with nothing to redact, e.g. ``closeups``, MSLD clinical close-ups of
  rashes on light to dark skin): an image is *damaged*
  when any output pixel differs from the input by more than 2 levels (PNG output, so nothing
  else changes it); the share of changed pixels is reported per image, per set and per skin type
  (the manifest's ``skin_type`` label where the source gives one, else estimated from the pixels
  as for tattoos and marked "est."), and which detector did it (the regions the engine reports
  through ``on_frame_regions``). ``--sets`` chooses the sets.
- tattoos (human-drawn boxes): the share of each box's area under the regions the engine
  redacted. A box is *covered* when >= 95% of it is redacted. Per skin type and ink colour;
  both are estimated from the pixels (skin type from the individual typology angle of the skin
  outside the boxes, ink colour from the chroma of the ink inside them) because the set does
  not label them; the estimate is printed beside every figure.
- ``closeup_faces`` (MSLD close-ups that do show a face or part of one; the manifest's
  ``face_box``, drawn by hand, and ``must_cover`` for an eye, nose, mouth or whole face): the
  share of each face box under what the engine redacted (any region, and face regions alone);
  a part is *covered* when >= 80% of its box is.
- photo vs video: a sample of the tattoo images is also exported as a short still video (the
  same picture in every frame); coverage must agree with the photo export.

The generated benchmark (bench/tattoo_bench.py --quick) runs in the same invocation and its
summary is printed beside the real figures. When the data is absent (no mirror, build.py not
run) the report says so in its first line and the real tables are left out.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import tomllib

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from consentclip.atomic import write_text_atomic  # noqa: E402
from consentclip.detect.regions import Region, RegionKind  # noqa: E402
from consentclip.detect.scene import outer_ring  # noqa: E402
from consentclip.media.photo import load_photo  # noqa: E402
from consentclip.pipeline import anonymise  # noqa: E402
from consentclip.settings import EngineSettings  # noqa: E402

REAL = ROOT / "bench" / "real"
# Where bench/real/build.py writes the sets; overridable to check the data-absent report.
DATA = Path(os.environ.get("CONSENTCLIP_REAL_DATA", REAL / "data"))
COVERED = 0.95
FACE_COVERED = 0.8
CHANGED_LEVELS = 2


@dataclass(frozen=True)
class Item:
    file: Path
    meta: dict


def load_set(name: str) -> tuple[list[Item], list[str]]:
    """Items of one set whose file is present, and the names of those that are absent."""
    with (REAL / name / "manifest.toml").open("rb") as fh:
        manifest = tomllib.load(fh)
    present, absent = [], []
    for item in manifest.get("item", []):
        path = DATA / name / item["file"]
        (present if path.is_file() else absent).append(
            Item(path, item) if path.is_file() else item["file"]
        )
    return present, absent


def run_engine(src: Path, out_dir: Path, settings: EngineSettings, suffix: str = ".png"):
    """The engine on one file: (output frames as loaded back, regions per frame, result)."""
    regions: dict[int, list[Region]] = {}

    def remember(index: int, found: Sequence[Region]) -> None:
        regions[index] = list(found)

    dst = out_dir / f"out-{src.stem}{suffix}"
    dst.unlink(missing_ok=True)
    result = anonymise(src, dst, settings, on_frame_regions=remember)
    return dst, regions, result


def region_mask(shape: tuple[int, int], regions: Sequence[Region], kinds=None) -> np.ndarray:
    h, w = shape
    m = np.zeros((h, w), bool)
    for r in regions:
        if kinds is not None and r.kind not in kinds:
            continue
        x1, y1, x2, y2 = r.box.int_corners()
        m[max(0, y1) : max(0, y2), max(0, x1) : max(0, x2)] = True
    return m


# --- skin type and ink colour, estimated from the pixels ----------------------------------------


def _lab(bgr: np.ndarray) -> np.ndarray:
    lab = cv2.cvtColor(bgr, cv2.COLOR_BGR2LAB).astype(np.float32)
    lab[..., 0] *= 100.0 / 255.0
    lab[..., 1:] -= 128.0
    return lab


def skin_type(bgr: np.ndarray, exclude: np.ndarray) -> str:
    """Fitzpatrick-like type I..VI from the individual typology angle (ITA) of skin pixels.

    ITA = atan((L* - 50) / b*); the usual cut points (Chardon et al.) are >55 very light (I),
    41-55 light (II), 28-41 intermediate (III), 10-28 tan (IV), -30-10 brown (V), < -30 dark (VI).
    """
    from consentclip.detect.skin import LabImage, prior_mask

    li = LabImage.from_bgr(bgr)
    skin = prior_mask(li) & ~exclude
    if skin.sum() < 200:
        return "?"
    L = float(np.median(li.L[skin]))
    b = float(np.median(li.b[skin]))
    ita = math.degrees(math.atan2(L - 50.0, max(b, 1e-3)))
    for cut, name in ((55, "I"), (41, "II"), (28, "III"), (10, "IV"), (-30, "V")):
        if ita > cut:
            return name
    return "VI"


def ink_colour(bgr: np.ndarray, box_mask: np.ndarray) -> str:
    """'black' or 'colour': the chroma of the pixels inside the boxes that differ most from the
    skin around them (the ink)."""
    lab = _lab(bgr)
    outside = ~box_mask
    if outside.sum() < 100 or box_mask.sum() < 50:
        return "?"
    ref = np.median(lab[outside], axis=0)
    inside = lab[box_mask]
    d = np.linalg.norm(inside - ref, axis=1)
    ink = inside[d >= np.percentile(d, 85)]
    chroma = np.hypot(ink[:, 1], ink[:, 2])
    skin_hue = math.degrees(math.atan2(ref[2], ref[1]))
    hue = np.degrees(np.arctan2(ink[:, 2], ink[:, 1]))
    off_hue = np.abs((hue - skin_hue + 180) % 360 - 180) > 35
    coloured = (chroma > 18) & (off_hue | (chroma > 2.2 * max(np.hypot(ref[1], ref[2]), 1)))
    return "colour" if coloured.mean() > 0.3 else "black"


# --- the sets -----------------------------------------------------------------------------------


def bench_lesions(items: list[Item], work: Path, png: Path | None) -> list[dict]:
    rows = []
    settings = EngineSettings()
    for it in items:
        src_img = load_photo(it.file)
        dst, regions, result = run_engine(it.file, work, settings)
        out = cv2.imread(str(dst), cv2.IMREAD_COLOR)
        diff = np.abs(out.astype(np.int16) - src_img.astype(np.int16)).max(axis=2) > CHANGED_LEVELS
        found = regions.get(0, [])
        kinds = sorted({r.kind.value for r in found})
        label = it.meta.get("skin_type")
        h, w = src_img.shape[:2]
        rows.append(
            {
                "file": it.file.name,
                "changed": float(diff.mean()),
                "kinds": ",".join(kinds) or "-",
                "scene": getattr(result, "scene", "") or "",
                "ms": result.elapsed_s * 1000,
                # The central ellipse (the lesion) is left out of the skin-type estimate.
                "skin": str(label)
                if label
                else f"{skin_type(src_img, ~outer_ring((h, w)))} (est.)",
            }
        )
        if png is not None and diff.any():
            side = np.hstack([src_img, out])
            cv2.imwrite(str(png / f"lesion-{it.file.stem}.png"), side)
        dst.unlink(missing_ok=True)
    return rows


def bench_face_parts(items: list[Item], work: Path, png: Path | None) -> list[dict]:
    """closeup_faces: how much of each hand-drawn face box the engine redacted."""
    rows = []
    for it in items:
        img = load_photo(it.file)
        x1, y1, x2, y2 = it.meta["face_box"]
        dst, regions, result = run_engine(it.file, work, EngineSettings())
        found = regions.get(0, [])
        red = region_mask(img.shape[:2], found)[y1:y2, x1:x2]
        face = region_mask(img.shape[:2], found, kinds={RegionKind.FACE})[y1:y2, x1:x2]
        rows.append(
            {
                "file": it.file.name,
                "part": it.meta["face"],
                "must": bool(it.meta.get("must_cover")),
                "cov": float(red.mean()),
                "face_cov": float(face.mean()),
                "by": ",".join(sorted({r.source or r.kind.value for r in found})) or "-",
                "scene": getattr(result, "scene", "") or "",
            }
        )
        if png is not None:
            out = cv2.imread(str(dst), cv2.IMREAD_COLOR)
            cv2.rectangle(out, (x1, y1), (x2 - 1, y2 - 1), (0, 255, 0), 1)
            cv2.imwrite(str(png / f"face-{it.file.stem}.png"), np.hstack([img, out]))
        dst.unlink(missing_ok=True)
    return rows


def face_parts_report(rows: list[dict]) -> list[str]:
    """closeup_faces: parts covered, the must-cover ones (eye, nose, mouth, face) apart."""
    L = [
        "## closeup_faces (close-ups that show a face or part of one)",
        "",
        f"A part is covered when >= {FACE_COVERED:.0%} of its hand-drawn box is redacted.",
        "",
    ]
    groups = (("eye, nose, mouth or face (must)", True), ("chin, ear, cheek, brow (weaker)", False))
    L += table(
        ["part", "images", "covered by any region", "covered by face regions"],
        (
            (
                label,
                len(rs),
                sum(r["cov"] >= FACE_COVERED for r in rs),
                sum(r["face_cov"] >= FACE_COVERED for r in rs),
            )
            for label, must in groups
            for rs in [[r for r in rows if r["must"] is must]]
        ),
    )
    L += ["", "<details><summary>Every image</summary>", ""]
    L += table(
        ["file", "part", "must", "scene", "redacted (face regions)", "by"],
        (
            (
                r["file"],
                r["part"],
                "yes" if r["must"] else "-",
                r["scene"],
                f"{pct(r['cov'])} ({pct(r['face_cov'])})",
                r["by"],
            )
            for r in rows
        ),
    )
    return [*L, "", "</details>", ""]


def box_masks(boxes: Sequence, shape: tuple[int, int]) -> tuple[list, list[np.ndarray]]:
    """Human-drawn tattoo boxes (a manifest item's ``boxes``; empty ones dropped) and one
    boolean mask each."""
    h, w = shape
    boxes = [b for b in boxes if b[2] > b[0] and b[3] > b[1]]
    masks = []
    for x1, y1, x2, y2 in boxes:
        m = np.zeros((h, w), bool)
        m[max(0, y1) : min(h, y2), max(0, x1) : min(w, x2)] = True
        masks.append(m)
    return boxes, masks


def bench_tattoos(items: list[Item], work: Path, png: Path | None, video_n: int) -> list[dict]:
    rows = []
    settings = EngineSettings()
    for n, it in enumerate(items):
        img = load_photo(it.file)
        h, w = img.shape[:2]
        boxes, masks = box_masks(it.meta.get("boxes", []), (h, w))
        if not boxes:
            continue
        allbox = np.logical_or.reduce(masks)
        stype, ink = skin_type(img, allbox), ink_colour(img, allbox)
        dst, regions, _ = run_engine(it.file, work, settings)
        red = region_mask((h, w), regions.get(0, []))
        covs = [float(red[m].mean()) for m in masks]
        vcovs: list[float] | None = None
        if n < video_n:
            vcovs = video_coverage(img, masks, work)
        for i, c in enumerate(covs):
            rows.append(
                {
                    "file": it.file.name,
                    "box": i,
                    "cov": c,
                    "vcov": None if vcovs is None else vcovs[i],
                    "skin": stype,
                    "ink": ink,
                    "fp": float(red[~allbox].mean()),
                }
            )
        if png is not None and (min(covs) < COVERED or n < 6):
            out = cv2.imread(str(dst), cv2.IMREAD_COLOR)
            for x1, y1, x2, y2 in boxes:
                cv2.rectangle(out, (x1, y1), (x2, y2), (0, 255, 0), 2)
            cv2.imwrite(str(png / f"tattoo-{it.file.stem}.png"), np.hstack([img, out]))
        dst.unlink(missing_ok=True)
    return rows


def video_coverage(img: np.ndarray, masks: list[np.ndarray], work: Path) -> list[float]:
    """The same picture as a 10-frame H.264 clip through the engine; coverage of the middle
    frame (the tracker's look-ahead and hold have settled there)."""
    h, w = img.shape[:2]
    img = img[: h - h % 2, : w - w % 2]
    still = work / "still.png"
    clip = work / "still.mp4"
    cv2.imwrite(str(still), img)
    clip.unlink(missing_ok=True)
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-loop",
            "1",
            "-i",
            str(still),
            "-frames:v",
            "10",
            "-r",
            "10",
            "-c:v",
            "libx264",
            "-crf",
            "12",
            "-pix_fmt",
            "yuv420p",
            str(clip),
        ],
        check=True,
    )
    dst, regions, _ = run_engine(clip, work, EngineSettings(), suffix=".mp4")
    dst.unlink(missing_ok=True)
    red = region_mask(img.shape[:2], regions.get(5, []))
    return [float(red[m[: img.shape[0], : img.shape[1]]].mean()) for m in masks]


def synthetic_summary() -> list[str]:
    """bench/tattoo_bench.py --quick, run in this invocation; its summary table."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "tattoo_bench.py"), "--quick", "--no-speed"],
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(ROOT / "src"), "GLOG_minloglevel": "2", "PATH": "/usr/bin:/bin"},
    )
    lines = proc.stdout.splitlines()
    out, on = [], False
    for line in lines:
        if line.startswith("## Summary"):
            on = True
            continue
        if on and line.startswith("## "):
            break
        if on and line.strip():
            out.append(line)
    return out or [f"(tattoo_bench.py failed: {proc.stderr.strip()[-200:]})"]


# --- report -------------------------------------------------------------------------------------


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    """A markdown table: header, separator and one line per row, no blank line after."""
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(str(v) for v in row) + " |" for row in rows),
    ]


def report(lesion_sets, tattoos, absent, synth, elapsed, face_parts=()) -> list[str]:
    L = ["# Real-material skin benchmark", ""]
    if absent:
        L += [
            f"**DATA ABSENT**: {', '.join(f'{k}: {v} files missing' for k, v in absent.items())}."
            " Run `bench/real/build.py` with the mirrors in place; figures below cover only what"
            " was present.",
            "",
        ]
    L += [
        f"Command: `bench/real_skin.py`; engine: `consentclip.pipeline.anonymise`, default"
        f" EngineSettings (faces + tattoos on, as an export). Wall time {elapsed:.0f} s.",
        "",
    ]
    for name, lesions in lesion_sets.items():
        if lesions:
            L += lesion_report(name, lesions)
    if face_parts:
        L += face_parts_report(list(face_parts))
    if tattoos:
        cov = [r["cov"] >= COVERED for r in tattoos]
        L += [
            "## Tattoos (real photos, human-drawn boxes)",
            "",
            f"A box is covered when >= {int(COVERED * 100)}% of its area is redacted. Skin type and"
            " ink colour are estimated from the pixels (see the script's docstring).",
            "",
            "| measure | target | measured |",
            "|---|---|---|",
            f"| boxes | - | {len(tattoos)} (in {len({r['file'] for r in tattoos})} images) |",
            f"| boxes covered | >= 95% | {pct(statistics.mean(cov))} |",
            f"| mean share of box area redacted | - | {pct(statistics.mean(r['cov'] for r in tattoos))} |",
            f"| boxes >= 50% redacted | - | {pct(statistics.mean(r['cov'] >= 0.5 for r in tattoos))} |",
            f"| redacted share of the image outside the boxes (mean) | - | {pct(statistics.mean(r['fp'] for r in tattoos))} |",
            "",
        ]
        groups = defaultdict(list)
        for r in tattoos:
            groups[(r["skin"], r["ink"])].append(r)
            groups[(r["skin"], "all")].append(r)
            groups[("all", r["ink"])].append(r)
        L += table(
            ["skin type (ITA est.)", "ink (est.)", "boxes", "covered", "mean redacted"],
            (
                (
                    *key,
                    len(rs),
                    pct(statistics.mean(r["cov"] >= COVERED for r in rs)),
                    pct(statistics.mean(r["cov"] for r in rs)),
                )
                for key, rs in sorted(groups.items())
            ),
        )
        L += [""]
        vid = [r for r in tattoos if r["vcov"] is not None]
        if vid:
            agree = [(r["cov"] >= COVERED) == (r["vcov"] >= COVERED) for r in vid]
            L += [
                "### Photo vs video of the same picture",
                "",
                "| boxes | covered (photo) | covered (video, frame 5 of 10) | same verdict | max coverage gap |",
                "|---|---|---|---|---|",
                f"| {len(vid)} | {pct(statistics.mean(r['cov'] >= COVERED for r in vid))}"
                f" | {pct(statistics.mean(r['vcov'] >= COVERED for r in vid))}"
                f" | {pct(statistics.mean(agree))} | {pct(max(abs(r['cov'] - r['vcov']) for r in vid))} |",
                "",
            ]
            split = [r for r in vid if abs(r["cov"] - r["vcov"]) > 0.05]
            if split:
                L += ["Boxes where photo and video differ by more than 5 points:", ""]
                L += table(
                    ["file", "box", "photo", "video"],
                    ((r["file"], r["box"], pct(r["cov"]), pct(r["vcov"])) for r in split),
                )
                L += [""]
        missed = [r for r in tattoos if r["cov"] < COVERED]
        if missed:
            L += ["Boxes not covered:", ""]
            L += table(
                ["file", "box", "redacted", "skin", "ink"],
                (
                    (r["file"], r["box"], pct(r["cov"]), r["skin"], r["ink"])
                    for r in sorted(missed, key=lambda r: r["cov"])
                ),
            )
            L += [""]
    if synth:
        L += ["## Generated benchmark, same run (bench/tattoo_bench.py --quick)", "", *synth, ""]
    return L


def lesion_report(name: str, lesions: list[dict]) -> list[str]:
    """The tables of one lesion set: totals, per skin type, damaged images, every image."""
    damaged = [r for r in lesions if r["changed"] > 0]
    L = [
        f"## {name} (nothing to redact)",
        "",
        "| measure | target | measured |",
        "|---|---|---|",
        f"| images | - | {len(lesions)} |",
        f"| images damaged (any pixel redacted) | 0 | {len(damaged)} |",
        f"| ... by a tattoo box | 0 | {sum('tattoo' in r['kinds'] for r in damaged)} |",
        f"| ... by a face box | 0 | {sum('face' in r['kinds'] for r in damaged)} |",
        f"| ... by a text box | 0 | {sum('text' in r['kinds'] for r in damaged)} |",
        f"| mean share of pixels changed | 0 | {pct(statistics.mean(r['changed'] for r in lesions))} |",
        f"| worst image, share changed | 0 | {pct(max(r['changed'] for r in lesions))} |",
        f"| scene kinds | - | {dict(sorted(Counter(r['scene'] or '?' for r in lesions).items()))} |",
        "",
    ]
    by_skin = defaultdict(list)
    for r in lesions:
        by_skin[r["skin"]].append(r)
    L += table(
        ["skin type", "images", "damaged", "mean share changed", "worst"],
        (
            (
                skin,
                len(rs),
                sum(r["changed"] > 0 for r in rs),
                pct(statistics.mean(r["changed"] for r in rs)),
                pct(max(r["changed"] for r in rs)),
            )
            for skin, rs in sorted(by_skin.items())
        ),
    )
    L += [""]
    if damaged:
        L += ["Damaged images:", ""]
        L += table(
            ["file", "share changed", "by", "scene"],
            (
                (r["file"], pct(r["changed"]), r["kinds"], r["scene"])
                for r in sorted(damaged, key=lambda r: -r["changed"])
            ),
        )
        L += [""]
    L += ["<details><summary>Share of pixels changed, every image</summary>", ""]
    L += table(
        ["file", "skin type", "scene", "share changed"],
        (
            (r["file"], r["skin"], r["scene"], pct(r["changed"]))
            for r in sorted(lesions, key=lambda r: r["file"])
        ),
    )
    return [*L, "", "</details>", ""]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--limit", type=int, default=0, help="at most N images per set (0: all)")
    ap.add_argument("--png", type=Path, default=None, help="write before|after PNGs here")
    ap.add_argument("--no-synthetic", action="store_true")
    ap.add_argument("--video-sample", type=int, default=20, help="tattoo images also run as video")
    ap.add_argument("--sets", default="lesions,closeups,closeup_faces,tattoos")
    args = ap.parse_args()
    started = time.monotonic()
    if args.png:
        args.png.mkdir(parents=True, exist_ok=True)
    absent: dict[str, int] = {}
    lesion_sets: dict[str, list[dict]] = {}
    tattoos: list[dict] = []
    face_parts: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="real-skin-") as tmp:
        work = Path(tmp)
        for name in args.sets.split(","):
            if not (REAL / name / "manifest.toml").is_file():
                known = sorted(m.parent.name for m in REAL.glob("*/manifest.toml"))
                print(f"no such set: {name} (sets: {', '.join(known)})", file=sys.stderr)
                return 2
            items, missing = load_set(name)
            if missing:
                absent[name] = len(missing)
                print(
                    f"DATA ABSENT: {name}: {len(missing)} of {len(items) + len(missing)} files"
                    f" missing under {DATA / name} (run bench/real/build.py {name})",
                    file=sys.stderr,
                )
            if args.limit:
                items = items[: args.limit]
            if name == "tattoos":
                tattoos = bench_tattoos(items, work, args.png, args.video_sample)
            elif name == "closeup_faces":
                face_parts = bench_face_parts(items, work, args.png)
            else:
                lesion_sets[name] = bench_lesions(items, work, args.png)
    synth = [] if args.no_synthetic else synthetic_summary()
    elapsed = time.monotonic() - started
    lines = report(lesion_sets, tattoos, absent, synth, elapsed, face_parts)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        write_text_atomic(args.out, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
