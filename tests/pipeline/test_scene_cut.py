"""A hard cut between two shots, through the real engine (real face detector, tracker, ffmpeg):
the face tracks of the first shot end at the cut (tracking.Tracker.cut, on the face detector's
own cut decision), so nothing of them is held over the second shot, and nothing of the second
shot's head is back-filled into the first."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from consentclip.detect.regions import Box, Region, RegionKind
from consentclip.pipeline import anonymise
from consentclip.settings import EngineSettings

W, H, CUT, FRAMES = 640, 360, 20, 40
HEAD = 150  # side of the portrait pasted into each shot
OLD = Box(60, 100, HEAD, HEAD)  # where the portrait is in the first shot ...
NEW = Box(420, 110, HEAD, HEAD)  # ... and in the second


def _face(at: Box) -> Box:
    """The face inside the pasted portrait (brows to chin), in frame pixels."""
    return Box(at.x + 20, at.y + 10, 90, 90)


def _shot(background: tuple[int, int, int], face: np.ndarray, at: Box) -> np.ndarray:
    img = np.empty((H, W, 3), np.uint8)
    img[:] = background
    x, y = int(at.x), int(at.y)
    img[y : y + HEAD, x : x + HEAD] = face
    return img


def _clip(path: Path, astronaut_bgr: np.ndarray, ffmpeg_bin: str) -> None:
    # The portrait's head and shoulders, shrunk to HEAD pixels: a face BlazeFace finds at once.
    face = cv2.resize(astronaut_bgr[0:300, 100:400], (HEAD, HEAD), interpolation=cv2.INTER_AREA)
    first = _shot((70, 60, 50), face, OLD)  # a dim blue-grey room
    second = _shot((170, 190, 210), face, NEW)  # a light, warm one: a cut by any measure
    raw = b"".join((first if i < CUT else second).tobytes() for i in range(FRAMES))
    subprocess.run(
        [ffmpeg_bin, "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{W}x{H}",
         "-r", "10", "-i", "-", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "12",
         "-pix_fmt", "yuv420p", str(path)],
        input=raw,
        check=True,
    )  # fmt: skip


def _share_of(box: Box, regions: Sequence[Region]) -> float:
    """The largest share of ``box`` under one face region."""
    return max((r.box.intersection_area(box) / box.area for r in regions), default=0.0)


def test_face_tracks_end_at_a_cut(
    tmp_path: Path, astronaut_bgr: np.ndarray, ffmpeg_bin: str
) -> None:
    src = tmp_path / "cut.mp4"
    _clip(src, astronaut_bgr, ffmpeg_bin)
    seen: dict[int, list[Region]] = {}

    def collect(index: int, regions: Sequence[Region]) -> None:
        seen[index] = [r for r in regions if r.kind is RegionKind.FACE]

    anonymise(src, tmp_path / "out.mp4", EngineSettings(tattoos=False), on_frame_regions=collect)
    assert sorted(seen) == list(range(FRAMES))
    # Each head is covered in every frame of its own shot ...
    assert all(_share_of(_face(OLD), seen[i]) >= 0.95 for i in range(CUT))
    assert all(_share_of(_face(NEW), seen[i]) >= 0.95 for i in range(CUT, FRAMES))
    # ... and nowhere in the other shot: before the cut tracks ended there, the first head was
    # held over the second shot for the tracker's hold (30 frames), which this clip ends within.
    assert all(_share_of(_face(OLD), seen[i]) < 0.1 for i in range(CUT, FRAMES))
    assert all(_share_of(_face(NEW), seen[i]) < 0.1 for i in range(CUT))
