"""Staging, decisions, approval and the export that publishes exactly the approved file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from consentclip.consent.registry import Registry
from consentclip.errors import ConsentRefused, UsageError
from consentclip.export import ExportRequest, export_clip
from consentclip.hashing import sha256_file
from consentclip.home import Home
from consentclip.review import decisions as dec
from consentclip.review.approval import approve
from consentclip.review.risk import risk_frames, tracks
from consentclip.review.staging import Session, render, render_is_current


def _tracks(session: Session) -> list:
    return tracks(json.loads(session.regions_path.read_text())["regions"])


def test_stage_approve_export_publishes_the_approved_file(
    registry_home: Home, journal_session: Session, tmp_path: Path
) -> None:
    session = journal_session
    assert session.dir.is_relative_to(registry_home.root)
    rendered = render(registry_home, session, session.decisions())
    found = _tracks(session)
    assert any(t.kind == "tattoo" for t in found), found
    # Switch the first tattoo track off, hide a box, keep the mole.
    first = next(t for t in found if t.kind == "tattoo")
    rows = json.loads(session.regions_path.read_text())["regions"][first.first]
    row = next(r for r in rows if f"{r[0]}:{r[1]}" == first.key)
    decided = dec.Decisions(
        hide=(dec.HiddenRegion(dec.Box(20, 20, 60, 40), 0.5, 2.0),),
        keep=(dec.Box(450, 180, 40, 40),),
        tracks_off=(dec.TrackOff(first.key, first.first, dec.Box(*row[2:6])),),
    )
    session.save_decisions(decided)
    rendered = render(registry_home, session, decided)
    assert rendered.reenabled == ()
    # Integer boxes and their JSON round trip (floats) are the same decisions and engine.
    assert render_is_current(registry_home, session, session.decisions())
    after = {t.key: t for t in _tracks(session)}
    assert after[first.key].off
    assert any(t.kind == "manual" for t in after.values())
    out = tmp_path / "out"
    request = ExportRequest(
        clip=session.clip, purpose=session.purpose, out_dir=out, qa_dir=tmp_path / "qa"
    )
    with pytest.raises(ConsentRefused) as refused:
        export_clip(registry_home, request)
    assert refused.value.rule == "review_required"
    assert "consentclip review open" in refused.value.message
    approval = approve(registry_home, session, "Dr Ada Lovelace")
    assert approval.body["staged"]["sha256"] == sha256_file(session.staged_path)
    result = export_clip(registry_home, request)
    assert sha256_file(result.plan.output) == approval.body["staged"]["sha256"]
    assert result.manifest["review"]["reviewer"] == "Dr Ada Lovelace"
    # The QA sheet names the approval and samples the frames at risk.
    import pypdfium2

    text = pypdfium2.PdfDocument(str(result.qa_sheet))[0].get_textpage().get_text_range()
    assert "Review approved by Dr Ada Lovelace" in text
    assert "Frames at risk" in text
    first_frames = [f"frame {t.first} " for t in after.values() if t.kind != "manual"]
    assert any(label in text for label in first_frames)
    with Registry.open(registry_home) as registry:
        assert registry.verify_audit().ok
        events = [e.event for e in registry.audit_entries()]
    assert "review.approved" in events and events[-1] == "export.allowed"


def test_changed_decisions_after_approval_refuse_the_export(
    registry_home: Home, journal_session: Session, tmp_path: Path
) -> None:
    session = journal_session
    approve(registry_home, session, "Dr B")
    session.save_decisions(dec.Decisions(keep=(dec.Box(450, 180, 40, 40),)))
    request = ExportRequest(clip=session.clip, purpose=session.purpose, out_dir=tmp_path / "o")
    with pytest.raises(ConsentRefused) as refused:
        export_clip(registry_home, request)
    assert refused.value.rule == "review_changed"
    assert "the decisions" in refused.value.message
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_decisions_reject_bad_documents() -> None:
    with pytest.raises(UsageError, match="tracks_off"):
        dec.loads('{"tracks_off": ["lesion:1"]}')
    with pytest.raises(UsageError, match="hide"):
        dec.loads('{"hide": [{"box": {"x": 1, "y": 1, "w": 0, "h": 3}}]}')
    a = dec.loads('{"keep": [{"x": 1, "y": 2, "w": 3, "h": 4}]}')
    b = dec.loads('{\n  "keep": [ {"h": 4.0, "w": 3, "y": 2, "x": 1} ], "hide": []}')
    assert a.sha256() == b.sha256()


def test_risk_frames_mark_track_ends_gaps_and_weak_hits() -> None:
    det = lambda s=0.9, src="full": ["face", 1, 0, 0, 10, 10, s, src, False]  # noqa: E731
    frames = [[], [det()], [det(src="interp")], [det(src="interp")], [det(0.4)], [det()], []]
    found = {(r.frame, r.why) for r in risk_frames(frames)}
    assert found == {(1, "first"), (5, "last"), (2, "gap"), (4, "weak")}
