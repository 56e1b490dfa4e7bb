"""A full disk: one clear line, exit 1, and nothing half-written left behind.

Uses a real 40 KiB tmpfs; where this machine does not allow mounting (not root, no tmpfs), the
disk test is skipped and the error mapping is still checked.
"""

from __future__ import annotations

import errno
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consentclip.cli import app
from consentclip.errors import from_os_error

SAMPLE_MEDIA = Path(__file__).resolve().parents[1] / "sample_media"


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    done = (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=40k", "tmpfs", str(mount_point)],
            capture_output=True,
            check=False,
        )
        if shutil.which("mount")
        else None
    )
    if done is None or done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=False)


def test_os_errors_become_one_line() -> None:
    full = from_os_error(OSError(errno.ENOSPC, "No space left on device", "/x/out.mp4"))
    assert "disk is full" in full.one_line() and "\n" not in full.one_line()
    denied = from_os_error(PermissionError(errno.EACCES, "Permission denied", "/ro/out.mp4"))
    assert "/ro/out.mp4" in denied.one_line()


@pytest.mark.parametrize("sample", ["talking_head.mp4", "lesion_photo.jpg"])
def test_preview_onto_a_full_disk_leaves_nothing(
    runner: CliRunner, home, tiny_disk: Path, sample: str
) -> None:
    suffix = ".mp4" if sample.endswith(".mp4") else ".png"
    target = tiny_disk / f"out{suffix}"
    # Fill the disk almost completely so even the photo cannot be written.
    filler = tiny_disk / "filler.bin"
    with filler.open("wb") as fh, pytest.raises(OSError):
        fh.write(b"\0" * 64 * 1024)
    result = runner.invoke(app, ["preview", str(SAMPLE_MEDIA / sample), "-o", str(target), "-q"])
    assert result.exit_code == 1, result.output
    assert "disk is full" in result.output
    assert sorted(p.name for p in tiny_disk.iterdir()) == ["filler.bin"]


def test_video_whose_trailer_does_not_fit_leaves_nothing(
    runner: CliRunner, home, tiny_disk: Path
) -> None:
    """ffmpeg 5.1 exits 0 when it cannot write the trailer; the engine must not believe it."""
    target = tiny_disk / "out.mp4"
    result = runner.invoke(
        app, ["preview", str(SAMPLE_MEDIA / "talking_head.mp4"), "-o", str(target), "-q"]
    )
    assert result.exit_code == 1, result.output
    assert "disk is full" in result.output
    assert list(tiny_disk.iterdir()) == []


def test_a_full_disk_under_the_consent_home_is_one_line(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 14.6: SQLite's 'database or disk is full' is a reason on one line, not a
    traceback, and the registry is left as it was."""
    from datetime import date, timedelta

    from consentclip.consent.registry import Registry
    from consentclip.home import ENV_VAR, Home

    mount_point = tmp_path / "home-disk"
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        home = Home(mount_point / "home")
        monkeypatch.setenv(ENV_VAR, str(home.root))
        Registry.initialise(home)
        with (mount_point / "filler.bin").open("wb") as fh, pytest.raises(OSError):
            fh.write(b"\0" * 2 * 1024 * 1024)
        expires = (date.today() + timedelta(days=30)).isoformat()
        argv = ["consent", "new", "--patient", "P-1", "--grant", "teaching"]
        result = runner.invoke(app, [*argv, "--patient-name", "A", "--expires", expires])
        assert result.exit_code == 1, result.output
        lines = [ln for ln in result.output.splitlines() if ln.strip()]
        assert len(lines) == 1 and "full" in lines[0], result.output
        (mount_point / "filler.bin").unlink()
        with Registry.open(home) as registry:
            assert registry.list() == [] and registry.verify_audit().ok
    finally:
        subprocess.run(["umount", str(mount_point)], check=False)
