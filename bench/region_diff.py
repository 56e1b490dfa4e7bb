"""Do two revisions redact the same regions? Frame by frame, on the engine_ab clips.

    .venv/bin/python bench/region_diff.py --base main [--seconds 6] [--settings "faces + tattoos"]

A speed-up or a restructure of the engine's plumbing must leave what is redacted exactly as it
was. This runs ``anonymise`` at ``REV`` (a temporary ``git worktree``) and in this tree on
``bench/engine_ab.py``'s clips (the generated 1080p30 clip of moving faces and the first seconds
of the real clips hamilton and street, when the real-material set is built), records every
region ``on_frame_regions`` reports (kind, box, score, source, track id) and the SHA-256 of the
encoded output, and prints, per clip, the frames whose regions differ. Exit status 1 when any
clip differs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from engine_ab import SETTINGS, export_under, make_clips  # noqa: E402

RUN = """
import dataclasses, json, sys
from pathlib import Path
from consentclip.pipeline import anonymise
from consentclip.settings import EngineSettings
names = {f.name for f in dataclasses.fields(EngineSettings)}
kw = {k: v for k, v in json.loads(sys.argv[3]).items() if k in names}
frames = []
def on_regions(index, regions):
    frames.append([index, [[r.kind.value, round(r.box.x, 3), round(r.box.y, 3), round(r.box.w, 3),
                            round(r.box.h, 3), round(float(r.score), 4), r.source, r.track_id]
                           for r in regions]])
result = anonymise(Path(sys.argv[1]), Path(sys.argv[2]), EngineSettings(**kw),
                   on_frame_regions=on_regions)
print("REGIONS", json.dumps({"frames": frames, "scene": result.scene}))
"""


def regions_of(src_dir: Path, clip: Path, out: Path, settings: dict) -> tuple[dict, str]:
    stdout = export_under(src_dir, RUN, clip, out, settings)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    out.unlink()
    line = [x for x in stdout.splitlines() if x.startswith("REGIONS ")][-1]
    return json.loads(line.split(" ", 1)[1]), digest


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", required=True, help="the git revision to compare with")
    ap.add_argument("--seconds", type=float, default=6.0, help="length of each clip")
    ap.add_argument("--settings", default="faces + tattoos", choices=sorted(SETTINGS))
    args = ap.parse_args()
    settings = SETTINGS[args.settings]
    differ = 0
    with tempfile.TemporaryDirectory(prefix="region_diff_") as tmp:
        work = Path(tmp)
        tree = work / "base"
        add = ["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach"]
        subprocess.run([*add, str(tree), args.base], check=True)
        try:
            clips = make_clips(work, args.seconds)
            for clip_name, clip in clips.items():
                out = work / "out.mp4"
                base, base_sha = regions_of(tree / "src", clip, out, settings)
                this, this_sha = regions_of(ROOT / "src", clip, out, settings)
                b = {i: r for i, r in base["frames"]}
                t = {i: r for i, r in this["frames"]}
                bad = sorted(i for i in set(b) | set(t) if b.get(i) != t.get(i))
                n = sum(len(r) for r in b.values())
                same_out = "identical" if base_sha == this_sha else "DIFFERENT"
                print(
                    f"{clip_name}: {len(b)} / {len(t)} frames, {n} regions at {args.base}; "
                    f"frames differing: {len(bad)}"
                    + (f" (first {bad[:10]})" if bad else "")
                    + f"; scene {base['scene']} / {this['scene']}; encoded output {same_out}"
                )
                differ += bool(bad) or base["scene"] != this["scene"]
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False
            )
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
