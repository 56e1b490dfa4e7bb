"""Peak resident memory of the engine on 4K clips, child processes (ffmpeg) included.

    .venv/bin/python bench/engine_memory.py [--seconds 2 4] [--preset medium]

For each length it generates a 3840x2160 30 fps clip (lavfi testsrc2 plus a moving real face),
then runs, each in its own process tree polled every 20 ms through /proc (sum of VmRSS over
the process and all its descendants, i.e. Python + the ffmpeg decoder + the ffmpeg encoder):
  plain   ffmpeg re-encode with the same x264 settings (the floor any encoder pays)
  engine  consentclip.pipeline.anonymise (faces + tattoos, the default settings)
If memory does not grow with clip length, the peaks for the short and the long clip match.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
W, H, FPS = 3840, 2160, 30


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return 0
    return 0


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def peak_tree_rss_mib(argv: list[str]) -> tuple[float, float]:
    """Run argv; return (peak MiB of the whole process tree, wall seconds)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "GLOG_minloglevel": "2"})  # fmt: skip
    peak = 0
    while proc.poll() is None:
        peak = max(peak, sum(_rss_kib(p) for p in _descendants(proc.pid)))
        time.sleep(0.02)
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(argv)}")
    return peak / 1024, time.perf_counter() - start


def make_clip(path: Path, seconds: float) -> None:
    face = REPO / "sample_media" / "talking_head.mp4"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size={W}x{H}:rate={FPS}:duration={seconds}",
         "-stream_loop", "-1", "-i", str(face),
         "-filter_complex", "[1:v]scale=1280:720[f];[0:v][f]overlay=x='200+t*300':y=600:shortest=1",
         "-c:v", "libx264", "-preset", "ultrafast", "-crf", "23", "-pix_fmt", "yuv420p",
         "-an", str(path)],
        check=True,
    )  # fmt: skip


def child(src: Path, out: Path, preset: str) -> None:
    sys.path.insert(0, str(REPO / "src"))
    from consentclip.pipeline import anonymise
    from consentclip.settings import EngineSettings

    anonymise(src, out, EngineSettings(preset=preset))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, nargs="+", default=[2.0, 4.0])
    parser.add_argument("--preset", default="medium")
    parser.add_argument("--child", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.preset)
        return
    work = Path(tempfile.mkdtemp(prefix="engine_memory_"))
    rows = []
    try:
        for seconds in args.seconds:
            clip = work / f"clip_{seconds:g}s.mp4"
            make_clip(clip, seconds)
            plain, plain_s = peak_tree_rss_mib(
                ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(clip),
                 "-c:v", "libx264", "-crf", "20", "-preset", args.preset, "-pix_fmt", "yuv420p",
                 "-an", str(work / "plain.mp4")]
            )  # fmt: skip
            engine, engine_s = peak_tree_rss_mib(
                [sys.executable, __file__, "--preset", args.preset, "--child", str(clip),
                 str(work / "engine.mp4")]
            )  # fmt: skip
            rows.append((seconds, plain, plain_s, engine, engine_s))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"4K clips {W}x{H} {FPS} fps, x264 preset {args.preset}; nproc={os.cpu_count()}")
    print("| clip length | frames | plain ffmpeg peak RSS | engine peak RSS (tree) | engine time |")
    print("|---:|---:|---:|---:|---:|")
    for seconds, plain, _plain_s, engine, engine_s in rows:
        print(f"| {seconds:g} s | {int(seconds * FPS)} | {plain:.0f} MiB | {engine:.0f} MiB "
              f"| {engine_s:.0f} s |")  # fmt: skip


if __name__ == "__main__":
    main()
