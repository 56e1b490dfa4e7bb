"""What a preview adds on top of a redacted frame: the PREVIEW band and, on request, detections."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from consentclip.detect.regions import Box, Region, RegionKind

PREVIEW_TEXT = "PREVIEW - NOT FOR DISTRIBUTION"
_BAND_BGR = (0, 0, 200)
# Distinct colours per kind so a reviewer can tell faces from tattoos at a glance (BGR).
KIND_COLOURS: dict[RegionKind, tuple[int, int, int]] = {
    RegionKind.FACE: (0, 0, 255),
    RegionKind.TATTOO: (0, 200, 255),
    RegionKind.MANUAL: (255, 128, 0),
    RegionKind.TEXT: (255, 0, 255),  # magenta: unlike skin, ink, faces and the green keep
}
KEEP_COLOUR = (0, 200, 0)
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def _fit_text(text: str, max_w: int, max_h: int) -> tuple[float, int]:
    (tw, th), _ = cv2.getTextSize(text, _FONT, 1.0, 2)
    scale = max(0.3, min(max_w / max(tw, 1), max_h / max(th, 1)))
    return scale, max(1, round(scale * 2))


def draw_preview_band(frame: np.ndarray) -> None:
    """A solid band across the top and bottom, each saying PREVIEW - NOT FOR DISTRIBUTION."""
    h, w = frame.shape[:2]
    band = max(12, round(h * 0.07))
    scale, thick = _fit_text(PREVIEW_TEXT, int(w * 0.9), int(band * 0.6))
    (tw, th), _ = cv2.getTextSize(PREVIEW_TEXT, _FONT, scale, thick)
    for top in (0, h - band):
        frame[top : top + band] = _BAND_BGR
        org = ((w - tw) // 2, top + (band + th) // 2)
        cv2.putText(frame, PREVIEW_TEXT, org, _FONT, scale, (255, 255, 255), thick, cv2.LINE_AA)


def _label(region: Region) -> str:
    track = f" #{region.track_id}" if region.track_id is not None else ""
    source = f" {region.source}" if region.source else ""
    return f"{region.kind.value}{track}{source}"


def draw_detections(frame: np.ndarray, regions: Sequence[Region], keep: Sequence[Box] = ()) -> None:
    """Outline each region in its kind's colour with kind, track id and source; keeps in green."""
    h, w = frame.shape[:2]
    thick = max(2, round(min(h, w) / 360))  # 1 px lines vanish in 4:2:0 chroma
    scale = max(0.35, min(h, w) / 1400)
    for box in keep:
        x1, y1, x2, y2 = box.clipped(w, h).int_corners()
        cv2.rectangle(frame, (x1, y1), (x2 - 1, y2 - 1), KEEP_COLOUR, thick)
        cv2.putText(frame, "keep", (x1 + 2, y2 - 4), _FONT, scale, KEEP_COLOUR, thick, cv2.LINE_AA)
    for region in regions:
        colour = KIND_COLOURS.get(region.kind, (255, 255, 255))
        x1, y1, x2, y2 = region.box.clipped(w, h).int_corners()
        if x2 <= x1 or y2 <= y1:
            continue
        # Dashed-looking double line for faces vs single for the rest: distinct in greyscale too.
        cv2.rectangle(frame, (x1, y1), (x2 - 1, y2 - 1), colour, thick)
        if region.kind is RegionKind.FACE:
            cv2.rectangle(
                frame,
                (x1 + 2 * thick, y1 + 2 * thick),
                (x2 - 1 - 2 * thick, y2 - 1 - 2 * thick),
                colour,
                thick,
            )
        cv2.putText(
            frame, _label(region), (x1, max(10, y1 - 4)), _FONT, scale, colour, thick, cv2.LINE_AA
        )
