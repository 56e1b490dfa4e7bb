"""The review commands and the export gate's review rules, from the terminal (CliRunner)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consentclip.cli import app
from consentclip.consent.clinic import Clinic
from consentclip.consent.gate import GateRequest, evaluate
from consentclip.consent.records import Grant, Purpose
from consentclip.consent.registry import Registry
from consentclip.errors import HomeError
from consentclip.hashing import sha256_file
from consentclip.home import Home

from .conftest import SAMPLE, link


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    target = tmp_path / "in" / "Jane_Doe_lesion.jpg"
    target.parent.mkdir(exist_ok=True)
    shutil.copyfile(SAMPLE / "lesion_photo.jpg", target)
    return target


def _export(runner: CliRunner, clip: Path, purpose: str, out: Path, *extra: str):
    return runner.invoke(
        app, ["export", str(clip), "--purpose", purpose, "--out", str(out), "--quiet", *extra]
    )


def _approve(runner: CliRunner, clip: Path, purpose: str, *extra: str):
    return runner.invoke(
        app, ["review", "approve", str(clip), "--purpose", purpose, "--quiet", *extra]
    )


def test_export_without_review_is_refused_and_says_how(
    runner: CliRunner,
    registry_home: Home,
    make_consent: Callable[..., str],
    photo: Path,
    tmp_path: Path,
) -> None:
    cid = make_consent("teaching", "social_media")
    link(runner, photo, cid)
    result = _export(runner, photo, "social_media", tmp_path / "out")
    assert result.exit_code == 3
    assert "requires an approved review" in result.stderr
    assert "consentclip review open CLIP --purpose social_media" in result.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    # Teaching is not on the clinic's list: no review needed.
    assert _export(runner, photo, "teaching", tmp_path / "out").exit_code == 0
    with Registry.open(registry_home) as registry:
        refused = [e for e in registry.audit_entries() if e.event == "export.refused"]
    assert refused[-1].detail["rule"] == "review_required"


def test_photo_approved_from_the_terminal_with_a_hand_written_decisions_file(
    runner: CliRunner,
    registry_home: Home,
    make_consent: Callable[..., str],
    photo: Path,
    tmp_path: Path,
) -> None:
    cid = make_consent("journal")
    link(runner, photo, cid)
    decisions = tmp_path / "decisions.json"
    decisions.write_text(
        json.dumps(
            {
                "format": "consentclip-review-decisions/1",
                "hide": [{"box": {"x": 10, "y": 10, "w": 120, "h": 60}, "start": None}],
                "keep": [{"x": 560, "y": 330, "w": 60, "h": 60}],
                "tracks_off": [],
            }
        )
    )
    listed = runner.invoke(app, ["review", "list"])
    assert listed.exit_code == 0 and "nothing staged" in listed.stdout
    done = _approve(runner, photo, "journal", "--reviewer", "Dr Grace Hopper", "--decisions",
                    str(decisions), "--json")  # fmt: skip
    assert done.exit_code == 0, done.output
    approval = json.loads(done.stdout)
    assert approval["reviewer"] == "Dr Grace Hopper"
    listed = runner.invoke(app, ["review", "list", "--json"])
    (row,) = json.loads(listed.stdout)
    assert row["state"] == "approved" and row["media_kind"] == "photo"
    assert row["name"] == f"{cid}_clip01_journal"  # from ids, never the file name

    out = tmp_path / "out"
    exported = _export(runner, photo, "journal", out, "--json")
    assert exported.exit_code == 0, exported.output
    manifest = json.loads(exported.stdout)
    assert sha256_file(Path(manifest["paths"]["output"])) == approval["staged_sha256"]
    assert manifest["review"]["audit_seq"] == approval["audit_seq"]
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0

    # Asking export for other engine settings than were approved: refused, saying which.
    changed = _export(runner, photo, "journal", tmp_path / "out2", "--mode", "pixelate")
    assert changed.exit_code == 3
    assert "the engine (mode)" in changed.stderr
    # The staged file altered behind the tool's back: refused.
    staged = registry_home.root / "review" / row["name"] / "staged.png"
    staged.write_bytes(staged.read_bytes() + b"\0")
    tampered = _export(runner, photo, "journal", tmp_path / "out3")
    assert tampered.exit_code == 3 and "the staged file changed" in tampered.stderr
    assert not (tmp_path / "out3").exists() or not any((tmp_path / "out3").iterdir())


def test_approver_must_differ_from_exporter(
    runner: CliRunner,
    registry_home: Home,
    make_consent: Callable[..., str],
    photo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry_home.settings_path.write_text("[review]\napprover_must_differ = true\n")
    cid = make_consent("conference")
    link(runner, photo, cid)
    assert _approve(runner, photo, "conference", "--reviewer", "Dr A").exit_code == 0
    monkeypatch.setenv("CONSENTCLIP_USER", "dr a")
    same = _export(runner, photo, "conference", tmp_path / "out")
    assert same.exit_code == 3 and "approved by the person now exporting" in same.stderr
    monkeypatch.setenv("CONSENTCLIP_USER", "Dr B")
    assert _export(runner, photo, "conference", tmp_path / "out").exit_code == 0


def test_bad_decisions_file_is_a_usage_error(
    runner: CliRunner, make_consent: Callable[..., str], photo: Path, tmp_path: Path
) -> None:
    link(runner, photo, make_consent("journal"))
    bad = tmp_path / "bad.json"
    bad.write_text('{"tracks_off": ["lesion:1"]}')
    result = _approve(runner, photo, "journal", "--reviewer", "Dr A", "--decisions", str(bad))
    assert result.exit_code == 2
    assert "tracks_off[0]" in result.stderr
    nameless = _approve(runner, photo, "journal", "--reviewer", "  ")
    assert nameless.exit_code == 2 and "name is required" in nameless.stderr


def test_unlinked_clip_cannot_be_staged(
    runner: CliRunner, registry_home: Home, photo: Path
) -> None:
    result = runner.invoke(
        app, ["review", "open", str(photo), "--purpose", "journal", "--no-browser"]
    )
    assert result.exit_code == 3 and "not linked" in result.stderr
    assert not (registry_home.root / "review").exists()


def test_gate_review_rules_are_pure() -> None:
    from consent.test_gate import record as signed_record

    record = signed_record(Grant(Purpose.JOURNAL, False, False, date(2030, 1, 1)))
    base = dict(record=record, purpose=Purpose.JOURNAL, linked=True, today=date(2026, 1, 1),
                integrity_ok=True)  # fmt: skip
    assert evaluate(GateRequest(**base)).allowed
    needed = evaluate(GateRequest(**base, review_required=True))
    assert needed.rule == "review_required" and "review open" in needed.message
    assert evaluate(GateRequest(**base, review_required=True, review_approved=True)).allowed
    same = evaluate(
        GateRequest(**base, review_required=True, review_approved=True, approver_is_exporter=True)
    )
    assert same.rule == "approver_is_exporter"


def test_clinic_review_policy(registry_home: Home) -> None:
    assert Clinic.load(registry_home).review.requires(Purpose.JOURNAL)
    assert not Clinic.load(registry_home).review.requires(Purpose.TEACHING)
    registry_home.settings_path.write_text('[review]\nrequired_for = ["teaching"]\n')
    policy = Clinic.load(registry_home).review
    assert policy.requires(Purpose.TEACHING) and not policy.requires(Purpose.JOURNAL)
    registry_home.settings_path.write_text('[review]\nrequired_for = ["posters"]\n')
    with pytest.raises(HomeError, match="posters"):
        Clinic.load(registry_home)
