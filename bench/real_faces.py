"""Faces on real material: consentclip and deface 1.5 side by side, judged by a third detector.

    .venv/bin/python bench/real/build.py people          # once: copy the set out of the mirrors
    .venv/bin/pip install --no-deps -r bench/requirements-real.txt   # optional: deface 1.5
    .venv/bin/python bench/real_faces.py --out bench/results/real_faces.md [--png DIR]

Every photo and clip of ``bench/real/people`` (manifest.toml: repository, commit, path, licence)
goes through consentclip's real engine (``pipeline.anonymise``, faces only, default settings:
the same path as ``export`` and ``photo``) and through deface 1.5 on the same frames (its own
defaults: CenterFace, threshold 0.2, mask scale 1.3, blurred ellipses). Derived sets darken the
real material (dim) or darken the people against a blown-out background (backlit), as labelled.

Judged two ways:
- **YuNet** (libfacedetection, run by ``cv2.FaceDetectorYN``; neither BlazeFace nor CenterFace,
  the two families consentclip uses, nor the CenterFace deface uses): a face it finds in the
  input (score >= 0.7) and still finds at the same place in the output (score >= 0.5, IoU >= 0.3)
  is a face left visible. Every frame of a clip up to 720p, every 3rd above.
- **WIDER FACE boxes** where the photo is a WIDER validation image: a box covered less than 80%
  by what a tool redacted (consentclip: the regions it reports; deface: its scaled boxes, as
  rectangles, which is generous to it since it blurs ellipses) is a face left.

Per item also the *area redacted*: the mean share of the frame under the regions each tool
reports (over-redaction: a held track grown over the frame leaves no face visible either).

Also measured: face false positives on real dermoscopy photographs (the skin set's manifest,
``bench/real/lesions``): images where a face region was redacted, and the share of pixels
changed.

When the data or deface are absent the benchmark says so in its output and skips that part.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent / "real"))

import build as real_build  # bench/real/build.py

from consentclip.atomic import write_text_atomic
from consentclip.detect.regions import Box, Region, RegionKind
from consentclip.pipeline import anonymise
from consentclip.settings import EngineSettings

ROOT = Path(__file__).resolve().parents[1]
PEOPLE = "people"
LESIONS = ROOT / "bench" / "real" / "lesions"
JUDGE_IN = 0.7
JUDGE_OUT = 0.5
JUDGE_IOU = 0.3
GT_COVER = 0.8
SETTINGS = EngineSettings(tattoos=False)  # default face settings; tattoos are not judged here


# -- the tools -----------------------------------------------------------------------------------


Frames = list[np.ndarray]
Masks = list[list[Box]]  # per frame: the boxes a tool redacted


def run_consentclip(src: Path, work: Path) -> tuple[Frames, Masks, float]:
    """The engine on ``src``; returns its output frames, the regions it reported, seconds."""
    video = src.suffix.lower() in (".mp4", ".mov", ".m4v")
    dst = work / f"cc_{src.stem}{'.mp4' if video else '.png'}"
    masks: dict[int, list[Box]] = {}

    def collect(index: int, regions: Sequence[Region]) -> None:
        masks[index] = [r.box for r in regions if r.kind is RegionKind.FACE]

    start = time.perf_counter()
    anonymise(src, dst, SETTINGS, on_frame_regions=collect)
    seconds = time.perf_counter() - start
    frames = list(read_frames(dst))
    return frames, [masks.get(i, []) for i in range(len(frames))], seconds


class Deface:
    """deface 1.5 as its CLI runs a frame: CenterFace at the frame's own size, threshold 0.2,
    boxes scaled by 1.3, blurred ellipses."""

    def __init__(self) -> None:
        from deface.centerface import CenterFace
        from deface.deface import anonymize_frame, scale_bb

        self._make = lambda: CenterFace(in_shape=None, backend="auto")
        self._net = self._make()
        self._shape: tuple[int, ...] | None = None
        self._anonymize = anonymize_frame
        self._scale = scale_bb
        self.backend = self._net.backend

    def __call__(self, frame_bgr: np.ndarray) -> tuple[np.ndarray, list[Box]]:
        if self._shape is not None and frame_bgr.shape != self._shape and self.backend == "opencv":
            # A fresh net for each new input size, as the deface CLI has for each file: OpenCV
            # 4.11's DNN keeps shape-dependent state, and one net fed photos of several sizes
            # returns hundreds of spurious boxes (measured: 1965 on the marching band instead
            # of 178), which blanket the picture and made deface look better than it is.
            self._net = self._make()
        self._shape = frame_bgr.shape
        rgb = np.ascontiguousarray(frame_bgr[:, :, ::-1])  # deface works on RGB
        dets, _ = self._net(rgb, threshold=0.2)
        out = rgb.copy()
        self._anonymize(dets, out, 1.3, "blur", True, False, None, 20)
        boxes = []
        for det in dets:
            x1, y1, x2, y2 = self._scale(*det[:4].astype(int), 1.3)
            boxes.append(Box.from_corners(float(x1), float(y1), float(x2), float(y2)))
        return np.ascontiguousarray(out[:, :, ::-1]), boxes


def load_deface() -> tuple[Deface | None, str]:
    try:
        tool = Deface()
    except ImportError as exc:
        hint = "pip install --no-deps -r bench/requirements-real.txt"
        return None, f"deface is not installed ({exc.name}): {hint}"
    return tool, f"deface 1.5, {tool.backend} backend"


def run_deface(tool: Deface, frames: Frames) -> tuple[Frames, Masks, float]:
    start = time.perf_counter()
    outs, masks = [], []
    for frame in frames:
        out, boxes = tool(frame)
        outs.append(out)
        masks.append(boxes)
    return outs, masks, time.perf_counter() - start


class Judge:
    """YuNet through cv2.FaceDetectorYN: faces as (Box, score)."""

    def __init__(self, model: Path) -> None:
        self._det = cv2.FaceDetectorYN.create(str(model), "", (320, 320), 0.5, 0.3, 5000)

    def faces(self, frame: np.ndarray, floor: float) -> list[tuple[Box, float]]:
        h, w = frame.shape[:2]
        self._det.setInputSize((w, h))
        self._det.setScoreThreshold(floor)
        _, found = self._det.detect(frame)
        if found is None:
            return []
        return [
            (Box(float(f[0]), float(f[1]), float(f[2]), float(f[3])), float(f[14])) for f in found
        ]


# -- material -----------------------------------------------------------------------------------


def read_frames(path: Path) -> Iterator[np.ndarray]:
    if path.suffix.lower() in (".png", ".jpg", ".jpeg"):
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if img is None:
            raise SystemExit(f"cannot read {path}")
        yield img
        return
    cap = cv2.VideoCapture(str(path))
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                return
            yield frame
    finally:
        cap.release()


def dim(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A dim room: a quarter of the light, a darker gamma, sensor noise."""
    f = frame.astype(np.float32) / 255.0
    f = 0.28 * np.power(f, 1.4)
    f += rng.normal(0.0, 0.012, f.shape).astype(np.float32)
    return np.clip(f * 255.0, 0, 255).astype(np.uint8)


