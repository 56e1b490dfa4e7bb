"""FaceDetector on real images: the public-domain astronaut portrait (skimage) and lavfi frames.

Real MediaPipe models, no mocks. Ground truth for the portrait is its head (hair and ears
included) measured by hand: x 160..320, y 15..180 in the 512x512 image.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from faceboxes import ASTRONAUT_HEAD, coverage
from skimage import data

from consentclip.detect.faces import Candidate, FaceDetector
from consentclip.detect.heads import head_from_face
from consentclip.detect.regions import Box, RegionKind


@pytest.fixture(scope="module")
def detector() -> Iterator[FaceDetector]:
    det = FaceDetector()
    yield det
    det.close()


def test_astronaut_head_is_covered_by_one_head_sized_box(astronaut: np.ndarray) -> None:
    det = FaceDetector()
    try:
        regions = det.process_frame(0, astronaut)
    finally:
        det.close()
    assert len(regions) == 1
    (r,) = regions
    assert r.kind is RegionKind.FACE and r.source in {"full", "short", "tile", "pose", "centerface"}
    assert coverage(ASTRONAUT_HEAD, [r.box]) >= 0.95
    # Head-sized, not a quarter of the picture: at most ~2x the true head's area.
    assert r.box.area <= 2.0 * ASTRONAUT_HEAD.area


def test_head_box_is_bigger_than_face_box_and_shifted_up() -> None:
    face = Box(100, 100, 50, 50)
    head = head_from_face(face)
    assert head.w > 1.5 * face.w and head.h > 1.7 * face.h
    assert head.y < face.y - 0.4 * face.h  # room for the hair
    assert head.y2 >= face.y2  # the chin stays covered


def test_small_face_in_1080p_is_found_through_tiles(astronaut: np.ndarray) -> None:
    # A 70 px head in a 1920x1080 frame: 3.6% of the width, far below what the whole-frame
    # BlazeFace pass can see; the tiles (one every other frame, in rotation) must find it
    # within a sweep, unless CenterFace's scene-start pass already found it on frame 0.
    canvas = np.full((1080, 1920, 3), 110, np.uint8)
    head = cv2.resize(astronaut[15:180, 160:320], (70, 72), interpolation=cv2.INTER_AREA)
    canvas[700:772, 1500:1570] = head
    truth = Box(1500, 700, 70, 72)
    det = FaceDetector()
    try:
        found_at = None
        for i in range(24):
            regions = det.process_frame(i, canvas)
            if regions:
                found_at = i
                break
        assert found_at is not None, "small face never found"
        assert all(r.source in {"tile", "centerface"} for r in regions)
        assert coverage(truth, [r.box for r in regions]) >= 0.95
        # Once found it is followed in a crop, not only when its tile comes round again.
        hits = sum(bool(det.process_frame(found_at + k, canvas)) for k in range(1, 9))
        assert hits >= 4
    finally:
        det.close()


def test_a_found_head_is_reexamined_every_other_frame_and_a_lost_one_less_often(
    astronaut: np.ndarray,
) -> None:
    # Focus crops are the detector's largest cost: a head found a frame ago rests a frame (the
    # tracker interpolates), and a head gone for a while is looked for every few frames only,
    # yet still well within the tracker's 30-frame hold.
    canvas = np.full((1080, 1920, 3), 110, np.uint8)
    head = cv2.resize(astronaut[15:180, 160:320], (70, 72), interpolation=cv2.INTER_AREA)
    canvas[700:772, 1500:1570] = head
    det = FaceDetector()
    looks: list[int] = []
    index = 0
    try:
        real_focus = det._run_focus

        def counted(i: int, frame: np.ndarray, found: list[Candidate]) -> list[Candidate]:
            out = real_focus(i, frame, found)
            if any(k.last_checked == i for k in det._known):
                looks.append(i)
            return out

        det._run_focus = counted  # type: ignore[method-assign]
        for index in range(40):
            if det.process_frame(index, canvas):
                break
        assert det._known, "small face never found"
        looks.clear()
        start = index + 1
        for index in range(start, start + 10):
            det.process_frame(index, canvas)
        # Present: looked at on 3 to 6 of 10 frames (never two frames running; the sweep
        # finds it on some of the others).
        assert 3 <= len(looks) <= 6
        assert all(b - a >= 2 for a, b in itertools.pairwise(looks))
        looks.clear()
        empty = np.full_like(canvas, 110)
        start = index + 1
        for index in range(start, start + 24):
            det.process_frame(index, empty)
        # Gone: looked for every other frame at first, then every 4th frame, and not dropped.
        assert 6 <= len(looks) <= 9
        assert looks[-1] >= start + 18
    finally:
        det.close()


def test_near_profile_head_is_covered_including_the_back_of_the_head() -> None:
    # The cameraman (skimage, CC0) is photographed in near profile, looking right and down: the
    # face box alone would leave the back of his head and his hair uncovered.
    head = cv2.cvtColor(data.camera()[58:202, 148:266], cv2.COLOR_GRAY2BGR)
    head = cv2.resize(head, (236, 288), interpolation=cv2.INTER_AREA)
    canvas = np.full((1080, 1920, 3), 150, np.uint8)
    canvas[400:688, 1200:1436] = head
    truth = Box(1200, 400, 236, 288)
    det = FaceDetector()
    try:
        regions = det.process_frame(0, canvas)
    finally:
        det.close()
    assert regions, "profile head not found"
    assert coverage(truth, [r.box for r in regions]) >= 0.95


def _frames(path: Path, limit: int) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    try:
        while len(frames) < limit:
            ok, frame = cap.read()
            if not ok:
                break
            frames.append(frame)
    finally:
        cap.release()
    return frames


def test_no_face_on_testsrc2(make_clip: Callable[..., Path], detector: FaceDetector) -> None:
    clip = make_clip("bars.mp4", seconds=1, size="1280x720", audio=False)
    frames = _frames(clip, 26)
    assert len(frames) == 25
    for i, frame in enumerate(frames):
        assert detector.process_frame(i, frame) == [], f"false positive on frame {i}"


def test_rejects_frames_that_are_not_bgr(detector: FaceDetector) -> None:
    with pytest.raises(ValueError):
        detector.process_frame(0, np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError):
        FaceDetector(threshold=1.5)


@pytest.mark.slow
def test_leak_benchmark_quick_subset_has_no_leaks() -> None:
    """bench/leak.py on short composed clips (real faces in motion) through the detector and
    the tracker: no frame may leave a known head less than 95% covered."""
    import sys

    bench = Path(__file__).resolve().parents[2] / "bench"
    sys.path.insert(0, str(bench))
    try:
        import leak
    finally:
        sys.path.remove(str(bench))
    argv = ["--frames", "60", "--direct", "--no-haar", "--no-micro"]
    assert leak.main([*argv, "--only", "small_far,occlusion,two_people,profile_turn"]) == 0


@pytest.mark.parametrize("size", [(3840, 2160), (1920, 1080), (1080, 1920), (1280, 720)])
def test_a_sweep_fits_in_the_tracker_lookahead(
    detector: FaceDetector, size: tuple[int, int]
) -> None:
    # Each job of the sweep runs once per frame: a face anywhere in the frame is examined at
    # least once per look-ahead, so the tracker can still fill back to where it appeared.
    from consentclip.detect.tracking import Tracker

    width, height = size
    jobs = detector._sweep_jobs(width, height)
    assert 2 < len(jobs) <= Tracker().lookahead
    covered = np.zeros((height, width), bool)
    for x, y, side in jobs[1:]:
        covered[y : y + side, x : x + side] = True
    assert covered.all()


@pytest.mark.parametrize(("lookahead", "turns"), [(24, True), (12, False)])
def test_the_two_sweeps_take_turns_only_where_both_fit_in_the_look_ahead(
    lookahead: int, turns: bool
) -> None:
    canvas = np.full((1080, 1920, 3), 110, np.uint8)
    det = FaceDetector(lookahead=lookahead)
    jobs: list[tuple[int, bool]] = []
    real = det._run_job
    index = 0

    def counted(frame: np.ndarray, job: tuple[int, int, int], *rest: object, **kw: object):
        jobs.append((index, bool(kw.get("short", False))))
        return real(frame, job, *rest, **kw)  # type: ignore[arg-type]

    det._run_job = counted  # type: ignore[method-assign]
    try:
        det.process_frame(0, canvas)  # a scene start: the whole sweep at once
        sweep = len(det._sweep)
        assert sweep == 12  # 1080p: the whole frame, 3 large tiles, 8 small ones
        jobs.clear()
        for index in range(1, 1 + 2 * sweep):
            det.process_frame(index, canvas)
    finally:
        det.close()
    full = [i for i, short in jobs if not short]
    short = [i for i, short in jobs if short]
    if turns:
        # Full-range on even frames, short-range on odd ones (where its job is not the whole
        # frame, which short-range covers anyway): each sweep still visits every job within
        # 2 * 12 = 24 frames, the look-ahead.
        assert full == list(range(2, 2 + 2 * sweep, 2))
        assert all(i % 2 == 1 for i in short) and len(short) >= sweep - 1
    else:
        assert len(full) == 2 * sweep and len(short) >= 2 * (sweep - 1)
