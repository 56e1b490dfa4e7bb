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

__all__ = ["Box", "Detector", "Region", "RegionKind"]


class Detector(Protocol):
    kind: RegionKind

    def process_frame(
        self, index: int, frame: np.ndarray, found: Sequence[Region] = ()
    ) -> list[Region]: ...

    def close(self) -> None: ...
