"""Pages as grey pixels: scanned or photographed forms (PDF, PNG, JPEG, TIFF, HEIC), and signature
images re-encoded to plain PNG. The consent side hands paths and bytes in and gets pixels or
clean bytes back; it never decodes an image itself (docs/architecture.md).

Every file is checked against the pixel budget from its header before anything is decoded
(``image_budget``).
"""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pypdfium2 as pdfium
from PIL import Image, ImageOps, UnidentifiedImageError

from consentclip.errors import UsageError
from consentclip.image_budget import SCAN_DPI, check_image_budget, register_heif

MAX_PAGES = 4  # the QR code is on page 1; a stapled multi-page scan may put it later
MAX_SIGNATURE_PIXELS = 4000 * 4000


def is_pdf(data: bytes) -> bool:
    return data[:5] == b"%PDF-"


def gray_pages(path: Path, max_pages: int = MAX_PAGES, dpi: int = SCAN_DPI) -> list[np.ndarray]:
    """The first ``max_pages`` pages of a PDF rendered at ``dpi``, or the one page of an image,
    each as an HxW uint8 grey array (EXIF orientation applied to photos)."""
    check_image_budget(path)  # pixel budget and empty file, from headers, before decoding
    data = path.read_bytes()
    if is_pdf(data):
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            raise UsageError(f"{path.name} is not a readable PDF: {exc}") from None
        try:
            return [_render_gray(pdf, index, dpi / 72) for index in range(min(len(pdf), max_pages))]
        finally:
            pdf.close()
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
    if image is None:
        image = _decode_with_pillow(data, path.name)
    if image is None:
        raise UsageError(f"{path.name} is neither a PDF nor an image (PNG, JPEG, TIFF, HEIC)")
    return [image]


def render_pdf_gray(data: bytes, scale: float) -> list[np.ndarray]:
    """Every page of a PDF we made ourselves (a printed form), grey, at ``scale`` px per point."""
    pdf = pdfium.PdfDocument(data)
    try:
        return [_render_gray(pdf, index, scale) for index in range(len(pdf))]
    finally:
        pdf.close()


def _render_gray(pdf: pdfium.PdfDocument, index: int, scale: float) -> np.ndarray:
    return np.array(pdf[index].render(scale=scale, grayscale=True).to_pil().convert("L"))


def _decode_with_pillow(data: bytes, name: str) -> np.ndarray | None:
    """Phones photograph forms as HEIC, which OpenCV cannot read; Pillow with pillow-heif can.
    None when no reader knows the format; a damaged file of a known format says what broke."""
    register_heif()
    try:
        with Image.open(io.BytesIO(data)) as img:
            return np.array(ImageOps.exif_transpose(img).convert("L"))
    except (UnidentifiedImageError, Image.DecompressionBombError):
        return None
    except (OSError, ValueError, EOFError, RuntimeError) as exc:
        # pillow-heif reports a truncated HEIC as ValueError, Pillow a cut JPEG as OSError.
        why = " ".join(str(exc).split()) or type(exc).__name__
        raise UsageError(f"{name} is truncated or damaged: {why}") from None


def signature_png(path: Path) -> bytes:
    """Re-encode a signature image as a plain PNG: proves it is an image and drops its metadata."""
    try:
        with Image.open(path) as img:
            if img.width * img.height > MAX_SIGNATURE_PIXELS:
                raise UsageError(
                    f"signature image {path.name} is too large ({img.width}x{img.height})"
                )
            img.load()
            rgba = img.convert("RGBA")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise UsageError(
            f"signature image {path.name} is not an image (PNG or JPEG expected)"
        ) from None
    buf = io.BytesIO()
    rgba.save(buf, format="PNG")
    return buf.getvalue()
