"""Photos in (JPEG, PNG, HEIC/HEIF, WebP, TIFF) and out (PNG or JPEG): the pixels alone travel.

EXIF orientation is applied first so redaction sees the upright picture; then only the pixel
array is written, so EXIF/GPS, MakerNote, XMP, IPTC, ICC and embedded thumbnails cannot follow.
"""

from __future__ import annotations

import errno
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from consentclip.errors import DiskFullError, MediaError
from consentclip.image_budget import Size, check_pixels, register_heif, too_large_for_pillow
from consentclip.media.probe import check_readable

# Pillow's format names for what we accept. MPO is what Pillow calls a multi-picture JPEG
# (many phones write one); only its first picture is used.
PHOTO_FORMATS = frozenset({"JPEG", "MPO", "PNG", "HEIF", "WEBP", "TIFF"})
OUTPUT_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}
JPEG_QUALITY = 92


def open_photo(path: Path) -> Image.Image:
    """Open a photo lazily; MediaError for anything that is not one of PHOTO_FORMATS."""
    check_readable(path)
    register_heif()
    try:
        with warnings.catch_warnings():
            # Our own budget (below) decides what is too large, with a message that says so.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path)
    except Image.DecompressionBombError as exc:
        raise too_large_for_pillow(path.name, exc) from None
    except UnidentifiedImageError as exc:
        raise MediaError(f"{path.name} is not a readable photo") from exc
    except (OSError, ValueError) as exc:
        raise MediaError(f"{path.name} is not a readable photo: {exc}") from exc
    try:
        # From the header alone: nothing has been decoded yet (Pillow opens lazily).
        check_pixels(Size(*img.size), what=path.name)
    except MediaError:
        img.close()
        raise
    if img.format not in PHOTO_FORMATS:
        fmt = img.format
        img.close()
        raise MediaError(
            f"{path.name}: {fmt} photos are not supported (use JPEG, PNG, HEIC, WebP or TIFF)"
        )
    return img


def load_photo(path: Path) -> np.ndarray:
    """The upright pixels of a photo as an HxWx3 uint8 BGR array (EXIF orientation applied)."""
    img = open_photo(path)
    try:
        img.load()
        upright = ImageOps.exif_transpose(img) or img
        if upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info:
            # Transparent pixels still carry colour; composite onto white so nothing hides there.
            rgba = upright.convert("RGBA")
            canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            upright = Image.alpha_composite(canvas, rgba)
        rgb = np.asarray(upright.convert("RGB"), dtype=np.uint8)
    except (OSError, ValueError, SyntaxError) as exc:
        raise MediaError(f"{path.name} is truncated or corrupt: {exc}") from exc
    finally:
        img.close()
    return np.ascontiguousarray(rgb[:, :, ::-1])


def output_format(dst: Path) -> str:
    fmt = OUTPUT_FORMATS.get(dst.suffix.lower())
    if fmt is None:
        raise MediaError(
            f"a photo can only be written as .png or .jpg, not {dst.suffix or 'no suffix'!r}"
        )
    return fmt


def save_photo(frame: np.ndarray, path: Path, fmt: str) -> None:
    """Write the pixels alone: no EXIF, ICC, XMP or text chunks are passed to Pillow."""
    img = Image.fromarray(np.ascontiguousarray(frame[:, :, ::-1]))
    try:
        with path.open("wb") as fh:
            if fmt == "JPEG":
                img.save(fh, format="JPEG", quality=JPEG_QUALITY)
            else:
                img.save(fh, format="PNG")
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise DiskFullError() from exc
        raise MediaError(f"cannot write the photo: {exc.strerror or exc}") from exc


def photo_strings(path: Path, min_len: int = 6) -> tuple[bytes, ...]:
    """Text the source photo's EXIF/info held (make, model, software, artist, ...), to hunt for
    in the output. Binary fields (GPS rationals) are covered by the structural check instead."""
    texts: set[str] = set()
    try:
        with open_photo(path) as img:
            exif = img.getexif()
            for value in exif.values():
                if isinstance(value, str):
                    texts.add(value.strip("\x00 "))
            for value in img.info.values():
                if isinstance(value, str):
                    texts.add(value.strip("\x00 "))
    except MediaError:
        return ()
    return tuple(sorted(t.encode() for t in texts if len(t) >= min_len))
