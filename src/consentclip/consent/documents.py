"""Signed consent documents, kept in the consent home by SHA-256 and never overwritten."""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

from consentclip.atomic import temp_beside, write_bytes_atomic
from consentclip.errors import IntegrityError
from consentclip.home import Home


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def document_path(home: Home, sha256: str, suffix: str) -> Path:
    return home.documents_dir / f"{sha256}{suffix}"


def store(home: Home, data: bytes, suffix: str) -> tuple[str, Path, bool]:
    """Keep ``data`` as documents/<sha256><suffix>. Storing the same bytes twice is a no-op;
    an existing file is never replaced, and one whose content no longer matches its name is
    reported rather than "repaired". Returns (sha256, path, created)."""
    digest = sha256_bytes(data)
    home.documents_dir.mkdir(parents=True, exist_ok=True)
    target = document_path(home, digest, suffix)
    if target.exists():
        if sha256_bytes(target.read_bytes()) != digest:
            raise IntegrityError(f"stored document {target.name} no longer matches its hash")
        return digest, target, False
    fd, tmp = temp_beside(target)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o444)
        # link() fails rather than replaces when another process stored it first.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return digest, target, True


def find(home: Home, sha256: str) -> Path | None:
    matches = sorted(home.documents_dir.glob(f"{sha256}.*")) if home.documents_dir.exists() else []
    return matches[0] if matches else None


def write_atomic(target: Path, data: bytes) -> Path:
    """Write beside the target and rename into place: a failure leaves no half-written file."""
    target = target.expanduser().absolute()
    if not target.parent.is_dir():
        raise NotADirectoryError(f"folder {target.parent} does not exist")
    write_bytes_atomic(target, data)  # owner-only, like everything else holding a patient's name
    return target
