"""Which frames of an exported clip the QA sheet shows, decoded through ``media/`` (the same
decoder the engine uses, so frame numbers match the engine's), as thumbnails with the redacted
regions outlined."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from consentclip.detect.regions import Box, Region, RegionKind
from consentclip.errors import MediaError
from consentclip.media.decode import frames_at
from consentclip.media.photo import load_photo
from consentclip.media.probe import probe_video
from consentclip.redact.colours import bgr
from consentclip.settings import EngineResult

GRID_COLS = 3
GRID_ROWS = 3
# Outline colours, BGR for OpenCV, and the same as RGB for the legend and timeline: the one
# table the preview overlay and the review page share (redact/colours.py).
KIND_BGR: dict[RegionKind, tuple[int, int, int]] = {kind: bgr(kind) for kind in RegionKind}
# Regions the clinician protected with --keep (the lesion being taught): drawn so the reviewer
# sees that the unredacted patch there is deliberate.
KEEP_BGR = bgr("keep")
# Thumbnails are drawn at this width before outlining, so outlines are equally visible whatever
# the clip's resolution.
THUMB_WIDTH = 480


@dataclass(frozen=True)
class QaInput:
    output: Path  # the anonymised export
    result: EngineResult
    manifest: Mapping[str, Any]
    regions: Mapping[int, Sequence[Region]]  # output frame index -> regions redacted there


@dataclass(frozen=True)
class Sample:
    index: int
    seconds: float | None
    image: np.ndarray  # BGR, outlines drawn

    def png(self) -> bytes:
        ok, png = cv2.imencode(".png", self.image)
        if not ok:
            raise MediaError("could not encode a QA thumbnail")
        return png.tobytes()


def sample_indices(frames: int, count: int) -> list[int]:
    """``count`` frame indices spread evenly from the first to the last frame."""
    if frames <= 0:
        return []
    if frames <= count:
        return list(range(frames))
    step = (frames - 1) / (count - 1)
    return sorted({round(i * step) for i in range(count)})


def chosen_indices(qa: QaInput, count: int) -> list[int]:
    """An approved review's risk frames (where a miss is most likely: track ends, filled gaps,
    weak detections), topped up with evenly spaced ones; otherwise evenly spaced frames."""
    frames = qa.result.frames
    review = qa.manifest.get("review") or {}
    risk = sorted({int(f) for f in review.get("risk_frames", []) if 0 <= int(f) < frames})
    if not risk:
        return sample_indices(frames, count)
    picked = set(risk[:count])
    for index in sample_indices(frames, count):
        if len(picked) >= count:
            break
        picked.add(index)
    return sorted(picked)


def read_samples(qa: QaInput, count: int = GRID_COLS * GRID_ROWS) -> list[Sample]:
    """Decode the chosen frames of the output and outline the regions redacted in each."""
    result = qa.result
    if result.media_kind == "photo":
        try:
            image = load_photo(qa.output)
        except MediaError:
            raise MediaError(
                f"cannot read the exported photo {qa.output.name} for the QA sheet"
            ) from None
        return [Sample(0, None, _outlined(image, qa.regions.get(0, ()), kept_boxes(qa)))]
    try:
        info = probe_video(qa.output)
    except MediaError:
        raise MediaError(
            f"cannot open the exported clip {qa.output.name} for the QA sheet"
        ) from None
    samples = [
        Sample(
            index,
            index / result.fps if result.fps else None,
            _outlined(frame, qa.regions.get(index, ()), kept_boxes(qa)),
        )
        for index, frame in frames_at(info, chosen_indices(qa, count))
    ]
    if not samples:
        raise MediaError(f"no frame could be decoded from {qa.output.name} for the QA sheet")
    return samples


def kept_boxes(qa: QaInput) -> list[Box]:
    """The --keep boxes, as recorded in the manifest's engine settings."""
    keep = qa.manifest.get("engine", {}).get("settings", {}).get("keep", [])
    keep = [*keep, *qa.manifest.get("detections", {}).get("auto_keep", [])]  # --keep auto
    return [Box(k["x"], k["y"], k["w"], k["h"]) for k in keep]


def _outlined(frame: np.ndarray, regions: Sequence[Region], kept: Sequence[Box]) -> np.ndarray:
    h, w = frame.shape[:2]
    scale = THUMB_WIDTH / w
    thumb = cv2.resize(frame, (THUMB_WIDTH, max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    for box in kept:
        x1, y1, x2, y2 = box.clipped(w, h).int_corners()
        cv2.rectangle(
            thumb,
            (int(x1 * scale), int(y1 * scale)),
            (int(x2 * scale), int(y2 * scale)),
            KEEP_BGR,
            2,
        )
    for region in regions:
        x1, y1, x2, y2 = region.box.clipped(w, h).int_corners()
        p1 = (int(x1 * scale), int(y1 * scale))
        p2 = (int(x2 * scale), int(y2 * scale))
        cv2.rectangle(thumb, p1, p2, KIND_BGR.get(region.kind, (255, 255, 255)), 3)
    return thumb
