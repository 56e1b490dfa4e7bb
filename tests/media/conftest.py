"""Fixtures for the media tests: a dirty clip carrying every channel of docs/domain.md §2."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

# Strings planted in the dirty fixture; none may survive anonymisation, in any form.
PLANTED = (
    "PatientJaneDoeTitle",
    "CommentSecret",
    "AcmePhoneMake",
    "ModelSecret9",
    "ChapterSecretName",
    "SubtitleSecretText",
    "+48.8577+002.2950",
    "2024-05-01",
    "10:11:12:13",
)


def run_ffmpeg(ffmpeg_bin: str, *args: str) -> None:
    subprocess.run([ffmpeg_bin, "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


@pytest.fixture
def dirty_mov(tmp_path: Path, ffmpeg_bin: str) -> Path:
    """A QuickTime clip with GPS (©xyz and the Apple key), make/model, title/comment,
    creation_time, a subtitle track, a chapter, a timecode track and audio."""
    meta = tmp_path / "meta.txt"
    meta.write_text(
        ";FFMETADATA1\ntitle=PatientJaneDoeTitle\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=500\n"
        "title=ChapterSecretName\n"
    )
    srt = tmp_path / "subs.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:01,000\nSubtitleSecretText\n")
    out = tmp_path / "dirty_patient_name.mov"
    run_ffmpeg(
        ffmpeg_bin,
        *("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=2"),
        *("-f", "lavfi", "-i", "sine=frequency=300:duration=2"),
        *("-i", str(srt), "-i", str(meta)),
        *("-map", "0:v", "-map", "1:a", "-map", "2:s", "-map_metadata", "3", "-map_chapters", "3"),
        *("-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-c:s", "mov_text"),
        *("-metadata", "comment=CommentSecret", "-metadata", "location=+48.8577+002.2950/"),
        *("-metadata", "make=AcmePhoneMake", "-metadata", "model=ModelSecret9"),
        *("-metadata", "creation_time=2024-05-01T10:00:00Z"),
        *("-metadata", "com.apple.quicktime.location.ISO6709=+48.8577+002.2950+035.000/"),
        *("-movflags", "use_metadata_tags", "-timecode", "10:11:12:13"),
        str(out),
    )
    return out


@pytest.fixture
def covered_rotated_mp4(tmp_path: Path, ffmpeg_bin: str) -> Path:
    """An MP4 with cover art (attached picture) and a 90° display matrix, like a phone clip."""
    cover = tmp_path / "cover.png"
    run_ffmpeg(ffmpeg_bin, "-f", "lavfi", "-i", "testsrc2=size=64x64", "-frames:v", "1", str(cover))
    plain = tmp_path / "plain.mp4"
    run_ffmpeg(
        ffmpeg_bin,
        *("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=1", "-i", str(cover)),
        *("-map", "0:v", "-map", "1:v", "-c:v:0", "libx264", "-pix_fmt", "yuv420p"),
        *("-c:v:1", "png", "-disposition:v:1", "attached_pic"),
        *("-metadata", "title=CoverTitleSecret"),
        str(plain),
    )
    out = tmp_path / "rotated.mp4"
    run_ffmpeg(ffmpeg_bin, "-i", str(plain), "-map", "0", "-c", "copy",
               "-metadata:s:v:0", "rotate=90", str(out))  # fmt: skip
    return out
