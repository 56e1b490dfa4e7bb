"""The reviewer's decisions: what to hide by hand, which tracks to switch off, what to keep.

A small JSON document (docs/review.md has the schema and an example) that the review page writes
and a person may also write by hand for ``consentclip review approve --decisions FILE``. Its hash
is taken over a canonical form (sorted keys, fixed number formatting), so re-indenting a file
does not change what was approved, while any change of substance does.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from consentclip.detect.regions import Box
from consentclip.errors import NotFoundError, UsageError
from consentclip.settings import ManualRegion

FORMAT = "consentclip-review-decisions/1"
_TRACK_KEY = re.compile(r"^(face|tattoo|text):(\d+)$")


@dataclass(frozen=True)
class HiddenRegion:
    """A box drawn on the frame at ``start`` (seconds; None: from the first frame), followed
    through the clip until ``end`` (None: to the last frame), like ``--region``."""

    box: Box
    start: float | None = None
    end: float | None = None
    note: str = ""

    def as_manual(self) -> ManualRegion:
        return ManualRegion(self.box, self.start, self.end)


@dataclass(frozen=True)
class TrackOff:
    """A detected track the reviewer switched off (a false hit, such as a lesion taken for a
    tattoo). ``frame``/``box`` record where it was when switched off: a re-render checks that the
    track with that id is still the same one, and refuses to switch off a different one."""

    track: str  # "tattoo:3"
    frame: int | None = None
    box: Box | None = None
    reason: str = ""

    @property
    def kind(self) -> str:
        return self.track.split(":", 1)[0]

    @property
    def track_id(self) -> int:
        return int(self.track.split(":", 1)[1])


@dataclass(frozen=True)
class Decisions:
    hide: tuple[HiddenRegion, ...] = ()
    keep: tuple[Box, ...] = ()
    tracks_off: tuple[TrackOff, ...] = ()

    @property
    def off_keys(self) -> frozenset[str]:
        return frozenset(t.track for t in self.tracks_off)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "hide": [
                {
                    "box": _box_dict(h.box),
                    "start": _num(h.start),
                    "end": _num(h.end),
                    **({"note": h.note} if h.note else {}),
                }
                for h in self.hide
            ],
            "keep": [_box_dict(b) for b in self.keep],
            "tracks_off": [
                {
                    "track": t.track,
                    **({"frame": t.frame} if t.frame is not None else {}),
                    **({"box": _box_dict(t.box)} if t.box is not None else {}),
                    **({"reason": t.reason} if t.reason else {}),
                }
                for t in self.tracks_off
            ],
        }

    def canonical_bytes(self) -> bytes:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":")).encode()

    def sha256(self) -> str:
        return hashlib.sha256(self.canonical_bytes()).hexdigest()

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"


def _num(value: float | None) -> float | None:
    # Rounded so that a value that went through JavaScript and back hashes the same.
    return None if value is None else round(float(value), 3)


def _box_dict(box: Box) -> dict[str, float]:
    return {"x": _num(box.x), "y": _num(box.y), "w": _num(box.w), "h": _num(box.h)}  # type: ignore[dict-item]


def _fail(where: str, what: str) -> UsageError:
    return UsageError(f"decisions {where}: {what}", hint="see docs/review.md for the format")


def _box(value: Any, where: str) -> Box:
    if not isinstance(value, dict) or set(value) != {"x", "y", "w", "h"}:
        raise _fail(where, 'a box is {"x": .., "y": .., "w": .., "h": ..} in pixels')
    try:
        x, y, w, h = (float(value[k]) for k in ("x", "y", "w", "h"))
    except (TypeError, ValueError):
        raise _fail(where, "box values must be numbers") from None
    if not (w > 0 and h > 0) or x < 0 or y < 0:
        raise _fail(where, "a box needs x, y >= 0 and a positive width and height")
    return Box(_num(x), _num(y), _num(w), _num(h))  # type: ignore[arg-type]


def _seconds(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise _fail(where, "start and end are seconds >= 0, or null")
    return _num(value)


def from_dict(data: Any) -> Decisions:
    """Validate a decoded decisions document; UsageError (exit 2) says what is wrong where."""
    if not isinstance(data, dict):
        raise _fail("file", "the top level must be a JSON object")
    fmt = data.get("format", FORMAT)
    if fmt != FORMAT:
        raise _fail("file", f"unknown format {fmt!r}; expected {FORMAT!r}")
    unknown = set(data) - {"format", "hide", "keep", "tracks_off"}
    if unknown:
        raise _fail("file", f"unknown field {sorted(unknown)[0]!r}")
    hide: list[HiddenRegion] = []
    for n, item in enumerate(_list(data, "hide")):
        where = f"hide[{n}]"
        if not isinstance(item, dict) or "box" not in item:
            raise _fail(where, 'each entry is {"box": {...}, "start": s, "end": s}')
        start, end = _seconds(item.get("start"), where), _seconds(item.get("end"), where)
        if start is not None and end is not None and end < start:
            raise _fail(where, "ends before it starts")
        hide.append(HiddenRegion(_box(item["box"], where), start, end, str(item.get("note", ""))))
    keep = tuple(_box(item, f"keep[{n}]") for n, item in enumerate(_list(data, "keep")))
    off: list[TrackOff] = []
    for n, item in enumerate(_list(data, "tracks_off")):
        where = f"tracks_off[{n}]"
        if isinstance(item, str):
            item = {"track": item}
        if not isinstance(item, dict) or not _TRACK_KEY.match(str(item.get("track", ""))):
            raise _fail(where, 'a track is named "face:N", "tattoo:N" or "text:N"')
        frame = item.get("frame")
        if frame is not None and (not isinstance(frame, int) or isinstance(frame, bool)):
            raise _fail(where, "frame must be a whole number")
        box = _box(item["box"], where) if item.get("box") is not None else None
        off.append(TrackOff(str(item["track"]), frame, box, str(item.get("reason", ""))))
    keys = [t.track for t in off]
    if len(set(keys)) != len(keys):
        raise _fail("tracks_off", "a track is listed twice")
    return Decisions(tuple(hide), keep, tuple(off))


def _list(data: dict[str, Any], name: str) -> list[Any]:
    value = data.get(name, [])
    if not isinstance(value, list):
        raise _fail(name, "must be a list")
    return value


def loads(text: str, *, source: str = "decisions") -> Decisions:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{source} is not valid JSON: {exc}") from None
    return from_dict(data)


def load(path: Path) -> Decisions:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise NotFoundError(f"cannot read decisions {path}: {exc.strerror or exc}") from None
    return loads(text, source=Path(path).name)
