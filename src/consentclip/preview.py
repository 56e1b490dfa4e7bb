"""A preview: the anonymised output for review, marked PREVIEW (never a clean file: those come
only from export, through the consent gate). Needs no consent and writes nothing to the home."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from consentclip.errors import UsageError
from consentclip.pipeline import anonymise
from consentclip.progress import ProgressSink
from consentclip.settings import EngineResult, EngineSettings


class PreviewExists(UsageError):
    """The preview's target exists and replacing it was not asked for."""


def preview(
    clip: Path,
    out: Path,
    settings: EngineSettings,
    *,
    force: bool = False,
    progress: ProgressSink | None = None,
) -> EngineResult:
    """Write a preview of ``clip`` to ``out``; refuses to replace an existing file unless
    ``force``."""
    if out.exists() and not force:
        raise PreviewExists(f"{out} already exists")
    if out.is_dir():
        raise UsageError(f"{out} is a folder; give a file name ending in .mp4, .png or .jpg")
    settings = dataclasses.replace(settings, preview=True)
    return anonymise(clip, out, settings, progress=progress)
