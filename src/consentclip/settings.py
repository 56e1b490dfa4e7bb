"""Settings and results of the anonymisation engine: the contract between the engine and its
callers (preview, export, batch). Frozen dataclasses; no CLI types here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from consentclip.detect.regions import Box


class RedactMode(str, Enum):
    BLUR = "blur"
    PIXELATE = "pixelate"
    FILL = "fill"


@dataclass(frozen=True)
class ManualRegion:
    """A clinician-drawn region, optionally limited to [start, end] seconds, tracked in the clip."""

    box: Box
    start: float | None = None
    end: float | None = None

    @classmethod
    def parse(cls, text: str) -> ManualRegion:
        """``x,y,w,h`` or ``x,y,w,h@START-END`` (seconds, either side may be empty)."""
        geom, _, span = text.partition("@")
        box = Box.parse(geom)
        if not span:
            return cls(box)
        a, sep, b = span.partition("-")
        if not sep:
            raise ValueError(f"expected @START-END in {text!r}")
        start = float(a) if a else None
        end = float(b) if b else None
        if start is not None and end is not None and end < start:
            raise ValueError(f"region ends before it starts in {text!r}")
        return cls(box, start, end)


@dataclass(frozen=True)
class EngineSettings:
    faces: bool = True
    tattoos: bool = True
    text: bool = True  # labels, wristbands, badges, screens (detect/text.py)
    mode: RedactMode = RedactMode.BLUR
    # Face detector confidence floor. Low on purpose: a false positive costs a blurred patch,
    # a miss costs a patient's identity.
    threshold: float = 0.3
    tattoo_sensitivity: float = 0.5
    regions: tuple[ManualRegion, ...] = ()
    keep: tuple[Box, ...] = ()
    # --keep auto: in a close-up, protect the lesion found by detect/lesion.py like a keep box.
    keep_auto: bool = False
    keep_audio: bool = False
    crf: int = 20
    preset: str = "medium"
    preview: bool = False  # burn in "PREVIEW - NOT FOR DISTRIBUTION"
    show_detections: bool = False  # draw boxes and track ids (preview only)


@dataclass(frozen=True)
class VerificationReport:
    ok: bool
    checked: tuple[str, ...] = ()  # what was inspected (format tags, stream tags, chapters, ...)
    problems: tuple[str, ...] = ()  # anything found that is not on the allowlist


@dataclass(frozen=True)
class EngineResult:
    output: Path
    media_kind: str  # "video" or "photo"
    width: int
    height: int
    frames: int
    fps: float | None
    duration: float | None
    audio_kept: bool
    face_tracks: int
    tattoo_tracks: int
    frames_with_faces: int
    frames_with_tattoos: int
    # Per output frame: how many faces / tattoos were redacted (for the QA timeline).
    face_counts: tuple[int, ...] = ()
    tattoo_counts: tuple[int, ...] = ()
    verification: VerificationReport = field(default_factory=lambda: VerificationReport(ok=False))
    text_tracks: int = 0
    frames_with_text: int = 0
    text_counts: tuple[int, ...] = ()  # per output frame, like face_counts
    warnings: tuple[str, ...] = ()
    elapsed_s: float = 0.0
    # detect/scene.py's kind of picture, over most frames ("dermoscopy", "skin_closeup",
    # "scene"; "" when no detector ran), and the boxes --keep auto protected.
    scene: str = ""
    auto_keep: tuple[Box, ...] = ()
