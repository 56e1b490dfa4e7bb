"""Bad inputs get one-line MediaErrors; good ones are recognised by content, not by name."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from consentclip.errors import MediaError
from consentclip.media.probe import probe_video
from consentclip.media.sniff import MediaKind, sniff
from consentclip.pipeline import anonymise
from consentclip.settings import EngineSettings

NO_DETECTION = EngineSettings(faces=False, tattoos=False, text=False)


def _anonymise_fails(src: Path, tmp_path: Path) -> str:
    out = tmp_path / "out" / "result.mp4"
    out.parent.mkdir(exist_ok=True)
    with pytest.raises(MediaError) as info:
        anonymise(src, out, NO_DETECTION)
    assert not out.exists()
    assert list(out.parent.iterdir()) == [], "a temporary file was left behind"
    message = info.value.one_line()
    assert "\n" not in message
    return message


def test_missing_file(tmp_path: Path) -> None:
    assert "not found" in _anonymise_fails(tmp_path / "nope.mp4", tmp_path)


def test_zero_byte_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.touch()
    assert "empty" in _anonymise_fails(empty, tmp_path)


def test_non_media_file(tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("not a video at all, just a clinician's notes\n" * 50)
    assert "not a readable media file" in _anonymise_fails(text, tmp_path)
    assert sniff(text) is None


def test_audio_only_file(tmp_path: Path, ffmpeg_bin: str) -> None:
    audio = tmp_path / "voice.m4a"
    subprocess.run(
        [ffmpeg_bin, "-loglevel", "error", "-f", "lavfi", "-i", "sine=duration=1", str(audio)],
        check=True,
    )
    assert "audio-only" in _anonymise_fails(audio, tmp_path)
    assert sniff(audio) is None


def test_truncated_file(tmp_path: Path, make_clip: Callable[..., Path]) -> None:
    clip = make_clip("whole.mp4", seconds=2, audio=False)
    data = clip.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    _anonymise_fails(cut, tmp_path)


def test_truncated_mid_stream_with_index_at_front(
    tmp_path: Path, make_clip: Callable[..., Path]
) -> None:
    """moov at the front (faststart) and half the frames gone: decodes partly, must still fail."""
    clip = make_clip("fs.mp4", seconds=4, audio=False, extra=("-movflags", "+faststart"))
    data = clip.read_bytes()
    cut = tmp_path / "cut_fs.mp4"
    cut.write_bytes(data[: len(data) // 2])
    assert "truncated" in _anonymise_fails(cut, tmp_path)


@pytest.mark.parametrize("name", ["-ver.mp4", "--output.mp4"])
def test_option_like_names_are_files(
    name: str, tmp_path: Path, make_clip: Callable[..., Path]
) -> None:
    src = tmp_path / name
    shutil.move(make_clip("x.mp4", audio=False), src)
    out = tmp_path / f"-{name}"
    result = anonymise(src, out, NO_DETECTION)
    assert out.is_file() and result.frames == 25
    assert probe_video(src).width == 320  # and the input is untouched


def test_sniff_by_content_not_name(tmp_path: Path, make_clip: Callable[..., Path]) -> None:
    clip = make_clip("a.mp4", audio=False)
    disguised = tmp_path / "scan.txt"
    shutil.copy(clip, disguised)
    assert sniff(disguised) is MediaKind.VIDEO
    photo = Path(__file__).resolve().parents[2] / "sample_media" / "lesion_photo.jpg"
    assert sniff(photo) is MediaKind.PHOTO


def test_wrong_output_suffix_for_video(tmp_path: Path, make_clip: Callable[..., Path]) -> None:
    clip = make_clip("a.mp4", audio=False)
    with pytest.raises(MediaError, match=r"\.mp4"):
        anonymise(clip, tmp_path / "out.mkv", NO_DETECTION)


def test_input_is_never_modified(tmp_path: Path, make_clip: Callable[..., Path]) -> None:
    clip = make_clip("a.mp4")
    before = clip.read_bytes()
    anonymise(clip, tmp_path / "b.mp4", NO_DETECTION)
    assert clip.read_bytes() == before
