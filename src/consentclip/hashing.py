"""Streaming SHA-256 of a file: what links a clip to a consent and what a manifest records.

Clips can be gigabytes, so the file is read in chunks and never held in memory.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from consentclip.errors import NotFoundError

CHUNK = (
    1 << 20
)  # 1 MiB: large enough that Python overhead is noise, small enough to stay cache-friendly


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of the file's bytes. NotFoundError when it is missing or not a regular file."""
    path = Path(path)
    if not path.is_file():
        raise NotFoundError(f"no such file: {path}")
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(CHUNK):
                digest.update(chunk)
    except OSError as exc:
        raise NotFoundError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return digest.hexdigest()
