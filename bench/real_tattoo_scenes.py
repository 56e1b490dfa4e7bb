# ruff: noqa: E501  (markdown table rows read best on one line)
"""How much of a real photo of people (no tattoo in any of them) the tattoo detector redacts.

    .venv/bin/python bench/real/build.py people
    GLOG_minloglevel=2 .venv/bin/python bench/real_tattoo_scenes.py [--out FILE] [--png DIR]

Two runs per photo of bench/real/people, through the engine an export uses:

- faces and text off: every changed pixel is the tattoo detector's (the share of pixels that
  differ from the input by more than 8 levels);
- default settings (faces on, as an export): the share of the picture under the tattoo regions
  the engine reported, face regions left out. With faces found, the skin model learns the
  person's skin from the face, which is the product's ordinary case.

Says so when the set has not been built. ``--png DIR`` writes input|output pairs of the first run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from consentclip.atomic import write_text_atomic
from consentclip.detect.regions import Region, RegionKind
from consentclip.pipeline import anonymise
from consentclip.settings import EngineSettings

PEOPLE = Path(__file__).resolve().parent / "real" / "data" / "people"


def tattoo_share(shape: tuple[int, int], regions: Sequence[Region]) -> float:
    h, w = shape
    m = np.zeros((h, w), bool)
    for r in regions:
        if r.kind is RegionKind.TATTOO:
            x1, y1, x2, y2 = r.box.int_corners()
            m[max(0, y1) : max(0, y2), max(0, x1) : max(0, x2)] = True
    return float(m.mean())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=None, help="also write the table here (markdown)")
    ap.add_argument("--png", type=Path, default=None, help="write input|output PNGs here")
    args = ap.parse_args()
    photos = sorted(PEOPLE.glob("*.jpg"))
    if not photos:
        print(f"DATA ABSENT: no photos in {PEOPLE}; run bench/real/build.py people")
        return 1
    lines = [
        "| photo | tattoo detector alone (faces, text off): pixels changed | default export (faces on): under tattoo regions |",
        "|---|---|---|",
    ]
    alone, export = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for src in photos:
            out = Path(tmp) / f"{src.stem}.png"
            anonymise(src, out, EngineSettings(faces=False, text=False))
            before, after = cv2.imread(str(src)), cv2.imread(str(out))
            share = float((np.abs(before.astype(int) - after).max(axis=2) > 8).mean())
            if args.png is not None:
                args.png.mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(args.png / f"people-{src.stem}.png"), np.hstack([before, after]))
            found: dict[int, list[Region]] = {}

            def remember(index: int, regions: Sequence[Region], into=found) -> None:
                into[index] = list(regions)

            out2 = Path(tmp) / f"{src.stem}-default.png"
            anonymise(src, out2, EngineSettings(), on_frame_regions=remember)
            share2 = tattoo_share(before.shape[:2], found.get(0, []))
            alone.append(share)
            export.append(share2)
            lines.append(f"| {src.name} | {share:.1%} | {share2:.1%} |")
    for name, vals in (("alone", alone), ("export", export)):
        over = sum(s > 0.5 for s in vals)
        lines.append(
            f"\n{name}: photos over half redacted: {over} of {len(vals)}; median {np.median(vals):.1%}"
        )
    print("\n".join(lines))
    if args.out is not None:
        head = [
            "# Real photos of people: what the tattoo detector redacts",
            "",
            "Command: `bench/real_tattoo_scenes.py`; set: bench/real/people (no tattoo in any photo).",
            "",
        ]
        write_text_atomic(args.out, "\n".join(head + lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
