"""Issue 14.3: every image, page and video frame is measured from its header before decoding.

The bombs are made on the fly and are tiny: a PNG whose header claims 30000x30000 pixels, a PDF
page the size of a field, a Y4M clip header claiming 12000x12000 frames. Before, the PNG grew to
24 GB and was killed by the kernel; now each is one line and exit 1, with nothing decoded.
"""

from __future__ import annotations

import resource
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consentclip.cli import app
from consentclip.errors import MediaError, TooLargeError
from consentclip.home import Home
from consentclip.image_budget import MAX_IMAGE_PIXELS, check_image_budget
from consentclip.media.photo import load_photo
from consentclip.media.probe import probe_video


def png_bomb(path: Path, width: int, height: int) -> Path:
    """A valid PNG header and a few bytes of (zero) pixel data: the decoder would allocate for
    the header's size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 4096, 9)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )
    return path


def patched_bomb(path: Path, fmt: str, side: int) -> Path:
    """A real small JPEG or HEIC whose header then claims ``side`` x ``side`` pixels (the
    JPEG's SOF0 frame header, the HEIC's ``ispe`` property): what a hostile file looks like."""
    import io

    import numpy as np
    from PIL import Image

    if fmt == "HEIF":
        from pillow_heif import register_heif_opener

        register_heif_opener()
    buf = io.BytesIO()
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(buf, format=fmt)
    data = bytearray(buf.getvalue())
    if fmt == "JPEG":
        at = data.find(b"\xff\xc0") + 5  # marker, length (2), precision (1): then height, width
        data[at : at + 4] = struct.pack(">HH", side, side)
    else:
        at = data.find(b"ispe") + 8  # box type, version/flags (4): then width, height
        data[at : at + 8] = struct.pack(">II", side, side)
    path.write_bytes(bytes(data))
    return path


def pdf_bomb(path: Path, points: int = 14400) -> Path:
    """One page of points x points (14400 pt is the largest page PDF allows: 5 m a side)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] >>" % (points, points),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    path.write_bytes(bytes(out))
    return path


def y4m_bomb(path: Path, side: int = 12000) -> Path:
    path.write_bytes(
        f"YUV4MPEG2 W{side} H{side} F25:1 Ip A1:1 C420jpeg\nFRAME\n".encode() + bytes(1000)
    )
    return path


def one_line(result, code: int, *needles: str) -> None:
    assert result.exit_code == code, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture
def draft(make_consent: Callable[..., str]) -> str:
    return make_consent("teaching", signed=False)


@pytest.mark.parametrize("side", [30000, 12000])  # past Pillow's own guard, and below it
def test_a_png_bomb_scan_is_refused_before_decoding(
    draft: str, tmp_path: Path, runner: CliRunner, side: int
) -> None:
    bomb = png_bomb(tmp_path / "scan.png", side, side)
    assert bomb.stat().st_size < 10_000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = runner.invoke(app, ["consent", "sign", draft, "--scan", str(bomb)])
    one_line(
        result, 1, "scan.png is", "MP; the limit is 110 MP" if side == 30000 else f"{side}x{side}"
    )
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 200  # nothing was decoded (a decode would need gigabytes)


@pytest.mark.parametrize(("fmt", "suffix"), [("JPEG", ".jpg"), ("HEIF", ".heic")])
@pytest.mark.parametrize("side", [30000, 12000])
def test_jpeg_and_heic_bombs_are_refused_from_the_header(
    tmp_path: Path, fmt: str, suffix: str, side: int
) -> None:
    bomb = patched_bomb(tmp_path / f"scan{suffix}", fmt, side)
    with pytest.raises(TooLargeError, match=f"scan{suffix} is "):
        check_image_budget(bomb)


def test_a_heic_scan_bomb_is_one_line(draft: str, tmp_path: Path, runner: CliRunner) -> None:
    bomb = patched_bomb(tmp_path / "phone.heic", "HEIF", 30000)
    result = runner.invoke(app, ["consent", "sign", draft, "--scan", str(bomb)])
    one_line(result, 1, "phone.heic is 900 MP")


def test_a_pdf_with_a_huge_page_is_refused(draft: str, tmp_path: Path, runner: CliRunner) -> None:
    bomb = pdf_bomb(tmp_path / "scan.pdf")
    assert bomb.stat().st_size < 1000
    result = runner.invoke(app, ["consent", "sign", draft, "--scan", str(bomb)])
    one_line(result, 1, "scan.pdf page 1 at 200 dpi", "40000x40000")


def test_an_ordinary_pdf_page_passes(tmp_path: Path) -> None:
    check_image_budget(pdf_bomb(tmp_path / "a4ish.pdf", points=842))


def test_an_empty_scan_is_one_line(draft: str, tmp_path: Path, runner: CliRunner) -> None:
    empty = tmp_path / "scan.png"
    empty.write_bytes(b"")
    result = runner.invoke(app, ["consent", "sign", draft, "--scan", str(empty)])
    one_line(result, 1, "scan.png is empty")


def test_a_signature_image_bomb_is_one_line(draft: str, tmp_path: Path, runner: CliRunner) -> None:
    bomb = png_bomb(tmp_path / "sig.png", 30000, 30000)
    argv = ["consent", "sign", draft, "--signature-image", str(bomb), "--signed-by", "x"]
    result = runner.invoke(app, argv)
    assert result.exit_code in (1, 2) and "Traceback" not in result.output, result.output
    assert len([ln for ln in result.output.splitlines() if ln.strip()]) == 1


def test_a_photo_bomb_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TooLargeError, match="12000x12000"):
        load_photo(png_bomb(tmp_path / "photo.png", 12000, 12000))
    with pytest.raises(TooLargeError):
        load_photo(png_bomb(tmp_path / "photo2.png", 30000, 30000))


def test_a_photo_bomb_export_is_one_line(
    registry_home: Home, make_consent: Callable[..., str], tmp_path: Path, runner: CliRunner
) -> None:
    bomb = png_bomb(tmp_path / "photo.png", 12000, 12000)
    cid = make_consent("teaching")
    # Linking already opens the photo (to tell a photo from a video), so the bomb is refused
    # there, from its header, in one line.
    one_line(runner.invoke(app, ["link", str(bomb), "--consent", cid]), 1, "12000x12000")
    out = tmp_path / "out"
    result = runner.invoke(app, ["export", str(bomb), "-p", "teaching", "-o", str(out), "-q"])
    assert result.exit_code != 0
    assert not out.exists() or not any(out.iterdir())


def test_a_video_with_huge_frames_is_refused(
    registry_home: Home, make_consent: Callable[..., str], tmp_path: Path, runner: CliRunner
) -> None:
    bomb = y4m_bomb(tmp_path / "clip.y4m")
    with pytest.raises(TooLargeError, match="12000x12000"):
        probe_video(bomb)
    cid = make_consent("teaching")
    result = runner.invoke(app, ["link", str(bomb), "--consent", cid])
    one_line(result, 1, "12000x12000")


def test_budget_limits_are_sane() -> None:
    # A 108 MP phone photo passes; 4K and 8K video pass (probe_video's limit).
    from consentclip.image_budget import MAX_VIDEO_PIXELS

    assert MAX_IMAGE_PIXELS >= 12000 * 9000
    assert 7680 * 4320 <= MAX_VIDEO_PIXELS < 12000 * 12000


def test_unreadable_and_non_image_files(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    check_image_budget(text)  # not an image: its decoder will say so
    with pytest.raises(MediaError, match="cannot read"):
        check_image_budget(tmp_path / "missing.png")
