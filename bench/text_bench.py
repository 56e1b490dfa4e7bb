"""Text detection benchmark (issue 16): recall of identifying text, what tesseract can still read
after redaction, false positives on skin, and the cost on 1080p video.

    GLOG_minloglevel=2 nice -n 10 .venv/bin/python bench/text_bench.py --out bench/results/text.md
    ... --lesions DIR   real lesion photos (bench/real/lesions set; default bench/real/data/lesions)
    ... --quick         fewer scenes and frames (a smoke run)

Everything is measured side by side in one run. Generated scenes come from bench/textsynth.py
(label cards, wristbands on a moving limb, badges, a screen; fonts, tilts, lighting, blur, six
skin tones). Real photographs come from bench/real/text (rebuild with bench/real/build.py text);
when they are absent the report says so.

A line of text counts as hidden in a frame when at least 98% of its ink pixels lie inside the
redacted boxes (the blur covers its box fully). Tesseract (Debian tesseract-ocr) is the
independent reader: whole frames as sparse text, and each object's crop enlarged twice as a
block and as sparse text (a band also turned upright), before and after.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import textsynth as ts  # noqa: E402
from consentclip.atomic import write_text_atomic  # noqa: E402
from consentclip.detect.regions import Box, Region, RegionKind  # noqa: E402
from consentclip.detect.text import TextDetector, TextTuning  # noqa: E402
from consentclip.pipeline import anonymise, default_components  # noqa: E402
from consentclip.redact import redact_frame  # noqa: E402
from consentclip.redact.regions import RedactPlan  # noqa: E402
from consentclip.settings import EngineSettings  # noqa: E402

HIDDEN_SHARE = 0.98


def _skinsynth():
    return ts._skinsynth()


def write_clip(frames: list[np.ndarray], path: Path) -> None:
    """Frames to an H.264 MP4 (crf 18: the engine's input, not its output)."""
    from consentclip.media.ffmpeg import binary

    h, w = frames[0].shape[:2]
    argv = [binary("ffmpeg"), "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo"]
    argv += ["-pix_fmt", "bgr24", "-s", f"{w}x{h}", "-r", "30", "-i", "-", "-c:v", "libx264"]
    argv += ["-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p", str(path)]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    for f in frames:
        proc.stdin.write(f.tobytes())
    proc.stdin.close()
    if proc.wait() != 0:
        raise SystemExit("ffmpeg failed to write the benchmark clip")


def covered(mask: np.ndarray, boxes: list[Box]) -> float:
    """Share of ``mask`` pixels inside the union of ``boxes``."""
    total = int(mask.sum())
    if total == 0:
        return 1.0
    cover = np.zeros(mask.shape, bool)
    h, w = mask.shape
    for b in boxes:
        x1, y1, x2, y2 = b.clipped(w, h).int_corners()
        cover[y1:y2, x1:x2] = True
    return float((mask & cover).sum()) / total


def touches(box: tuple[int, int, int, int] | None, regions: list[Box]) -> bool:
    if box is None:
        return False
    lesion = Box.from_corners(*box)
    return any(r.intersection_area(lesion) > 0 for r in regions)


@dataclass
class Tally:
    lines: int = 0
    hidden: int = 0
    by_obj: dict[str, list[int]] = field(default_factory=dict)  # obj -> [hidden, total]
    frames: int = 0
    frames_all_hidden: int = 0
    worst_frame: float = 1.0  # lowest share of lines hidden in one frame
    lesion_touched: int = 0

    def add(self, frame: ts.TextFrame, boxes: list[Box]) -> None:
        hid = 0
        for line in frame.lines:
            mask = frame.line_mask(line)
            if not mask.any():
                continue  # out of the frame or under another object
            ok = covered(mask, boxes) >= HIDDEN_SHARE
            hid += ok
            self.lines += 1
            self.hidden += ok
            slot = self.by_obj.setdefault(line.obj, [0, 0])
            slot[0] += ok
            slot[1] += 1
        present = sum(1 for line in frame.lines if frame.line_mask(line).any())
        self.frames += 1
        self.frames_all_hidden += hid == present
        if present:
            self.worst_frame = min(self.worst_frame, hid / present)
        self.lesion_touched += touches(frame.lesion_box, boxes)


def pct(a: float, b: float) -> str:
    return f"{100 * a / b:.1f}%" if b else "n/a"


# --- stills ------------------------------------------------------------------------------------

STILLS = [
    ts.TextSpec(tone=1, font="sans", angle=0, seed=1),
    ts.TextSpec(tone=2, font="bold", angle=8, seed=2),
    ts.TextSpec(tone=3, font="hershey", angle=15, seed=3),
    ts.TextSpec(tone=4, font="sans", angle=25, light=1.0, seed=4),
    ts.TextSpec(tone=5, font="bold", angle=-10, blur=1.2, seed=5),
    ts.TextSpec(tone=6, font="hershey", angle=5, light=0.7, seed=6),
    ts.TextSpec(tone=2, font="sans", angle=8, scale=0.6, seed=7),
    ts.TextSpec(tone=4, font="hershey", angle=-20, scale=0.6, light=1.0, seed=8),
    ts.TextSpec(tone=3, font="bold", angle=35, blur=0.8, seed=9),
    ts.TextSpec(tone=1, font="sans", angle=0, scale=0.45, seed=10),
    ts.TextSpec(tone=5, font="sans", angle=12, width=1920, height=1080, seed=11),
    ts.TextSpec(tone=6, font="bold", angle=-5, scale=0.6, width=1920, height=1080, seed=12),
    # Beyond the comfortable: far away, out of focus, steeply tilted.
    ts.TextSpec(tone=2, font="sans", angle=6, scale=0.3, width=1920, height=1080, seed=13),
    ts.TextSpec(tone=4, font="bold", angle=10, scale=0.3, width=1920, height=1080, seed=14),
    ts.TextSpec(tone=3, font="sans", angle=8, blur=2.5, seed=15),
    ts.TextSpec(tone=5, font="hershey", angle=60, seed=16),
]


def describe(s: ts.TextSpec) -> str:
    extras = []
    if s.light:
        extras.append(f"light {s.light:g}")
    if s.blur:
        extras.append(f"blur {s.blur:g}")
    if s.scale != 1.0:
        extras.append(f"text x{s.scale:g}")
    return f"{s.width}x{s.height}, type {s.tone}, {s.font}, tilt {s.angle:g}" + (
        ", " + ", ".join(extras) if extras else ""
    )


def stills_table(specs: list[ts.TextSpec], read: bool) -> tuple[list[str], Tally, list[int]]:
    detector = TextDetector()
    total = Tally()
    rows = [
        "| scene | lines hidden | label | wristband | badge | screen | lesion touched |"
        + (" tesseract words before -> after |" if read else ""),
        "|---|---:|---:|---:|---:|---:|---:|" + ("---:|" if read else ""),
    ]
    words = [0, 0, 0]  # wanted, read before, read after
    for spec in specs:
        frame = ts.still(spec)
        regions = detector.process_frame(0, frame.image)
        detector.reset()  # each still is its own photo
        boxes = [r.box for r in regions]
        t = Tally()
        t.add(frame, boxes)
        total.add(frame, boxes)
        cells = [
            pct(*t.by_obj[o]) if o in t.by_obj else "-"
            for o in ("label", "wristband", "badge", "screen")
        ]
        row = (
            f"| {describe(spec)} | {t.hidden}/{t.lines} | {' | '.join(cells)} | "
            f"{'YES' if t.lesion_touched else 'no'} |"
        )
        if read:
            want = ts.identifying_words(frame.lines)
            crops = ts.object_crops(frame)
            before = ts.words_read(frame.image, want, crops)
            out = frame.image.copy()
            redact_frame(out, regions, RedactPlan())
            after = ts.words_read(out, want, crops)
            words[0] += len(want)
            words[1] += len(before)
            words[2] += len(after)
            row += (
                f" {len(before)}/{len(want)} -> {len(after)}"
                + (f" ({', '.join(sorted(after))})" if after else "")
                + " |"
            )
        rows.append(row)
    return rows, total, words


# --- video through the engine -------------------------------------------------------------------


def engine_regions(
    clip: Path, out: Path, settings: EngineSettings
) -> tuple[dict[int, list[Region]], float, float, int]:
    """Regions the engine redacted per frame, wall and CPU seconds, text model runs."""
    seen: dict[int, list[Region]] = {}
    made: list[TextDetector] = []
    base = default_components()

    def text_factory(s: EngineSettings, lookahead: int) -> TextDetector:
        det = base.text_detector(s, lookahead)  # type: ignore[misc]
        made.append(det)
        return det

    from dataclasses import replace

    comps = replace(base, text_detector=text_factory)
    cpu0 = _cpu()
    t0 = time.perf_counter()
    anonymise(
        clip,
        out,
        settings,
        on_frame_regions=lambda i, r: seen.__setitem__(i, list(r)),
        components=comps,
    )
    wall = time.perf_counter() - t0
    return seen, wall, _cpu() - cpu0, sum(d.runs for d in made)


def _cpu() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def read_video(path: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    cap.release()
    return frames


def video_section(n: int, read_every: int, tmp: Path) -> list[str]:
    rows = [
        "| clip | frames | text model runs | lines hidden (line-frames) | frames with every "
        "line hidden | worst frame | lesion touched (frames) | tesseract words before -> after |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, spec, keep in (
        ("all objects, limb swaying, no keep", ts.TextSpec(frames=n, seed=21, angle=8), False),
        (
            "label + wristband, faster sway, type 5, keep box on the lesion",
            ts.TextSpec(
                objects=("label", "wristband"), frames=n, seed=22, tone=5, motion=1.6, angle=-6
            ),
            True,
        ),
    ):
        frames = list(ts.TextScene(spec).frames())
        clip = tmp / f"text_{spec.seed}.mp4"
        write_clip([f.image for f in frames], clip)
        keep_boxes = (Box(*frames[0].keep),) if keep and frames[0].keep else ()
        out = tmp / f"text_{spec.seed}_out.mp4"
        seen, _, _, runs = engine_regions(clip, out, EngineSettings(keep=keep_boxes))
        tally = Tally()
        for f in frames:
            # Text regions only: the tattoo detector (on by default) also boxes printed objects
            # on skin and, without a keep box, the lesion; this measures the text detector.
            boxes = [r.box for r in seen.get(f.index, []) if r.kind is RegionKind.TEXT]
            tally.add(f, boxes)
        decoded = read_video(out)
        want: set[str] = set()
        before: set[str] = set()
        after: set[str] = set()
        for f in frames[::read_every]:
            w = ts.identifying_words(f.lines)
            crops = ts.object_crops(f)
            want |= w
            before |= ts.words_read(f.image, w, crops)
            after |= ts.words_read(decoded[f.index], w, crops)
        rows.append(
            f"| {label} | {len(frames)} | {runs} | {pct(tally.hidden, tally.lines)} "
            f"({tally.hidden}/{tally.lines}) | {tally.frames_all_hidden}/{tally.frames} | "
            f"{100 * tally.worst_frame:.0f}% | {tally.lesion_touched} | "
            f"{len(before)}/{len(want)} -> {len(after)}"
            + (f" ({', '.join(sorted(after))})" if after else "")
            + " |"
        )
        out.unlink()
    return rows


# --- false positives on skin ---------------------------------------------------------------------


def skin_section(lesion_dir: Path, quick: bool) -> list[str]:
    ss = _skinsynth()
    detector = TextDetector()
    rows = [
        "| skin material | images | images with any text box | lesion touched | non-lettering "
        "tattoo boxed |",
        "|---|---:|---:|---:|---:|",
    ]
    # Generated: moles, freckles, hair, veins, a lesion; with and without non-lettering tattoos.
    for tattoos in ((), ("line_art", "coloured", "faded")):
        n = any_box = touched = inked = 0
        for tone in range(1, 7):
            for seed in (0,) if quick else (0, 1):
                spec = ss.SceneSpec(
                    tone,
                    1280,
                    720,
                    frames=1,
                    seed=seed + 10 * tone,
                    tattoos=tattoos,
                    distractors=ss.DISTRACTOR_KINDS,
                )
                frame = next(ss.Scene(spec).frames())
                detector.reset()
                boxes = [r.box for r in detector.process_frame(0, frame.image)]
                n += 1
                any_box += bool(boxes)
                ys, xs = np.nonzero(frame.lesion_mask())
                lesion = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) if xs.size else None
                touched += touches(lesion, boxes)
                inked += bool(tattoos) and covered(frame.tattoo_mask(), boxes) > 0.05
        what = "generated limbs, 6 skin types: moles, freckles, hair, veins, shadow, sleeve, lesion"
        if tattoos:
            what += " + line-art, coloured and faded tattoos"
        rows.append(f"| {what} | {n} | {any_box} | {touched} | {inked if tattoos else '-'} |")
    files = sorted(p for p in lesion_dir.glob("*") if p.suffix.lower() in {".jpg", ".png"})
    if files:
        any_box = touched = 0
        for p in files:
            img = cv2.imread(str(p))
            if img is None:
                continue
            detector.reset()
            boxes = [r.box for r in detector.process_frame(0, img)]
            any_box += bool(boxes)
            h, w = img.shape[:2]
            centre = (int(0.3 * w), int(0.3 * h), int(0.7 * w), int(0.7 * h))
            touched += touches(centre, boxes)
        rows.append(
            f"| real dermoscopy photos (HAM10000, {lesion_dir}) | {len(files)} | {any_box} | "
            f"{touched} (a box in the central 40%) | - |"
        )
    else:
        rows.append(f"| real lesion photos | **absent** ({lesion_dir} is empty) | | | |")
    return rows


# --- real photographs with text ------------------------------------------------------------------


def real_section(data: Path) -> list[str]:
    files = sorted(p for p in data.glob("*") if p.suffix.lower() in {".jpg", ".png"})
    if not files:
        return [f"Real photographs: **absent** ({data} is empty; run bench/real/build.py text)."]
    detector = TextDetector()
    rows = [
        "| photo | tesseract words (conf >= 60) in the original | their boxes covered | "
        "still read after redaction |",
        "|---|---:|---:|---:|",
    ]
    tot = [0, 0, 0]
    for p in files:
        img = cv2.imread(str(p))
        if img is None:
            continue
        read = [
            (ts.normalise(w), b)
            for w, b in ts.tesseract_words(img, 11, min_conf=60)
            if len(ts.normalise(w)) >= 3
        ]
        detector.reset()
        regions = detector.process_frame(0, img)
        boxes = [r.box for r in regions]
        cov = 0
        for _, (x, y, w, h) in read:
            mask = np.zeros(img.shape[:2], bool)
            mask[y : y + h, x : x + w] = True
            cov += covered(mask, boxes) >= 0.9
        out = img.copy()
        redact_frame(out, regions, RedactPlan())
        want = {w for w, _ in read}
        after = {ts.normalise(w) for w, _ in ts.tesseract_words(out, 11)} & want
        tot[0] += len(read)
        tot[1] += cov
        tot[2] += len(after)
        rows.append(
            f"| {p.name} | {len(read)} | {cov} | {len(after)}"
            + (f" ({', '.join(sorted(after))})" if after else "")
            + " |"
        )
    rows.append(f"| **all {len(files)}** | {tot[0]} | {pct(tot[1], tot[0])} | {tot[2]} |")
    return rows


# --- cost ----------------------------------------------------------------------------------------


def cost_section(n: int, repeats: int, tmp: Path) -> list[str]:
    spec = ts.TextSpec(frames=n, width=1920, height=1080, seed=31, angle=8)
    frames = [f.image for f in ts.TextScene(spec).frames()]
    clip = tmp / "text1080.mp4"
    write_clip(frames, clip)
    del frames
    res: dict[bool, list[tuple[float, float, int]]] = {True: [], False: []}
    for r in range(repeats):
        order = (False, True) if r % 2 == 0 else (True, False)
        for text in order:
            out = tmp / f"cost_{text}_{r}.mp4"
            _, wall, cpu, runs = engine_regions(clip, out, EngineSettings(text=text))
            res[text].append((wall, cpu, runs))
            out.unlink()
    off_w = min(w for w, _, _ in res[False])
    on_w = min(w for w, _, _ in res[True])
    off_c = min(c for _, c, _ in res[False])
    on_c = min(c for _, c, _ in res[True])
    runs = res[True][0][2]
    return [
        f"| engine, default settings, {n} frames 1920x1080 30 fps (best of {repeats}) | wall s "
        "| frames/s | CPU s |",
        "|---|---:|---:|---:|",
        f"| text off (--no-text): faces + tattoos | {off_w:.1f} | {n / off_w:.1f} | {off_c:.1f} |",
        f"| text on (default), {runs} text model runs | {on_w:.1f} | {n / on_w:.1f} | {on_c:.1f} |",
        f"| **extra time for text** | **{100 * (on_w / off_w - 1):+.0f}%** wall "
        f"(target <= +35%) | | **{100 * (on_c / off_c - 1):+.0f}%** CPU |",
    ]


def model_speed() -> list[str]:
    rows = ["| model input (longest side) | ms per run (median of 5) |", "|---|---:|"]
    frame = ts.still(ts.TextSpec(width=1920, height=1080, seed=41))
    for side in (640, 960, 1280):
        det = TextDetector(tuning=TextTuning(side=side))
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            det.model.probability(frame.image)
            times.append(time.perf_counter() - t0)
        rows.append(f"| {side} | {1000 * sorted(times)[2]:.0f} |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--lesions", type=Path, default=HERE / "real" / "data" / "lesions")
    ap.add_argument("--real", type=Path, default=HERE / "real" / "data" / "text")
    ap.add_argument("--no-cost", action="store_true")
    args = ap.parse_args()
    import shutil

    has_tess = shutil.which("tesseract") is not None
    out: list[str] = ["# Text detection benchmark (issue 16)", ""]
    out += [
        f"Command: `GLOG_minloglevel=2 nice -n 10 .venv/bin/python bench/text_bench.py"
        f"{' --quick' if args.quick else ''} --lesions {args.lesions}` "
        f"(nproc = 2, shared with other engineers' runs; load average at start "
        f"{Path('/proc/loadavg').read_text().split()[0]}).",
        "A line counts as hidden when >= 98% of its ink lies inside the redacted boxes. "
        + ("Reader: " + _tess_version() if has_tess else "**tesseract absent: no reading**")
        + ".",
        "",
    ]

    def section(title: str, rows: list[str]) -> None:
        print(f"\n## {title}\n" + "\n".join(rows), flush=True)
        out.extend([f"## {title}", "", *rows, ""])

    specs = STILLS[:4] if args.quick else STILLS
    rows, total, words = stills_table(specs, has_tess)
    section("Photos (generated stills, detector at default settings)", rows)
    objs = ", ".join(f"{o} {pct(*v)}" for o, v in sorted(total.by_obj.items()))
    summary = [
        f"All stills: **{pct(total.hidden, total.lines)} of lines hidden** "
        f"({total.hidden}/{total.lines}; {objs}); every line hidden in "
        f"{total.frames_all_hidden}/{total.frames} stills; lesion touched in "
        f"{total.lesion_touched}.",
    ]
    if has_tess:
        summary.append(
            f"Tesseract read {words[1]}/{words[0]} words in the originals and "
            f"**{words[2]} after redaction**."
        )
    section("Photos: summary", summary)
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        n = 45 if args.quick else 120
        section(
            f"Video through the engine (1280x720, 30 fps, {n} frames, default settings)",
            video_section(n, 15 if args.quick else 20, tmp),
        )
        section("False positives on skin", skin_section(args.lesions, args.quick))
        section("Real photographs with text (bench/real/text)", real_section(args.real))
        section("Model speed (one 1080p frame, OpenCV DNN)", model_speed())
        if not args.no_cost:
            section(
                "Cost on 1080p video",
                cost_section(90 if args.quick else 150, 1 if args.quick else 2, tmp),
            )
    if args.out:
        write_text_atomic(args.out, "\n".join(out) + "\n")
        print(f"\nwrote {args.out}")


def _tess_version() -> str:
    import subprocess

    v = subprocess.run(["tesseract", "--version"], capture_output=True, text=True, check=False)
    first = (v.stdout or v.stderr).splitlines()[:1]
    return first[0] if first else "(version unknown)"


if __name__ == "__main__":
    main()
