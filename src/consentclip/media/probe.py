"""Reading what a media file is, with ffprobe. Every failure becomes a one-line MediaError."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from consentclip.errors import MediaError
from consentclip.image_budget import MAX_VIDEO_PIXELS, Size, check_pixels
from consentclip.media.ffmpeg import binary, safe_path

# Frame rates outside this range are container artefacts (1/0, 90000/1), not real rates.
_SANE_FPS = (Fraction(1, 1), Fraction(240, 1))
_DEFAULT_FPS = Fraction(25, 1)


@dataclass(frozen=True)
class VideoInfo:
    """The first video stream of a file, as the decoder will deliver it (upright)."""

    path: Path
    width: int  # after rotation: the size of the upright frames
    height: int
    rotation: int  # degrees the player would rotate; the decoder applies it
    fps: Fraction  # constant rate the decoder delivers (VFR input is resampled to it)
    duration: float | None
    codec: str
    pix_fmt: str
    has_audio: bool
    stream_index: int = 0  # absolute index: cover art may come before the real video stream

    @property
    def frames_estimate(self) -> int | None:
        if not self.duration:
            return None
        return max(1, round(self.duration * float(self.fps)))


def check_readable(path: Path) -> None:
    """Missing, unreadable and empty files get their own clear message before ffprobe runs."""
    if not path.exists():
        raise MediaError(f"file not found: {path}")
    if not path.is_file():
        raise MediaError(f"not a regular file: {path}")
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            fh.read(1)
    except OSError as exc:
        raise MediaError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if size == 0:
        raise MediaError(f"{path.name} is empty (0 bytes)")


def ffprobe_json(
    path: Path, sections: Sequence[str] = ("format", "streams", "chapters", "programs")
) -> dict[str, Any]:
    """ffprobe's JSON for ``path``; a file ffprobe cannot parse raises MediaError."""
    argv = [binary("ffprobe"), "-v", "error", "-of", "json"]
    argv += [f"-show_{s}" for s in sections]
    argv.append(safe_path(path))
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
    except subprocess.TimeoutExpired as exc:
        raise MediaError(f"ffprobe took too long on {path.name}") from exc
    if done.returncode != 0:
        why = last_line(done.stderr) or "unknown format"
        raise MediaError(f"{path.name} is not a readable media file: {why}")
    try:
        data: dict[str, Any] = json.loads(done.stdout or "{}")
    except json.JSONDecodeError as exc:
        raise MediaError(f"ffprobe gave unreadable output for {path.name}") from exc
    return data


def last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def _fraction(text: str | None) -> Fraction | None:
    if not text:
        return None
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        return None
    return value if _SANE_FPS[0] <= value <= _SANE_FPS[1] else None


def _output_rate(avg: Fraction | None, base: Fraction | None) -> Fraction:
    """The constant rate frames are delivered at. For variable frame rate the average is below
    the nominal rate (gaps, drops); the nominal rate keeps every real frame and repeats the last
    across a gap, as a player shows it. A nominal rate far above the average is a timebase
    artefact (90000/1, or 60 on a 30 fps clip), so then the average is used."""
    if (
        base is not None
        and avg is not None
        and avg * Fraction(99, 100) <= base <= avg * Fraction(3, 2)
    ):
        rate = base
    else:
        rate = avg or base or _DEFAULT_FPS
    return rate.limit_denominator(1001)


def _rotation(stream: dict[str, Any]) -> int:
    for side in stream.get("side_data_list") or ():
        if "rotation" in side:
            try:
                return round(float(side["rotation"]))
            except (TypeError, ValueError):
                return 0
    tag = (stream.get("tags") or {}).get("rotate")
    try:
        return int(tag) if tag is not None else 0
    except ValueError:
        return 0


def _float(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if f > 0 else None


# Codecs of stills that containers carry as "video" (cover art, thumbnails, MKV posters).
STILL_CODECS = frozenset({"png", "mjpeg", "bmp", "gif", "webp", "tiff"})


def video_streams(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Real video streams, the clip first: cover art (attached_pic) is never one, and a still
    image stream only counts when there is nothing else."""
    streams = [
        s
        for s in data.get("streams", [])
        if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")
    ]
    return sorted(streams, key=lambda s: s.get("codec_name") in STILL_CODECS)


def probe_video(path: Path) -> VideoInfo:
    check_readable(path)
    data = ffprobe_json(path, ("format", "streams"))
    videos = video_streams(data)
    if not videos:
        has_audio = any(s.get("codec_type") == "audio" for s in data.get("streams", []))
        what = "audio-only" if has_audio else "no video stream"
        raise MediaError(f"{path.name} has no video to anonymise ({what})")
    v = videos[0]
    width, height = int(v.get("width") or 0), int(v.get("height") or 0)
    if width <= 0 or height <= 0:
        raise MediaError(f"{path.name}: the video stream has no frame size (corrupt header?)")
    # Before a single frame is decoded: a 904 KB file can hold 12000x12000 frames.
    check_pixels(Size(width, height), what=f"{path.name} (video frames)", limit=MAX_VIDEO_PIXELS)
    rotation = _rotation(v)
    if abs(rotation) % 180 == 90:
        width, height = height, width
    fps = _output_rate(_fraction(v.get("avg_frame_rate")), _fraction(v.get("r_frame_rate")))
    duration = _float(v.get("duration")) or _float((data.get("format") or {}).get("duration"))
    return VideoInfo(
        path=path,
        width=width,
        height=height,
        rotation=rotation,
        fps=fps,
        duration=duration,
        codec=str(v.get("codec_name") or "unknown"),
        pix_fmt=str(v.get("pix_fmt") or "unknown"),
        has_audio=any(s.get("codec_type") == "audio" for s in data.get("streams", [])),
        stream_index=int(v.get("index") or 0),
    )
