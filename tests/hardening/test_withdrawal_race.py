"""Issue 14.2: a withdrawal that lands during an export stops it; the takedown list is complete.

The race is made deterministic, not timed: the engine (real) is wrapped so that ``consent
revoke`` runs exactly when the frames are written but before the export is committed, or while
the export's final transaction holds the registry.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

import consentclip.export as export_module
from consentclip.batch import REPORT_JSON, BatchRequest, run_batch
from consentclip.consent import actions
from consentclip.consent.records import Purpose
from consentclip.consent.registry import Registry, Revocation
from consentclip.errors import ConsentRefused
from consentclip.export import ExportRequest, export_clip
from consentclip.home import Home
from consentclip.link import link_clips
from shared import SMALL, snapshot


@pytest.fixture
def home(home: Home, registry_backend: str) -> Home:
    """The export gate's in-transaction recheck and the takedown list on both registry backends
    (see tests/conftest.py)."""
    return home


def revoke_during_engine(monkeypatch: pytest.MonkeyPatch, home: Home, cid: str) -> list:
    revocations: list[Revocation] = []
    real = export_module._run_engine

    def engine_then_revoke(*args, **kwargs):
        result = real(*args, **kwargs)
        revocations.append(
            actions.revoke(home=home, consent_id=cid, purpose=None, reason="changed my mind")
        )
        return result

    monkeypatch.setattr(export_module, "_run_engine", engine_then_revoke)
    return revocations


def events(home: Home) -> list[str]:
    with Registry.open(home) as registry:
        return [e.event for e in registry.audit_entries()]


def test_a_withdrawal_during_the_export_refuses_it(
    registry_home: Home,
    make_consent: Callable[..., str],
    make_clip: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clip = make_clip("a.mp4", **SMALL)
    cid = make_consent("teaching")
    link_clips(registry_home, [(clip, cid)])
    revocations = revoke_during_engine(monkeypatch, registry_home, cid)
    out = tmp_path / "out"

    with pytest.raises(ConsentRefused) as refused:
        export_clip(registry_home, ExportRequest(clip, Purpose.TEACHING, out))

    assert refused.value.rule == "withdrawn"
    assert snapshot(out) == {}  # nothing, not even a hidden temporary file
    assert events(registry_home)[-2:] == ["revoke", "export.refused"]
    assert revocations[0].exports == ()  # and rightly so: nothing went out


def test_a_withdrawal_waiting_on_the_commit_lists_the_export(
    registry_home: Home,
    make_consent: Callable[..., str],
    make_clip: Callable[..., Path],
    tmp_path: Path,
) -> None:
    """The revoke starts while the export's final transaction holds the registry: it waits,
    and its takedown list, read in its own transaction, names the export."""
    clip = make_clip("a.mp4", **SMALL)
    cid = make_consent("teaching")
    link_clips(registry_home, [(clip, cid)])
    revocations: list[Revocation] = []
    revoker = threading.Thread(
        target=lambda: revocations.append(
            actions.revoke(home=registry_home, consent_id=cid, purpose=None, reason="no")
        )
    )

    result = export_clip(
        registry_home,
        ExportRequest(clip, Purpose.TEACHING, tmp_path / "out"),
        before_commit=revoker.start,
    )
    revoker.join(timeout=120)

    assert result.plan.output.is_file()
    assert events(registry_home)[-2:] == ["export.allowed", "revoke"]
    listed = [e.detail["output_sha256"] for e in revocations[0].exports]
    assert listed == [result.output_sha256]


def test_batch_refuses_the_file_in_progress(
    registry_home: Home,
    make_consent: Callable[..., str],
    make_clip: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    day = tmp_path / "day"
    day.mkdir()
    clip = make_clip("a.mp4", **SMALL).rename(day / "a.mp4")
    cid = make_consent("teaching")
    link_clips(registry_home, [(clip, cid)])
    revoke_during_engine(monkeypatch, registry_home, cid)
    out = tmp_path / "out"

    report = run_batch(
        registry_home,
        BatchRequest(root=day, purpose=Purpose.TEACHING, out_dir=out, workers=1, qa_sheets=False),
    )

    assert [(f.outcome, f.rule) for f in report.files] == [("refused", "withdrawn")]
    assert sorted(snapshot(out)) == ["batch-report.csv", REPORT_JSON]
