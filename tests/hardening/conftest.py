"""Hardening tests (issue 14) use the same real consent home and signed consents as export."""

from __future__ import annotations

import hashlib
from pathlib import Path

from export.conftest import make_consent, purpose, registry_home

__all__ = ["make_consent", "purpose", "registry_home", "snapshot"]

SMALL = {"seconds": 0.6, "size": "160x120", "rate": 10}


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (hidden ones included) with the SHA-256 of its bytes."""
    if not folder.exists():
        return {}
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }
