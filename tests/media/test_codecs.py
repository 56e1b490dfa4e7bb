"""Every container and codec the issue names decodes upright and comes out as clean H.264 MP4."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from consentclip.media.decode import FrameReader
from consentclip.media.probe import ffprobe_json, probe_video
from consentclip.pipeline import anonymise
from consentclip.settings import EngineSettings

from .conftest import run_ffmpeg

NO_DETECTION = EngineSettings(faces=False, tattoos=False, text=False)

CASES = {
    "h264.mov": ("-c:v", "libx264", "-pix_fmt", "yuv420p"),
    "h264.m4v": ("-c:v", "libx264", "-pix_fmt", "yuv420p", "-f", "mp4"),
    "vp9.webm": ("-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8",
                 "-c:a", "libopus"),
    "vp9.mkv": ("-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8"),
    "mpeg4.avi": ("-c:v", "mpeg4", "-c:a", "mp3"),
    "hevc8.mp4": ("-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                  "-x265-params", "log-level=none"),
    "hevc10.mkv": ("-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt", "yuv420p10le",
                   "-x265-params", "log-level=none"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
def test_container_and_codec(name: str, make_clip: Callable[..., Path], tmp_path: Path) -> None:
    codec_args = CASES[name]
    # make_clip adds -pix_fmt yuv420p before extra; the codec's own -pix_fmt comes later and wins.
    src = make_clip(name, seconds=1, size="160x120", audio=True, extra=codec_args)
    out = tmp_path / "out.mp4"
    result = anonymise(
        src, out, EngineSettings(faces=False, tattoos=False, text=False, keep_audio=True)
    )
    streams = ffprobe_json(out)["streams"]
    video = next(s for s in streams if s["codec_type"] == "video")
    assert (video["codec_name"], video["pix_fmt"]) == ("h264", "yuv420p")
    assert (video["width"], video["height"]) == (160, 120)
    # Containers round their durations differently (AVI+MP3): one frame either way is fine.
    assert abs(result.frames - 25) <= 1 and result.audio_kept
    assert abs(float(ffprobe_json(out)["format"]["duration"]) - 1.0) < 0.1


def test_odd_frame_size_is_padded_not_cropped(
    make_clip: Callable[..., Path], tmp_path: Path
) -> None:
    # yuv420p cannot hold an odd size, so the fixture is lossless RGB in Matroska.
    extra = ("-vf", "scale=161:121", "-c:v", "ffv1", "-pix_fmt", "bgr0")
    src = make_clip("odd.mkv", size="161x121", audio=False, extra=extra)
    assert (probe_video(src).width, probe_video(src).height) == (161, 121)
    out = tmp_path / "odd.mp4"
    result = anonymise(src, out, NO_DETECTION)
    assert (result.width, result.height) == (162, 122)
    with FrameReader(probe_video(out)) as reader:
        frame = next(iter(reader))[1]
    with FrameReader(probe_video(src)) as reader:
        original = next(iter(reader))[1]
    # The whole picture is there, unshifted: padding added a row and a column, cropped nothing.
    diff = np.abs(frame[:121, :161].astype(int) - original.astype(int)).mean()
    assert diff < 8


def _luma_ramp_vfr(ffmpeg_bin: str, tmp_path: Path) -> tuple[Path, list[float]]:
    """A VFR clip whose brightness encodes time (luma 16+60*t), frames 10-19 missing (a gap),
    with audio for the whole 3 s. Returns the clip and its video frame times."""
    src = tmp_path / "vfr.mp4"
    run_ffmpeg(
        ffmpeg_bin,
        *("-f", "lavfi", "-i", "color=c=black:s=64x64:r=25:d=3"),
        *("-f", "lavfi", "-i", "sine=frequency=500:duration=3"),
        *("-vf", "geq=lum='16+60*T':cb=128:cr=128,select='not(between(n,10,19))'"),
        *("-fps_mode", "vfr", "-c:v", "libx264", "-qp", "0", "-pix_fmt", "yuv420p"),
        *("-c:a", "aac", str(src)),
    )
    times = [n / 25 for n in range(75) if not 10 <= n <= 19]
    return src, times


def test_variable_frame_rate_keeps_sync_and_duration(ffmpeg_bin: str, tmp_path: Path) -> None:
    src, times = _luma_ramp_vfr(ffmpeg_bin, tmp_path)
    src_video = next(s for s in ffprobe_json(src)["streams"] if s["codec_type"] == "video")
    assert int(src_video["nb_frames"]) == 65  # really VFR: ten frames are missing
    out = tmp_path / "out.mp4"
    result = anonymise(
        src, out, EngineSettings(faces=False, tattoos=False, text=False, keep_audio=True)
    )
    fps = result.fps
    assert fps is not None
    probe = ffprobe_json(out)
    assert abs(float(probe["format"]["duration"]) - 3.0) < 0.1
    starts = [float(s.get("start_time", 0)) for s in probe["streams"]]
    assert max(starts) - min(starts) <= 1 / fps  # audio and video start together
    with FrameReader(probe_video(out)) as reader:
        for index, frame in reader:
            t = index / fps
            shown = max((s for s in times if s <= t + 1e-6), default=0.0)
            # Within one frame of what a player shows at t (the last source frame before t).
            slope = 60 * 255 / 219  # limited-range luma to full-range RGB
            assert abs(float(frame[32, 32].mean()) - slope * shown) <= slope / fps + 4, (index, t)


def test_a_still_stored_first_is_not_taken_for_the_video(ffmpeg_bin: str, tmp_path: Path) -> None:
    cover = tmp_path / "cover.png"
    run_ffmpeg(ffmpeg_bin, "-f", "lavfi", "-i", "testsrc2=size=64x64", "-frames:v", "1", str(cover))
    src = tmp_path / "poster_first.mkv"
    run_ffmpeg(
        ffmpeg_bin,
        *("-i", str(cover), "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=1"),
        *("-map", "0:v", "-map", "1:v", "-c:v:0", "png", "-c:v:1", "libx264"),
        *("-pix_fmt:v:1", "yuv420p", str(src)),
    )
    assert ffprobe_json(src)["streams"][0]["codec_name"] == "png"
    result = anonymise(src, tmp_path / "out.mp4", NO_DETECTION)
    assert (result.width, result.height, result.frames) == (320, 240, 25)
