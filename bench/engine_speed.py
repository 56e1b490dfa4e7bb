"""Engine throughput vs plain ffmpeg re-encoding, measured side by side in one run.

    .venv/bin/python bench/engine_speed.py [--seconds 10] [--keep DIR]

Generates a 1080p30 clip with real faces moving over a textured background (face crops of
skimage.data.astronaut(), a public-domain NASA portrait), then times on the same clip:
  plain    ffmpeg -i clip -c:v libx264 -crf 20 -preset medium -an   (decode + encode only)
  engine   consentclip.pipeline.anonymise, same encoder settings, faces only
  engine+t the same with tattoo detection on (the default settings)
  deface   optional (--deface PATH): the deface CLI on the same clip, its defaults
Plain runs before and after the engine runs; the ratio uses their mean, so load changes on a
shared machine hit both sides. Also prints CPU seconds (process + ffmpeg children): on a busy
shared machine the CPU ratio is the steadier estimate of the throughput ratio on idle cores.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from consentclip.pipeline import anonymise
from consentclip.settings import EngineSettings

W, H, FPS = 1920, 1080, 30


def _faces() -> list[np.ndarray]:
    import cv2
    from skimage import data

    img = np.ascontiguousarray(data.astronaut()[:, :, ::-1])
    head = img[10:220, 130:300]
    return [
        cv2.resize(head, (int(170 * s), int(210 * s)), interpolation=cv2.INTER_AREA)
        for s in (1.6, 1.0, 0.6)
    ]


def _background(rng: np.random.Generator) -> np.ndarray:
    import cv2

    noise = rng.integers(0, 255, size=(H // 8, W // 8, 3), dtype=np.uint8)
    bg = cv2.resize(noise, (W, H), interpolation=cv2.INTER_CUBIC)
    return cv2.GaussianBlur(bg, (0, 0), 6)


def make_clip(path: Path, seconds: float) -> int:
    """Write the synthetic clip; returns its frame count."""
    rng = np.random.default_rng(7)
    bg, faces = _background(rng), _faces()
    frames = int(seconds * FPS)
    enc = subprocess.Popen(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo",
         "-pix_fmt", "bgr24", "-s", f"{W}x{H}", "-r", str(FPS), "-i", "pipe:0",
         "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p", str(path)],
        stdin=subprocess.PIPE,
    )  # fmt: skip
    assert enc.stdin is not None
    for i in range(frames):
        t = i / FPS
        frame = np.roll(bg, i * 3, axis=1)  # a slow pan so the encoder has real motion
        for k, face in enumerate(faces):
            fh, fw = face.shape[:2]
            x = int((W - fw) * (0.5 + 0.45 * math.sin(0.6 * t + 2.1 * k)))
            y = int((H - fh) * (0.5 + 0.4 * math.cos(0.45 * t + 1.3 * k)))
            frame[y : y + fh, x : x + fw] = face
        enc.stdin.write(frame.tobytes())
    enc.stdin.close()
    if enc.wait() != 0:
        raise SystemExit("could not generate the clip")
    return frames


def _cpu() -> float:
    """CPU seconds used so far by this process and its finished children (ffmpeg)."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def time_plain(src: Path, out: Path) -> tuple[float, float]:
    start, cpu = time.perf_counter(), _cpu()
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(src),
         "-c:v", "libx264", "-crf", "20", "-preset", "medium", "-pix_fmt", "yuv420p", "-an",
         str(out)],
        check=True,
    )  # fmt: skip
    return time.perf_counter() - start, _cpu() - cpu


def time_deface(exe: Path, src: Path, out: Path) -> tuple[float, float]:
    start, cpu = time.perf_counter(), _cpu()
    subprocess.run([str(exe), str(src), "-o", str(out)], check=True, capture_output=True)
    return time.perf_counter() - start, _cpu() - cpu


def time_engine(src: Path, out: Path, settings: EngineSettings) -> tuple[float, float, int]:
    start, cpu = time.perf_counter(), _cpu()
    result = anonymise(src, out, settings)
    return time.perf_counter() - start, _cpu() - cpu, result.face_tracks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--keep", type=Path, help="keep the generated clip and outputs here")
    parser.add_argument("--no-tattoos-run", action="store_true", help="skip the engine+t run")
    parser.add_argument(
        "--deface", type=Path, help="a deface executable (pip install deface, in its own venv)"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="engine_speed_"))
    try:
        clip = work / "faces_1080p30.mp4"
        frames = make_clip(clip, args.seconds)
        faces_only = EngineSettings(tattoos=False, text=False, crf=20, preset="medium")
        runs: list[tuple[str, float, float]] = []
        plain1, plain1_cpu = time_plain(clip, work / "plain1.mp4")
        # The pipeline alone (decode, pipes, redaction, encode, verification): what detection
        # is measured against.
        bare = EngineSettings(faces=False, tattoos=False, text=False, crf=20, preset="medium")
        t, c, _ = time_engine(clip, work / "engine_bare.mp4", bare)
        runs.append(("engine, no detection (pipeline alone)", t, c))
        t, c, tracks = time_engine(clip, work / "engine.mp4", faces_only)
        runs.append((f"engine, faces only ({tracks} face tracks)", t, c))
        # Context, not a target: the same plain re-encode, of the engine's redacted output.
        # Masks moving over a textured background are harder for x264 than the faces were.
        t, c = time_plain(work / "engine.mp4", work / "plain_of_engine.mp4")
        runs.append(("(context) plain ffmpeg re-encoding the engine's faces-only output", t, c))
        if not args.no_tattoos_run:
            t, c, _ = time_engine(clip, work / "engine_t.mp4", EngineSettings(crf=20))
            runs.append(("engine, faces + tattoos (default settings)", t, c))
        if args.deface:
            t, c = time_deface(args.deface, clip, work / "deface.mp4")
            runs.append(("deface 1.x, its default settings (CenterFace, CPU)", t, c))
        plain2, plain2_cpu = time_plain(clip, work / "plain2.mp4")
        plain, plain_cpu = (plain1 + plain2) / 2, (plain1_cpu + plain2_cpu) / 2
        print(f"clip: {W}x{H} {FPS} fps, {frames} frames; nproc={os.cpu_count()}; "
              f"load average before: {os.getloadavg()[0]:.1f}")  # fmt: skip
        print("| run | wall s | frames/s | throughput ratio | CPU s | CPU ratio |")
        print("|---|---:|---:|---:|---:|---:|")
        label = f"plain ffmpeg x264 medium crf 20 (mean of 2: {plain1:.1f} s, {plain2:.1f} s)"
        print(f"| {label} | {plain:.1f} | {frames / plain:.1f} | 1.00 | {plain_cpu:.1f} | 1.00 |")
        for name, secs, cpu in runs:
            print(f"| {name} | {secs:.1f} | {frames / secs:.1f} | {plain / secs:.2f} "
                  f"| {cpu:.1f} | {plain_cpu / cpu:.2f} |")  # fmt: skip
        sizes = {n: (work / n).stat().st_size / 1e6 for n in ("plain1.mp4", "engine.mp4")}
        print(f"\noutput size: plain {sizes['plain1.mp4']:.2f} MB, "
              f"engine faces only {sizes['engine.mp4']:.2f} MB")  # fmt: skip
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            for f in work.iterdir():
                shutil.copy(f, args.keep / f.name)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
