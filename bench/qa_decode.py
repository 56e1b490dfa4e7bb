"""What decoding a QA sheet's samples costs through media/ (issue 15) against the second decoder
it replaced.

The QA sheet shows nine frames spread over an exported clip. Before issue 15 it read them with
``cv2.VideoCapture`` (``grab()`` past the frames it did not show, OpenCV's own FFmpeg build);
now ``media/decode.frames_at`` reads them through the engine's ffmpeg pipe, dropping the frames
in between before colour conversion. Both run here side by side on one generated clip, each
several times in turn; the figure is CPU seconds (this process and its ffmpeg children), which
a busy machine disturbs less than wall time.

    .venv/bin/python bench/qa_decode.py [--seconds 20] [--size 1920x1080] [--rounds 3]
        [--out bench/results/qa_decode.md]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2

from consentclip.media.decode import frames_at
from consentclip.media.ffmpeg import binary
from consentclip.media.probe import VideoInfo, probe_video
from consentclip.qa.frames import GRID_COLS, GRID_ROWS, sample_indices


def _cpu() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def videocapture(path: Path, wanted: list[int]) -> int:
    """The QA sheet's loop before issue 15."""
    capture = cv2.VideoCapture(str(path))
    got, index = 0, 0
    try:
        for target in wanted:
            while index < target and capture.grab():
                index += 1
            ok, _frame = capture.read()
            if not ok:
                break
            got += 1
            index = target + 1
    finally:
        capture.release()
    return got


def through_media(info: VideoInfo, wanted: list[int]) -> int:
    return len(frames_at(info, wanted))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("bench/results/qa_decode.md"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "clip.mp4"
        subprocess.run(
            [binary("ffmpeg"), "-v", "error", "-f", "lavfi", "-i",
             f"testsrc2=size={args.size}:rate=30:duration={args.seconds}",
             "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", str(clip)],
            check=True,
        )  # fmt: skip
        info = probe_video(clip)
        wanted = sample_indices(info.frames_estimate or 1, GRID_COLS * GRID_ROWS)
        ways: dict[str, Callable[[], int]] = {
            "cv2.VideoCapture (before)": lambda: videocapture(clip, wanted),
            "media/decode.frames_at (now)": lambda: through_media(info, wanted),
        }
        cpu: dict[str, list[float]] = {name: [] for name in ways}
        wall: dict[str, list[float]] = {name: [] for name in ways}
        for _ in range(args.rounds):
            for name, run in ways.items():
                c, t = _cpu(), time.perf_counter()
                got = run()
                wall[name].append(time.perf_counter() - t)
                cpu[name].append(_cpu() - c)
                assert got == len(wanted), (name, got)
    before, now = (statistics.median(cpu[name]) for name in ways)
    lines = [
        "## Decoding the QA sheet's samples",
        "",
        f"`.venv/bin/python bench/qa_decode.py --seconds {args.seconds:g} --size {args.size} "
        f"--rounds {args.rounds}`: {len(wanted)} frames spread over a {info.frames_estimate}-frame "
        f"{args.size} H.264 clip (30 frames/s), each way {args.rounds} times in turn.",
        "",
        "| decoder | CPU s (median) | wall s (median) |",
        "|---|---:|---:|",
        *(
            f"| {name} | {statistics.median(cpu[name]):.2f} | {statistics.median(wall[name]):.2f} |"
            for name in ways
        ),
        "",
        f"media/ over VideoCapture: {now / before:.2f}x the CPU. The engine's pipe decodes with "
        "one thread and carries every frame across the pipe (frames not shown are dropped before "
        "colour conversion); OpenCV's grab() skips frames inside its own decoder. The price buys "
        "one decoder, whose frame numbers are the engine's.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
