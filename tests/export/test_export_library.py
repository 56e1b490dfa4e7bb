"""export.py's own parts: grant -> engine settings, naming, CSV reading, export state, and the
crash window between writing an export and logging it."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from consentclip.consent.gate import GateDecision
from consentclip.consent.records import Grant, Purpose
from consentclip.consent.registry import Registry
from consentclip.errors import ConsentRefused, UsageError
from consentclip.export import (
    EngineOptions,
    ExportRequest,
    export_clip,
    export_state,
    manifest_path,
    output_name,
    settings_for,
)
from consentclip.home import Home
from consentclip.link import link_clips, read_link_csv
from consentclip.settings import RedactMode

from .test_export_cli import SMALL


def decision_for(grant: Grant, *, want_audio: bool = False) -> GateDecision:
    """The allowed decision the gate gives for ``grant`` (see consent/gate.py)."""
    anonymised = not grant.identifiable
    return GateDecision(True, None, "ok", grant, anonymised, anonymised, want_audio and grant.voice)


def test_anonymised_grant_forces_redaction_and_refuses_weakening() -> None:
    grant = Grant(Purpose.TEACHING, identifiable=False, voice=False, expires=date(2099, 1, 1))
    decision = decision_for(grant)
    settings = settings_for(decision, EngineOptions(mode=RedactMode.FILL), consent_id="C-7K2M")
    assert settings.faces and settings.tattoos and not settings.keep_audio
    assert settings.mode is RedactMode.FILL and not settings.preview
    with pytest.raises(ConsentRefused) as refused:
        settings_for(decision, EngineOptions(faces=False), consent_id="C-7K2M")
    assert refused.value.rule == "anonymisation_required"
    assert "face redaction cannot be switched off" in refused.value.message


def test_identifiable_grant_redacts_only_what_is_asked() -> None:
    grant = Grant(Purpose.JOURNAL, identifiable=True, voice=True, expires=date(2099, 1, 1))
    decision = decision_for(grant, want_audio=True)
    plain = settings_for(decision, EngineOptions(), consent_id="C-7K2M")
    assert not plain.faces and not plain.tattoos and plain.keep_audio
    asked = settings_for(decision, EngineOptions(tattoos=True), consent_id="C-7K2M")
    assert asked.tattoos and not asked.faces


def test_output_names_come_from_ids_only() -> None:
    assert output_name("C-7K2M", 2, Purpose.TEACHING, "video") == "C-7K2M_clip02_teaching.mp4"
    assert output_name("C-7K2M", 13, Purpose.JOURNAL, "photo") == "C-7K2M_clip13_journal.png"
    assert manifest_path(Path("/x/C-7K2M_clip02_teaching.mp4")).name == (
        "C-7K2M_clip02_teaching.mp4.manifest.json"
    )


def test_link_csv_reading(tmp_path: Path) -> None:
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    good = shoot / "links.csv"
    good.write_text("path,consent_id\n# morning\nday/a.mp4, C-7K2M\n\n/abs/b.mov,c-7k2m\n")
    assert read_link_csv(good) == [
        (shoot / "day/a.mp4", "C-7K2M"),
        (Path("/abs/b.mov"), "c-7k2m"),
    ]
    bad = shoot / "bad.csv"
    bad.write_text("a.mp4\n")
    with pytest.raises(UsageError, match="line 1: expected 'path,consent_id'"):
        read_link_csv(bad)
    empty = shoot / "empty.csv"
    empty.write_text("path,consent_id\n")
    with pytest.raises(UsageError, match="no 'path,consent_id' rows"):
        read_link_csv(empty)


def test_export_state(tmp_path: Path) -> None:
    out = tmp_path / "C-7K2M_clip01_teaching.mp4"
    assert export_state(out, "a" * 64) == "absent"
    out.write_bytes(b"video")
    assert export_state(out, "a" * 64) == "partial"  # no manifest
    video_sha = hashlib.sha256(b"video").hexdigest()
    manifest = {"input": {"sha256": "a" * 64}, "output": {"sha256": video_sha}}
    manifest_path(out).write_text(json.dumps(manifest))
    assert export_state(out, "a" * 64) == "verified"
    assert export_state(out, "b" * 64) == "partial"  # another input
    out.write_bytes(b"edited")
    assert export_state(out, "a" * 64) == "partial"  # output changed
    manifest_path(out).write_text("{not json")
    assert export_state(out, "a" * 64) == "partial"


def test_killed_between_writing_and_logging_is_redone(
    registry_home: Home,
    make_consent: Callable[..., str],
    make_clip: Callable[..., Path],
    tmp_path: Path,
) -> None:
    """A process killed after the export and its manifest were written but before the audit
    entry: the files verify, yet the export is not in the log, so it must not count as done."""
    clip = make_clip("a.mp4", **SMALL)
    cid = make_consent("teaching")
    link_clips(registry_home, [(clip, cid)])
    out = tmp_path / "out"
    script = textwrap.dedent(
        f"""
        import os
        from pathlib import Path
        from consentclip.consent.records import Purpose
        from consentclip.consent.registry import Registry
        from consentclip.export import ExportRequest, export_clip
        from consentclip.home import Home

        real = Registry.record_export_decision
        def crash(self, **kw):
            if kw["allowed"]:
                os._exit(9)  # like kill -9 at the worst moment
            return real(self, **kw)
        Registry.record_export_decision = crash
        export_clip(Home(Path({str(registry_home.root)!r})),
                    ExportRequest(Path({str(clip)!r}), Purpose.TEACHING, Path({str(out)!r})))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], env=dict(os.environ), check=False)
    assert done.returncode == 9
    output = out / f"{cid}_clip01_teaching.mp4"
    assert output.is_file() and manifest_path(output).is_file()

    request = ExportRequest(clip, Purpose.TEACHING, out, resume=True)
    result = export_clip(registry_home, request)

    assert not result.skipped  # redone, not trusted
    with Registry.open(registry_home) as registry:
        logged = [e.detail["output_sha256"] for e in registry.exports_for(cid)]
    assert logged == [result.output_sha256]
