"""Photos: orientation applied, pixels alone re-encoded, every metadata block gone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from consentclip.errors import MediaError
from consentclip.media.metadata import verify_photo
from consentclip.pipeline import anonymise
from consentclip.settings import EngineSettings

NO_DETECTION = EngineSettings(faces=False, tattoos=False, text=False)
SAMPLE = Path(__file__).resolve().parents[2] / "sample_media" / "lesion_photo.jpg"


def _exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "AcmeCameraMake"  # Make
    exif[0x0110] = "SecretModel77"  # Model
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    exif[0x010E] = "Patient Jane Doe forearm"  # ImageDescription
    return exif


def _picture() -> Image.Image:
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 255, size=(60, 80, 3), dtype=np.uint8)
    pixels[:10, :, :] = (255, 0, 0)  # a red band on top of the stored picture
    return Image.fromarray(pixels)


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_sample_photo(suffix: str, tmp_path: Path) -> None:
    with Image.open(SAMPLE) as src:
        assert src.getexif()  # the sample is dirty on purpose
        stored = src.size
    out = tmp_path / f"anon{suffix}"
    result = anonymise(SAMPLE, out, NO_DETECTION)
    assert result.media_kind == "photo" and result.verification.ok
    with Image.open(out) as img:
        assert img.size == (stored[1], stored[0])  # EXIF orientation 6 applied
        assert not img.getexif() and "icc_profile" not in img.info and "exif" not in img.info
    blob = out.read_bytes()
    for planted in (b"Apple", b"iPhone", b"DXC-PATIENT-0042", b"2026:03:14", b"Exif"):
        assert planted not in blob


@pytest.mark.parametrize("fmt,suffix", [("HEIF", ".heic"), ("WEBP", ".webp"), ("TIFF", ".tif")])
def test_photo_formats_with_exif(fmt: str, suffix: str, tmp_path: Path) -> None:
    from pillow_heif import register_heif_opener

    register_heif_opener()
    src = tmp_path / f"photo{suffix}"
    _picture().save(src, format=fmt, exif=_exif().tobytes())
    out = tmp_path / "anon.png"
    result = anonymise(src, out, NO_DETECTION)
    assert (result.width, result.height) == (60, 80)  # rotated upright
    with Image.open(out) as img:
        assert img.size == (60, 80) and not img.getexif()
        # Orientation 6 turns the stored top (red band) to the right-hand side.
        right = np.asarray(img)[:, -5:, :].mean(axis=(0, 1))
        assert right[0] > 200 and right[1] < 60
    blob = out.read_bytes()
    for planted in (b"AcmeCameraMake", b"SecretModel77", b"Jane Doe"):
        assert planted not in blob


def test_png_text_chunks_are_dropped(tmp_path: Path) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Dr Who treating Jane Doe")
    info.add_itxt("Comment", "ward 7 bed 3, patient Jane Doe")
    src = tmp_path / "dirty.png"
    _picture().save(src, pnginfo=info)
    out = tmp_path / "clean.png"
    anonymise(src, out, NO_DETECTION)
    assert b"Jane Doe" not in out.read_bytes()
    assert verify_photo(out).ok
    assert not verify_photo(src).ok  # the verifier does see text chunks


def test_corrupt_photo_fails_closed(tmp_path: Path) -> None:
    data = SAMPLE.read_bytes()
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(data[: len(data) // 3])
    out = tmp_path / "out" / "x.png"
    out.parent.mkdir()
    with pytest.raises(MediaError):
        anonymise(bad, out, NO_DETECTION)
    assert list(out.parent.iterdir()) == []


def test_photo_needs_a_photo_suffix(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match=r"\.png or \.jpg"):
        anonymise(SAMPLE, tmp_path / "x.mp4", NO_DETECTION)
