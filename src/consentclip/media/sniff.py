"""Is this file media, and which kind? Decided by what the photo reader and ffprobe can open,
never by the name.

``classify`` is what the product uses: export and the pipeline to pick the reader, batch to sort
a folder (with ``claims_media`` to tell a damaged clip from a stray file). ``sniff`` is the
never-raising form for scripts and the tests."""

from __future__ import annotations

import mimetypes
from enum import Enum
from pathlib import Path

from consentclip.errors import MediaError
from consentclip.media.photo import open_photo
from consentclip.media.probe import check_readable, probe_video


class MediaKind(str, Enum):
    VIDEO = "video"
    PHOTO = "photo"


def sniff(path: Path) -> MediaKind | None:
    """The kind of media ``path`` holds, or None for anything consentclip cannot open.
    Never raises for a bad file (batch calls classify itself, to report why a file failed)."""
    try:
        return classify(path)
    except MediaError:
        return None


def classify(path: Path) -> MediaKind:
    """What the readers make of the file, never its name or first bytes: a photo when the photo
    reader opens it as a photo format we handle, else a video when ffprobe finds a video stream
    (camcorder .mts, .mpg, GIF, ...). Otherwise a one-line MediaError saying why.

    ``export`` and ``batch`` both decide with this, so batch processes exactly what export
    accepts."""
    check_readable(path)
    try:
        open_photo(path).close()
        return MediaKind.PHOTO
    except MediaError as exc:
        photo_error = exc  # not a photo we handle; ffprobe may still read it (GIF, ...)
    try:
        probe_video(path)
    except MediaError:
        guessed, _ = mimetypes.guess_type(path.name)
        if guessed and guessed.startswith("image/"):
            raise photo_error from None  # a damaged photo: the photo reader's reason says more
        raise
    return MediaKind.VIDEO


def claims_media(path: Path) -> bool:
    """Whether the name says photo or video (by the platform's MIME table). Only used to
    report a damaged clip as failed rather than skip it; what a file is, is up to classify."""
    guessed, _ = mimetypes.guess_type(path.name)
    by_mime = bool(guessed) and guessed.split("/")[0] in ("video", "image")
    return by_mime or path.suffix.lower() in _CAMERA_SUFFIXES


# Camera formats the MIME table does not call video (.mts is "model/vnd.mts").
_CAMERA_SUFFIXES = frozenset({".mts", ".m2ts", ".mod", ".tod", ".3gp", ".heic", ".heif"})
