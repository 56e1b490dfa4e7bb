# ruff: noqa: E501  (markdown table rows read best on one line)
"""The body-on-a-dark-ground close-up cue (or the light-mark rule) on and off, side by side in
one run, on the real sets.

    .venv/bin/python bench/real/build.py closeups tattoos lesions closeup_faces people text
    GLOG_minloglevel=2 .venv/bin/python bench/dark_ground_ab.py [--cue ground|light|plain|shade] [--out FILE]

``--cue light`` switches ``lightmarks.light_at_edge`` instead (a close-up's mark lighter than
the skin at the frame's edge; scene kinds do not change, so only the detector is compared).
``--cue plain`` switches ``plainground.body_on_plain_ground`` instead (a body on a plain, lit
ground: a sheet, a drape, tiles), reported like the dark-ground cue with its own features.
``--cue shade`` switches ``shademarks.edge_shade`` (a close-up's soft shade running out of the
frame), and lists the marks it rejects on every real set.

``scene.body_on_dark_ground`` (a scene the tattoo detector reads with a close-up's ink rules: a
rash on a body photographed against a black backdrop or in deep shade) is the only thing switched; the harness is
bench/body_frame_ab.py's (the same pictures, the tattoo detector alone with no face boxes).
Reported: the scenes the cue takes, per set, with the cue's features (at 96 pixels wide, as
``classify_scene`` sees them) for each and for the nearest scenes of the other sets it does not
take; close-ups with any pixel boxed and the
mean share boxed; real tattoo boxes >= 95% covered, and every box whose coverage moves.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

import body_frame_ab as ab  # noqa: E402
from consentclip.atomic import write_text_atomic  # noqa: E402
from consentclip.detect import lightmarks, plainground, scene, shademarks, tattoos  # noqa: E402
from consentclip.detect.skin import LabImage  # noqa: E402

SHIPPED = scene.body_on_dark_ground
SHIPPED_LIGHT = tattoos.light_at_edge
SHIPPED_PLAIN = plainground.body_on_plain_ground
SHIPPED_SHADE = tattoos.edge_shade
CUE = "ground"


def switch(on: bool) -> None:
    if CUE == "light":
        tattoos.light_at_edge = SHIPPED_LIGHT if on else (lambda *a: False)
    elif CUE == "plain":
        plainground.body_on_plain_ground = SHIPPED_PLAIN if on else (lambda frame: False)
    elif CUE == "shade":
        tattoos.edge_shade = (
            SHIPPED_SHADE if on else (lambda lit, local, ink: np.zeros(ink.shape, bool))
        )
    else:
        scene.body_on_dark_ground = SHIPPED if on else (lambda frame: False)


def features(frame: np.ndarray) -> dict[str, float]:
    """The cue's own quantities (see ``scene._body_on_dark_ground``)."""
    lab = LabImage.from_bgr(scene._small(frame))
    k = np.ones((3, 3), np.uint8)
    lit = lab.L >= scene.GROUND_DARK_L
    hued = scene._skin_hued(lab)
    ground = ~hued
    other = cv2.morphologyEx(scene._no_skin_colour(lab, hued).astype(np.uint8), cv2.MORPH_OPEN, k)
    body = cv2.morphologyEx(hued.astype(np.uint8), cv2.MORPH_OPEN, k)
    part = scene._largest_part(body)
    return {
        "lit": float(lit.mean()),
        "hued": float((hued & lit).sum() / max(1, lit.sum())),
        "dark": float((ground & ~lit).sum() / max(1, ground.sum())),
        "other": float(other.mean()),
        "part": part,
        "ring": scene._skin_field_share(lab),
    }


def feat_row(name: str, label: str, f: dict[str, float], off: str, on: str) -> str:
    return (
        f"| {name} | {label} | {f['lit']:.2f} | {f['hued']:.2f} | {f['dark']:.2f} | "
        f"{f['other']:.3f} | {f['part']:.2f} | {f['ring']:.2f} | {off} -> {on} |"
    )


