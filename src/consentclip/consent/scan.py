"""Reading the consent id back from a scanned, wet-ink-signed form (PDF or image).

A PDF is rasterised with PDFium (pypdfium2); an image is decoded by OpenCV; the QR code is found
with OpenCV's ``QRCodeDetector``. Only codes in consentclip's namespace count.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pypdfium2 as pdfium

from consentclip.consent.ids import parse_qr_payload
from consentclip.errors import UsageError
from consentclip.image_budget import check_image_budget

SCAN_DPI = 200
MAX_PAGES = 4  # the QR code is on page 1; a stapled multi-page scan may put it later


def read_consent_ids(path: Path) -> list[str]:
    """The consent ids in every consentclip QR code of the scan, in page order, deduplicated."""
    found: list[str] = []
    for page in _pages(path):
        for payload in _decode(page):
            cid = parse_qr_payload(payload)
            if cid and cid not in found:
                found.append(cid)
    return found


def is_pdf(data: bytes) -> bool:
    return data[:5] == b"%PDF-"


def _pages(path: Path) -> list[np.ndarray]:
    check_image_budget(path)  # pixel budget and empty file, from headers, before decoding
    data = path.read_bytes()
    if is_pdf(data):
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            raise UsageError(f"{path.name} is not a readable PDF: {exc}") from None
        try:
            pages = []
            for index in range(min(len(pdf), MAX_PAGES)):
                bitmap = pdf[index].render(scale=SCAN_DPI / 72, grayscale=True)
                pages.append(np.array(bitmap.to_pil().convert("L")))
            return pages
        finally:
            pdf.close()
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
    if image is None:
        image = _decode_with_pillow(data)
    if image is None:
        raise UsageError(f"{path.name} is neither a PDF nor an image (PNG, JPEG, TIFF, HEIC)")
    return [image]


def _decode_with_pillow(data: bytes) -> np.ndarray | None:
    """Phones photograph forms as HEIC, which OpenCV cannot read; Pillow with pillow-heif can."""
    import pillow_heif
    from PIL import Image, ImageOps, UnidentifiedImageError

    pillow_heif.register_heif_opener()
    try:
        with Image.open(io.BytesIO(data)) as img:
            return np.array(ImageOps.exif_transpose(img).convert("L"))
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        return None


def _decode(gray: np.ndarray) -> list[str]:
    """The QR payloads on one page, trying readers and image variants until one reads.

    A phone photo of a form at 120 dpi gives only ~5 pixels per QR module, and each of OpenCV's
    readers misses a different few percent of such photos (grain, JPEG blocks, a slight turn).
    The classic reader alone missed 13 of 100 (a CI failure); the ladder below missed none of 200
    (``bench/scan_reading.py``, bench/results/scan.md).
    """
    for reader in _readers():
        for candidate in _variants(gray):
            texts = reader(candidate)
            if texts:
                return texts
    return []


def _variants(gray: np.ndarray) -> Iterator[np.ndarray]:
    # As is; enlarged (small codes); binarised (uneven light); smaller (huge scans).
    yield gray
    h, w = gray.shape[:2]
    if max(h, w) < 2400:
        yield cv2.resize(gray, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    gaussian = cv2.ADAPTIVE_THRESH_GAUSSIAN_C
    yield cv2.adaptiveThreshold(gray, 255, gaussian, cv2.THRESH_BINARY, 51, 10)
    scale = 1600 / max(h, w)
    if scale < 1:
        yield cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


def _readers() -> Iterator[Callable[[np.ndarray], list[str]]]:
    def classic(image: np.ndarray, detector: cv2.QRCodeDetector) -> list[str]:
        ok, payloads, _, _ = detector.detectAndDecodeMulti(image)
        texts = [p for p in payloads if p] if ok else []
        if not texts:
            text, _, _ = detector.detectAndDecode(image)
            texts = [text] if text else []
        return texts

    yield lambda image: classic(image, cv2.QRCodeDetector())
    yield lambda image: classic(image, cv2.QRCodeDetectorAruco())
    if hasattr(cv2, "wechat_qrcode"):  # opencv-contrib, which mediapipe brings
        wechat = cv2.wechat_qrcode.WeChatQRCode()
        yield lambda image: [t for t in wechat.detectAndDecode(image)[0] if t]
