"""Tattoo detection benchmark: recall, false positives, keep region, speed, as markdown.

    .venv/bin/python bench/tattoo_bench.py            # full run (a few minutes on 2 cores)
    .venv/bin/python bench/tattoo_bench.py --quick    # development run (under a minute)
    .venv/bin/python bench/tattoo_bench.py --out bench/results/tattoos.md

Clips come from bench/skinsynth.py: moving limbs in the six Fitzpatrick tones, close-up (the limb
fills the frame) and arm-on-a-drape layouts, with four kinds of tattoo and seven kinds of
distractor, each with exact ground-truth masks. The detector runs frame by frame and its regions
go through the engine's Tracker (consentclip.detect.tracking), as in the engine.

Measured, per tone:
- tattoo recall: the fraction of frames in which >= 95% of the tattoo pixels are covered by a
  redaction box (target: >= 99% of frames), and the mean covered fraction, per tattoo kind;
- distractor false positives: the fraction of each distractor's pixels covered by a tattoo box
  (target <= 5%). Pixels within a tattoo's own padded extent are left out: redacting that tattoo
  necessarily covers the skin (and hair, and shadow) around it;
- the keep box: frames in which a tattoo box touched it (target: none);
- speed: detector ms per 1080p frame beside the face detector's, and the engine
  (consentclip.pipeline.anonymise) with tattoos on vs off on the same 1080p clip, side by side.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from consentclip.detect.regions import Box, Region
from consentclip.detect.tattoos import ENGINE_EVERY, TattooDetector
from consentclip.detect.tracking import Tracker
from consentclip.pipeline import lookahead_for
from skinsynth import DISTRACTOR_KINDS, TATTOO_KINDS, Scene, SceneSpec, SynthFrame

ZONE_PAD = 0.25  # a tattoo's unavoidable surround: its box grown by 25% of its size each side


@dataclass
class SceneScore:
    frames: int = 0
    frames_ok: int = 0  # >= 95% of all tattoo pixels covered
    frames_ok_raw: int = 0  # same, detector alone (no tracker)
    kind_cov: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    kind_ok: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    kind_frames: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    fp_hit: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    fp_all: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    keep_touched: int = 0
    lesion_px_covered: int = 0
    worst: float = 1.0

    def add(self, other: SceneScore) -> None:
        self.frames += other.frames
        self.frames_ok += other.frames_ok
        self.frames_ok_raw += other.frames_ok_raw
        for k, v in other.kind_cov.items():
            self.kind_cov[k] += v
        for d_self, d_other in (
            (self.kind_ok, other.kind_ok),
            (self.kind_frames, other.kind_frames),
            (self.fp_hit, other.fp_hit),
            (self.fp_all, other.fp_all),
        ):
            for k, v in d_other.items():
                d_self[k] += v
        self.keep_touched += other.keep_touched
        self.lesion_px_covered += other.lesion_px_covered
        self.worst = min(self.worst, other.worst)


def coverage(
    regions: list[Region], shape: tuple[int, int], keep: list[Box] | None = None
) -> np.ndarray:
    """Pixels redacted: the boxes, less the keep boxes (the redaction stage never touches them)."""
    cov = np.zeros(shape, bool)
    h, w = shape
    for r in regions:
        x1, y1, x2, y2 = r.box.int_corners()
        cov[max(y1, 0) : min(y2, h), max(x1, 0) : min(x2, w)] = True
    for k in keep or ():
        x1, y1, x2, y2 = k.int_corners()
        cov[max(y1, 0) : min(y2, h), max(x1, 0) : min(x2, w)] = False
    return cov


def score_frame(
    s: SceneScore, f: SynthFrame, tracked: list[Region], raw: list[Region], keep: list[Box]
) -> None:
    cov = coverage(tracked, f.labels.shape, keep)
    tat = f.tattoo_mask()
    n = int(tat.sum())
    s.frames += 1
    if n:
        frac = float((cov & tat).sum() / n)
        s.worst = min(s.worst, frac)
        s.frames_ok += frac >= 0.95
        raw_cov = coverage(raw, f.labels.shape, keep)
        s.frames_ok_raw += float((raw_cov & tat).sum() / n) >= 0.95
    for kind in TATTOO_KINDS:
        m = f.tattoo_mask(kind)
        if m.any():
            c = float((cov & m).sum() / m.sum())
            s.kind_cov[kind].append(c)
            s.kind_ok[kind] += c >= 0.95
            s.kind_frames[kind] += 1
    outside = ~f.tattoo_zone(ZONE_PAD)
    for kind in DISTRACTOR_KINDS:
        m = f.distractor_mask(kind) & outside
        s.fp_all[kind] += int(m.sum())
        s.fp_hit[kind] += int((m & cov).sum())
    # The detector's contract: it never proposes a box that overlaps a keep box.
    s.keep_touched += any(r.box.intersection_area(k) > 0 for r in raw for k in keep)
    s.lesion_px_covered += int((cov & f.lesion_mask()).sum())


def run_scene(spec: SceneSpec, sensitivity: float, every: int) -> tuple[SceneScore, float]:
    scene = Scene(spec)
    keep = [Box(*k) for k in scene.keep]
    det = TattooDetector(sensitivity=sensitivity, keep=keep, every=every)
    tracker = Tracker(lookahead=lookahead_for(spec.width, spec.height))
    pending: dict[int, tuple[SynthFrame, list[Region]]] = {}
    score = SceneScore()
    spent = 0.0
    for f in scene.frames():
        t0 = time.perf_counter()
        raw = det.process_frame(f.index, f.image)
        spent += time.perf_counter() - t0
        pending[f.index] = (f, raw)
        for idx, regions in tracker.push(f.index, raw):
            fr, rw = pending.pop(idx)
            score_frame(score, fr, regions, rw, keep)
    for idx, regions in tracker.flush():
        fr, rw = pending.pop(idx)
        score_frame(score, fr, regions, rw, keep)
    det.close()
    return score, spent * 1000 / max(spec.frames, 1)


def pct(a: float, b: float) -> str:
    return f"{100 * a / b:.1f}%" if b else "n/a"


def quality_table(args: argparse.Namespace) -> tuple[list[str], SceneScore]:
    w, h = (int(v) for v in args.size.split("x"))
    total = SceneScore()
    lines = [
        "| tone | layout | frames | frames >=95% covered (tracked) | (detector alone) | worst "
        "frame | "
        + " | ".join(f"{k} mean cov" for k in TATTOO_KINDS)
        + " | "
        + " | ".join(f"FP {k}" for k in DISTRACTOR_KINDS)
        + " | keep touched | ms/frame |",
        "|" + "---|" * (7 + len(TATTOO_KINDS) + len(DISTRACTOR_KINDS) + 1),
    ]
    for tone in args.tones:
        for layout in args.layouts:
            spec = SceneSpec(tone, w, h, frames=args.frames, seed=args.seed, layout=layout)
            s, ms = run_scene(spec, args.sensitivity, args.every)
            total.add(s)
            cov = " | ".join(
                f"{100 * statistics.fmean(s.kind_cov[k]):.1f}%" if s.kind_cov[k] else "-"
                for k in TATTOO_KINDS
            )
            fp = " | ".join(pct(s.fp_hit[k], s.fp_all[k]) for k in DISTRACTOR_KINDS)
            lines.append(
                f"| {tone} | {layout} | {s.frames} | {pct(s.frames_ok, s.frames)} | "
                f"{pct(s.frames_ok_raw, s.frames)} | {100 * s.worst:.1f}% | {cov} | {fp} | "
                f"{s.keep_touched} | {ms:.1f} |"
            )
            print(lines[-1], file=sys.stderr, flush=True)
    return lines, total


def summary(total: SceneScore) -> list[str]:
    fp_hit = sum(total.fp_hit.values())
    fp_all = sum(total.fp_all.values())
    out = [
        "| measure | target | measured |",
        "|---|---|---|",
        f"| frames with >= 95% of tattoo pixels covered (tracked) | >= 99% | "
        f"{pct(total.frames_ok, total.frames)} |",
        f"| same, detector alone | - | {pct(total.frames_ok_raw, total.frames)} |",
    ]
    for k in TATTOO_KINDS:
        ok = pct(total.kind_ok[k], total.kind_frames[k])
        out.append(f"| {k}: frames >= 95% covered | >= 99% | {ok} |")
    for k in DISTRACTOR_KINDS:
        out.append(f"| FP: {k} area covered | <= 5% | {pct(total.fp_hit[k], total.fp_all[k])} |")
    out.append(f"| FP: all distractor area covered | <= 5% | {pct(fp_hit, fp_all)} |")
    out.append(
        f"| frames where the detector proposed a box touching the keep box | 0 | "
        f"{total.keep_touched} |"
    )
    out.append(
        f"| lesion pixels redacted, after tracking (all frames) | 0 | {total.lesion_px_covered} |"
    )
    return out


def faint_ink_table(args: argparse.Namespace) -> list[str]:
    """Where detection stops: the faded tattoo at decreasing ink density, two sensitivities."""
    alphas = (0.15, 0.25, 0.35, 0.45, 0.55)
    sens = (0.5, 0.8)
    frames = 4 if args.quick else 8
    lines = [
        "| tone | " + " | ".join(f"alpha {a} @ s={s}" for a in alphas for s in sens) + " |",
        "|---|" + "---|" * (len(alphas) * len(sens)),
    ]
    for tone in (1, 3, 6):
        cells = []
        for alpha in alphas:
            spec = SceneSpec(
                tone, 960, 540, frames=frames, seed=args.seed, tattoos=("faded",), faded_alpha=alpha
            )
            clip = list(Scene(spec).frames())
            for s in sens:
                det = TattooDetector(sensitivity=s, keep=[Box(*k) for k in clip[0].keep])
                ok = 0
                for f in clip:
                    cov = coverage(det.process_frame(f.index, f.image), f.labels.shape)
                    m = f.tattoo_mask("faded")
                    ok += (cov & m).sum() >= 0.95 * m.sum()
                det.close()
                cells.append(pct(ok, len(clip)))
        lines.append(f"| {tone} | " + " | ".join(cells) + " |")
        print(lines[-1], file=sys.stderr, flush=True)
    return lines


# --- speed -----------------------------------------------------------------------------------


def speed_detectors(frames: list[np.ndarray]) -> list[str]:
    from consentclip.detect.faces import FaceDetector
    from consentclip.pipeline import lookahead_for

    tattoo = TattooDetector()
    faces = FaceDetector(lookahead=lookahead_for(frames[0].shape[1], frames[0].shape[0]))
    times: dict[str, list[float]] = {"faces": [], "tattoos": []}
    for det in (faces, tattoo):
        det.process_frame(0, frames[0])  # warm-up: model load, first allocation
    # Interleaved on the same frames, so both see the same machine load.
    for i, fr in enumerate(frames, start=1):
        for det, name in ((faces, "faces"), (tattoo, "tattoos")):
            t0 = time.perf_counter()
            det.process_frame(i, fr)
            times[name].append(time.perf_counter() - t0)
    faces.close()
    tattoo.close()
    f_ms = 1000 * statistics.median(times["faces"])
    t_ms = 1000 * statistics.median(times["tattoos"])
    return [
        "| detector (1920x1080 frames) | median ms/frame |",
        "|---|---|",
        f"| FaceDetector (engine default) | {f_ms:.1f} |",
        f"| TattooDetector (sensitivity 0.5) | {t_ms:.1f} |",
        f"| ratio tattoo / face | {t_ms / f_ms:.2f} |",
    ]


def write_clip(frames: list[np.ndarray], path: Path) -> None:
    from consentclip.media.ffmpeg import binary

    h, w = frames[0].shape[:2]
    argv = [
        binary("ffmpeg"),
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "bgr24",
        "-s",
        f"{w}x{h}",
        "-r",
        "30",
        "-i",
        "-",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "18",
        "-pix_fmt",
        "yuv420p",
        str(path),
    ]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    for f in frames:
        proc.stdin.write(f.tobytes())
    proc.stdin.close()
    if proc.wait() != 0:
        raise SystemExit("ffmpeg failed to write the benchmark clip")


def speed_engine(frames: list[np.ndarray], repeats: int) -> list[str]:
    from consentclip.pipeline import anonymise
    from consentclip.settings import EngineSettings

    on_s: list[float] = []
    off_s: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "limb1080.mp4"
        write_clip(frames, clip)
        for r in range(repeats):
            # Alternate the order so neither setting always runs on a warmer machine.
            order = (("off", False), ("on", True)) if r % 2 == 0 else (("on", True), ("off", False))
            for name, tattoos in order:
                out = Path(tmp) / f"out_{name}_{r}.mp4"
                t0 = time.perf_counter()
                anonymise(clip, out, EngineSettings(tattoos=tattoos))
                (on_s if tattoos else off_s).append(time.perf_counter() - t0)
                out.unlink()
    n = len(frames)
    off, on = min(off_s), min(on_s)
    return [
        f"| engine, {n} frames 1920x1080 (best of {repeats}) | seconds | frames/s |",
        "|---|---|---|",
        f"| faces only (--no-tattoos) | {off:.2f} | {n / off:.1f} |",
        f"| faces + tattoos | {on:.2f} | {n / on:.1f} |",
        f"| extra time for tattoos | {100 * (on / off - 1):+.1f}% (target <= +35%) | |",
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small run for development")
    ap.add_argument("--frames", type=int, default=None)
    ap.add_argument("--size", default=None, help="WxH of the quality clips (default 1280x720)")
    ap.add_argument("--sensitivity", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--every", type=int, default=ENGINE_EVERY, help="detector cadence (the engine's default)"
    )
    ap.add_argument("--no-speed", action="store_true")
    ap.add_argument("--out", type=Path, default=None, help="also write the report here")
    args = ap.parse_args()
    args.frames = args.frames or (10 if args.quick else 45)
    args.size = args.size or ("960x540" if args.quick else "1280x720")
    args.tones = list(range(1, 7))
    args.layouts = ["closeup"] if args.quick else ["closeup", "arm"]
    cmd = "python bench/tattoo_bench.py " + " ".join(sys.argv[1:])
    t0 = time.perf_counter()
    rows, total = quality_table(args)
    report = [
        "# Tattoo detection benchmark",
        "",
        f"Command: `{cmd.strip()}`; nproc = {os.cpu_count()}; sensitivity {args.sensitivity}; "
        f"detector cadence {args.every} frames (1: every frame; the tracker fills between); "
        f"clips {args.size}, {args.frames} frames each; seed {args.seed}.",
        "",
        "## Summary (all tones and layouts)",
        "",
        *summary(total),
        "",
        "## Per tone and layout",
        "",
        "Coverage is by the tracked boxes (what the engine redacts). FP columns: share of each "
        "distractor's pixels (outside the tattoos' own padded extent) covered by a tattoo box.",
        "",
        *rows,
    ]
    report += [
        "",
        "## Faint ink: where detection stops",
        "",
        "Frames (detector alone, close-up, 960x540) in which >= 95% of a faded tattoo is "
        "covered, by ink density alpha (the standard faded tattoo is 0.55; 0.15 is barely "
        "visible) and sensitivity s.",
        "",
        *faint_ink_table(args),
    ]
    if not args.no_speed:
        spec = SceneSpec(3, 1920, 1080, frames=12 if args.quick else 60, seed=args.seed)
        frames = [f.image for f in Scene(spec).frames()]
        report += ["", "## Speed", "", *speed_detectors(frames[:12] if args.quick else frames)]
        report += ["", *speed_engine(frames, 1 if args.quick else 2)]
    report += ["", f"Benchmark wall time: {time.perf_counter() - t0:.0f} s."]
    text = "\n".join(report) + "\n"
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)


if __name__ == "__main__":
    main()
