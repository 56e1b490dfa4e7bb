"""Shared fixtures. Media is generated on the fly (ffmpeg lavfi, numpy drawings) in tmp_path, or
read from the small files in sample_media/; nothing is ever written into sample_media/."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consentclip.home import ENV_VAR, Home

REPO = Path(__file__).resolve().parents[1]
SAMPLE_MEDIA = REPO / "sample_media"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Home:
    """An empty consent home in tmp_path, selected through the environment for every command."""
    root = tmp_path / "home"
    monkeypatch.setenv(ENV_VAR, str(root))
    return Home(root)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="session")
def ffmpeg_bin() -> str:
    path = shutil.which("ffmpeg")
    if not path:
        pytest.fail("ffmpeg is required for the tests; run 'make test' to install it")
    return path


@pytest.fixture
def make_clip(tmp_path: Path, ffmpeg_bin: str) -> Callable[..., Path]:
    """Generate a small clip with ffmpeg lavfi: ``make_clip("a.mp4", seconds=1, size="320x240")``.

    ``extra`` is appended to the ffmpeg argv before the output (codecs, metadata, ...).
    """

    def _make(
        name: str = "clip.mp4",
        *,
        seconds: float = 1.0,
        size: str = "320x240",
        rate: int = 25,
        audio: bool = True,
        extra: tuple[str, ...] = (),
    ) -> Path:
        out = tmp_path / name
        argv = [ffmpeg_bin, "-hide_banner", "-loglevel", "error", "-y"]
        argv += ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}"]
        if audio:
            argv += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]
        argv += ["-pix_fmt", "yuv420p", *extra, str(out)]
        subprocess.run(argv, check=True)
        return out

    return _make
