"""The review staging area: anonymised results waiting for a clinician's approval.

One folder per (consent, clip, purpose) under ``<consent home>/review/``, never in an export
folder: a staged file is not an export until it is approved and ``export`` publishes it.

```
review/C-7K2M_clip01_journal/
  session.json     which clip, purpose and base engine options (written once)
  decisions.json   what the reviewer decided (docs/review.md)
  staged.mp4       the anonymised result the reviewer sees, and what export publishes once approved
  render.json      how staged.mp4 was made: decisions hash, engine, result, its SHA-256
  regions.json     every region per frame, switched-off tracks included, for the page
  original.mp4     the original, decoded upright like the engine sees it, for the side-by-side view
  thumbs/          one thumbnail per track
```

Every file is written beside its target and renamed into place; ``render.json`` goes last, so a
render cut short leaves a record that no longer matches ``staged.mp4`` and is redone (and an
approval of it is refused), never a half-written file that looks finished.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from consentclip import __version__
from consentclip.atomic import (
    partial_path,
    write_bytes_atomic,
    write_json_atomic,
    write_text_atomic,
)
from consentclip.consent.records import Purpose
from consentclip.consent.registry import Registry
from consentclip.detect.regions import Box, Region
from consentclip.errors import ConsentClipError, MediaError, NotFoundError
from consentclip.export import EngineOptions, ExportPlan, ExportRequest, decide, jsonable
from consentclip.hashing import sha256_file
from consentclip.home import Home
from consentclip.media.decode import FrameReader, frames_at
from consentclip.media.encode import EncodeSpec, FrameWriter
from consentclip.media.ffmpeg import version as tool_version
from consentclip.media.photo import load_photo
from consentclip.media.probe import probe_video
from consentclip.pipeline import EngineComponents, anonymise, default_components
from consentclip.review.decisions import Decisions, TrackOff, from_dict
from consentclip.review.decisions import load as load_decisions
from consentclip.settings import EngineResult, EngineSettings, RedactMode, VerificationReport

REVIEW_DIRNAME = "review"
SESSION_FORMAT = "consentclip-review-session/1"
RENDER_FORMAT = "consentclip-review-render/1"
# A switched-off track is taken to be the same track after a re-render when its box in the
# recorded frame overlaps the recorded box this much (track ids follow detection order, which a
# new keep box can change for tattoos).
SAME_TRACK_IOU = 0.3
THUMB_HEIGHT = 96

# (phase, done, total) -> None; phases: "anonymising", "original", "thumbnails".
RenderProgress = Callable[[str, int, "int | None"], None]


@dataclass(frozen=True)
class BaseOptions:
    """The engine options a review starts from; the reviewer's decisions add regions and keeps."""

    mode: str = EngineSettings.mode.value
    threshold: float = EngineSettings.threshold
    tattoo_sensitivity: float = EngineSettings.tattoo_sensitivity
    crf: int = EngineSettings.crf
    preset: str = EngineSettings.preset
    keep_audio: bool = False  # refused at staging unless the grant allows the voice
    # None: the grant decides (forced on for anonymised-only grants), as for export.
    faces: bool | None = None
    tattoos: bool | None = None


@dataclass(frozen=True)
class Session:
    dir: Path
    clip: Path
    clip_sha256: str
    consent_id: str
    clip_number: int
    purpose: Purpose
    media_kind: str
    options: BaseOptions
    created_at: str

    @property
    def name(self) -> str:
        return self.dir.name

    @property
    def suffix(self) -> str:
        return ".png" if self.media_kind == "photo" else ".mp4"

    @property
    def decisions_path(self) -> Path:
        return self.dir / "decisions.json"

    @property
    def render_path(self) -> Path:
        return self.dir / "render.json"

    @property
    def regions_path(self) -> Path:
        return self.dir / "regions.json"

    @property
    def staged_path(self) -> Path:
        return self.dir / f"staged{self.suffix}"

    @property
    def original_path(self) -> Path:
        return self.dir / f"original{self.suffix}"

    @property
    def thumbs_dir(self) -> Path:
        return self.dir / "thumbs"

    def decisions(self) -> Decisions:
        if not self.decisions_path.exists():
            return Decisions()
        return load_decisions(self.decisions_path)

    def save_decisions(self, decisions: Decisions) -> None:
        write_text_atomic(self.decisions_path, decisions.to_json())

    def render_record(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.render_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": SESSION_FORMAT,
            "clip": str(self.clip),
            "clip_sha256": self.clip_sha256,
            "consent_id": self.consent_id,
            "clip_number": self.clip_number,
            "purpose": self.purpose.value,
            "media_kind": self.media_kind,
            "options": self.options.__dict__,
            "created_at": self.created_at,
        }