def backlit(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Against a window: the picture darkened to a third, a bright haze from the top of the frame
    blown out to white behind the people's heads."""
    h = frame.shape[0]
    f = frame.astype(np.float32) / 255.0 * 0.35
    ramp = np.clip(1.0 - np.linspace(0.0, 1.6, h), 0.0, 1.0)[:, None, None].astype(np.float32)
    f = f + ramp * 0.9
    f += rng.normal(0.0, 0.01, f.shape).astype(np.float32)
    return np.clip(f * 255.0, 0, 255).astype(np.uint8)


@dataclass
class Item:
    name: str
    set_name: str
    path: Path  # the file the tools get
    gt: list[Box] = field(default_factory=list)
    tags: tuple[str, ...] = ()


def wider_boxes(labels: Path) -> dict[str, list[Box]]:
    out: dict[str, list[Box]] = {}
    key = None
    for line in labels.read_text().splitlines():
        if line.startswith("#"):
            key = line.split()[1]
            out[key] = []
        elif key is not None:
            v = line.split()
            if len(v) >= 4:
                x1, y1, x2, y2 = map(float, v[:4])
                out[key].append(Box.from_corners(x1, y1, x2, y2))
    return out


def write_derived(src: Path, dst: Path, fn: Callable[..., np.ndarray], frames: int) -> None:
    rng = np.random.default_rng(11)
    if dst.suffix == ".png":
        cv2.imwrite(str(dst), fn(next(read_frames(src)), rng))
        return
    cap = cv2.VideoCapture(str(src))
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    cap.release()
    first = next(read_frames(src))
    h, w = first.shape[:2]
    enc = subprocess.Popen(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo",
         "-pix_fmt", "bgr24", "-s", f"{w}x{h}", "-r", f"{fps:.3f}", "-i", "pipe:0",
         "-c:v", "libx264", "-preset", "veryfast", "-crf", "16", "-pix_fmt", "yuv420p", str(dst)],
        stdin=subprocess.PIPE,
    )  # fmt: skip
    assert enc.stdin is not None
    for i, frame in enumerate(read_frames(src)):
        if i >= frames:
            break
        enc.stdin.write(fn(frame, rng).tobytes())
    enc.stdin.close()
    if enc.wait() != 0:
        raise SystemExit(f"could not write {dst}")


