"""Tracks and the frames most at risk, from the per-frame regions of a render. Pure.

A reviewer cannot watch every frame of every track with the same care, so the page (and the QA
sheet) point at the frames where a miss is most likely: where each track starts and ends (a face
entering or leaving is the classic flash-through), where the tracker filled a gap the detector
left ("interp"/"track": no detection there), and each track's weakest detection.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from consentclip.detect.regions import Region

# Sources that mean "no detection in this frame: the tracker placed the box".
FILLED_SOURCES = frozenset({"interp", "track"})
# A detection below this score is "weak" (the face detector's floor is 0.3).
WEAK_SCORE = 0.6
MAX_RISK_FRAMES = 60


@dataclass(frozen=True)
class Track:
    key: str  # "face:3"
    kind: str
    track_id: int
    first: int
    last: int
    frames: int  # frames where the track is present
    filled: int  # of which placed by the tracker, not detected
    min_score: float
    off: bool  # switched off by the reviewer

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class RiskFrame:
    frame: int
    track: str
    why: str  # "first", "last", "gap", "weak"

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


Row = Sequence[Any]  # [kind, track_id, x, y, w, h, score, source, off]


def tracks(frames: Sequence[Sequence[Row]]) -> list[Track]:
    spans: dict[str, dict[str, Any]] = {}
    for index, rows in enumerate(frames):
        for row in rows:
            kind, track_id, score, source, off = row[0], row[1], row[6], row[7], row[8]
            if track_id is None:
                continue
            key = f"{kind}:{track_id}"
            s = spans.setdefault(
                key,
                {
                    "kind": kind,
                    "id": track_id,
                    "first": index,
                    "last": index,
                    "n": 0,
                    "filled": 0,
                    "min": 1.0,
                    "off": bool(off),
                },
            )
            s["last"] = index
            s["n"] += 1
            if source in FILLED_SOURCES:
                s["filled"] += 1
            else:
                s["min"] = min(s["min"], float(score))
    return [
        Track(
            key, s["kind"], s["id"], s["first"], s["last"], s["n"], s["filled"], s["min"], s["off"]
        )
        for key, s in sorted(spans.items(), key=lambda kv: (kv[1]["first"], kv[0]))
    ]


def risk_frames(frames: Sequence[Sequence[Row]], limit: int = MAX_RISK_FRAMES) -> list[RiskFrame]:
    """First and last frame of each track, the middle of each filled run, the weakest
    detection; sorted by frame, at most ``limit`` (the ends of tracks first)."""
    found: list[RiskFrame] = []
    runs: dict[str, int] = {}  # key -> start of the current filled run
    weakest: dict[str, tuple[float, int]] = {}
    for t in tracks(frames):
        if t.kind == "manual":
            continue
        found.append(RiskFrame(t.first, t.key, "first"))
        if t.last != t.first:
            found.append(RiskFrame(t.last, t.key, "last"))
    gaps: list[RiskFrame] = []
    for index, rows in enumerate([*frames, []]):
        present = set()
        for row in rows:
            if row[1] is None or row[0] == "manual":
                continue
            key = f"{row[0]}:{row[1]}"
            present.add(key)
            if row[7] in FILLED_SOURCES:
                runs.setdefault(key, index)
            else:
                if key in runs:
                    start = runs.pop(key)
                    gaps.append(RiskFrame((start + index - 1) // 2, key, "gap"))
                score = float(row[6])
                if score < WEAK_SCORE and (key not in weakest or score < weakest[key][0]):
                    weakest[key] = (score, index)
        for key in [k for k in runs if k not in present]:
            start = runs.pop(key)
            gaps.append(RiskFrame((start + index - 1) // 2, key, "gap"))
    weak = [RiskFrame(index, key, "weak") for key, (_s, index) in weakest.items()]
    ordered = [*found, *gaps, *weak][:limit]
    seen: set[tuple[int, str]] = set()
    unique = []
    for r in ordered:
        if (r.frame, r.track) not in seen:
            seen.add((r.frame, r.track))
            unique.append(r)
    return sorted(unique, key=lambda r: (r.frame, r.track))


def rows_from_regions(regions: Mapping[int, Sequence[Region]], frames: int) -> list[list[Row]]:
    """Engine regions per frame (export's QA collection) as rows for ``risk_frames``."""
    return [
        [
            [r.kind.value, r.track_id, r.box.x, r.box.y, r.box.w, r.box.h, r.score, r.source, False]
            for r in regions.get(i, ())
        ]
        for i in range(frames)
    ]
