"""Finding ffmpeg and ffprobe, and building argv safely. Only media/ runs these programs."""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import IO, Any

from consentclip.errors import MediaError
from consentclip.health import Check

try:
    import fcntl
except ImportError:  # Windows has no fcntl; pipes keep their default size there
    fcntl = None  # type: ignore[assignment]

INSTALL_HINT = "install it with 'apt-get install ffmpeg' or run 'make setup'"
PIPE_BYTES = 1 << 20


@functools.cache
def binary(name: str) -> str:
    """Absolute path of ffmpeg or ffprobe. ``CONSENTCLIP_FFMPEG_DIR`` may point elsewhere."""
    folder = os.environ.get("CONSENTCLIP_FFMPEG_DIR")
    found = shutil.which(name, path=folder) if folder else shutil.which(name)
    if not found:
        raise MediaError(f"{name} not found on PATH", hint=INSTALL_HINT)
    return found


def safe_path(path: Path | str) -> str:
    """A path ffmpeg can never read as an option: a leading '-' gets './' (mat2's defusing)."""
    text = os.fspath(path)
    if text.startswith("-"):
        return "./" + text
    return text


def spawn(argv: list[str], *, stdin: Any, stdout: Any) -> tuple[subprocess.Popen[bytes], IO[bytes]]:
    """Start an ffmpeg that streams through a pipe, and the file its stderr goes to.

    stderr goes to a temporary file, not a pipe: a chatty ffmpeg can never block on a full pipe.
    The caller closes the file (``close`` it after the process is reaped).
    """
    stderr = tempfile.TemporaryFile()  # noqa: SIM115 - returned to the caller, who closes it
    try:
        proc = subprocess.Popen(argv, stdin=stdin, stdout=stdout, stderr=stderr, bufsize=0)
    except OSError as exc:
        stderr.close()
        raise MediaError(f"cannot start ffmpeg: {exc}") from exc
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            _widen(pipe)
    return proc, stderr


def _widen(pipe: IO[bytes]) -> None:
    """Frames are megabytes: a 1 MiB pipe (the usual Linux ceiling for unprivileged users)
    moves one in a few system calls and wake-ups instead of ~50 with the 64 KiB default.
    Best effort: elsewhere, or where the limit is lower, the default pipe works the same."""
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl is not None else None
    if set_size is None:
        return
    with contextlib.suppress(OSError):
        fcntl.fcntl(pipe.fileno(), set_size, PIPE_BYTES)


def stderr_text(stderr: IO[bytes] | None) -> str:
    """The last few KB of what a spawned ffmpeg wrote to stderr."""
    if stderr is None:
        return ""
    stderr.seek(0)
    return stderr.read()[-4000:].decode("utf-8", "replace")


def reap(proc: subprocess.Popen[bytes] | None) -> None:
    """Kill a spawned ffmpeg if it still runs, and wait for it."""
    if proc is None:
        return
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def version(name: str) -> str:
    out = subprocess.run(
        [binary(name), "-hide_banner", "-version"], capture_output=True, text=True, check=False
    ).stdout
    first = out.splitlines()[0] if out else ""
    parts = first.split()
    return parts[2] if len(parts) > 2 else first


@functools.cache
def encoders() -> frozenset[str]:
    out = subprocess.run(
        [binary("ffmpeg"), "-hide_banner", "-encoders"], capture_output=True, text=True, check=False
    ).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and len(parts[0]) == 6 and parts[0][0] in "VAS":
            names.add(parts[1])
    return frozenset(names)


def ffmpeg_checks() -> list[Check]:
    checks: list[Check] = []
    for name in ("ffmpeg", "ffprobe"):
        try:
            checks.append(Check(name, True, f"{version(name)} at {binary(name)}"))
        except MediaError as exc:
            checks.append(Check(name, False, exc.one_line()))
    if all(c.ok for c in checks):
        has = "libx264" in encoders()
        checks.append(
            Check("libx264 encoder", has, "present" if has else "missing: install Debian's ffmpeg")
        )
    return checks