def trimmed(src: Path, dst: Path, frames: int) -> Path:
    """The first ``frames`` frames, re-encoded near-losslessly (both tools get the same clip)."""
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(src), "-an",
         "-frames:v", str(frames), "-c:v", "libx264", "-preset", "veryfast", "-crf", "14",
         "-pix_fmt", "yuv420p", str(dst)],
        check=True,
    )  # fmt: skip
    return dst


def people_items(data: Path, work: Path, max_frames: int) -> list[Item]:
    manifest = real_build.load_manifest(ROOT / "bench" / "real" / PEOPLE)
    gt_all = wider_boxes(data / "wider_val_labelv2.txt")
    items: list[Item] = []
    for entry in manifest["item"]:
        kind = entry.get("kind")
        path = data / entry["file"]
        if kind not in ("photo", "video") or not path.is_file():
            continue
        stem = Path(entry["file"]).stem
        if kind == "video":
            path = trimmed(path, work / f"{stem}.mp4", max_frames)
        gt = gt_all.get(entry.get("gt", ""), [])
        tags = tuple(entry.get("tags", ()))
        set_name = "real videos" if kind == "video" else "real photos"
        items.append(Item(stem, set_name, path, gt, tags))
    # Derived from the real material: the same people, in the light that BlazeFace handles worst.
    for base in items[:]:
        for label, fn in (("dim", dim), ("backlit", backlit)):
            if base.set_name == "real videos" and label == "backlit":
                continue
            suffix = ".mp4" if base.set_name == "real videos" else ".png"
            dst = work / f"{base.name}_{label}{suffix}"
            write_derived(base.path, dst, fn, max_frames)
            kind = "videos" if suffix == ".mp4" else "photos"
            items.append(Item(f"{base.name}_{label}", f"{label} {kind} (derived)", dst, base.gt))
    return items


def lesion_items() -> tuple[list[Item], str]:
    manifest = LESIONS / "manifest.toml"
    if not manifest.is_file():
        return (
            [],
            "no lesion manifest found (bench/real/lesions): face false positives not measured",
        )
    data = LESIONS.parent / "data" / "lesions"
    files = [data / e["file"] for e in real_build.load_manifest(LESIONS).get("item", [])]
    present = [f for f in files if f.is_file()]
    note = f"{manifest} ({len(present)} of {len(files)} files present)"
    return [Item(f.stem, "dermoscopy (no face)", f) for f in present], note


