"""How much of a real photo of people (no tattoo in any of them) the tattoo detector redacts.

    .venv/bin/python bench/real/build.py people
    GLOG_minloglevel=2 .venv/bin/python bench/real_tattoo_scenes.py

Faces and text are off, so every changed pixel is the tattoo detector's. Prints the share of
pixels changed per photo of bench/real/people; says so when the set has not been built.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from consentclip.pipeline import anonymise
from consentclip.settings import EngineSettings

PEOPLE = Path(__file__).resolve().parent / "real" / "data" / "people"


def main() -> int:
    photos = sorted(PEOPLE.glob("*.jpg"))
    if not photos:
        print(f"DATA ABSENT: no photos in {PEOPLE}; run bench/real/build.py people")
        return 1
    shares = []
    with tempfile.TemporaryDirectory() as tmp:
        for src in photos:
            out = Path(tmp) / f"{src.stem}.png"
            anonymise(src, out, EngineSettings(faces=False, text=False))
            before, after = cv2.imread(str(src)), cv2.imread(str(out))
            share = float((np.abs(before.astype(int) - after).max(axis=2) > 8).mean())
            shares.append(share)
            print(f"| {src.name} | {share:.1%} |")
    over = sum(s > 0.5 for s in shares)
    print(f"photos over half redacted: {over} of {len(shares)}; median {np.median(shares):.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
