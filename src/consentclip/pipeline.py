"""The anonymisation engine: decode -> detect -> track -> redact -> encode -> verify.

One library call, ``anonymise(src, dst, settings)``, for previews, exports and batches. Videos
stream through bounded queues (decode and encode are ffmpeg subprocesses with their own threads;
detection, tracking and redaction run here), so memory does not grow with the clip's length: at
most the decode queue, the tracker's look-ahead and the encode queue hold frames at any moment.
Photos go through the same detection and redaction with a single frame.

Fail closed: the output is written to a hidden temporary file beside ``dst`` and renamed only
after verification passed; on any failure, interruption included, nothing is left behind.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from consentclip.detect import Detector
from consentclip.detect.lesion import find_lesion
from consentclip.detect.regions import Box, Region, RegionKind
from consentclip.detect.scene import SceneFrame, SceneKind, SceneWatch
from consentclip.errors import MediaError, VerificationError
from consentclip.media.decode import FrameReader
from consentclip.media.encode import LARGE_FRAME_PIXELS, EncodeSpec, FrameWriter
from consentclip.media.metadata import source_strings, verify_photo, verify_video
from consentclip.media.photo import load_photo, output_format, photo_strings, save_photo
from consentclip.media.probe import probe_video
from consentclip.media.sniff import MediaKind, classify
from consentclip.progress import ProgressSink
from consentclip.redact import Redactor, RedactPlan, draw_detections, draw_preview_band
from consentclip.redact.regions import region_fully_kept
from consentclip.settings import EngineResult, EngineSettings, ManualRegion, VerificationReport

__all__ = ["EngineComponents", "anonymise", "default_components"]

VIDEO_SUFFIXES = frozenset({".mp4", ".m4v"})
FrameRegionsCallback = Callable[[int, Sequence[Region]], None]
# A tracker that has not released a frame after this many more have arrived is broken; failing
# beats buffering without bound.
_MAX_HELD_FRAMES = 256
# The trackers' look-ahead: frames wait this long before their regions are final. A longer one
# covers a face that the detector first found late (a person walking in, found only once the
# whole head was inside) from further back, and costs only memory: 24 frames up to
# LARGE_FRAME_PIXELS (at most ~180 MB of waiting BGR frames), 12 above, where 4K frames wait as
# 4:2:0 (~150 MB) and the whole engine must stay under 1.5 GB (bench/engine_memory.py).
# On bench/leak.py, 12 frames left a head entering from the frame edge uncovered for 3 frames.
LOOKAHEAD = 24
LOOKAHEAD_LARGE_FRAMES = 12


# Face score a detection needs inside a dermoscope's field of view (detect/scene.py).
DERMOSCOPY_FACE_SCORE = 0.8


def lookahead_for(width: int, height: int) -> int:
    return LOOKAHEAD if width * height <= LARGE_FRAME_PIXELS else LOOKAHEAD_LARGE_FRAMES


class TrackerLike(Protocol):
    def push(self, index: int, regions: list[Region]) -> list[tuple[int, list[Region]]]: ...

    def flush(self) -> list[tuple[int, list[Region]]]: ...


class ManualLike(Protocol):
    def process_frame(
        self, index: int, frame: np.ndarray, found: Sequence[Region] = ()
    ) -> list[Region]: ...


@dataclass(frozen=True)
class EngineComponents:
    """How the engine builds detectors and trackers. The default imports the real ones lazily,
    so a missing detector module is an error when it is needed, never a silent skip."""

    # (settings, the trackers' look-ahead in frames) -> detector
    face_detector: Callable[[EngineSettings, int], Detector]
    tattoo_detector: Callable[[EngineSettings, int], Detector]
    tracker: Callable[[int], TrackerLike]  # (look-ahead in frames) -> tracker
    manual_tracker: Callable[[Sequence[ManualRegion], float], ManualLike]
    # None: the real ones. Text runs every few frames (detect/text.py) and its tracker confirms
    # tracks over that cadence.
    text_detector: Callable[[EngineSettings, int], Detector] | None = None
    text_tracker: Callable[[int], TrackerLike] | None = None


def _missing(what: str, exc: ImportError) -> MediaError:
    return MediaError(
        f"{what} is not available ({exc.name or exc}); the install is incomplete",
        hint="run 'consentclip doctor'",
    )


def _face_detector(settings: EngineSettings, lookahead: int) -> Detector:
    try:
        # In the function: a missing detector module is a one-line MediaError (_missing).
        from consentclip.detect.faces import FaceDetector
    except ImportError as exc:
        raise _missing("face detection", exc) from exc
    return FaceDetector(threshold=settings.threshold, lookahead=lookahead)


def _tattoo_detector(settings: EngineSettings, lookahead: int) -> Detector:
    try:
        # In the function: a missing detector module is a one-line MediaError (_missing).
        from consentclip.detect.tattoos import ENGINE_EVERY, TattooDetector
    except ImportError as exc:
        raise _missing("tattoo detection", exc) from exc
    return TattooDetector(
        sensitivity=settings.tattoo_sensitivity, keep=settings.keep, every=ENGINE_EVERY
    )


def _tracker(lookahead: int) -> TrackerLike:
    try:
        # In the function: a missing detector module is a one-line MediaError (_missing).
        from consentclip.detect.tracking import Tracker
    except ImportError as exc:
        raise _missing("tracking", exc) from exc
    return Tracker(lookahead=lookahead)


def _manual_tracker(regions: Sequence[ManualRegion], fps: float) -> ManualLike:
    try:
        # In the function: a missing detector module is a one-line MediaError (_missing).
        from consentclip.detect.manual import ManualTracker
    except ImportError as exc:
        raise _missing("manual region tracking", exc) from exc
    return ManualTracker(regions, fps)


def _text_detector(settings: EngineSettings, lookahead: int) -> Detector:
    try:
        # In the function: a missing detector module is a one-line MediaError (_missing).
        from consentclip.detect.text import TextDetector, text_tuning_for
    except ImportError as exc:
        raise _missing("text detection", exc) from exc
    return TextDetector(settings.keep, tuning=text_tuning_for(lookahead))


def _text_tracker(lookahead: int) -> TrackerLike:
    try:
        # In the function: a missing detector module is a one-line MediaError (_missing).
        from consentclip.detect.text import text_tracker
    except ImportError as exc:
        raise _missing("tracking", exc) from exc
    return text_tracker(lookahead)


def default_components() -> EngineComponents:
    return EngineComponents(
        _face_detector, _tattoo_detector, _tracker, _manual_tracker, _text_detector, _text_tracker
    )


@dataclass
class _Tally:
    """Running statistics for the result; mutable inside one run only."""

    face_ids: set[int] = field(default_factory=set)
    tattoo_ids: set[int] = field(default_factory=set)
    face_counts: list[int] = field(default_factory=list)
    tattoo_counts: list[int] = field(default_factory=list)
    text_ids: set[int] = field(default_factory=set)
    text_counts: list[int] = field(default_factory=list)
    keep_overlap_frames: int = 0
    first_overlap: int | None = None
    auto_keep: tuple[Box, ...] = ()


class _FrameFlow:
    """Detection, tracking and redaction for a stream of frames.

    Frames wait in a buffer until every tracker has made their regions final (gap filling needs
    the frames after them), then leave redacted, in order.
    """

    def __init__(
        self,
        settings: EngineSettings,
        components: EngineComponents,
        fps: float,
        size: tuple[int, int],
        on_regions: FrameRegionsCallback | None,
        *,
        still: bool = False,
    ) -> None:
        self.settings = settings
        self.on_regions = on_regions
        self.redactor = Redactor(RedactPlan(mode=settings.mode, keep=settings.keep))
        self.tally = _Tally()
        self.detectors: list[Detector] = []
        self.trackers: dict[RegionKind, TrackerLike] = {}
        self.faces: Detector | None = None
        self.tattoos: Detector | None = None
        self.text: Detector | None = None
        self.manual: ManualLike | None = None
        lookahead = lookahead_for(*size)
        try:
            if settings.faces:
                # Look-ahead 0 tells the face detector that a photo's one frame is all it gets
                # (every pass runs at full strength on it).
                self.faces = components.face_detector(settings, 0 if still else lookahead)
                self.detectors.append(self.faces)
                self.trackers[RegionKind.FACE] = components.tracker(lookahead)
            if settings.tattoos:
                self.tattoos = components.tattoo_detector(settings, lookahead)
                self.detectors.append(self.tattoos)
                self.trackers[RegionKind.TATTOO] = components.tracker(lookahead)
            if settings.text:
                self.text = (components.text_detector or _text_detector)(settings, lookahead)
                self.detectors.append(self.text)
                text_tracker = components.text_tracker or _text_tracker
                self.trackers[RegionKind.TEXT] = text_tracker(lookahead)
            if settings.regions:
                self.manual = components.manual_tracker(settings.regions, fps)
        except BaseException:
            self.close()
            raise
        # The engine's one scene check: where the shots cut and what kind of picture each frame
        # is, decided once per frame and handed to every detector that takes it (a ``scene``
        # keyword of process_frame) and to the trackers (a cut ends their tracks).
        self.scene = SceneWatch()
        self.takes_scene = {id(d) for d in self.detectors if _takes_scene(d)}
        self.buffer: deque[tuple[int, np.ndarray]] = deque()
        self.compact: bool | None = None  # decided on the first frame
        self.final: dict[int, dict[RegionKind, list[Region]]] = {}

    def push(self, index: int, frame: np.ndarray) -> Iterator[np.ndarray]:
        try:
            if self.settings.keep_auto and index == 0:
                self._keep_auto(frame)
            view = self.scene.look(index, frame)
            faces, tattoos, text, manual = self._detect(view)
            self.buffer.append((index, self._hold(frame)))
            self.final.setdefault(index, {})[RegionKind.MANUAL] = manual
            if index and view.cut:
                # A new shot: the trackers end their tracks there instead of joining heads
                # across it (Tracker.cut), on the decision that reran the face detector's passes.
                for tracker in self.trackers.values():
                    if hasattr(tracker, "cut"):
                        tracker.cut(index)
            for kind, regions in (
                (RegionKind.FACE, faces),
                (RegionKind.TATTOO, tattoos),
                (RegionKind.TEXT, text),
            ):
                tracker = self.trackers.get(kind)
                if tracker is not None:
                    self._collect(kind, tracker.push(index, regions))
        except MediaError:
            raise
        except Exception as exc:  # a detector's own failure becomes one typed, readable line
            raise MediaError(f"detection failed at frame {index}: {exc!r}") from exc
        yield from self._release()
        if len(self.buffer) > _MAX_HELD_FRAMES:
            raise MediaError(f"internal: the tracker held frame {self.buffer[0][0]} too long")

    def _keep_auto(self, frame: np.ndarray) -> None:
        """--keep auto: the lesion found on the first frame joins the keep boxes."""
        found = find_lesion(frame)
        keep = (*self.settings.keep, *found)
        self.tally.auto_keep = found
        self.settings = dataclasses.replace(self.settings, keep=keep)
        self.redactor = Redactor(RedactPlan(mode=self.settings.mode, keep=keep))
        if self.tattoos is not None and hasattr(self.tattoos, "keep"):
            self.tattoos.keep = keep  # type: ignore[attr-defined]

    def _hold(self, frame: np.ndarray) -> np.ndarray:
        """Frames waiting for the tracker's look-ahead: large ones wait as planar 4:2:0 (half
        the bytes; 13 waiting 4K frames are 160 MB instead of 320 MB). Small ones wait as they
        are, since converting costs CPU and they cost little memory."""
        h, w = frame.shape[:2]
        if self.compact is None:
            self.compact = (
                bool(self.trackers) and h % 2 == 0 and w % 2 == 0 and (h * w > LARGE_FRAME_PIXELS)
            )
        return cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420) if self.compact else frame

    def _unhold(self, held: np.ndarray) -> np.ndarray:
        return cv2.cvtColor(held, cv2.COLOR_YUV2BGR_I420) if self.compact else held

    def _run(
        self, detector: Detector | None, view: SceneFrame, found: list[Region]
    ) -> list[Region]:
        if detector is None:
            return []
        if id(detector) in self.takes_scene:
            return detector.process_frame(view.index, view.frame, tuple(found), scene=view)  # type: ignore[call-arg]
        return detector.process_frame(view.index, view.frame, tuple(found))

    def _detect(
        self, view: SceneFrame
    ) -> tuple[list[Region], list[Region], list[Region], list[Region]]:
        index, frame = view.index, view.frame
        found: list[Region] = []
        faces = self._run(self.faces, view, [])
        if view.kind is SceneKind.DERMOSCOPY:
            # A dermoscope's field holds no face; only a sure hit counts there (lesions give
            # MediaPipe 0.5-0.7 on real dermoscopy images, bench/real_skin.py).
            faces = [f for f in faces if f.score >= DERMOSCOPY_FACE_SCORE]
        found += faces
        tattoos = self._run(self.tattoos, view, found)
        found += tattoos
        text = self._run(self.text, view, found)
        found += text
        manual = self.manual.process_frame(index, frame, tuple(found)) if self.manual else []
        return list(faces), list(tattoos), list(text), list(manual)

    def flush(self) -> Iterator[np.ndarray]:
        for kind, tracker in self.trackers.items():
            self._collect(kind, tracker.flush())
        yield from self._release()
        if self.buffer:
            raise MediaError(f"internal: the tracker never finalised frame {self.buffer[0][0]}")

    def _collect(self, kind: RegionKind, done: list[tuple[int, list[Region]]]) -> None:
        for index, regions in done:
            if index in self.final:
                self.final[index][kind] = list(regions)

    def _release(self) -> Iterator[np.ndarray]:
        while self.buffer:
            index, frame = self.buffer[0]
            have = self.final[index]
            if any(kind not in have for kind in self.trackers):
                return
            self.buffer.popleft()
            del self.final[index]
            yield self._finish(index, self._unhold(frame), have)

    def _finish(
        self, index: int, frame: np.ndarray, have: dict[RegionKind, list[Region]]
    ) -> np.ndarray:
        faces = have.get(RegionKind.FACE, [])
        tattoos = have.get(RegionKind.TATTOO, [])
        text = have.get(RegionKind.TEXT, [])
        regions = [*faces, *tattoos, *text, *have.get(RegionKind.MANUAL, [])]
        keep = self.settings.keep
        if keep and any(k.intersection_area(f.box) > 0 for f in faces for k in keep):
            self.tally.keep_overlap_frames += 1
            if self.tally.first_overlap is None:
                self.tally.first_overlap = index
        self.redactor.redact(frame, regions)
        t = self.tally
        t.face_ids.update(r.track_id for r in faces if r.track_id is not None)
        t.tattoo_ids.update(r.track_id for r in tattoos if r.track_id is not None)
        t.face_counts.append(len(faces))
        t.tattoo_counts.append(len(tattoos))
        t.text_ids.update(r.track_id for r in text if r.track_id is not None)
        t.text_counts.append(len(text))
        if self.on_regions is not None:
            self.on_regions(index, [r for r in regions if not region_fully_kept(r, keep)])
        if self.settings.show_detections:
            draw_detections(frame, regions, keep)
        if self.settings.preview:
            draw_preview_band(frame)
        return frame

    def close(self) -> None:
        for detector in self.detectors:
            detector.close()
        self.detectors = []


def _takes_scene(detector: Detector) -> bool:
    """Whether ``process_frame`` takes the engine's ``scene`` (scene.SceneFrame) keyword: the
    face and tattoo detectors do; a detector without it (text, a test's double) is called as
    the Detector protocol says."""
    try:
        params = inspect.signature(detector.process_frame).parameters
    except (TypeError, ValueError):
        return False
    return "scene" in params


def _temp_beside(dst: Path) -> Path:
    # Hidden and ending in .part: batch discovery and humans both know it is not a result.
    return dst.with_name(f".{dst.name}.{secrets.token_hex(4)}.part")


def _check_paths(src: Path, dst: Path, kind: MediaKind) -> None:
    if not dst.parent.is_dir():
        raise MediaError(f"output folder does not exist: {dst.parent}")
    if dst.exists() and src.exists() and os.path.samefile(src, dst):
        raise MediaError("the output would overwrite the input; choose another name")
    if kind is MediaKind.VIDEO and dst.suffix.lower() not in VIDEO_SUFFIXES:
        raise MediaError(f"a video is written as H.264 MP4: name the output .mp4, not {dst.name!r}")
    if kind is MediaKind.PHOTO:
        output_format(dst)


def _warnings(settings: EngineSettings, tally: _Tally, extra: Sequence[str]) -> tuple[str, ...]:
    notes = list(extra)
    if tally.keep_overlap_frames:
        notes.append(
            f"WARNING: a --keep region overlaps a detected face in {tally.keep_overlap_frames} "
            f"frame(s) (first: frame {tally.first_overlap}); that part of the face is NOT redacted"
        )
    return tuple(notes)


@dataclass(frozen=True)
class _Run:
    """What one kind of run hands back to ``anonymise``."""

    kind: MediaKind
    scene: str
    size: tuple[int, int]
    frames: int
    fps: float | None
    audio_kept: bool
    notes: tuple[str, ...]
    verification: VerificationReport
    tally: _Tally


@dataclass(frozen=True)
class _Job:
    src: Path
    tmp: Path
    settings: EngineSettings
    components: EngineComponents
    progress: ProgressSink | None
    on_frame_regions: FrameRegionsCallback | None


def _run_video(job: _Job) -> _Run:
    info = probe_video(job.src)
    notes: list[str] = []
    want_audio = job.settings.keep_audio and info.has_audio
    if job.settings.keep_audio and not info.has_audio:
        notes.append("audio was requested but the clip has none")
    spec = EncodeSpec(
        info.width,
        info.height,
        info.fps,
        job.settings.crf,
        job.settings.preset,
        audio_from=job.src if want_audio else None,
    )
    total = info.frames_estimate
    reader, writer = FrameReader(info), FrameWriter(spec, job.tmp)
    flow = _FrameFlow(
        job.settings,
        job.components,
        float(info.fps),
        (info.width, info.height),
        job.on_frame_regions,
    )
    done = 0
    try:
        writer.start()
        reader.start()
        for index, frame in reader:
            for out in flow.push(index, frame):
                writer.write(out)
                done += 1
                if job.progress is not None:
                    job.progress(done, total)
        for out in flow.flush():
            writer.write(out)
            done += 1
            if job.progress is not None:
                job.progress(done, total)
        if done == 0:
            raise MediaError(f"no video frames could be decoded from {job.src.name}")
        if total and done < total * 0.9 - 2:
            raise MediaError(
                f"{job.src.name} is truncated or corrupt: decoded {done} of about {total} frames"
            )
        writer.finish()
    finally:
        reader.close()
        writer.close()
        flow.close()
    planted = (*source_strings(job.src), *_name_strings(job.src))
    report = verify_video(job.tmp, expect_audio=want_audio, planted=planted)
    return _Run(
        MediaKind.VIDEO,
        _scene_name(flow),
        spec.out_size,
        done,
        float(info.fps),
        want_audio,
        tuple(notes),
        report,
        flow.tally,
    )


def _run_photo(job: _Job, fmt: str) -> _Run:
    frame = load_photo(job.src)
    h, w = frame.shape[:2]
    flow = _FrameFlow(job.settings, job.components, 1.0, (w, h), job.on_frame_regions, still=True)
    try:
        outs = [*flow.push(0, frame), *flow.flush()]
    finally:
        flow.close()
    if len(outs) != 1:
        raise MediaError(f"internal: a photo produced {len(outs)} frames")
    save_photo(outs[0], job.tmp, fmt)
    if job.progress is not None:
        job.progress(1, 1)
    notes = ("a photo has no audio; --keep-audio ignored",) if job.settings.keep_audio else ()
    planted = (*photo_strings(job.src), *_name_strings(job.src))
    report = verify_photo(job.tmp, planted=planted)
    run = (MediaKind.PHOTO, _scene_name(flow), (w, h), 1, None, False, notes, report, flow.tally)
    return _Run(*run)


def _scene_name(flow: _FrameFlow) -> str:
    kind = flow.scene.dominant()
    return kind.value if kind is not None else ""


def _name_strings(src: Path) -> tuple[bytes, ...]:
    """The input's name must never reach the output (it is often the patient's name)."""
    stem = src.stem.strip()
    return (stem.encode(),) if len(stem) >= 6 else ()


def anonymise(
    src: Path,
    dst: Path,
    settings: EngineSettings,
    *,
    progress: ProgressSink | None = None,
    on_frame_regions: FrameRegionsCallback | None = None,
    components: EngineComponents | None = None,
) -> EngineResult:
    """Anonymise the video or photo ``src`` into ``dst`` (.mp4/.m4v video, .png/.jpg photo).

    ``on_frame_regions(index, regions)`` is called once per output frame, in order, with the
    regions redacted there (after tracking, manual regions and keep subtraction; regions wholly
    inside a keep box are left out). Raises MediaError or VerificationError, leaving no output.
    """
    started = time.monotonic()
    src, dst = Path(src), Path(dst)
    kind = classify(src)
    _check_paths(src, dst, kind)
    job = _Job(
        src,
        _temp_beside(dst),
        settings,
        components or default_components(),
        progress,
        on_frame_regions,
    )
    try:
        run = _run_video(job) if kind is MediaKind.VIDEO else _run_photo(job, output_format(dst))
        if not run.verification.ok:
            first = run.verification.problems[0]
            more = len(run.verification.problems) - 1
            raise VerificationError(
                f"the output still carried identifying data ({first}"
                + (f"; {more} more" if more else "")
                + "); it was removed"
            )
        try:
            os.replace(job.tmp, dst)
        except OSError as exc:
            raise MediaError(f"cannot move the result into place at {dst}: {exc.strerror}") from exc
    except BaseException:
        job.tmp.unlink(missing_ok=True)
        raise
    t = run.tally
    return EngineResult(
        output=dst,
        media_kind=run.kind.value,
        width=run.size[0],
        height=run.size[1],
        frames=run.frames,
        fps=run.fps,
        duration=run.frames / run.fps if run.fps else None,
        audio_kept=run.audio_kept,
        face_tracks=len(t.face_ids),
        tattoo_tracks=len(t.tattoo_ids),
        frames_with_faces=sum(1 for c in t.face_counts if c),
        frames_with_tattoos=sum(1 for c in t.tattoo_counts if c),
        face_counts=tuple(t.face_counts),
        tattoo_counts=tuple(t.tattoo_counts),
        text_tracks=len(t.text_ids),
        frames_with_text=sum(1 for c in t.text_counts if c),
        text_counts=tuple(t.text_counts),
        verification=run.verification,
        warnings=_warnings(settings, t, run.notes),
        elapsed_s=time.monotonic() - started,
        scene=run.scene,
        auto_keep=t.auto_keep,
    )
