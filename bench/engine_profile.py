"""Where the engine's CPU goes, per stage, on the engine_ab clips (cProfile, CPU timer).

    .venv/bin/python bench/engine_profile.py [--seconds 6] [--out FILE]
    PYTHONPATH=OTHER/src .venv/bin/python bench/engine_profile.py    # another revision's code

Runs ``anonymise`` with faces + tattoos (text off, the setting issue 11 names) under cProfile
with ``time.process_time`` as its clock, once per clip (``bench/engine_ab.py``'s: the generated
1080p30 clip of moving faces and the first seconds of the real clips hamilton and street), and
prints the CPU seconds of each stage (cumulative time of the functions named in ``STAGES``).

What the figures mean: the clock is the whole process's CPU, so the native threads that a call
waits for (MediaPipe's graph, OpenCV's DNN) are counted in that call, as they should be; the
decoder and encoder threads (reading frames from ffmpeg and converting 4:2:0 to BGR; BGR back
to 4:2:0 and writing) run beside the detectors, and their CPU lands in whichever stage runs at
that moment (measured on their own: ``CONVERT`` below). cProfile adds its own overhead to every
Python call (most to stages made of many small calls: tracking, redaction).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
if not os.environ.get("PYTHONPATH"):
    # PYTHONPATH set: profile the code it names (another revision's src), not this tree's.
    sys.path.insert(0, str(ROOT / "src"))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from consentclip.atomic import write_text_atomic  # noqa: E402
from consentclip.pipeline import anonymise  # noqa: E402
from consentclip.settings import EngineSettings  # noqa: E402
from engine_ab import REAL_CLIPS, SETTINGS, _cut  # noqa: E402
from engine_speed import make_clip  # noqa: E402

# (stage, file suffix, function name, callers to leave out: files whose calls another stage
# counts). Stages may nest (the face detector holds BlazeFace); "face detector, rest" is the
# detector less the stages inside it.
STAGES = (
    ("engine start (imports of mediapipe, graphs, nets)", "pipeline.py", "__init__", ()),
    ("face detector", "detect/faces.py", "process_frame", ()),
    ("  BlazeFace (all passes)", "detect/_mp.py", "detect", ()),
    ("  CenterFace (not the part cue's)", "detect/centerface.py", "detect", ("faceparts.py",)),
    ("  face part cue", "detect/faceparts.py", "find", ()),
    ("  pose", "detect/_mp.py", "head_landmarks", ()),
    ("  contrast normalising (CLAHE)", "detect/faces.py", "_normalised", ()),
    ("scene check (classify_scene)", "detect/scene.py", "classify_scene", ()),
    ("tattoo detector", "detect/tattoos.py", "process_frame", ()),
    ("  skin model", "detect/skin.py", "update", ()),
    ("  person segmentation", "detect/tattoos.py", "get", ()),
    ("  candidates (ink stage)", "detect/tattoos.py", "_candidates", ()),
    ("tracking", "detect/tracking.py", "push", ()),
    ("redaction (blur, feather)", "redact/regions.py", "redact", ()),
    ("verification of the output", "media/metadata.py", "verify_video", ()),
)


def _cum(stats: pstats.Stats, suffix: str, name: str, skip: tuple[str, ...]) -> tuple[float, int]:
    total, calls = 0.0, 0
    for (path, _, func), (_, nc, _, ct, callers) in stats.stats.items():  # type: ignore[attr-defined]
        if func != name or not path.endswith(suffix):
            continue
        if not skip:
            total += ct
            calls += nc
            continue
        for (cpath, _, _), (_, cnc, _, cct) in callers.items():
            if not any(cpath.endswith(s) for s in skip):
                total += cct
                calls += cnc
    return total, calls


def _convert_ms(width: int, height: int) -> tuple[float, float]:
    """CPU ms per frame of the decoder's 4:2:0 -> BGR and the encoder's BGR -> 4:2:0."""
    bgr = np.random.default_rng(0).integers(0, 256, (height, width, 3), np.uint8)
    yuv = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420)
    out = []
    for fn in (lambda: cv2.cvtColor(yuv, cv2.COLOR_YUV2BGR_I420),
               lambda: cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420)):  # fmt: skip
        fn()
        start = time.process_time()
        for _ in range(50):
            fn()
        out.append((time.process_time() - start) / 50 * 1000)
    return out[0], out[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=6.0, help="length of each clip")
    ap.add_argument("--out", type=Path, help="also write the markdown table here")
    args = ap.parse_args()
    settings = EngineSettings(**SETTINGS["faces + tattoos"])
    cols: dict[str, dict[str, tuple[float, int]]] = {}
    frames: dict[str, tuple[int, int, int]] = {}
    with tempfile.TemporaryDirectory(prefix="engine_profile_") as tmp:
        work = Path(tmp)
        clips = {"generated 1080p30": work / "generated.mp4"}
        make_clip(clips["generated 1080p30"], args.seconds)
        data = Path(os.environ.get("CONSENTCLIP_REAL_DATA", ROOT / "bench/real/data"))
        for name in REAL_CLIPS:
            if (data / "people" / name).is_file():
                clips[name.removesuffix(".mp4")] = work / f"real_{name}"
                _cut(data / "people" / name, clips[name.removesuffix(".mp4")], args.seconds)
        for name, clip in clips.items():
            prof = cProfile.Profile(time.process_time)
            prof.enable()
            result = anonymise(clip, work / "out.mp4", settings)
            prof.disable()
            (work / "out.mp4").unlink()
            stats = pstats.Stats(prof)
            cols[name] = {stage: _cum(stats, *rest) for stage, *rest in STAGES}
            cols[name]["whole export (anonymise)"] = _cum(stats, "pipeline.py", "anonymise", ())
            frames[name] = (result.frames, result.width, result.height)
    names = list(cols)
    lines = [
        "CPU seconds of the Python process per stage (cProfile, `time.process_time`; calls in "
        f"brackets), faces + tattoos, the first {args.seconds:g} s of each clip; "
        f"nproc = {os.cpu_count()}, load average (1 min) {os.getloadavg()[0]:.1f} at the end.",
        "",
        "| stage | " + " | ".join(f"{n} ({frames[n][0]} frames)" for n in names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for stage in (*(s[0] for s in STAGES), "whole export (anonymise)"):
        cells = [f"{cols[n][stage][0]:.2f} ({cols[n][stage][1]})" for n in names]
        lines.append(f"| {stage.replace('  ', '- ')} | " + " | ".join(cells) + " |")
    conv = {n: _convert_ms(frames[n][1], frames[n][2]) for n in names}
    cells = [f"{(a * frames[n][0]) / 1000:.2f} + {(b * frames[n][0]) / 1000:.2f}"
             for n, (a, b) in conv.items()]  # fmt: skip
    lines.append(
        "| CONVERT: decoder 4:2:0 -> BGR + encoder BGR -> 4:2:0 (threads, measured alone) | "
        + " | ".join(cells)
        + " |"
    )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        write_text_atomic(args.out, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
