"""Pixel and memory budgets, checked from headers BEFORE anything is decoded.

A 875 KB PNG can claim 30000x30000 pixels (2.7 GB as RGB) and a 418-byte PDF a page the size of a
football pitch: decoding first and asking later lets the kernel, not consentclip, end the
command. Here only headers are read (Pillow's lazy open, PDFium's page sizes, ffprobe's frame
size), and anything over budget is refused with one line (TooLargeError, exit 1).

Top level (like ``hashing``): ``media/`` checks photos, video frames and scanned forms with it,
and the tests and benches call it on its own.
"""

from __future__ import annotations

import functools
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image, UnidentifiedImageError
from pillow_heif import register_heif_opener

from consentclip.errors import MediaError, TooLargeError

# A 108 MP phone photo (12000x9000) is the largest still a clinic is likely to take; decoding
# one peaks near 1.3 GB (RGB, the BGR copy, the redaction's working copies).
MAX_IMAGE_PIXELS = 110_000_000
# 8K UHD (7680x4320, 33 MP) and a little over: the engine holds a look-ahead of frames, so a
# video frame's budget is a third of a still's.
MAX_VIDEO_PIXELS = 36_000_000
# Bytes per pixel at the peak of processing one still (see above): for the refusal's message.
PEAK_BYTES_PER_PIXEL = 12
SCAN_DPI = 200  # what media/raster renders scanned PDF pages at


@dataclass(frozen=True)
class Size:
    width: int
    height: int

    @property
    def pixels(self) -> int:
        return self.width * self.height


def check_pixels(size: Size, *, what: str, limit: int = MAX_IMAGE_PIXELS) -> None:
    """TooLargeError when ``size`` is over ``limit`` pixels (or not a real size)."""
    if size.width <= 0 or size.height <= 0:
        raise MediaError(f"{what} has no picture size (corrupt header?)")
    if size.pixels > limit:
        gib = size.pixels * PEAK_BYTES_PER_PIXEL / (1 << 30)
        raise TooLargeError(
            f"{what} is {size.width}x{size.height} pixels ({size.pixels / 1e6:.0f} MP, about "
            f"{gib:.1f} GB to process); the limit is {limit / 1e6:.0f} MP",
            hint="refused before decoding; scale it down or export a smaller copy",
        )


def too_large_for_pillow(name: str, exc: Exception, limit: int = MAX_IMAGE_PIXELS) -> TooLargeError:
    """Pillow's DecompressionBombError as our one-line refusal."""
    found = re.search(r"\((\d+) pixels\)", str(exc))
    size = f"{int(found.group(1)) / 1e6:.0f} MP" if found else "far over the limit"
    return TooLargeError(
        f"{name} is {size}; the limit is {limit / 1e6:.0f} MP",
        hint="refused before decoding; scale it down or export a smaller copy",
    )


def check_image_budget(path: Path, *, limit: int = MAX_IMAGE_PIXELS, dpi: int = SCAN_DPI) -> None:
    """Check an image or PDF file against the budget from its header alone.

    Every PDF page is measured at ``dpi`` (the size it would be rasterised to). A file that is
    neither passes through: its decoder will say what is wrong with it. An empty or unreadable
    file is a one-line MediaError.
    """
    path = Path(path)
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise MediaError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not head:
        raise MediaError(f"{path.name} is empty (0 bytes)")
    if head.startswith(b"%PDF-"):
        for number, size in enumerate(_pdf_page_sizes(path, dpi), start=1):
            check_pixels(size, what=f"{path.name} page {number} at {dpi} dpi", limit=limit)
        return
    size = _image_size(path)
    if size is not None:
        check_pixels(size, what=path.name, limit=limit)


def _pdf_page_sizes(path: Path, dpi: int) -> list[Size]:
    try:
        pdf = pdfium.PdfDocument(path)
    except pdfium.PdfiumError:
        return []  # not readable: the scan reader says so in its own words
    try:
        sizes = []
        for index in range(len(pdf)):
            width_pt, height_pt = pdf[index].get_size()  # points; nothing rendered
            sizes.append(Size(round(width_pt * dpi / 72), round(height_pt * dpi / 72)))
        return sizes
    finally:
        pdf.close()


@functools.cache
def register_heif() -> None:
    """Teach Pillow HEIC/HEIF (phone photos), once per process."""
    register_heif_opener()


def _image_size(path: Path) -> Size | None:
    """Width and height from the header (Pillow opens lazily; nothing is decoded)."""
    register_heif()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                return Size(*img.size)
    except Image.DecompressionBombError as exc:
        # Pillow's own guard (twice its warning size) fired first, from the header too: far
        # over our budget. Its message carries the pixel count; the size itself it keeps.
        raise too_large_for_pillow(path.name, exc) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None
