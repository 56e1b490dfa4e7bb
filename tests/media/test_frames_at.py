"""media/decode.frames_at: a few frames of a clip, numbered as the engine numbers them (the QA
sheet's samples, the review page's thumbnails), without converting the frames in between."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from consentclip.media.decode import FrameReader, frames_at
from consentclip.media.probe import probe_video


def test_frames_at_gives_the_engines_frames_at_those_numbers(
    make_clip: Callable[..., Path],
) -> None:
    info = probe_video(make_clip("a.mp4", seconds=1.2, size="160x120", rate=10, audio=False))
    with FrameReader(info) as reader:
        every = dict(reader)
    assert len(every) == 12
    picked = frames_at(info, [7, 0, 11, 7])
    assert [i for i, _ in picked] == [0, 7, 11]  # sorted, each once
    for index, frame in picked:
        assert np.array_equal(frame, every[index])


def test_frames_at_past_the_end_gives_what_there_is(make_clip: Callable[..., Path]) -> None:
    info = probe_video(make_clip("b.mp4", seconds=0.5, size="160x120", rate=10, audio=False))
    assert [i for i, _ in frames_at(info, [2, 40])] == [2]
    assert frames_at(info, []) == []


def test_a_reader_limited_to_some_frames_yields_only_those(make_clip: Callable[..., Path]) -> None:
    info = probe_video(make_clip("c.mp4", seconds=1.0, size="161x121", rate=10, audio=False))
    with FrameReader(info, only={1, 5, 9}) as reader:  # odd size: the BGR path
        assert [i for i, _ in reader] == [1, 5, 9]
