"""Every real tattoo box the export misses, written out with the detector's reasons.

    .venv/bin/python bench/real/build.py tattoos
    GLOG_minloglevel=2 .venv/bin/python bench/tattoo_misses.py --png DIR [--types II,V] [--limit N]

Runs the product's engine (``consentclip.pipeline.anonymise``, default settings, as an export)
on the BIVTatt photos of ``bench/real/tattoos`` and, for each photo with a human box under 95%
redacted (the same test as ``bench/real_skin.py``), writes one PNG: the input | what the export
redacted (tinted), with the human boxes and their covered share | every ink candidate of the
tattoo detector (``TattooDetector.last_candidates``, work-image boxes scaled back), kept ones in
yellow and rejected ones in red with their ``reason``, mean contrast (c) and brown share (b).
Skin type and ink colour are estimated as in ``bench/real_skin.py``; ``--types`` keeps the
photos of those types. One line per missed box goes to stdout: type, ink, file, box, share,
the skin tone the detector used and the face hits it was given. Says so when the data is absent.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import real_skin as rs
from consentclip.detect.regions import RegionKind
from consentclip.media.photo import load_photo
from consentclip.pipeline import default_components

KEPT = (0, 255, 255)
REJECTED = (0, 0, 255)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--png", type=Path, required=True, help="write the miss sheets here")
    ap.add_argument("--types", default="", help="skin types to keep, e.g. II,V (default: all)")
    ap.add_argument("--limit", type=int, default=0, help="at most N photos (0: all)")
    ap.add_argument("--only", default="", help="photo names to look at, e.g. 146_1,25_2")
    args = ap.parse_args()
    items, missing = rs.load_set("tattoos")
    if not items:
        where = rs.DATA / "tattoos"
        print(f"DATA ABSENT: no tattoo photos under {where}; run bench/real/build.py tattoos")
        return 1
    if missing:
        print(f"DATA PARTLY ABSENT: {len(missing)} photos missing", file=sys.stderr)
    only = {n for n in args.only.split(",") if n}
    if only:
        items = [it for it in items if it.file.stem in only]
    if args.limit:
        items = items[: args.limit]
    types = {t for t in args.types.split(",") if t}
    args.png.mkdir(parents=True, exist_ok=True)
    seen: dict = {}  # what the tattoo detector saw on the last photo (it is reset on close)
    regions: dict[int, list] = {}
    base = default_components()

    def tattoo_detector(settings, lookahead):
        det = base.tattoo_detector(settings, lookahead)
        run = det.process_frame

        def process_frame(index, frame, found=()):
            out = run(index, frame, found)
            seen.update(tone=det.skin.tone, cands=list(det.last_candidates), ww=det.work_width)
            return out

        det.process_frame = process_frame
        return det

    def remember(index: int, found) -> None:
        regions[index] = list(found)

    components = replace(base, tattoo_detector=tattoo_detector)
    n_missed = 0
    with tempfile.TemporaryDirectory(prefix="tattoo-misses-") as tmp:
        for it in items:
            img = load_photo(it.file)
            h, w = img.shape[:2]
            boxes, masks = rs.box_masks(it.meta.get("boxes", []), (h, w))
            if not boxes:
                continue
            allbox = np.logical_or.reduce(masks)
            stype, ink = rs.skin_type(img, allbox), rs.ink_colour(img, allbox)
            if types and stype not in types:
                continue
            seen.clear()
            regions.clear()
            dst = Path(tmp) / "out.png"
            dst.unlink(missing_ok=True)
            rs.anonymise(
                it.file,
                dst,
                rs.EngineSettings(),
                on_frame_regions=remember,
                components=components,
            )
            dst.unlink(missing_ok=True)
            red = rs.region_mask((h, w), regions.get(0, []))
            covs = [float(red[m].mean()) for m in masks]
            if min(covs) >= rs.COVERED:
                continue
            cands, tone = seen.get("cands", []), seen.get("tone")
            faces = [round(r.score, 2) for r in regions.get(0, []) if r.kind is RegionKind.FACE]
            for i, c in enumerate(covs):
                if c < rs.COVERED:
                    n_missed += 1
                    tone_s = (
                        "none" if tone is None else f"L{tone.L:.0f} a{tone.a:.0f} b{tone.b:.0f}"
                    )
                    where = f"{stype}\t{ink}\t{it.file.name}\tbox {i}\t{c:.1%}"
                    print(f"{where}\ttone {tone_s}\tfaces {faces}")
            sheet(img, red, boxes, covs, cands, seen.get("ww", 480)).tofile(
                str(args.png / f"{stype}-{it.file.stem}.png")
            )
    print(f"{n_missed} boxes under {rs.COVERED:.0%}; sheets in {args.png}")
    return 0


def sheet(img, red, boxes, covs, cands, work_width: int) -> np.ndarray:
    """input | output (redacted area tinted, human boxes) | candidates with reasons (PNG)."""
    out = img.copy()
    out[red] = (out[red] * 0.3 + np.array([255, 0, 255]) * 0.7).astype(np.uint8)
    for (x1, y1, x2, y2), c in zip(boxes, covs, strict=True):
        cv2.rectangle(out, (x1, y1), (x2, y2), (0, 255, 0), 2)
        cv2.putText(
            out, f"{c:.0%}", (x1 + 3, y1 + 15), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 255, 0), 1
        )
    cand = img.copy()
    w = img.shape[1]
    s = w / work_width if w > work_width else 1.0  # work-image pixels back to the photo's
    for c in cands:
        x, y, bw, bh = (int(v * s) for v in c.box)
        col = REJECTED if c.reason else KEPT
        cv2.rectangle(cand, (x, y), (x + bw, y + bh), col, 1)
        label = f"{c.reason or 'kept'} c{c.contrast:.1f} b{c.brown:.1f}"
        cv2.putText(cand, label, (x + 2, y + 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4, col, 1)
    ok, buf = cv2.imencode(".png", np.hstack([img, out, cand]))
    assert ok
    return buf


if __name__ == "__main__":
    sys.exit(main())
