"""Writing a file so that it is either whole or absent: a hidden temporary file beside the
target, synced, then renamed over it. One scheme for every such file, so that the sweeps that
remove what a killed process left (``export.sweep_partials`` and ``sweep_stale_partials``, the
review staging area's) recognise them all: ``.<name>.partial-<pid>-<random>``. The process id
lets a sweep tell a dead writer's leftover from a running one's.

Top level, beside ``errors``, because ``consent/``, ``media/``, ``review/`` and the batch all
write this way and none of them may import the others.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

PARTIAL_MARK = ".partial-"


def partial_path(path: Path) -> Path:
    """A temporary name beside ``path`` in the scheme above, for writers that need a path rather
    than bytes (ffmpeg, an encoder); it keeps ``path``'s suffix, which tells ffmpeg the format.
    The caller renames it over ``path`` when whole and removes it otherwise."""
    token = secrets.token_hex(4)
    return path.with_name(f".{path.name}{PARTIAL_MARK}{os.getpid()}-{token}{path.suffix}")


def temp_beside(path: Path) -> tuple[int, Path]:
    """A new, empty, owner-only temporary file beside ``path``, named in the one scheme:
    ``(file descriptor, its path)``. For writers that finish with something other than a
    rename (``consent/documents.store`` links, so that it never replaces)."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}{PARTIAL_MARK}{os.getpid()}-", dir=path.parent)
    return fd, Path(name)


def write_bytes_atomic(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """``mode``: the file's permissions (default: owner read/write only, as made)."""
    fd, tmp = temp_beside(path)
    try:
        if mode is not None:
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