# -- judging ------------------------------------------------------------------------------------


@dataclass
class Tally:
    frames: int = 0
    judged: int = 0
    faces_in: int = 0  # (frame, face) pairs YuNet sees in the input
    left: int = 0  # ... still seen at the same place in the output
    frames_left: int = 0
    gt: int = 0
    gt_left: int = 0
    gt_left_large: int = 0  # boxes >= 16 px wide
    gt_large: int = 0
    seconds: float = 0.0
    changed: list[float] = field(default_factory=list)  # share of pixels changed per frame
    masked_frames: int = 0  # frames with any face region (false positives on the lesion set)
    # Share of the frame under the regions a tool redacted, per frame: what over-redaction costs
    # the picture (a held track grown to the whole frame keeps faces left at 0 too).
    area: list[float] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        for name in self.__dataclass_fields__:
            mine = getattr(self, name)
            theirs = getattr(other, name)
            setattr(self, name, mine + theirs)


def covered(box: Box, masks: list[Box]) -> float:
    x1, y1, x2, y2 = box.int_corners()
    if x2 <= x1 or y2 <= y1:
        return 1.0
    grid = np.zeros((y2 - y1, x2 - x1), bool)
    for m in masks:
        a1, b1, a2, b2 = m.int_corners()
        grid[max(b1 - y1, 0) : max(b2 - y1, 0), max(a1 - x1, 0) : max(a2 - x1, 0)] = True
    return float(grid.mean())


def judge(
    item: Item,
    inputs: Frames,
    outputs: Frames,
    masks: Masks,
    judge_model: Judge | None,
    every: int,
) -> Tally:
    t = Tally(frames=len(inputs))
    for i, (src, out) in enumerate(zip(inputs, outputs, strict=False)):
        diff = cv2.absdiff(src, out).max(axis=2) > 12
        t.changed.append(float(diff.mean()))
        t.masked_frames += 1 if masks[i] else 0
        h, w = src.shape[:2]
        t.area.append(covered(Box(0, 0, w, h), masks[i]))
        if i == 0 and item.gt:
            for box in item.gt:
                large = box.w >= 16
                left = covered(box, masks[i]) < GT_COVER
                t.gt += 1
                t.gt_large += large
                t.gt_left += left
                t.gt_left_large += left and large
        if judge_model is None or i % every:
            continue
        t.judged += 1
        seen = [b for b, s in judge_model.faces(src, JUDGE_IN)]
        if not seen:
            continue
        after = [b for b, s in judge_model.faces(out, JUDGE_OUT)]
        left = sum(1 for b in seen if any(b.iou(a) >= JUDGE_IOU for a in after))
        t.faces_in += len(seen)
        t.left += left
        t.frames_left += 1 if left else 0
    return t


# -- report -------------------------------------------------------------------------------------