# --- files -------------------------------------------------------------------------------


def canonical_sha256(data: Any) -> str:
    return hashlib.sha256(
        json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()


# --- sessions ----------------------------------------------------------------------------


def review_root(home: Home) -> Path:
    return home.root / REVIEW_DIRNAME


def stage_name(consent_id: str, clip_number: int, purpose: Purpose) -> str:
    """From ids only, like export names: never from the input name (often the patient's)."""
    return f"{consent_id}_clip{clip_number:02d}_{purpose.value}"


def stage_dir(home: Home, consent_id: str, clip_number: int, purpose: Purpose) -> Path:
    return review_root(home) / stage_name(consent_id, clip_number, purpose)


def _session_from(folder: Path, data: dict[str, Any]) -> Session:
    return Session(
        dir=folder,
        clip=Path(data["clip"]),
        clip_sha256=data["clip_sha256"],
        consent_id=data["consent_id"],
        clip_number=int(data["clip_number"]),
        purpose=Purpose(data["purpose"]),
        media_kind=data["media_kind"],
        options=BaseOptions(**data.get("options", {})),
        created_at=data.get("created_at", ""),
    )


def load_session(folder: Path) -> Session:
    path = folder / "session.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return _session_from(folder, data)
    except FileNotFoundError:
        raise NotFoundError(f"no review staged in {folder}") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConsentClipError(
            f"{path} is unreadable ({exc}); remove the folder and stage again"
        ) from None


def find_session(home: Home, consent_id: str, clip_number: int, purpose: Purpose) -> Session | None:
    folder = stage_dir(home, consent_id, clip_number, purpose)
    return load_session(folder) if (folder / "session.json").is_file() else None


def list_sessions(home: Home) -> list[Session]:
    root = review_root(home)
    if not root.is_dir():
        return []
    found = []
    for folder in sorted(root.iterdir()):
        if (folder / "session.json").is_file():
            with contextlib.suppress(ConsentClipError):
                found.append(load_session(folder))
    return found


def open_session(home: Home, clip: Path, purpose: Purpose, options: BaseOptions) -> Session:
    """Check that the clip's consent allows the purpose (the gate, less the review rule), and
    create or reuse its staging folder. A staging folder made for an earlier version of the clip
    (the clip was re-linked under the same number) is started afresh."""
    clip = Path(clip).absolute()
    with Registry.open(home) as registry:
        plan = gate_for_review(registry, clip, purpose, Decisions(), options)
    folder = stage_dir(home, plan.consent_id, plan.clip_number, purpose)
    existing = find_session(home, plan.consent_id, plan.clip_number, purpose)
    if existing is not None and existing.clip_sha256 == plan.input_sha256:
        session = replace(existing, clip=clip, options=options)
    else:
        if existing is not None:
            _clear(existing)
        session = Session(
            dir=folder,
            clip=clip,
            clip_sha256=plan.input_sha256,
            consent_id=plan.consent_id,
            clip_number=plan.clip_number,
            purpose=purpose,
            media_kind=plan.media_kind,
            options=options,
            created_at=_now(),
        )
    folder.mkdir(parents=True, exist_ok=True)
    sweep_partials(folder)
    write_json_atomic(folder / "session.json", session.to_dict())
    if not session.decisions_path.exists():
        session.save_decisions(Decisions())
    return session


def sweep_partials(folder: Path) -> None:
    """Hidden temporary files a killed render left (ours only: dot-names ending in .part,
    .partial or .partial.EXT); the finished files are never touched."""
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        name = path.name
        if name.startswith(".") and path.is_file() and (".part" in name):
            path.unlink(missing_ok=True)


def _clear(session: Session) -> None:
    for path in (
        session.render_path,
        session.regions_path,
        session.staged_path,
        session.original_path,
        session.decisions_path,
    ):
        path.unlink(missing_ok=True)
    if session.thumbs_dir.is_dir():
        for thumb in session.thumbs_dir.iterdir():
            thumb.unlink(missing_ok=True)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# --- gate and engine settings --------------------------------------------------------------


def engine_options(base: BaseOptions, decisions: Decisions) -> EngineOptions:
    """``export.EngineOptions`` for a review: the base options plus the reviewer's regions."""
    # Through the canonical form, so that 450 and 450.0 make the same engine settings (and hash).
    decisions = from_dict(decisions.to_dict())
    return EngineOptions(
        faces=base.faces,
        tattoos=base.tattoos,
        mode=RedactMode(base.mode),
        threshold=base.threshold,
        tattoo_sensitivity=base.tattoo_sensitivity,
        regions=tuple(h.as_manual() for h in decisions.hide),
        keep=decisions.keep,
        crf=base.crf,
        preset=base.preset,
    )


def gate_for_review(
    registry: Registry, clip: Path, purpose: Purpose, decisions: Decisions, base: BaseOptions
) -> ExportPlan:
    """``export.decide`` for staging: the full consent gate, except the rule that asks for the
    review this is. Refusals are logged and raised like an export's."""
    request = ExportRequest(
        clip=clip,
        purpose=purpose,
        out_dir=clip.parent,
        keep_audio=base.keep_audio,
        options=engine_options(base, decisions),
        for_review=True,
    )
    return decide(registry, request)


def engine_fingerprint(settings: EngineSettings) -> dict[str, Any]:
    """What "the engine" means for an approval: our version, ffmpeg's, and every setting."""
    return {
        "consentclip": __version__,
        "ffmpeg": tool_version("ffmpeg"),
        "settings": jsonable(settings),
    }


# --- rendering ---------------------------------------------------------------------------


class _SwitchOff:
    """Wraps a tracker and drops the regions of switched-off tracks after tracking (so gap
    filling still saw them), remembering what it dropped for the page and the same-track check."""

    def __init__(self, inner: Any, off: frozenset[str], dropped: dict[int, list[Region]]) -> None:
        self.inner, self.off, self.dropped = inner, off, dropped

    def push(self, index: int, regions: list[Region]) -> list[tuple[int, list[Region]]]:
        return self._filter(self.inner.push(index, regions))

    def flush(self) -> list[tuple[int, list[Region]]]:
        return self._filter(self.inner.flush())

    def _filter(self, done: list[tuple[int, list[Region]]]) -> list[tuple[int, list[Region]]]:
        out = []
        for index, regions in done:
            kept = []
            for region in regions:
                if f"{region.kind.value}:{region.track_id}" in self.off:
                    self.dropped.setdefault(index, []).append(region)
                else:
                    kept.append(region)
            out.append((index, kept))
        return out


def _components(off: frozenset[str], dropped: dict[int, list[Region]]) -> EngineComponents:
    base = default_components()
    if not off:
        return base
    return EngineComponents(
        base.face_detector,
        base.tattoo_detector,
        lambda lookahead: _SwitchOff(base.tracker(lookahead), off, dropped),
        base.manual_tracker,
    )


def _stale(off: Sequence[TrackOff], dropped: dict[int, list[Region]]) -> list[str]:
    """Switched-off tracks whose id now names a different track than the reviewer saw."""
    stale = []
    for item in off:
        if item.frame is None or item.box is None:
            continue  # written by hand without a position: taken as named
        there = [
            r for r in dropped.get(item.frame, []) if f"{r.kind.value}:{r.track_id}" == item.track
        ]
        if not any(r.box.iou(item.box) >= SAME_TRACK_IOU for r in there):
            stale.append(item.track)
    return stale


def _region_row(region: Region, off: bool) -> list[Any]:
    b = region.box
    return [
        region.kind.value,
        region.track_id,
        round(b.x, 1),
        round(b.y, 1),
        round(b.w, 1),
        round(b.h, 1),
        round(float(region.score), 3),
        region.source,
        off,
    ]


def result_to_dict(result: EngineResult) -> dict[str, Any]:
    data = jsonable(result)
    data.pop("output", None)
    return data


def result_from_dict(data: dict[str, Any], output: Path) -> EngineResult:
    fields = dict(data)
    verification = VerificationReport(
        ok=bool(fields["verification"]["ok"]),
        checked=tuple(fields["verification"].get("checked", ())),
        problems=tuple(fields["verification"].get("problems", ())),
    )
    for name in ("face_counts", "tattoo_counts", "warnings"):
        fields[name] = tuple(fields.get(name, ()))
    fields["verification"] = verification
    return EngineResult(output=output, **fields)


@dataclass(frozen=True)
class Rendered:
    record: dict[str, Any]
    reenabled: tuple[str, ...]  # switched-off tracks that changed identity and were switched on


def render(
    home: Home, session: Session, decisions: Decisions, progress: RenderProgress | None = None
) -> Rendered:
    """Anonymise the clip with the reviewer's decisions into the staging folder.

    The consent gate runs first (a consent withdrawn since the review started stops here). A
    switched-off track whose id now names a different track is switched back on, the clip is
    rendered again, and the decisions file is updated: a new tattoo must never be let through
    because its number was reused.
    """
    with Registry.open(home) as registry:
        plan = gate_for_review(registry, session.clip, session.purpose, decisions, session.options)
    if plan.input_sha256 != session.clip_sha256:
        raise MediaError(f"{session.clip.name} changed since it was staged; stage it again")
    reenabled: list[str] = []
    result: EngineResult | None = None
    rows: dict[int, list[list[Any]]] = {}
    dropped: dict[int, list[Region]] = {}
    for _attempt in range(3):
        rows, dropped = {}, {}

        def collect(index: int, regions: Sequence[Region], rows: dict = rows) -> None:
            rows[index] = [_region_row(r, False) for r in regions]

        def report(done: int, total: int | None) -> None:
            if progress is not None:
                progress("anonymising", done, total)

        result = anonymise(
            session.clip,
            session.staged_path,
            plan.settings,
            progress=report,
            on_frame_regions=collect,
            components=_components(decisions.off_keys, dropped),
        )
        stale = _stale(decisions.tracks_off, dropped)
        if not stale:
            break
        reenabled += stale
        decisions = replace(
            decisions, tracks_off=tuple(t for t in decisions.tracks_off if t.track not in stale)
        )
        session.save_decisions(decisions)
    if result is None or _stale(decisions.tracks_off, dropped):
        # Each pass removes at least one stale track, so three passes suffice in practice.
        raise MediaError("switched-off tracks kept changing between renders; review again")
    for index, regions in dropped.items():
        rows.setdefault(index, []).extend(_region_row(r, True) for r in regions)
    frames = [rows.get(i, []) for i in range(max(result.frames, 1))]
    write_json_atomic(
        session.regions_path,
        {
            "fps": result.fps,
            "frames": result.frames,
            "width": result.width,
            "height": result.height,
            "regions": frames,
        },
    )
    if not session.original_path.exists():
        _write_original(session, progress)
    _write_thumbnails(session, frames, progress)
    engine = engine_fingerprint(plan.settings)
    record = {
        "format": RENDER_FORMAT,
        "clip_sha256": session.clip_sha256,
        "decisions_sha256": decisions.sha256(),
        "decisions": decisions.to_dict(),
        "engine": engine,
        "engine_sha256": canonical_sha256(engine),
        "output": {
            "name": session.staged_path.name,
            "sha256": sha256_file(session.staged_path),
            "bytes": session.staged_path.stat().st_size,
        },
        "result": result_to_dict(result),
        "reenabled": reenabled,
        "rendered_at": _now(),
    }
    write_json_atomic(session.render_path, record)
    return Rendered(record, tuple(reenabled))


def _write_original(session: Session, progress: RenderProgress | None) -> None:
    """The original as the engine sees it (upright, same frames), for the side-by-side view.

    Decoded and re-encoded through media/ rather than served as is: phone clips are often HEVC
    or rotated by a display matrix, and the outlines must sit on the frames they were found in.
    """
    target = session.original_path
    tmp = partial_path(target)
    try:
        if session.media_kind == "photo":
            ok, png = cv2.imencode(".png", load_photo(session.clip))
            if not ok:
                raise MediaError("cannot encode the original photo for review")
            write_bytes_atomic(target, png.tobytes())
            return
        _copy_video(session, tmp, progress)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _copy_video(session: Session, tmp: Path, progress: RenderProgress | None) -> None:
    info = probe_video(session.clip)
    spec = EncodeSpec(info.width, info.height, info.fps, crf=23, preset="veryfast")
    reader, writer = FrameReader(info), FrameWriter(spec, tmp)
    try:
        writer.start()
        reader.start()
        for done, (_index, frame) in enumerate(reader, start=1):
            writer.write(frame)
            if progress is not None:
                progress("original", done, info.frames_estimate)
        writer.finish()
    finally:
        reader.close()
        writer.close()


def _write_thumbnails(
    session: Session, frames: list[list[list[Any]]], progress: RenderProgress | None
) -> None:
    """One JPEG per detected track, cut from the original at the track's strongest frame."""
    best: dict[str, tuple[float, int, list[Any]]] = {}
    for index, rows in enumerate(frames):
        for row in rows:
            key = f"{row[0]}:{row[1]}"
            if row[1] is None:
                continue
            if key not in best or row[6] > best[key][0]:
                best[key] = (row[6], index, row)
    session.thumbs_dir.mkdir(exist_ok=True)
    wanted: dict[int, list[tuple[str, list[Any]]]] = {}
    for key, (_score, index, row) in best.items():
        wanted.setdefault(index, []).append((key, row))
    for index, picked in _frames_at(session, sorted(wanted)):
        for key, row in wanted[index]:
            thumb = _crop(picked, Box(row[2], row[3], row[4], row[5]))
            ok, jpg = cv2.imencode(".jpg", thumb, [cv2.IMWRITE_JPEG_QUALITY, 85])
            if ok:
                write_bytes_atomic(
                    session.thumbs_dir / f"{key.replace(':', '-')}.jpg", jpg.tobytes()
                )
        if progress is not None:
            progress("thumbnails", index, len(frames))


def _frames_at(session: Session, indices: list[int]) -> list[tuple[int, np.ndarray]]:
    if not indices:
        return []
    if session.media_kind == "photo":
        try:
            return [(0, load_photo(session.original_path))]
        except MediaError:
            return []
    return frames_at(probe_video(session.original_path), indices)


def _crop(frame: np.ndarray, box: Box) -> np.ndarray:
    h, w = frame.shape[:2]
    x1, y1, x2, y2 = box.scaled(1.3).clipped(w, h).int_corners()
    if x2 <= x1 or y2 <= y1:
        x1, y1, x2, y2 = 0, 0, w, h
    patch = frame[y1:y2, x1:x2]
    scale = THUMB_HEIGHT / patch.shape[0]
    size = (max(1, round(patch.shape[1] * scale)), THUMB_HEIGHT)
    return cv2.resize(patch, size, interpolation=cv2.INTER_AREA)


def render_is_current(home: Home, session: Session, decisions: Decisions) -> bool:
    """True when staged output, record and decisions agree and the engine is unchanged."""
    record = session.render_record()
    if record is None or not session.staged_path.is_file():
        return False
    if record.get("decisions_sha256") != decisions.sha256():
        return False
    if record.get("output", {}).get("sha256") != sha256_file(session.staged_path):
        return False

    with Registry.open(home) as registry:
        plan = gate_for_review(registry, session.clip, session.purpose, decisions, session.options)
    return record.get("engine_sha256") == canonical_sha256(engine_fingerprint(plan.settings))
