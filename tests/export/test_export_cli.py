"""consentclip link / export through the CLI, with the real registry and the real engine.

Every gate rule is exercised allowed and refused with its exit code and message; refusals must
leave the output folder byte-for-byte as it was and leave an ``export.refused`` audit entry.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consentclip.cli import app
from consentclip.consent.records import Signer, SignerRole
from consentclip.consent.registry import Registry
from consentclip.home import Home
from shared import PATIENT_NAME, PATIENT_REF, SMALL, link, snapshot


def export(runner: CliRunner, clip: Path, purpose: str, out: Path, *extra: str):
    return runner.invoke(
        app, ["export", str(clip), "--purpose", purpose, "--out", str(out), "--quiet", *extra]
    )


def audit_events(home: Home) -> list[tuple[str, dict]]:
    with Registry.open(home) as registry:
        return [(e.event, e.detail) for e in registry.audit_entries()]


def assert_refused(result, out: Path, before: dict[str, str], *needles: str) -> None:
    assert result.exit_code == 3, result.output
    text = result.output
    for needle in needles:
        assert needle in text, text
    assert snapshot(out) == before


@pytest.fixture
def clip(make_clip: Callable[..., Path]) -> Path:
    return make_clip("Jane_Doe_arm.mp4", **SMALL)


@pytest.fixture
def out(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "already-here.txt").write_text("unrelated file\n")
    return folder


# --- allowed -------------------------------------------------------------------------------


def test_teaching_export_is_anonymised_named_from_ids_with_manifest(
    runner: CliRunner,
    registry_home: Home,
    make_consent: Callable[..., str],
    clip: Path,
    out: Path,
) -> None:
    cid = make_consent("teaching", "conference")
    link(runner, clip, cid)
    source_before = clip.read_bytes()

    result = export(runner, clip, "teaching", out, "--json")

    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    output = out / f"{cid}_clip01_teaching.mp4"
    manifest_file = out / f"{cid}_clip01_teaching.mp4.manifest.json"
    assert Path(data["paths"]["output"]) == output and output.is_file() and manifest_file.is_file()
    assert clip.read_bytes() == source_before  # the input is never modified
    manifest = json.loads(manifest_file.read_text())
    assert manifest["consent_id"] == cid
    assert manifest["purpose"] == "teaching"
    assert manifest["grant"] == {
        "purpose": "teaching",
        "identifiable": False,
        "voice": False,
        "expires": (date.today() + timedelta(days=365)).isoformat(),
    }
    assert manifest["input"]["sha256"] == hashlib.sha256(source_before).hexdigest()
    assert manifest["output"]["sha256"] == hashlib.sha256(output.read_bytes()).hexdigest()
    settings = manifest["engine"]["settings"]
    assert settings["faces"] is True and settings["tattoos"] is True  # anonymised-only grant
    assert settings["keep_audio"] is False and manifest["output"]["audio"] is False
    assert manifest["verification"]["ok"] is True
    assert manifest["output"]["frames"] == 6
    assert manifest["engine"]["consentclip"] and manifest["engine"]["ffmpeg"]
    assert manifest["exported_at"].endswith("+00:00")
    raw = manifest_file.read_text() + output.read_bytes().decode("latin-1")
    for secret in (PATIENT_REF, PATIENT_NAME, "Jane_Doe", "Jane"):
        assert secret not in raw
    # The output has no audio stream: the grant does not allow the voice.
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_type", "-of", "csv=p=0", output],
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.split() == ["video"]
    # Audit: the allowed export is logged with where it went, and revoke can list it.
    allowed = [d for e, d in audit_events(registry_home) if e == "export.allowed"]
    assert allowed and allowed[-1]["output"] == output.name
    assert allowed[-1]["destination"] == str(out.absolute())
    with Registry.open(registry_home) as registry:
        assert [e.detail["output"] for e in registry.exports_for(cid)] == [output.name]


def test_engine_options_reach_the_manifest(
    runner: CliRunner,
    registry_home: Home,
    make_consent: Callable[..., str],
    clip: Path,
    out: Path,
) -> None:
    cid = make_consent("teaching")
    link(runner, clip, cid)
    extra = ("--tattoo-sensitivity", "0.8", "--threshold", "0.4", "--mode", "pixelate")
    result = export(runner, clip, "teaching", out, *extra)
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / f"{cid}_clip01_teaching.mp4.manifest.json").read_text())
    settings = manifest["engine"]["settings"]
    assert settings["tattoo_sensitivity"] == 0.8
    assert settings["threshold"] == 0.4
    assert settings["mode"] == "pixelate"
    bad = export(runner, clip, "teaching", out / "other", "--tattoo-sensitivity", "1.5")
    assert bad.exit_code == 2


def test_identifiable_grant_with_voice_keeps_audio_and_redacts_only_what_is_asked(
    runner: CliRunner,
    make_consent: Callable[..., str],
    clip: Path,
    out: Path,
    no_review_required: Home,
) -> None:
    cid = make_consent("journal:identifiable:voice")
    link(runner, clip, cid)

    qa = out.parent / "qa"
    result = export(runner, clip, "journal", out, "--keep-audio", "--json", "--qa", str(qa))

    assert result.exit_code == 0, result.output
    manifest = json.loads(result.stdout)
    sheet = qa / f"{cid}_clip01_journal.qa.pdf"
    assert Path(manifest["paths"]["qa_sheet"]) == sheet
    assert sheet.read_bytes().startswith(b"%PDF") and not list(out.glob("*.pdf"))
    settings = manifest["engine"]["settings"]
    assert settings["faces"] is False and settings["tattoos"] is False
    assert settings["keep_audio"] is True and manifest["output"]["audio"] is True
    assert manifest["verification"]["ok"] is True  # metadata is stripped whatever the grant


def test_photo_export_is_png_named_from_ids(
    runner: CliRunner,
    make_consent: Callable[..., str],
    tmp_path: Path,
    out: Path,
) -> None:
    photo = tmp_path / "IMG_Jane.jpg"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=160x120",
         "-frames:v", "1", "-metadata", "comment=Jane", str(photo)],
        check=True,
    )  # fmt: skip
    cid = make_consent("teaching")
    link(runner, photo, cid)
    result = export(runner, photo, "teaching", out)
    assert result.exit_code == 0, result.output
    assert (out / f"{cid}_clip01_teaching.png").is_file()


def test_export_never_overwrites(
    runner: CliRunner, make_consent: Callable[..., str], clip: Path, out: Path
) -> None:
    cid = make_consent("teaching")
    link(runner, clip, cid)
    assert export(runner, clip, "teaching", out).exit_code == 0
    before = snapshot(out)

    again = export(runner, clip, "teaching", out)

    assert again.exit_code == 1
    assert "already exists" in again.output and "never overwritten" in again.output
    assert snapshot(out) == before


# --- refused, one per gate rule --------------------------------------------------------------


def test_unlinked_clip_is_refused(
    runner: CliRunner, registry_home: Home, clip: Path, out: Path
) -> None:
    before = snapshot(out)
    result = export(runner, clip, "teaching", out)
    assert_refused(result, out, before, "not linked", "consentclip link")
    refused = [d for e, d in audit_events(registry_home) if e == "export.refused"]
    assert refused[-1]["rule"] == "not_linked"
    assert refused[-1]["sha256"] == hashlib.sha256(clip.read_bytes()).hexdigest()


def test_clip_changed_after_linking_is_refused(
    runner: CliRunner, make_consent: Callable[..., str], clip: Path, out: Path
) -> None:
    link(runner, clip, make_consent("teaching"))
    with clip.open("ab") as fh:
        fh.write(b"\0")  # one byte changed is another clip
    before = snapshot(out)
    assert_refused(export(runner, clip, "teaching", out), out, before, "changed since")


def test_missing_out_folder_is_not_created_on_refusal(
    runner: CliRunner, registry_home: Home, clip: Path, tmp_path: Path
) -> None:
    out = tmp_path / "not-yet"
    result = export(runner, clip, "teaching", out)
    assert result.exit_code == 3
    assert not out.exists()


def test_purpose_not_granted_is_refused_naming_the_grants(
    runner: CliRunner,
    registry_home: Home,
    make_consent: Callable[..., str],
    clip: Path,
    out: Path,
) -> None:
    cid = make_consent("teaching", "conference")
    link(runner, clip, cid)
    before = snapshot(out)
    result = export(runner, clip, "social_media", out)
    assert_refused(
        result,
        out,
        before,
        f"consent {cid} has no grant for social_media; grants: teaching, conference",
    )
    events = audit_events(registry_home)
    assert events[-1][0] == "export.refused" and events[-1][1]["rule"] == "not_granted"


def test_withdrawn_grant_is_refused(
    runner: CliRunner,
    registry_home: Home,
    make_consent: Callable[..., str],
    clip: Path,
    out: Path,
) -> None:
    cid = make_consent("teaching", "conference")
    link(runner, clip, cid)
    with Registry.open(registry_home) as registry:
        from consentclip.consent.records import Purpose

        registry.revoke(cid, purpose=Purpose.TEACHING, reason="patient asked")
    before = snapshot(out)
    assert_refused(export(runner, clip, "teaching", out), out, before, "withdrew teaching")
    # The other grant is untouched (the clinic's review step aside).
    no_review_required = registry_home.settings_path
    no_review_required.write_text("[review]\nrequired_for = []\n", encoding="utf-8")
    assert export(runner, clip, "conference", out).exit_code == 0


def test_expired_grant_is_refused(
    runner: CliRunner, make_consent: Callable[..., str], clip: Path, out: Path
) -> None:
    created = date.today() - timedelta(days=60)
    cid = make_consent("teaching", created=created, expires=created + timedelta(days=30))
    link(runner, clip, cid)
    before = snapshot(out)
    assert_refused(export(runner, clip, "teaching", out), out, before, "expired on")


def test_voided_consent_is_refused(
    runner: CliRunner,
    registry_home: Home,
    make_consent: Callable[..., str],
    clip: Path,
    out: Path,
) -> None:
    cid = make_consent("teaching")
    link(runner, clip, cid)
    with Registry.open(registry_home) as registry:
        registry.void(cid, reason="wrong patient")
    before = snapshot(out)
    assert_refused(export(runner, clip, "teaching", out), out, before, "voided")


def test_superseded_consent_is_refused_naming_the_new_one(
    runner: CliRunner, make_consent: Callable[..., str], clip: Path, out: Path
) -> None:
    old = make_consent("teaching")
    link(runner, clip, old)
    new = make_consent("teaching", supersedes=old)
    before = snapshot(out)
    assert_refused(export(runner, clip, "teaching", out), out, before, "superseded", new)


def test_minor_come_of_age_needs_reconsent(
    runner: CliRunner, make_consent: Callable[..., str], clip: Path, out: Path
) -> None:
    created = date.today() - timedelta(days=400)
    birth = created - timedelta(days=17 * 365 + 200)  # 17 then, 18 now
    cid = make_consent(
        "teaching",
        created=created,
        expires=date.today() + timedelta(days=365),
        signer=Signer(SignerRole.PARENT, "Parent Doe", authority="mother"),
        birth_date=birth,
    )
    link(runner, clip, cid)
    before = snapshot(out)
    assert_refused(export(runner, clip, "teaching", out), out, before, "re-consent")


def test_tampered_registry_is_refused(
    runner: CliRunner,
    registry_home: Home,
    make_consent: Callable[..., str],
    clip: Path,
    out: Path,
) -> None:
    cid = make_consent("teaching")
    link(runner, clip, cid)
    # Behind the tool's back: make the anonymised-only grant identifiable.
    with sqlite3.connect(registry_home.db_path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        grant_table = next(t for t in tables if "grant" in t)
        db.execute(f"UPDATE {grant_table} SET identifiable = 1")
    before = snapshot(out)
    assert_refused(
        export(runner, clip, "teaching", out), out, before, "does not verify", "audit verify"
    )


def test_tampered_signed_document_is_refused(
    runner: CliRunner,
    registry_home: Home,
    make_consent: Callable[..., str],
    clip: Path,
    out: Path,
) -> None:
    """The signed PDF kept in the home is part of the record: a changed byte refuses export."""
    cid = make_consent("teaching")
    link(runner, clip, cid)
    (document,) = registry_home.documents_dir.glob("*.pdf")
    document.chmod(0o600)
    document.write_bytes(document.read_bytes() + b"%tampered\n")
    before = snapshot(out)
    assert_refused(export(runner, clip, "teaching", out), out, before, "does not verify")


def test_keep_audio_without_voice_grant_is_refused(
    runner: CliRunner, make_consent: Callable[..., str], clip: Path, out: Path
) -> None:
    link(runner, clip, make_consent("teaching"))
    before = snapshot(out)
    result = export(runner, clip, "teaching", out, "--keep-audio")
    assert_refused(result, out, before, "does not allow the voice", "without --keep-audio")


def test_anonymised_grant_cannot_switch_off_redaction(
    runner: CliRunner,
    registry_home: Home,
    make_consent: Callable[..., str],
    clip: Path,
    out: Path,
) -> None:
    link(runner, clip, make_consent("teaching"))
    before = snapshot(out)
    result = export(runner, clip, "teaching", out, "--no-tattoos")
    assert_refused(result, out, before, "anonymised only", "tattoo redaction cannot")
    assert audit_events(registry_home)[-1][1]["rule"] == "anonymisation_required"


# --- link ------------------------------------------------------------------------------------


def test_link_refuses_unsigned_and_lists_links(
    runner: CliRunner,
    make_consent: Callable[..., str],
    make_clip: Callable[..., Path],
    tmp_path: Path,
) -> None:
    draft = make_consent("teaching", signed=False)
    a = make_clip("a.mp4", **SMALL)
    result = runner.invoke(app, ["link", str(a), "--consent", draft])
    assert result.exit_code == 3 and "not signed" in result.output

    cid = make_consent("teaching")
    b = make_clip("b.mp4", seconds=0.4, size="160x120", rate=10)
    csv_file = tmp_path / "shoot.csv"
    csv_file.write_text(f"path,consent_id\na.mp4,{cid}\n{b},{cid.lower()}\n")
    result = runner.invoke(app, ["link", "--from-csv", str(csv_file)])
    assert result.exit_code == 0, result.output

    listed = runner.invoke(app, ["link", "--list", "--consent", cid, "--json"])
    assert listed.exit_code == 0, listed.output
    links = json.loads(listed.stdout)
    assert [(x["clip_number"], x["original_name"]) for x in links] == [(1, "a.mp4"), (2, "b.mp4")]
    assert links[0]["sha256"] == hashlib.sha256(a.read_bytes()).hexdigest()


def test_link_refuses_non_media_and_unknown_consent_without_linking_anything(
    runner: CliRunner,
    registry_home: Home,
    make_consent: Callable[..., str],
    clip: Path,
    tmp_path: Path,
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a clip")
    cid = make_consent("teaching")
    result = runner.invoke(app, ["link", str(clip), str(notes), "--consent", cid])
    assert result.exit_code == 1 and "notes.txt" in result.output
    result = runner.invoke(app, ["link", str(clip), "--consent", "C-2222"])
    assert result.exit_code == 1 and "C-2222" in result.output
    with Registry.open(registry_home) as registry:
        assert registry.list_links() == []
