"""mat2-style round trips: dirty fixture -> anonymise -> re-probe -> every field is allowlisted,
and no planted string or encoder fingerprint is anywhere in the bytes."""

from __future__ import annotations

from pathlib import Path

import pytest

from consentclip.errors import VerificationError
from consentclip.media import encode
from consentclip.media.metadata import FINGERPRINTS, MP4_ALLOWLIST, verify_video
from consentclip.media.probe import ffprobe_json
from consentclip.pipeline import anonymise
from consentclip.settings import EngineSettings

from .conftest import PLANTED

NO_DETECTION = EngineSettings(faces=False, tattoos=False, text=False)


def _assert_allowlisted(path: Path, *, audio: bool) -> None:
    data = ffprobe_json(path)
    for key, value in (data["format"].get("tags") or {}).items():
        allowed = MP4_ALLOWLIST.format_tags[key]  # KeyError = a field not on the allowlist
        assert allowed is None or value in allowed, (key, value)
    kinds = sorted(s["codec_type"] for s in data["streams"])
    assert kinds == (["audio", "video"] if audio else ["video"])
    for stream in data["streams"]:
        for key, value in (stream.get("tags") or {}).items():
            allowed = MP4_ALLOWLIST.stream_tags[key]
            assert allowed is None or value in allowed, (key, value)
        assert not stream.get("side_data_list"), stream.get("side_data_list")
        assert not stream["disposition"].get("attached_pic")
    assert data["chapters"] == [] and data["programs"] == []


def _assert_no_bytes(path: Path, needles: tuple[str, ...]) -> None:
    blob = path.read_bytes()
    for needle in (*needles, *(f.decode() for f in FINGERPRINTS)):
        assert needle.encode() not in blob, needle


def test_dirty_fixture_really_is_dirty(dirty_mov: Path) -> None:
    """The fixture carries what the test claims it carries (so the round trip can fail)."""
    data = ffprobe_json(dirty_mov)
    tags = data["format"]["tags"]
    assert {"title", "comment", "make", "model", "location", "creation_time"} <= set(tags)
    assert "com.apple.quicktime.location.ISO6709" in tags
    assert {s["codec_type"] for s in data["streams"]} >= {"video", "audio", "subtitle", "data"}
    assert data["chapters"]
    report = verify_video(dirty_mov, expect_audio=True)
    assert not report.ok
    text = " ".join(report.problems)
    for what in ("title", "chapters", "subtitle", "Lavf"):
        assert what in text


@pytest.mark.parametrize("keep_audio", [False, True])
def test_round_trip_clean(dirty_mov: Path, tmp_path: Path, keep_audio: bool) -> None:
    out = tmp_path / "anon.mp4"
    settings = EngineSettings(faces=False, tattoos=False, text=False, keep_audio=keep_audio)
    result = anonymise(dirty_mov, out, settings)
    assert result.verification.ok and result.audio_kept is keep_audio
    _assert_allowlisted(out, audio=keep_audio)
    _assert_no_bytes(out, (*PLANTED, "dirty_patient_name", "Handler", "Core Media"))


def test_cover_art_and_rotation_are_dropped(covered_rotated_mp4: Path, tmp_path: Path) -> None:
    src = ffprobe_json(covered_rotated_mp4)
    assert any(s["disposition"].get("attached_pic") for s in src["streams"])
    assert src["streams"][0]["side_data_list"][0]["rotation"] in (90, -90)
    out = tmp_path / "anon.mp4"
    result = anonymise(covered_rotated_mp4, out, NO_DETECTION)
    # Upright frames, written with no rotation: the stored size is the displayed size.
    assert (result.width, result.height) == (240, 320)
    streams = ffprobe_json(out)["streams"]
    assert len(streams) == 1 and (streams[0]["width"], streams[0]["height"]) == (240, 320)
    _assert_allowlisted(out, audio=False)
    _assert_no_bytes(out, ("CoverTitleSecret",))


def test_phone_sample_is_cleaned(tmp_path: Path) -> None:
    phone = Path(__file__).resolve().parents[2] / "sample_media" / "phone_clip.mov"
    out = tmp_path / "clip.mp4"
    anonymise(phone, out, EngineSettings(faces=False, tattoos=False, text=False, keep_audio=True))
    _assert_allowlisted(out, audio=True)
    _assert_no_bytes(out, ("Jane Doe", "ISO6709", "Apple", "iPhone"))


def test_verification_failure_removes_output(
    dirty_mov: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Open one channel on purpose (chapters copied from the audio source): the verifier must
    catch it, and nothing may be left behind."""
    leaky = dict(encode.CLEAN_OUTPUT_OPTIONS)
    del leaky["map_chapters"]
    monkeypatch.setattr(encode, "CLEAN_OUTPUT_OPTIONS", leaky)
    out = tmp_path / "out" / "anon.mp4"
    out.parent.mkdir()
    settings = EngineSettings(faces=False, tattoos=False, text=False, keep_audio=True)
    with pytest.raises(VerificationError, match="chapters"):
        anonymise(dirty_mov, out, settings)
    assert list(out.parent.iterdir()) == []
