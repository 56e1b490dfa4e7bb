"""Is this file media, and which kind? Decided by content, never by the name (batch uses it)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

from consentclip.errors import MediaError


class MediaKind(str, Enum):
    VIDEO = "video"
    PHOTO = "photo"


# ISO-BMFF brands that hold a still image (HEIC/HEIF/AVIF), not a clip.
_STILL_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif"}
_MAGIC_PHOTO = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"II*\x00", b"MM\x00*")


def magic_kind(head: bytes) -> MediaKind | None:
    """A first guess from the first bytes; None means "not a format we handle"."""
    if head.startswith(_MAGIC_PHOTO):
        return MediaKind.PHOTO
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return MediaKind.PHOTO
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return MediaKind.VIDEO
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: Matroska and WebM
        return MediaKind.VIDEO
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        return MediaKind.PHOTO if brand in _STILL_BRANDS else MediaKind.VIDEO
    # QuickTime files may start with other atoms before ftyp (or have none).
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"):
        return MediaKind.VIDEO
    return None


def sniff(path: Path) -> MediaKind | None:
    """The kind of media ``path`` holds, confirmed by opening it; None for anything else.

    A video must have a real video stream (audio-only files are not media here), a photo must
    open. Never raises for a bad file: batch asks this about every file in a folder.
    """
    try:
        with path.open("rb") as fh:
            head = fh.read(64)
    except OSError:
        return None
    kind = magic_kind(head)
    if kind is None:
        return None
    # Imported here: probing is the slow, confirming half.
    from consentclip.media.photo import open_photo
    from consentclip.media.probe import probe_video

    try:
        if kind is MediaKind.VIDEO:
            probe_video(path)
        else:
            open_photo(path).close()
    except MediaError:
        return None
    return kind


def classify(path: Path) -> MediaKind:
    """Like sniff, but a file that is not usable media raises a one-line MediaError saying why."""
    from consentclip.media.probe import check_readable, probe_video

    check_readable(path)
    with path.open("rb") as fh:
        head = fh.read(64)
    kind = magic_kind(head)
    if kind is MediaKind.PHOTO:
        return kind
    # Unknown magic still goes to ffprobe, whose error names the problem (or which may read it).
    probe_video(path)
    return MediaKind.VIDEO
