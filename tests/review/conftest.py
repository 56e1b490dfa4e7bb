"""Review tests use the real consent home and signed consents of the export tests, and a
staged review of a real clip (the engine runs: MediaPipe faces, tattoos, ffmpeg)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consentclip.consent.records import Purpose
from consentclip.home import Home
from consentclip.review.staging import BaseOptions, Session, open_session
from shared import SAMPLE_MEDIA as SAMPLE
from shared import link

__all__ = ["SAMPLE", "link"]


@pytest.fixture
def arm_clip(tmp_path: Path) -> Path:
    """The tattooed forearm with a mole (sample_media), copied so nothing writes beside it."""
    clip = tmp_path / "in" / "arm.mp4"
    clip.parent.mkdir()
    shutil.copyfile(SAMPLE / "arm_tattoo_mole.mp4", clip)
    return clip


@pytest.fixture
def journal_session(
    registry_home: Home,
    make_consent: Callable[..., str],
    arm_clip: Path,
    runner: CliRunner,
) -> Session:
    cid = make_consent("teaching", "journal")
    link(runner, arm_clip, cid)
    return open_session(registry_home, arm_clip, Purpose.JOURNAL, BaseOptions())
