"""The consent, audit and init commands end to end, in process, with their exit codes."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consentclip.cli import app
from consentclip.consent import schema
from consentclip.consent.registry import Registry
from consentclip.home import Home

from .dbtools import db_dump, tamper

# Relative to today, so the test means the same in any year (checked under faketime 2034).
EXPIRES = (date.today() + timedelta(days=5 * 365)).isoformat()
JOURNAL_EXPIRES = (date.today() + timedelta(days=4 * 365)).isoformat()


def run(runner: CliRunner, *argv: str) -> tuple[int, str]:
    result = runner.invoke(app, list(argv))
    return result.exit_code, result.output


@pytest.fixture
def initialised(home: Home, runner: CliRunner) -> Home:
    code, out = run(runner, "init")
    assert code == 0 and f"created consent home at {home.root}" in out
    return home


def test_init_twice_is_safe_and_says_so(initialised: Home, runner: CliRunner) -> None:
    key = initialised.private_key_path.read_bytes()
    code, out = run(runner, "init")
    assert code == 0 and "already exists; nothing changed" in out
    assert initialised.private_key_path.read_bytes() == key
    code, out = run(runner, "init", "--json")
    assert code == 0 and json.loads(out)["created"] is False
    assert (initialised.root / "clinic.toml").exists()


@pytest.mark.sqlite_only("the SQLite file in the home")
def test_init_with_explicit_home(tmp_path: Path, runner: CliRunner) -> None:
    target = tmp_path / "elsewhere"
    code, _ = run(runner, "init", "--home", str(target))
    assert code == 0 and (target / "registry.sqlite3").exists()


def test_commands_before_init_say_what_to_do(home: Home, runner: CliRunner) -> None:
    code, out = run(runner, "consent", "list")
    assert code == 1 and "run 'consentclip init' first" in out
    assert not home.root.exists()


def test_create_print_sign_revoke_sequence(
    initialised: Home, runner: CliRunner, tmp_path: Path, signature_png: Path
) -> None:
    code, out = run(
        runner,
        "consent",
        "new",
        "--patient",
        "P-0042",
        "--patient-name",
        "Ann Example",
        "--grant",
        "teaching:identifiable",
        "--grant",
        f"journal:voice@{JOURNAL_EXPIRES}",
        "--grant",
        "conference",
        "--expires",
        EXPIRES,
        "--clinician",
        "Dr Smith",
        "--body-site",
        "left forearm",
        "--face-visible",
    )
    assert code == 0, out
    cid = out.strip()
    assert cid.startswith("C-") and len(cid) == 6

    code, out = run(runner, "consent", "show", cid, "--json")
    shown = json.loads(out)
    assert shown["state"] == "draft"
    assert [
        (g["purpose"], g["identifiable"], g["voice"], g["expires"]) for g in shown["grants"]
    ] == [
        ("teaching", True, False, EXPIRES),
        ("conference", False, False, EXPIRES),
        ("journal", False, True, JOURNAL_EXPIRES),
    ]

    form = tmp_path / "form.pdf"
    code, out = run(runner, "consent", "pdf", cid, "-o", str(form))
    assert code == 0 and form.read_bytes().startswith(b"%PDF")

    code, out = run(
        runner,
        "consent",
        "sign",
        cid,
        "--signature-image",
        str(signature_png),
        "--signed-by",
        "Ann Example",
        "--agree",
        "all",
    )
    assert code == 0 and f"{cid} signed (electronic) by Ann Example" in out

    with Registry.open(initialised) as reg:
        reg.record_export_decision(
            consent_id=cid,
            sha256="ab" * 32,
            purpose="teaching",
            allowed=True,
            rule=None,
            detail={"output": f"{cid}_clip1_teaching.mp4", "destination": "/srv/exports"},
        )

    code, out = run(runner, "consent", "revoke", cid, "--grant", "teaching", "--reason", "asked")
    assert code == 0
    assert "withdrew teaching; state now partially_withdrawn" in out
    assert f"{cid}_clip1_teaching.mp4" in out and "/srv/exports" in out

    code, out = run(runner, "consent", "list", "--state", "partially_withdrawn")
    assert code == 0 and cid in out
    code, out = run(runner, "consent", "list", "--patient", "nobody")
    assert code == 0 and "no consents match" in out
    code, out = run(runner, "consent", "show", cid)
    assert "WITHDRAWN" in out and "signed     electronic by Ann Example" in out

    code, out = run(runner, "consent", "verify")
    assert code == 0 and "ok: 1 consent record(s) verify" in out
    code, out = run(runner, "audit", "verify", "--json")
    assert code == 0 and json.loads(out)["ok"] is True
    code, out = run(runner, "audit", "log", "--consent", cid, "--json")
    events = [e["event"] for e in json.loads(out)]
    assert events == ["create", "sign", "export.allowed", "revoke"]
    assert all(e["os_user"] for e in json.loads(out))


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["--grant", "tiktok"], 2, "unknown purpose 'tiktok'"),
        (["--grant", "teaching", "--expires", "2001-01-01"], 2, "in the past"),
        (["--grant", "teaching", "--expires", "01/02/2030"], 2, "use YYYY-MM-DD"),
        (
            ["--grant", "teaching", "--signer-role", "guardian", "--signer-name", "Mum"],
            2,
            "--birth-date",
        ),
        (["--grant", "teaching", "--signer-role", "uncle"], 2, "'uncle' is not one of"),
    ],
)
def test_bad_new_arguments(
    initialised: Home, runner: CliRunner, argv: list[str], code: int, message: str
) -> None:
    before = db_dump(initialised)
    got, out = run(
        runner,
        "consent",
        "new",
        "--patient",
        "P1",
        "--patient-name",
        "A",
        "--expires",
        "2099-01-01",
        *argv,
    )
    assert got == code and message in out
    assert len(out.strip().splitlines()) == 1  # one line
    assert db_dump(initialised) == before


def test_unknown_id_and_already_withdrawn(
    initialised: Home, runner: CliRunner, signature_png: Path
) -> None:
    code, out = run(runner, "consent", "show", "C-2345")
    assert code == 1 and "no consent with id C-2345" in out
    code, out = run(runner, "consent", "show", "C-0000")
    assert code == 2 and "not a consent id" in out
    _, cid = run(
        runner,
        "consent",
        "new",
        "--patient",
        "P1",
        "--patient-name",
        "A",
        "--grant",
        "teaching",
        "--expires",
        "2099-01-01",
    )
    cid = cid.strip()
    sign = ["--signature-image", str(signature_png), "--signed-by", "A", "--agree", "all"]
    run(runner, "consent", "sign", cid, *sign)
    assert run(runner, "consent", "revoke", cid, "--reason", "no")[0] == 0
    before = db_dump(initialised)
    code, out = run(runner, "consent", "revoke", cid, "--grant", "teaching", "--reason", "again")
    assert code == 2 and "already withdrawn" in out
    assert db_dump(initialised) == before


def test_verify_commands_fail_after_tampering(initialised: Home, runner: CliRunner) -> None:
    _, cid = run(
        runner,
        "consent",
        "new",
        "--patient",
        "P1",
        "--patient-name",
        "A",
        "--grant",
        "teaching",
        "--expires",
        "2099-01-01",
    )
    tamper(
        initialised,
        "UPDATE grants SET identifiable = 1",
        "DROP TRIGGER audit_no_update",
        "UPDATE audit SET event = 'x' WHERE seq = 1",
    )
    code, out = run(runner, "consent", "verify", cid.strip())
    assert code == 1 and "FAIL" in out and "grant teaching identifiable changed" in out
    code, out = run(runner, "audit", "verify")
    assert code == 1 and "audit entry 1 (x) was edited" in out


def test_newer_schema_exits_with_one_line(initialised: Home, runner: CliRunner) -> None:
    tamper(initialised, f"UPDATE schema_version SET version = {schema.CURRENT_VERSION + 5}")
    code, out = run(runner, "consent", "list")
    assert code == 1 and "newer than this consentclip supports" in out
    assert len(out.strip().splitlines()) == 1


def test_doctor_reports_the_home(initialised: Home, runner: CliRunner) -> None:
    from consentclip.consent.registry import home_checks

    names = {c.name: c.ok for c in home_checks(initialised)}
    assert names == {
        "consent home": True,
        "registry schema": True,
        "signing key": True,
        "home privacy": True,
    }


def test_consent_verify_rehashes_signed_documents(
    initialised: Home, runner: CliRunner, signature_png: Path
) -> None:
    _, cid = run(
        runner,
        "consent",
        "new",
        "--patient",
        "P1",
        "--patient-name",
        "A",
        "--grant",
        "teaching",
        "--expires",
        "2099-01-01",
    )
    code, out = run(
        runner,
        "consent",
        "sign",
        cid.strip(),
        "--signature-image",
        str(signature_png),
        "--signed-by",
        "A",
        "--agree",
        "all",
        "--json",
    )
    doc = Path(json.loads(out)["document"])
    doc.chmod(0o644)
    doc.write_bytes(b"%PDF-1.4 a different form")
    code, out = run(runner, "consent", "verify")
    assert code == 1 and "was altered" in out


def test_supersede_and_void_from_the_cli(
    initialised: Home, runner: CliRunner, signature_png: Path
) -> None:
    def new(*extra: str) -> str:
        code, out = run(
            runner,
            "consent",
            "new",
            "--patient",
            "P1",
            "--patient-name",
            "A",
            "--grant",
            "teaching",
            "--expires",
            "2099-01-01",
            *extra,
        )
        assert code == 0, out
        return out.strip()

    def sign(cid: str) -> None:
        argv = ["consent", "sign", cid, "--signature-image", str(signature_png)]
        assert run(runner, *argv, "--signed-by", "A", "--agree", "all")[0] == 0

    old = new()
    sign(old)
    newer = new("--supersedes", old.lower())
    sign(newer)
    code, out = run(runner, "consent", "show", old, "--json")
    shown = json.loads(out)
    assert shown["state"] == "superseded" and shown["superseded_by"] == newer
    code, out = run(runner, "consent", "void", newer, "--reason", "wrong patient")
    assert code == 0 and f"{newer} voided" in out
    code, out = run(runner, "consent", "revoke", newer, "--reason", "x")
    assert code == 2 and "voided" in out
