"""Detectors find regions to redact in upright BGR frames. Only this package imports mediapipe.

A detector is any object with ``process_frame(index, frame, found) -> list[Region]`` and
``close()``. ``frame`` is an HxWx3 uint8 BGR array, upright; ``found`` holds the regions earlier
detectors returned for the same frame (a tattoo detector can learn skin tone from a face).
Detectors never touch files.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from consentclip.detect.regions import Box, Region, RegionKind

__all__ = ["Box", "Detector", "Region", "RegionKind", "preload_modules"]


class Detector(Protocol):
    kind: RegionKind

    def process_frame(
        self, index: int, frame: np.ndarray, found: Sequence[Region] = ()
    ) -> list[Region]: ...

    def close(self) -> None: ...


def preload_modules() -> tuple[str, ...]:
    """The modules a worker process should import before its first file: mediapipe (over a
    second to import on its own) and the detectors the engine builds for every clip. A batch's
    forkserver imports them once and forks ready workers from it."""
    return (
        "mediapipe",
        "consentclip.detect.faces",
        "consentclip.detect.heads",
        "consentclip.detect.tattoos",
        "consentclip.detect.text",
        "consentclip.detect.tracking",
    )
