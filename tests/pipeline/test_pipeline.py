"""The engine's own logic with the real decoder, encoder and redaction; only detectors are
test doubles (scripted boxes), so every assertion is about the pipeline itself."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from consentclip.detect.regions import Box, Region, RegionKind
from consentclip.detect.tattoos import ENGINE_EVERY
from consentclip.errors import MediaError
from consentclip.media.decode import FrameReader, queue_slots
from consentclip.media.probe import probe_video
from consentclip.pipeline import (
    LOOKAHEAD,
    LOOKAHEAD_LARGE_FRAMES,
    EngineComponents,
    anonymise,
    default_components,
)
from consentclip.settings import EngineSettings, ManualRegion, RedactMode
from shared import SAMPLE_MEDIA

from .doubles import DelayTracker, ScriptedDetector, StaticManual, components

FACE = Box(100, 60, 80, 100)


def _children() -> set[int]:
    """Live child processes of this test process (ffmpeg must never outlive a run)."""
    pids: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        try:
            pids.update(int(p) for p in (task / "children").read_text().split())
        except OSError:
            continue
    return pids


def _moving(index: int) -> list[Box]:
    return [FACE.shifted(index * 2, 0)]


def test_every_frame_reported_once_in_order(make_clip: Callable[..., Path], tmp_path: Path) -> None:
    clip = make_clip("a.mp4", seconds=2, audio=False)
    seen: list[tuple[int, list[Region]]] = []
    result = anonymise(
        clip,
        tmp_path / "out.mp4",
        EngineSettings(tattoos=False),
        on_frame_regions=lambda i, regions: seen.append((i, list(regions))),
        components=components(faces=_moving),
    )
    assert [i for i, _ in seen] == list(range(50))
    assert all(len(r) == 1 and r[0].track_id == 1 for _, r in seen)
    assert seen[7][1][0].box == FACE.shifted(14, 0)  # frame i carries frame i's regions
    assert result.frames == 50 and result.face_counts == (1,) * 50
    assert result.frames_with_faces == 50 and result.face_tracks == 1


def test_regions_are_redacted_in_the_right_frames(
    make_clip: Callable[..., Path], tmp_path: Path
) -> None:
    clip = make_clip("a.mp4", seconds=1, audio=False)
    out = tmp_path / "out.mp4"
    # A face only in frames 10-14: the frames around them must be untouched.
    script = lambda i: [FACE] if 10 <= i <= 14 else []  # noqa: E731
    anonymise(clip, out, EngineSettings(tattoos=False), components=components(faces=script))
    x1, y1, x2, y2 = FACE.int_corners()
    with FrameReader(probe_video(clip)) as a, FrameReader(probe_video(out)) as b:
        for (i, src), (_, dst) in zip(a, b, strict=True):
            change = np.abs(src[y1:y2, x1:x2].astype(int) - dst[y1:y2, x1:x2].astype(int)).mean()
            if 10 <= i <= 14:
                assert change > 20, i  # testsrc2's pattern is gone under the blur
                detail = lambda img: cv2.Laplacian(img, cv2.CV_64F).var()  # noqa: E731
                assert detail(dst[y1:y2, x1:x2]) < detail(src[y1:y2, x1:x2]) / 10
            else:
                assert change < 6, i


def test_tattoo_detector_gets_faces_and_manual_regions_apply(
    make_clip: Callable[..., Path], tmp_path: Path
) -> None:
    made: list[ScriptedDetector] = []
    seen: dict[int, list[Region]] = {}
    clip = make_clip("a.mp4", seconds=1, audio=False)
    settings = EngineSettings(regions=(ManualRegion(Box(10, 10, 30, 30), start=0.5),))
    anonymise(
        clip,
        tmp_path / "o.mp4",
        settings,
        on_frame_regions=lambda i, r: seen.__setitem__(i, list(r)),
        components=components(faces=_moving, tattoos=lambda i: [Box(200, 150, 40, 40)], made=made),
    )
    kinds = {d.kind: d for d in made}
    assert kinds[RegionKind.TATTOO].seen == list(range(25))
    assert all(d.closed for d in made)
    assert {r.kind for r in seen[5]} == {RegionKind.FACE, RegionKind.TATTOO}
    assert {r.kind for r in seen[20]} == {RegionKind.FACE, RegionKind.TATTOO, RegionKind.MANUAL}


@pytest.mark.parametrize("mode", list(RedactMode))
def test_keep_box_is_never_touched(mode: RedactMode, tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 255, size=(240, 320, 3), dtype=np.uint8)
    src = tmp_path / "lesion.png"
    Image.fromarray(pixels).save(src)
    keep = Box(120, 80, 40, 40)  # inside the face box
    seen: list[Sequence[Region]] = []
    result = anonymise(
        src,
        tmp_path / "out.png",
        EngineSettings(tattoos=False, keep=(keep,), mode=mode),
        on_frame_regions=lambda i, r: seen.append(r),
        components=components(faces=lambda i: [FACE, Box(125, 85, 20, 20)]),
    )
    out = np.asarray(Image.open(tmp_path / "out.png"))
    x1, y1, x2, y2 = keep.int_corners()
    assert np.array_equal(out[y1:y2, x1:x2], pixels[y1:y2, x1:x2])
    assert np.abs(out[60:80, 100:180].astype(int) - pixels[60:80, 100:180]).mean() > 20
    assert any("overlaps a detected face" in w for w in result.warnings)
    # The region wholly inside the keep box was not redacted, so it is not reported.
    assert [r.box for r in seen[0]] == [FACE]


class _Boom(ScriptedDetector):
    def __init__(self, exc: BaseException) -> None:
        super().__init__(RegionKind.FACE, lambda i: [])
        self.exc = exc

    def process_frame(
        self, index: int, frame: np.ndarray, found: Sequence[Region] = ()
    ) -> list[Region]:
        if index == 10:
            raise self.exc
        return []


@pytest.mark.parametrize("exc", [RuntimeError("model crashed"), KeyboardInterrupt()])
def test_failure_mid_clip_leaves_nothing(
    exc: BaseException, make_clip: Callable[..., Path], tmp_path: Path
) -> None:
    clip = make_clip("a.mp4", seconds=2)
    made: list[_Boom] = []

    def factory(settings: EngineSettings, lookahead: int) -> _Boom:
        made.append(_Boom(exc))
        return made[-1]

    comps = EngineComponents(factory, factory, lambda _: DelayTracker(), StaticManual)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    before = _children()
    expected = MediaError if isinstance(exc, Exception) else KeyboardInterrupt
    with pytest.raises(expected) as info:
        anonymise(clip, out_dir / "x.mp4", EngineSettings(keep_audio=True), components=comps)
    if expected is MediaError:
        assert "frame 10" in str(info.value)
    assert list(out_dir.iterdir()) == []
    assert _children() <= before  # every ffmpeg was killed and reaped
    assert made and all(d.closed for d in made)


def test_a_missing_detector_module_is_an_error(
    make_clip: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "consentclip.detect.faces", None)
    clip = make_clip("a.mp4", audio=False)
    with pytest.raises(MediaError, match="face detection is not available"):
        anonymise(clip, tmp_path / "o.mp4", EngineSettings(tattoos=False))
    assert not (tmp_path / "o.mp4").exists()
    assert default_components().face_detector is not None


def test_queues_are_bounded_by_bytes_not_frames() -> None:
    four_k = 3840 * 2160 * 3
    assert queue_slots(four_k, 96 << 20) == 4
    assert queue_slots(640 * 360 * 3, 96 << 20) == 16
    assert queue_slots(four_k, 40 << 20) == 1
    assert queue_slots(8000 * 8000 * 3, 96 << 20) == 1


def test_preview_band_and_detections_are_drawn(
    make_clip: Callable[..., Path], tmp_path: Path
) -> None:
    clip = make_clip("a.mp4", seconds=0.4, audio=False)
    out = tmp_path / "p.mp4"
    settings = EngineSettings(tattoos=False, preview=True, show_detections=True)
    anonymise(clip, out, settings, components=components(faces=_moving))
    with FrameReader(probe_video(out)) as reader:
        frame = next(iter(reader))[1]
    top = frame[:10].reshape(-1, 3).mean(axis=0)
    assert top[2] > 150 and top[0] < 80  # the red PREVIEW band (BGR)
    x1, y1, _, _ = FACE.int_corners()
    edge = frame[y1 + 20 : y1 + 60, x1 : x1 + 2].astype(int)
    assert (edge[..., 2] - edge[..., 1]).mean() > 100  # the red face outline


def test_large_frames_wait_compactly_and_cap_x264(
    make_clip: Callable[..., Path], tmp_path: Path
) -> None:
    """Above 2.5 MP, waiting frames are held as 4:2:0 and x264's frame pool is capped; the
    output must be the same picture, redacted in the same place."""
    from consentclip.media.encode import LARGE_FRAME_X264, EncodeSpec, encoder_argv

    big = EncodeSpec(2880, 1620, fps=Fraction(25))
    assert LARGE_FRAME_X264 in encoder_argv(big, tmp_path / "x.mp4")
    small = EncodeSpec(1920, 1080, fps=Fraction(25))
    assert "-x264-params" not in encoder_argv(small, tmp_path / "x.mp4")

    clip = make_clip("big.mp4", seconds=0.2, size="2880x1620", audio=False)
    out = tmp_path / "big_out.mp4"
    face = Box(200, 600, 2400, 400)  # across several colour bars
    anonymise(clip, out, EngineSettings(tattoos=False, preset="ultrafast"),
              components=components(faces=lambda i: [face]))  # fmt: skip
    x1, y1, x2, y2 = face.int_corners()
    with FrameReader(probe_video(clip)) as a, FrameReader(probe_video(out)) as b:
        (_, src), (_, dst) = next(iter(a)), next(iter(b))
    detail = lambda img: cv2.Laplacian(img, cv2.CV_64F).var()  # noqa: E731
    assert detail(dst[y1:y2, x1:x2]) < detail(src[y1:y2, x1:x2]) / 10
    outside = np.abs(src[:400].astype(int) - dst[:400].astype(int)).mean()
    assert outside < 6


@pytest.mark.parametrize(
    ("size", "expected"), [((1920, 1080), LOOKAHEAD), ((3840, 2160), LOOKAHEAD_LARGE_FRAMES)]
)
def test_trackers_get_the_lookahead_for_the_frame_size(
    size: tuple[int, int], expected: int, tmp_path: Path
) -> None:
    """Up to 1080p frames wait longer for their regions (a face found late is covered from
    further back); 4K frames wait less, to bound memory."""
    asked: list[int] = []

    def tracker(lookahead: int) -> DelayTracker:
        asked.append(lookahead)
        return DelayTracker(lookahead)

    base = components(faces=lambda i: [FACE])
    comps = EngineComponents(base.face_detector, base.tattoo_detector, tracker, StaticManual)
    photo = tmp_path / "p.png"
    cv2.imwrite(str(photo), np.full((size[1], size[0], 3), 128, np.uint8))
    anonymise(photo, tmp_path / "o.png", EngineSettings(), components=comps)
    assert asked == [expected, expected]  # faces and tattoos
    assert LOOKAHEAD > LOOKAHEAD_LARGE_FRAMES >= 12


def test_engine_cadence_leaves_no_frame_of_the_sample_clip_uncovered(tmp_path: Path) -> None:
    """The engine runs the detector every ENGINE_EVERY frames; the tracker must cover the red
    heart of sample_media's arm in every frame all the same, before the first run included."""
    seen: dict[int, list[Region]] = {}
    anonymise(
        SAMPLE_MEDIA / "arm_tattoo_mole.mp4",
        tmp_path / "out.mp4",
        EngineSettings(faces=False, text=False, preset="ultrafast"),
        on_frame_regions=lambda i, r: seen.__setitem__(i, list(r)),
    )
    assert ENGINE_EVERY > 1 and len(seen) == 100
    heart = (323, 180)
    missed = [
        i
        for i, regions in seen.items()
        if not any(
            r.kind is RegionKind.TATTOO
            and r.box.x <= heart[0] <= r.box.x2
            and r.box.y <= heart[1] <= r.box.y2
            for r in regions
        )
    ]
    assert missed == []
