"""The engine's cost at two revisions, measured side by side on the same clips in one run.

    .venv/bin/python bench/engine_ab.py --base REV [--base REV2 ...] [--rounds 3] [--seconds 6]
        [--settings "faces + tattoos"] [--out FILE]

Issue 11 asks that the engine at its default settings (faces and tattoos on) stay at least as
fast as it was before the real-material work. Timing each revision on a different day on a
shared two-core machine says little, so this runs both in one go:

- Each ``REV`` is checked out into a temporary ``git worktree`` (removed afterwards); "this
  tree" is the working tree this script sits in. Several ``--base`` revisions are measured in
  the same rounds (one table, a ratio per base).
- The clips: ``bench/engine_speed.py``'s generated 1080p30 clip of moving faces, and, when the
  real-material set is built (``bench/real/build.py people``), the first seconds of each real
  clip of people (dim broadcast, street).
- Each run is a fresh Python process (``PYTHONPATH`` at one revision's ``src``) calling
  ``consentclip.pipeline.anonymise`` with faces + tattoos (text off: the setting the issue
  names) and with the full defaults. The revisions take turns within every round, so load from
  other processes falls on both; the figure is CPU seconds (the process and its ffmpeg
  children), the steadier measure on a busy machine, and the ratio is base / this (above 1:
  this tree is cheaper). A second table gives the Python process's own CPU seconds: ffmpeg's
  decoding and x264's encoding cost the same for the same output and only add noise there.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "src"))  # this tree's helpers; each run gets its own revision

from consentclip.atomic import write_text_atomic  # noqa: E402
from engine_speed import _cpu, make_clip  # noqa: E402

REAL_CLIPS = ("hamilton.mp4", "street.mp4")
# Keyword arguments of EngineSettings; a revision that lacks a field (text detection came after
# the real-material work began) runs without it, and the table says which fields it lacked.
SETTINGS = {
    "faces + tattoos": {"text": False, "crf": 20},
    "defaults": {"crf": 20},
}
RUN = """
import dataclasses, json, sys
from pathlib import Path
from consentclip.pipeline import anonymise
from consentclip.settings import EngineSettings
names = {f.name for f in dataclasses.fields(EngineSettings)}
kw = {k: v for k, v in json.loads(sys.argv[3]).items() if k in names}
anonymise(Path(sys.argv[1]), Path(sys.argv[2]), EngineSettings(**kw))
import resource
me = resource.getrusage(resource.RUSAGE_SELF)
print("ENGINE_PROCESS_CPU", me.ru_utime + me.ru_stime)
"""


def run_once(src_dir: Path, clip: Path, out: Path, settings: dict) -> tuple[float, float]:
    """CPU seconds of one export in a fresh process running the code under ``src_dir``: in
    all (the process and its ffmpeg children), and the Python process alone (start-up, decode
    reading, detection, tracking, redaction; not ffmpeg's decoding and x264's encoding, which
    cost the same for the same output and only add their noise to the comparison)."""
    before = _cpu()  # this process (idle while it waits) and its finished children
    stdout = export_under(src_dir, RUN, clip, out, settings)
    out.unlink()
    total = _cpu() - before
    line = [x for x in stdout.splitlines() if x.startswith("ENGINE_PROCESS_CPU ")][-1]
    return total, float(line.split()[1])


def export_under(src_dir: Path, script: str, clip: Path, out: Path, settings: dict) -> str:
    """Run ``script`` (given the clip, the output path and the settings as JSON) in a fresh
    Python process with the code under ``src_dir`` first on its path; its standard output.
    Shared with bench/region_diff.py."""
    env = dict(os.environ, PYTHONPATH=str(src_dir), GLOG_minloglevel="2")
    proc = subprocess.run(
        [sys.executable, "-c", script, str(clip), str(out), json.dumps(settings)],
        env=env,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise SystemExit(f"export failed under {src_dir}: {proc.stderr.strip()[-2000:]}")
    return proc.stdout


def make_clips(work: Path, seconds: float) -> dict[str, Path]:
    """The clips to compare on, written under ``work``: the generated 1080p30 clip of moving
    faces, and the first ``seconds`` of each real clip in ``REAL_CLIPS`` when the real-material
    set is built. Shared with bench/region_diff.py."""
    clips = {"generated 1080p30 faces": work / "generated.mp4"}
    make_clip(clips["generated 1080p30 faces"], seconds)
    data = Path(os.environ.get("CONSENTCLIP_REAL_DATA", ROOT / "bench/real/data"))
    for name in REAL_CLIPS:
        if (data / "people" / name).is_file():
            clips[f"real: {name}"] = work / f"real_{name}"
            _cut(data / "people" / name, clips[f"real: {name}"], seconds)
    return clips


def _cut(src: Path, dst: Path, seconds: float) -> None:
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(src),
         "-t", str(seconds), "-c", "copy", "-an", str(dst)],
        check=True,
    )  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", required=True, action="append", help="a git revision to compare")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=6.0, help="length of each clip")
    ap.add_argument(
        "--settings", action="append", choices=sorted(SETTINGS), help="only these (default: all)"
    )
    ap.add_argument("--out", type=Path, help="also write the markdown table here")
    args = ap.parse_args()
    settings_run = {k: v for k, v in SETTINGS.items() if not args.settings or k in args.settings}
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="engine_ab_") as tmp:
        work = Path(tmp)
        bases: dict[str, Path] = {}
        try:
            for i, rev in enumerate(args.base):
                tree = work / f"base{i}"
                add = ["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach"]
                subprocess.run([*add, str(tree), rev], check=True)
                short = subprocess.run(
                    ["git", "-C", str(tree), "rev-parse", "--short", "HEAD"],
                    check=True, capture_output=True, text=True,
                ).stdout.strip()  # fmt: skip
                bases[f"{rev} ({short})" if short != rev else rev] = tree
            clips = make_clips(work, args.seconds)
            trees = {name: tree / "src" for name, tree in bases.items()}
            trees["this"] = ROOT / "src"
            cpu: dict[tuple[str, str, str], list[tuple[float, float]]] = {}
            start = time.perf_counter()
            for _ in range(args.rounds):
                for clip_name, clip in clips.items():
                    for s_name, settings in settings_run.items():
                        for tree_name, src in trees.items():
                            key = (clip_name, s_name, tree_name)
                            out = work / f"out{clip.suffix}"
                            cpu.setdefault(key, []).append(run_once(src, clip, out, settings))
            wall = time.perf_counter() - start
            no_text = [
                name
                for name, tree in bases.items()
                if "\n    text: bool" not in (tree / "src/consentclip/settings.py").read_text()
            ]
        finally:
            for tree in bases.values():
                subprocess.run(
                    ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                    check=False,
                )
    names = list(bases)
    cmd = " ".join(f"--base {rev}" for rev in args.base)
    cmd += "".join(f' --settings "{s}"' for s in args.settings or ())
    lines = [
        f"# Engine cost: {', '.join(names)} (base) against this tree, side by side",
        "",
        f"Command: `bench/engine_ab.py {cmd} --rounds {args.rounds} --seconds {args.seconds:g}`; "
        f"nproc = {os.cpu_count()}, load average (1 min) {load_start:.1f} at the start and "
        f"{os.getloadavg()[0]:.1f} at the end, {wall:.0f} s. CPU seconds per export (process + "
        "ffmpeg), median of the rounds; ratio = base / this (above 1: this tree is cheaper). "
        "Second table: the Python process alone (ffmpeg's decoding and encoding left out: the "
        "same work for the same output, whose noise only blurs the comparison).",
        "",
    ]
    if no_text:
        lines += [
            f'{", ".join(no_text)}: no text detector, its "defaults" are faces + tattoos.',
            "",
        ]
    head = "| clip | settings | " + " | ".join(f"{n} CPU s" for n in names) + " | this CPU s | "
    head += " | ".join(f"ratio {n} / this" for n in names) + " |"
    for part, title in ((0, "process + ffmpeg"), (1, "Python process alone")):
        lines += [f"**{title}**", "", head, "|---|---|" + "---:|" * (2 * len(names) + 1)]
        for clip_name in clips:
            for s_name in settings_run:
                t = statistics.median(x[part] for x in cpu[(clip_name, s_name, "this")])
                b = [statistics.median(x[part] for x in cpu[(clip_name, s_name, n)]) for n in names]
                row = [clip_name, s_name, *(f"{x:.1f}" for x in b), f"{t:.1f}"]
                row += [f"{x / t:.2f}" for x in b]
                lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    text = "\n".join(lines).rstrip() + "\n"
    print(text)
    if args.out:
        write_text_atomic(args.out, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
