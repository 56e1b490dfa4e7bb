"""Plain region data exchanged between detectors, the tracker and redaction.

Coordinates are pixels in the upright frame, floats, origin top-left. Nothing here knows about
patients or files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import Enum

# A face hit at least this strong is a person's face at ordinary scale: faces in the real photos
# of people score 0.84-0.95, while weak hits at the engine's privacy-first threshold (0.3) fall
# on tattooed ink, lesions and shade. The tattoo detector takes only such a face for a person's
# skin and a view of people; the face detector skips its face part cue at a cut in a clip of
# people that shows one (faces.FaceDetector._run_parts).
SURE_FACE = 0.5


class RegionKind(str, Enum):
    FACE = "face"  # face or whole head (the box to redact already covers hair and ears)
    TATTOO = "tattoo"
    TEXT = "text"  # labels, wristbands, badges, screens (detect/text.py)
    MANUAL = "manual"  # drawn by the clinician with --region


@dataclass(frozen=True, slots=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def x2(self) -> float:
        return self.x + self.w

    @property
    def y2(self) -> float:
        return self.y + self.h

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    @property
    def area(self) -> float:
        return max(self.w, 0.0) * max(self.h, 0.0)

    @classmethod
    def from_corners(cls, x1: float, y1: float, x2: float, y2: float) -> Box:
        return cls(x1, y1, x2 - x1, y2 - y1)

    @classmethod
    def parse(cls, text: str) -> Box:
        """Parse ``x,y,w,h`` (pixels). Raises ValueError with a readable message."""
        parts = text.split(",")
        if len(parts) != 4:
            raise ValueError(f"expected x,y,w,h, got {text!r}")
        x, y, w, h = (float(p) for p in parts)
        if w <= 0 or h <= 0:
            raise ValueError(f"width and height must be positive in {text!r}")
        return cls(x, y, w, h)

    def scaled(self, fx: float, fy: float | None = None) -> Box:
        """Grow or shrink about the centre."""
        fy = fx if fy is None else fy
        w, h = self.w * fx, self.h * fy
        return Box(self.cx - w / 2, self.cy - h / 2, w, h)

    def shifted(self, dx: float, dy: float) -> Box:
        return Box(self.x + dx, self.y + dy, self.w, self.h)

    def clipped(self, width: int, height: int) -> Box:
        x1, y1 = min(max(self.x, 0.0), width), min(max(self.y, 0.0), height)
        x2, y2 = min(max(self.x2, 0.0), width), min(max(self.y2, 0.0), height)
        return Box(x1, y1, x2 - x1, y2 - y1)

    # intersection_area is the trackers' and the face detector's inner loop (thousands of calls
    # per clip): the same arithmetic as the properties, in the same order (the same floats),
    # without a property call per coordinate.
    def intersection_area(self, other: Box) -> float:
        x, y, ox, oy = self.x, self.y, other.x, other.y
        w = min(x + self.w, ox + other.w) - max(x, ox)
        h = min(y + self.h, oy + other.h) - max(y, oy)
        return w * h if w > 0 and h > 0 else 0.0

    def iou(self, other: Box) -> float:
        inter = self.intersection_area(other)
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def lerp(self, other: Box, t: float) -> Box:
        return Box(
            self.x + (other.x - self.x) * t,
            self.y + (other.y - self.y) * t,
            self.w + (other.w - self.w) * t,
            self.h + (other.h - self.h) * t,
        )

    def int_corners(self) -> tuple[int, int, int, int]:
        """Integer (x1, y1, x2, y2) that contains the box: rounds outwards, never inwards."""
        return math.floor(self.x), math.floor(self.y), math.ceil(self.x2), math.ceil(self.y2)


@dataclass(frozen=True, slots=True)
class Region:
    """One thing to redact in one frame.

    ``box`` is the area to redact, already enlarged as the kind requires (a face box covers the
    whole head). ``source`` says what found it ("full", "short", "tile", "pose", "track",
    "interp", "manual", ...), for --show-detections and the statistics.
    """

    box: Box
    kind: RegionKind
    score: float = 1.0
    track_id: int | None = None
    source: str = ""

    def with_track(self, track_id: int, source: str | None = None) -> Region:
        return replace(self, track_id=track_id, source=self.source if source is None else source)