def nearness(f: dict[str, float]) -> float:
    """How close a picture comes to the cue: its worst margin, each share over its threshold."""
    return min(
        f["lit"] / scene.GROUND_MIN_LIT,
        f["hued"] / scene.GROUND_MIN_HUED,
        f["dark"] / scene.GROUND_MIN_DARK,
        scene.GROUND_MAX_OTHER / max(f["other"], 1e-3),
        f["part"] / scene.GROUND_MIN_PART,
        f["ring"] / scene.GROUND_MIN_RING,
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--limit", type=int, default=0, help="at most N pictures per set (0: all)")
    ap.add_argument("--cue", choices=("ground", "light", "plain", "shade"), default="ground")
    args = ap.parse_args()
    global CUE
    CUE = args.cue
    t0 = time.time()
    sets = ab.SETS if CUE != "light" else ("closeups", "tattoos")
    data = {name: ab.pictures(name, args.limit) for name in sets}
    if not data["closeups"] or not data["tattoos"]:
        print("Real data absent: run bench/real/build.py closeups tattoos first. Nothing measured.")
        return 0
    if CUE in ("light", "shade"):
        return light_report(data, args.out, t0)
    if CUE == "plain":
        return plain_report(data, args.out, t0)
    lines = [
        f"Command: `GLOG_minloglevel=2 bench/dark_ground_ab.py`; `scene.body_on_dark_ground` (as the tattoo detector asks it) off and on, side by side in one run. Thresholds: lit (L* >= {scene.GROUND_DARK_L:.0f}) >= {scene.GROUND_MIN_LIT}, lit skin-hued >= {scene.GROUND_MIN_HUED}, not skin-hued and dark >= {scene.GROUND_MIN_DARK}, no skin colour <= {scene.GROUND_MAX_OTHER}, largest skin part >= {scene.GROUND_MIN_PART}, ring >= {scene.GROUND_MIN_RING}.",
        "",
        *cue_scenes(
            data,
            "the cue",
            "| set | picture | lit | lit skin-hued | dark ground | no skin colour | largest part | ring | tattoo detector reads it as |",
            features,
            SHIPPED,
            lambda name, label, f, frame, taken: feat_row(
                name, label, f, "scene", "close-up ink rules" if taken else "scene"
            ),
            nearness,
            8,
        ),
        *detector_ab(data, t0),
    ]
    return emit(lines, args.out)


def emit(lines: list[str], out: Path | None) -> int:
    text = "\n".join(lines) + "\n"
    print(text)
    if out:
        write_text_atomic(out, text)
    return 0


def cue_scenes(
    data: dict,
    title: str,
    head: str,
    measure: Callable[[np.ndarray], dict[str, float]],
    takes: Callable[[np.ndarray], bool],
    row: Callable[[str, str, dict[str, float], np.ndarray, bool], str],
    near: Callable[[dict[str, float]], float],
    top: int,
    also: tuple[str, Callable[[np.ndarray], bool]] | None = None,
) -> list[str]:
    """The real pictures ``classify_scene`` calls scenes that a cue (``takes``) lets the tattoo
    detector read with close-up ink rules, per set, each with the cue's features (``measure``,
    one table row by ``row`` under the columns ``head``), and the ``top`` nearest scenes of the
    other sets it does not take (``near``: the worst margin over the thresholds, 1.0 would
    pass). ``also``: a second question counted among the taken scenes, with its column name."""
    extra = f" {also[0]} |" if also else ""
    lines = [
        f"### Scenes the tattoo detector reads as close-ups ({title}), every real picture",
        "",
        "The scene kind itself does not change (faces stay as strict as in a scene).",
        "",
        "| set | pictures | kinds | scenes the cue takes |" + extra,
        "|---|---|---|---|" + ("---|" if also else ""),
    ]
    taken: list[str] = []
    nearest: list[tuple[float, str]] = []
    for name, pics in data.items():
        if not pics:
            continue
        kinds: Counter = Counter()
        n = both = 0
        for label, frame, _ in pics:
            kind = scene.classify_scene(frame).value
            kinds[kind] += 1
            if kind != "scene":
                continue
            f = measure(frame)
            if takes(frame):
                n += 1
                both += bool(also and also[1](frame))
                taken.append(row(name, label, f, frame, True))
            elif name != "closeups":
                nearest.append((near(f), row(name, label, f, frame, False)))
        counts = f"| {n} | {both} |" if also else f"| {n} |"
        lines.append(f"| {name} | {len(pics)} | {dict(sorted(kinds.items()))} " + counts)
    table = [head, "|" + "---|" * (head.count("|") - 1)]
    lines += ["", "Pictures the cue takes:", "", *table, *taken]
    lines += [
        "",
        "Nearest scenes of the other sets that it does not take (smallest worst margin over the thresholds first; 1.0 would pass):",
        "",
        *table,
        *[r for _, r in sorted(nearest, reverse=True)[:top]],
    ]
    return lines


def light_report(data: dict, out: Path | None, t0: float) -> int:
    """The light-mark or the edge-shade rule: the marks it rejects on each set, and the A/B."""
    if CUE == "shade":
        head = f"`shademarks.edge_shade` off and on, side by side in one run (soft ramp: slope < {shademarks.SOFT_RAMP} x darkening, mark rejected at >= {tattoos.SHADE_SHARE} of its ink)"
        reason = "edgeshade"
    else:
        head = f"`lightmarks.light_at_edge` off and on, side by side in one run (share lighter >= {lightmarks.LIGHT_SHARE})"
        reason = "light"
    lines = [f"Command: `GLOG_minloglevel=2 bench/dark_ground_ab.py --cue {CUE}`; {head}.", ""]
    rejected = []
    for name in data:
        for label, img, _ in data[name]:
            det = tattoos.TattooDetector()
            try:
                det.process_frame(0, img)
            finally:
                det.close()
            marks = [c for c in det.last_candidates if c.reason == reason]
            if marks:
                boxes = " ".join(f"{c.box[2]}x{c.box[3]}@{c.box[0]},{c.box[1]}" for c in marks)
                rejected.append(f"{name}/{label} ({len(marks)}: {boxes})")
    lines += [
        f"Pictures with a mark rejected as `{reason}` (box in work pixels): {', '.join(rejected) or 'none'}."
    ]
    lines += detector_ab(data, t0)
    if CUE == "shade":
        lines += everywhere(data, t0)
    return emit(lines, out)


def plain_features(frame: np.ndarray) -> dict[str, float]:
    return plainground.plain_ground_features(LabImage.from_bgr(scene._small(frame)))


def plain_row(name: str, label: str, f: dict[str, float], dark: bool) -> str:
    return (
        f"| {name} | {label} | {f['hued']:.3f} | {f['part']:.3f} | {f['ground']:.3f} | "
        f"{f['enclosed']:.3f} | {f['dark']:.3f} | {f['gradient']:.1f} | {f['lit']:.3f} | "
        f"{f['other']:.3f} | {f['dark_grey']:.3f} | {f['black']:.3f} | {plain_way(f)} | "
        f"{'yes' if dark else 'no'} |"
    )


def plain_way(f: dict[str, float]) -> str:
    ways = [
        name
        for name, ok in (
            ("plain ground", plainground._on_plain_ground(f)),
            ("nothing dark", plainground._nothing_dark(f)),
        )
        if ok
    ]
    return ", ".join(ways) or "-"


def plain_nearness(f: dict[str, float]) -> float:
    """How close a picture comes to the plain-ground cue: the worst margin over the thresholds
    of its nearer way (1.0 would pass)."""
    bare = min(
        f["lit"] / plainground.BARE_MIN_LIT,
        plainground.BARE_MAX_OTHER / max(f["other"], 1e-3),
        plainground.BARE_MAX_DARK_GREY / max(f["dark_grey"], 1e-3),
        plainground.BARE_MAX_BLACK / max(f["black"], 1e-3),
    )
    return max(
        bare,
        min(
            f["hued"] / plainground.PLAIN_MIN_HUED,
            f["part"] / plainground.PLAIN_MIN_PART,
            f["ground"] / plainground.PLAIN_MIN_GROUND,
            plainground.PLAIN_MAX_ENCLOSED / max(f["enclosed"], 1e-3),
            plainground.PLAIN_MAX_DARK / max(f["dark"], 1e-3),
            plainground.PLAIN_MAX_GRADIENT / max(f["gradient"], 1e-3)
            if f["gradient"] >= 0
            else 0.0,
        ),
    )


def plain_report(data: dict, out: Path | None, t0: float) -> int:
    """``--cue plain``: the scenes the plain-ground cue takes, per set, with its features, the
    nearest scenes it does not take, and the detector A/B."""
    pg = plainground
    lines = [
        f"Command: `GLOG_minloglevel=2 bench/dark_ground_ab.py --cue plain`; `plainground.body_on_plain_ground` (as the tattoo detector asks it) off and on, side by side in one run. Thresholds: skin-hued >= {pg.PLAIN_MIN_HUED}, largest skin part >= {pg.PLAIN_MIN_PART}, ground >= {pg.PLAIN_MIN_GROUND}, ground enclosed by skin <= {pg.PLAIN_MAX_ENCLOSED}, ground dark <= {pg.PLAIN_MAX_DARK}, ground median L* gradient <= {pg.PLAIN_MAX_GRADIENT}; or nothing dark: lit >= {pg.BARE_MIN_LIT}, no skin colour <= {pg.BARE_MAX_OTHER}, dark colourless <= {pg.BARE_MAX_DARK_GREY}, L* < {scene.GROUND_DARK_L:.0f} <= {pg.BARE_MAX_BLACK}.",
        "",
        *cue_scenes(
            data,
            "the plain-ground cue",
            "| set | picture | skin-hued | largest part | ground | enclosed | ground dark | ground gradient | lit | no skin colour | dark colourless | black | way | on a dark ground |",
            plain_features,
            SHIPPED_PLAIN,
            lambda name, label, f, frame, taken: plain_row(name, label, f, SHIPPED(frame)),
            plain_nearness,
            10,
            ("of them also on a dark ground", SHIPPED),
        ),
        *detector_ab(data, t0),
    ]
    return emit(lines, out)


FORCE = False  # everywhere(): the edge-shade pass asked on every picture, not only close-ups
FORCED_REJECTS: list[int] = []  # per forced pass, the marks it rejected
_UNSHADE = tattoos.TattooDetector._unshade


def _unshade_everywhere(
    self: tattoos.TattooDetector,
    cands: list,
    groups: np.ndarray,
    maps: tuple,
    where: tuple,
    ww: int,
    given: tuple | None = None,
) -> list:
    """``TattooDetector._unshade``, followed (when FORCE, on a picture not read as a close-up)
    by the close-up's edge-shade pass, as the detector runs it in close-ups."""
    out = _UNSHADE(self, cands, groups, maps, where, ww, given)
    forced = FORCE and given is None and not self._closeup and self._frame is not None
    if forced and any(not c.reason and c.label > 0 for c in out):
        shade = SHIPPED_SHADE(where[0].L, self._frame.local_l, maps[0])
        before = sum(c.reason == "edgeshade" for c in out)
        out = _UNSHADE(self, out, groups, maps, where, ww, (shade, "edgeshade"))
        FORCED_REJECTS.append(sum(c.reason == "edgeshade" for c in out) - before)
    return out


def everywhere(data: dict, t0: float) -> list[str]:
    """The risk if a tattoo photo were read as a close-up: the edge-shade pass asked on every
    picture (where the detector would run the silhouette-shade pass: no sure face in view),
    off and on, on the real tattoo boxes; the rest of the close-up rules unchanged."""
    global FORCE
    tattoos.TattooDetector._unshade = _unshade_everywhere  # type: ignore[method-assign]

    def force(on: bool) -> None:
        global FORCE
        FORCE = on

    try:
        rows = ab.detector_ab({"closeups": [], "tattoos": data["tattoos"]}, force, [])
    finally:
        FORCE = False
        tattoos.TattooDetector._unshade = _UNSHADE  # type: ignore[method-assign]
    keep = [r for r in rows if "close-ups" not in r.lower() or r.startswith("###")]
    hit = [n for n in FORCED_REJECTS if n]
    return [
        "",
        "### Stress: the edge-shade pass on every tattoo photo, not only close-ups",
        "",
        "What it would cost real tattoos if every tattoo photo were read as a close-up (only this pass forced; the other close-up rules are not).",
        f"Forced, it rejected {sum(hit)} marks in {len(hit)} of {len(data['tattoos'])} tattoo photos (what remains of each judged again).",
        *[r for r in keep if not r.startswith("###")],
        "",
        f"Wall time {time.time() - t0:.0f} s.",
    ]


def shade_cost(data: dict) -> str:
    """``edge_shade``'s own CPU time on the close-ups' work images (224 px) and on the tattoo
    photos' (480 px), with the image's L* and a blurred L* as the local skin."""
    ms = []
    for name in ("closeups", "tattoos"):
        maps = []
        for _, img, _ in data[name][:40]:
            scale = min(1.0, 480 / img.shape[1])
            small = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            lit = LabImage.from_bgr(small).L
            local = cv2.blur(lit, (21, 21))
            maps.append((lit, local, (lit < 0.8 * local).astype(np.uint8)))
        rounds = []
        for _ in range(3):
            t = time.process_time()
            for lit, local, ink in maps:
                SHIPPED_SHADE(lit, local, ink)
            rounds.append((time.process_time() - t) / max(1, len(maps)) * 1000)
        ms.append(f"{name} {np.median(rounds):.2f}")
    return f"| `edge_shade`'s own CPU ms per picture (median of 3 rounds x 40; asked in close-ups with a kept mark) | - | {', '.join(ms)} |"


def detector_ab(data: dict, t0: float) -> list[str]:
    """The tattoo detector alone on the close-ups and the tattoo photos, the cue off and on
    (body_frame_ab.detector_ab), with the dark-ground cue's own cost."""
    cost: list[str] = []
    if CUE == "shade":
        cost.append(shade_cost(data))
    if CUE in ("ground", "plain"):
        cue = SHIPPED if CUE == "ground" else SHIPPED_PLAIN
        frames = [img for _, img, _ in (data["closeups"][:20] + data["tattoos"][:20])]
        cue_ms: list[float] = []
        for _ in range(3):
            t = time.process_time()
            for f in frames:
                cue(f)
            cue_ms.append((time.process_time() - t) / len(frames) * 1000)
        cost.append(
            f"| the cue's own CPU ms per picture (median of 3 rounds x {len(frames)}; asked on every 10th frame) | - | {np.median(cue_ms):.2f} |"
        )
    return [*ab.detector_ab(data, switch, cost), "", f"Wall time {time.time() - t0:.0f} s."]


if __name__ == "__main__":
    raise SystemExit(main())