def side_by_side(inp: np.ndarray, cc: np.ndarray, df: np.ndarray | None, path: Path) -> None:
    row = [inp, cc] + ([df] if df is not None else [])
    scale = min(1.0, 1800 / (inp.shape[1] * len(row)))
    row = [cv2.resize(f, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) for f in row]
    cv2.imwrite(str(path), np.hstack(row))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, help="write the markdown report here")
    parser.add_argument("--png", type=Path, help="write input | consentclip | deface frames here")
    parser.add_argument("--max-frames", type=int, default=90, help="frames per clip")
    parser.add_argument("--no-deface", action="store_true")
    parser.add_argument("--no-lesions", action="store_true")
    parser.add_argument("--lesions-only", action="store_true")
    parser.add_argument("--only", help="run only items whose name contains one of these (a,b)")
    args = parser.parse_args(argv)

    data = real_build.data_dir(PEOPLE)
    notes: list[str] = []
    judge_file = data / "yunet_n_640_640.onnx"
    if not (data / "wider_val_labelv2.txt").is_file() or not judge_file.is_file():
        print(f"DATA ABSENT: {data} is missing or incomplete; run bench/real/build.py {PEOPLE}")
        return 2
    judge_model = Judge(judge_file)
    deface, deface_note = (None, "deface run skipped (--no-deface)")
    if not args.no_deface:
        deface, deface_note = load_deface()
    notes.append(deface_note)
    print(deface_note)
    if args.png:
        args.png.mkdir(parents=True, exist_ok=True)

    rows: list[tuple[Item, Tally, Tally | None]] = []
    with tempfile.TemporaryDirectory(prefix="real_faces_") as tmp:
        work = Path(tmp)
        items = [] if args.lesions_only else people_items(data, work, args.max_frames)
        missing = [e["file"] for e in real_build.load_manifest(ROOT / "bench/real" / PEOPLE)["item"]
                   if not (data / e["file"]).is_file()]  # fmt: skip
        if missing:
            notes.append(f"DATA PARTLY ABSENT: {', '.join(missing)}")
        if not args.no_lesions:
            lesions, note = lesion_items()
            notes.append(note)
            items += lesions
        if args.only:
            wanted = args.only.split(",")
            items = [i for i in items if any(w in i.name for w in wanted)]
        for item in items:
            inputs = list(read_frames(item.path))
            every = 1 if inputs[0].shape[0] <= 720 else 3
            cc_frames, cc_masks, cc_s = run_consentclip(item.path, work)
            cc = judge(item, inputs, cc_frames, cc_masks, judge_model, every)
            cc.seconds = cc_s
            df = None
            df_frames: Frames | None = None
            if deface is not None:
                df_frames, df_masks, df_s = run_deface(deface, inputs)
                df = judge(item, inputs, df_frames, df_masks, judge_model, every)
                df.seconds = df_s
            rows.append((item, cc, df))
            print(_item_line(item, cc, df), flush=True)
            if args.png:
                worst = _worst_frame(inputs, cc_frames, judge_model) if len(inputs) > 1 else 0
                side_by_side(
                    inputs[worst],
                    cc_frames[worst],
                    df_frames[worst] if df_frames is not None else None,
                    args.png / f"{item.name}_f{worst}.png",
                )
            del inputs, cc_frames, df_frames
    report = _report(rows, notes, args.max_frames)
    print(report)
    if args.out:
        write_text_atomic(args.out, report)
    return 0


def _worst_frame(inputs: Frames, outputs: Frames, judge_model: Judge) -> int:
    """The first frame where YuNet still sees a face in consentclip's output (else frame 0)."""
    for i in range(0, len(inputs), 3):
        seen = [b for b, _ in judge_model.faces(inputs[i], JUDGE_IN)]
        after = [b for b, _ in judge_model.faces(outputs[i], JUDGE_OUT)]
        if any(b.iou(a) >= JUDGE_IOU for b in seen for a in after):
            return i
    return 0


def _item_line(item: Item, cc: Tally, df: Tally | None) -> str:
    def part(t: Tally) -> str:
        gt = f", WIDER boxes left {t.gt_left}/{t.gt}" if t.gt else ""
        fp = (
            f", frames masked {t.masked_frames}/{t.frames}"
            if item.set_name.startswith("derm")
            else ""
        )
        return (
            f"YuNet faces left {t.left}/{t.faces_in} in {t.frames_left} of {t.judged} frames"
            f"{gt}{fp}, area redacted {_area(t)}, {t.seconds:.1f} s"
        )

    line = f"{item.set_name:28s} {item.name:28s} consentclip: {part(cc)}"
    return line + (f" | deface: {part(df)}" if df is not None else "")


