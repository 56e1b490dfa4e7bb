# ruff: noqa: E501  (markdown table rows read best on one line)
"""The face part cue alone (detect/faceparts.py), before and after the last change, per image.

    .venv/bin/python bench/face_parts.py [--sets closeup_faces,closeups,lesions,tattoos]
        [--out bench/results/face_parts.md] [--png DIR]

On every image of the real sets (bench/real/<set>/manifest.toml, built by bench/real/build.py)
it runs ``FacePartModel.find`` twice in the same process: *before*, the cue as it was in main at
f0db908 (``BEFORE``: no share of the landmarks required on the picture, mirrored pairs whatever
the picture's shape), and *after*, the default configuration. Per image: which
found a face, the CPU each took, and for every mirrored square the face landmark model calls a
face (presence >= 0.9) the presence and CenterFace's agreement at 192 and 320 px (the best score
of a CenterFace box lying on the landmarks' face). ``closeup_faces`` shows a face or part of one
in every image; the other sets none, except a tattoo of a face (``tattoos`` 113_1).

``--png DIR``: every mirrored square asked of CenterFace, with the image's name and the scores.
``--eye-crops``: lone eyes cut from real faces the data holds (the ``people`` photos and the
whole faces of ``closeup_faces``; CenterFace >= 0.6, the 3 largest faces of each picture, an
inter-eye distance >= 30 px): each eye a crop 0.9 x 0.6 of that distance around CenterFace's
eye keypoint, enlarged to 224 px wide, as a close-up of one eye; found before / after.
When the data is absent the report says so in its first line.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from consentclip.atomic import write_text_atomic  # noqa: E402
from consentclip.detect._mp import Placement  # noqa: E402
from consentclip.detect.centerface import CenterFaceModel  # noqa: E402
from consentclip.detect.faceparts import FacePartConfig, FacePartModel  # noqa: E402
from consentclip.detect.regions import Box  # noqa: E402
from consentclip.media.photo import load_photo  # noqa: E402
from real_skin import DATA, load_set, table  # noqa: E402


def agreement(model: FacePartModel, square: np.ndarray, marks: np.ndarray) -> list[float]:
    """CenterFace's best score on the landmarks' face in the square, at each confirm size."""
    hull = Box.from_corners(*marks.min(axis=0), *marks.max(axis=0))
    best = []
    for side in model.config.confirm_sides:
        hits = model._cf.detect(square, Placement(), side, threshold=0.05)
        on_face = [h.score for h in hits if hull.intersection_area(h.box) >= 0.3 * h.box.area]
        best.append(max(on_face, default=0.0))
    return best


def run_set(name: str, before: FacePartModel, after: FacePartModel, png: Path | None) -> list[dict]:
    items, _ = load_set(name)
    rows = []
    for it in items:
        img = load_photo(it.file)
        t0 = time.process_time()
        hits_before = before.find(img)
        t1 = time.process_time()
        hits_after = after.find(img)
        t2 = time.process_time()
        mirrored = []
        for k, (score, square, marks, _) in enumerate(
            after._mirrored_hypotheses(img)[: after.config.mirror_max]
        ):
            cf = agreement(after, square, marks)
            mirrored.append((score, cf))
            if png is not None:
                out = cv2.cvtColor(square, cv2.COLOR_RGB2BGR)
                tag = f"{name}_{it.file.stem}_{k}_p{score:.2f}_cf{cf[0]:.2f}-{cf[-1]:.2f}.png"
                cv2.imwrite(str(png / tag), out)
        rows.append(
            {
                "set": name,
                "file": it.file.name,
                "part": it.meta.get("face", ""),
                "before": len(hits_before),
                "after": len(hits_after),
                "cpu_before": t1 - t0,
                "cpu_after": t2 - t1,
                "mirrored": mirrored,
            }
        )
    return rows


# main at f0db908: every placed square asked of CenterFace, a mirrored pair of any picture.
BEFORE = FacePartConfig(on_picture=0.0, mirror_aspect=float("inf"))

EYE_FACES = [
    "mpox-P35_1",
    "others-25",
    "others-35_1",
    "others-36_1",
    "others-64_1",
    "others-9",
    "mpox-j8_2",
]


def eye_crops(before: FacePartModel, after: FacePartModel, png: Path | None) -> list[str]:
    """Lone eyes cut from real faces (see the module docstring): found before / after."""
    files = sorted((DATA / "people").glob("*.jpg"))
    files += [DATA / "closeup_faces" / f"msld-{n}.jpg" for n in EYE_FACES]
    rows = []
    for path in (f for f in files if f.is_file()):
        img = load_photo(path)
        side = min(1280, max(img.shape[:2]) // 32 * 32)
        faces = before._cf.detect(
            cv2.cvtColor(img, cv2.COLOR_BGR2RGB), Placement(), side, threshold=0.6
        )
        for face in sorted(faces, key=lambda h: -h.box.w)[:3]:
            gap = float(np.linalg.norm(face.keypoints[1] - face.keypoints[0]))
            if gap < 30:
                continue
            for eye, (cx, cy) in zip(("right", "left"), face.keypoints[:2], strict=True):
                x1, y1 = round(cx - 0.45 * gap), round(cy - 0.3 * gap)
                x2, y2 = round(cx + 0.45 * gap), round(cy + 0.3 * gap)
                if x1 < 0 or y1 < 0 or x2 > img.shape[1] or y2 > img.shape[0]:
                    continue
                crop = cv2.resize(
                    img[y1:y2, x1:x2],
                    (224, round(224 * (y2 - y1) / (x2 - x1))),
                    interpolation=cv2.INTER_CUBIC,
                )
                found = (bool(before.find(crop)), bool(after.find(crop)))
                rows.append((path.name, eye, round(gap), *("yes" if f else "no" for f in found)))
                if png is not None:
                    cv2.imwrite(
                        str(png / f"eye_{path.stem}_{round(cx)}_{eye}_{int(found[1])}.png"), crop
                    )
    lines = ["", "## Lone eyes cut from real faces", ""]
    lines.append(
        f"{len(rows)} eyes: found before {sum(r[3] == 'yes' for r in rows)}, after {sum(r[4] == 'yes' for r in rows)}."
    )
    lines.append("")
    lines += table(("picture", "eye", "inter-eye px", "found before", "after"), rows)
    return lines


def report(rows: list[dict], sets: list[str], elapsed: float) -> list[str]:
    lines = [
        "# The face part cue alone, before and after",
        "",
        f"Command: `bench/face_parts.py --sets {','.join(sets)}`; both configurations in the same "
        f"process, image by image. Wall time {elapsed:.0f} s.",
        "",
    ]
    summary = []
    for name in sets:
        mine = [r for r in rows if r["set"] == name]
        if not mine:
            summary.append((name, "absent", "-", "-", "-", "-"))
            continue
        cb = sorted(r["cpu_before"] for r in mine)
        ca = sorted(r["cpu_after"] for r in mine)
        summary.append(
            (
                name,
                len(mine),
                sum(r["before"] > 0 for r in mine),
                sum(r["after"] > 0 for r in mine),
                f"{1000 * cb[len(cb) // 2]:.0f} / {1000 * ca[len(ca) // 2]:.0f}",
                f"{sum(ca) / max(sum(cb), 1e-9):.2f}",
            )
        )
    lines += table(
        (
            "set",
            "images",
            "images with a face part, before",
            "after",
            "CPU per image, median ms, before / after",
            "CPU ratio after / before",
        ),
        summary,
    )
    lines += [
        "",
        "Every image where either found a face part or a mirrored square reached presence >= 0.9 "
        "(CenterFace at 192 / 320 px; a mirrored square counts when both are >= 0.2):",
        "",
    ]
    detail = []
    for r in rows:
        if r["before"] or r["after"] or r["mirrored"]:
            scores = "; ".join(f"{p:.3f}: {c[0]:.2f} / {c[-1]:.2f}" for p, c in r["mirrored"])
            detail.append(
                (r["set"], r["file"], r["part"] or "-", r["before"], r["after"], scores or "-")
            )
    lines += table(
        (
            "set",
            "file",
            "part shown",
            "hits before",
            "hits after",
            "mirrored squares (presence: CF)",
        ),
        detail,
    )
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sets", default="closeup_faces,closeups,lesions,tattoos")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--png", type=Path, default=None)
    ap.add_argument("--eye-crops", action="store_true", help="lone eyes cut from real faces")
    args = ap.parse_args()
    sets = [s for s in args.sets.split(",") if s]
    if args.png is not None:
        args.png.mkdir(parents=True, exist_ok=True)
    cf = CenterFaceModel()
    before = FacePartModel(cf, BEFORE)
    after = FacePartModel(cf)
    start = time.monotonic()
    rows = []
    for name in sets:
        rows += run_set(name, before, after, args.png)
    lines = report(rows, sets, time.monotonic() - start)
    if args.eye_crops:
        lines += eye_crops(before, after, args.png)
    if not rows:
        lines.insert(0, "**The real-material data is absent: run bench/real/build.py first.**\n")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        write_text_atomic(args.out, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
