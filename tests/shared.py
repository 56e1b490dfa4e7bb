"""Helpers the test folders share (imported as ``from shared import ...``; the fixtures are in
conftest.py): the patient a real consent is made for, small clip sizes, folder snapshots, and
linking a clip through the CLI."""

from __future__ import annotations

import hashlib
from pathlib import Path

from typer.testing import CliRunner

from consentclip.cli import app

SAMPLE_MEDIA = Path(__file__).resolve().parents[1] / "sample_media"
SIGNATURE_PNG = SAMPLE_MEDIA / "signatures" / "sample-signature.png"

# The patient's reference and name: the tests assert they never reach a manifest or report.
PATIENT_REF = "MRN-0042-SECRET"
PATIENT_NAME = "Jane Quixote Doe"

# A clip small enough for tests that are about everything but the pixels.
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


def link(runner: CliRunner, clip: Path, consent_id: str) -> None:
    """``consentclip link CLIP --consent ID``, which must succeed."""
    result = runner.invoke(app, ["link", str(clip), "--consent", consent_id])
    assert result.exit_code == 0, result.output