def _report(rows: list[tuple[Item, Tally, Tally | None]], notes: list[str], frames: int) -> str:
    sets: dict[str, list[tuple[Item, Tally, Tally | None]]] = {}
    for row in rows:
        sets.setdefault(row[0].set_name, []).append(row)
    lines = [
        "# Faces on real material (issue 11)",
        "",
        "Command: `GLOG_minloglevel=2 .venv/bin/python bench/real_faces.py --out "
        "bench/results/real_faces.md` (after `bench/real/build.py people`); "
        f"nproc = {os.cpu_count()}. Clips: first {frames} frames. consentclip: "
        "`pipeline.anonymise`, default face settings, tattoos off. deface: 1.5 defaults.",
        "",
        *[f"- {n}" for n in notes],
        "",
        "Judge: YuNet (a third detector family). *Faces left*: faces YuNet finds in the input "
        f"(score >= {JUDGE_IN}) and still finds at the same place in the output (score >= "
        f"{JUDGE_OUT}, IoU >= {JUDGE_IOU}). *WIDER boxes left*: ground-truth boxes covered less "
        f"than {GT_COVER:.0%} by the tool's redaction (>= 16 px wide in brackets).",
        "",
        "| set | items | judged frames | YuNet faces in input "
        "| consentclip: frames with a face left | faces left | WIDER boxes left "
        "| deface 1.5: frames with a face left | faces left | WIDER boxes left "
        "| s consentclip / deface |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]  # fmt: skip
    derm: list[tuple[Item, Tally, Tally | None]] = []
    for name, group in sets.items():
        if name.startswith("derm"):
            derm = group
            continue
        cc, df = Tally(), Tally()
        for _, c, d in group:
            cc.add(c)
            if d is not None:
                df.add(d)
        has_df = any(d is not None for _, _, d in group)
        lines.append(
            f"| {name} | {len(group)} | {cc.judged} | {cc.faces_in} | {cc.frames_left} | "
            f"{cc.left} | {_gt(cc)} | "
            + (f"{df.frames_left} | {df.left} | {_gt(df)} | " if has_df else "- | - | - | ")
            + f"{cc.seconds:.0f} / {df.seconds:.0f} |"
        )
    lines += [
        "",
        "Per item:",
        "",
        "| set | item | frames | consentclip: faces left (frames) | WIDER left | area redacted "
        "| deface: faces left (frames) | WIDER left | area redacted |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]  # fmt: skip
    for item, c, d in rows:
        if item.set_name.startswith("derm"):
            continue
        dpart = (
            f"{d.left}/{d.faces_in} ({d.frames_left}) | {_gt(d)} | {_area(d)}" if d else "- | - | -"
        )
        lines.append(
            f"| {item.set_name} | {item.name} | {c.frames} | {c.left}/{c.faces_in} "
            f"({c.frames_left}) | {_gt(c)} | {_area(c)} | {dpart} |"
        )
    if derm:
        cc_hit = sum(1 for _, c, _ in derm if c.masked_frames)
        cc_share = [max(c.changed) for _, c, _ in derm]
        df_rows = [d for _, _, d in derm if d is not None]
        df_hit = sum(1 for d in df_rows if d.masked_frames)
        lines += [
            "",
            "Face false positives on real dermoscopy photographs (no face in any):",
            "",
            "| tool | images | images with a face redacted | share of pixels changed, mean / max |",
            "|---|---:|---:|---:|",
            f"| consentclip (faces only) | {len(derm)} | {cc_hit} | "
            f"{np.mean(cc_share):.2%} / {max(cc_share):.2%} |",
        ]
        if df_rows:
            share = [max(d.changed) for d in df_rows]
            lines.append(
                f"| deface 1.5 | {len(df_rows)} | {df_hit} | "
                f"{np.mean(share):.2%} / {max(share):.2%} |"
            )
    return "\n".join(lines) + "\n"


def _area(t: Tally) -> str:
    """Mean share of the frame redacted (region boxes), over the item's frames."""
    return f"{100 * sum(t.area) / max(len(t.area), 1):.1f}%"


def _gt(t: Tally) -> str:
    return f"{t.gt_left}/{t.gt} ({t.gt_left_large}/{t.gt_large})" if t.gt else "-"


if __name__ == "__main__":
    sys.exit(main())
