"""Issue 17: people in the audit trail. Every entry names the person acting besides the login;
the person is hashed; an old registry (no people) migrates and still verifies; a clinic can
require a person for every change."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consentclip import scanread
from consentclip.cli import app
from consentclip.consent import audit, people, schema
from consentclip.consent.records import ConsentRecord
from consentclip.consent.registry import Registry
from consentclip.errors import PersonRequired, UsageError
from consentclip.home import Home

from .dbtools import DatabaseRefused, db_dump, tamper

V1_HOME = Path(__file__).parent / "data" / "registry_v1"
# After the newest entry of the v1 fixture, so appends to it never meet a clock going backwards
# on a machine whose clock is behind the day the fixture was made.
AFTER_FIXTURE = datetime(2030, 1, 1, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def nobody_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start each test with no person from the environment of whoever runs the suite."""
    monkeypatch.delenv(people.USER_ENV, raising=False)


def invoke(runner: CliRunner, *argv: str) -> tuple[int, str]:
    result = runner.invoke(app, list(argv))
    return result.exit_code, result.output


def set_audit_settings(home: Home, text: str) -> None:
    home.settings_path.write_text(
        home.settings_path.read_text(encoding="utf-8") + f"\n[audit]\n{text}\n", encoding="utf-8"
    )


def log_json(runner: CliRunner, *extra: str) -> list[dict]:
    code, out = invoke(runner, "audit", "log", "--json", *extra)
    assert code == 0, out
    return json.loads(out)


@pytest.fixture
def old_home(tmp_path: Path) -> Home:
    """A copy of a registry written before people were recorded (schema version 1)."""
    root = tmp_path / "old-home"
    shutil.copytree(V1_HOME, root)
    (root / "documents").mkdir()
    (root / "README.md").unlink()
    return Home(root)


def v1_hash(row: tuple) -> str:
    """The entry hash exactly as consentclip computed it before issue 17 (frozen here)."""
    seq, ts, user, event, consent_id, detail_text, prev_hash = row
    fields = [str(seq), ts, user, event, consent_id or "", detail_text, prev_hash]
    return hashlib.sha256("\x1f".join(fields).encode()).hexdigest()


# --- compatibility with registries written before people -----------------------------------


def test_old_registry_migrates_and_every_old_entry_still_verifies(
    old_home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = sqlite3.connect(old_home.db_path)
    before = conn.execute("SELECT seq, hash FROM audit ORDER BY seq").fetchall()
    assert schema.read_version(conn) == 1
    conn.close()
    with Registry.open(old_home) as reg:
        assert schema.read_version(reg._conn) == schema.CURRENT_VERSION == 2
        report = reg.verify_audit()
        assert report.ok, report.problems
        assert report.checked == 4
        assert reg.verify().ok
        entries = reg.audit_entries()
        assert [e.person for e in entries] == [""] * 4
        assert [(e.seq, e.hash) for e in entries] == before
        # Alembic's r0002 adds the column (last: SQLite adds columns only at the end; no code
        # depends on the order), as on PostgreSQL.
        columns = [r[1] for r in reg._conn.execute("PRAGMA table_info(audit)")]
        assert "person" in columns
    # The migrated table is still append-only.
    with pytest.raises(DatabaseRefused, match="append-only"):
        tamper(old_home, "UPDATE audit SET person = 'eve' WHERE seq = 1")
    with pytest.raises(DatabaseRefused, match="append-only"):
        tamper(old_home, "DELETE FROM audit WHERE seq = 4")

    # New entries carry the person and chain onto the old ones.
    monkeypatch.setattr(audit, "clock", lambda: AFTER_FIXTURE)
    monkeypatch.setenv(people.USER_ENV, "Dr Ada Lee")
    with Registry.open(old_home) as reg:
        reg.void("C-5H7Y", reason="duplicate of a paper form")
    with Registry.open(old_home) as reg:
        assert reg.verify_audit().ok and reg.verify().ok
        newest = reg.audit_entries()[-1]
        assert newest.event == "void" and newest.person == "Dr Ada Lee"


def test_an_entry_without_a_person_hashes_as_before() -> None:
    row = (7, "2026-01-02T03:04:05+00:00", "clinic", "revoke", "C-7K2M", '{"a":1}', "f" * 64)
    seq, ts, user, event, cid, detail, prev = row
    assert audit.entry_hash((seq, ts, user, "", event, cid, detail, prev)) == v1_hash(row)
    with_person = audit.entry_hash((seq, ts, user, "Dr Ada", event, cid, detail, prev))
    assert with_person != v1_hash(row)


# --- the person on every entry -------------------------------------------------------------


def test_user_option_is_recorded_besides_the_login(home: Home, runner: CliRunner) -> None:
    assert invoke(runner, "init", "--user", "Dr Ada Lee")[0] == 0
    code, cid = invoke(
        runner, "consent", "new", "--patient", "P-1", "--patient-name", "Ann Example",
        "--grant", "teaching", "--expires", "2099-01-01", "--user", "Nurse Bo",
    )  # fmt: skip
    assert code == 0, cid
    entries = log_json(runner)
    assert [(e["event"], e["person"]) for e in entries] == [
        ("init", "Dr Ada Lee"),
        ("create", "Nurse Bo"),
    ]
    assert all(e["os_user"] == audit.os_user() for e in entries)
    code, text = invoke(runner, "audit", "log")
    assert f"Nurse Bo ({audit.os_user()})" in text
    # --user lasts for its command only.
    assert people.USER_ENV not in os.environ
    code, _ = invoke(runner, "consent", "void", cid.strip(), "--reason", "made in error")
    assert code == 0
    assert log_json(runner)[-1]["person"] == ""


def test_person_order_option_then_environment_then_settings(
    home: Home, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert invoke(runner, "init")[0] == 0
    set_audit_settings(home, 'user = "Desk 1 (reception)"')
    new = ("consent", "new", "--patient", "P-1", "--patient-name", "A", "--grant", "teaching",
           "--expires", "2099-01-01")  # fmt: skip
    assert invoke(runner, *new)[0] == 0
    monkeypatch.setenv(people.USER_ENV, "Env Person")
    assert invoke(runner, *new)[0] == 0
    assert invoke(runner, *new, "--user", "Option Person")[0] == 0
    assert [e["person"] for e in log_json(runner)] == [
        "",  # init: clinic.toml did not have [audit] yet
        "Desk 1 (reception)",
        "Env Person",
        "Option Person",
    ]
    assert os.environ[people.USER_ENV] == "Env Person"  # put back after --user


@pytest.mark.parametrize("bad", ["", "   ", "Dr\nEve", "Dr\x1fEve", "x" * 121])
def test_a_bad_name_is_one_line_and_exit_2(home: Home, runner: CliRunner, bad: str) -> None:
    assert invoke(runner, "init")[0] == 0
    before = db_dump(home)
    code, out = invoke(runner, "consent", "new", "--patient", "P", "--patient-name", "A",
                       "--grant", "teaching", "--expires", "2099-01-01", "--user", bad)  # fmt: skip
    assert code == 2, out
    assert out.startswith("error: --user") and out.count("\n") == 1
    assert db_dump(home) == before


def test_a_bad_name_in_the_environment_is_refused(
    home: Home, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert invoke(runner, "init")[0] == 0
    monkeypatch.setenv(people.USER_ENV, "Dr\tEve")
    code, out = invoke(runner, "consent", "new", "--patient", "P", "--patient-name", "A",
                       "--grant", "teaching", "--expires", "2099-01-01")  # fmt: skip
    assert code == 2 and "$CONSENTCLIP_USER contains a control character" in out


def test_the_person_is_part_of_the_hash(home: Home, runner: CliRunner) -> None:
    assert invoke(runner, "init", "--user", "Dr Ada")[0] == 0
    for edit in ("'Dr Eve'", "''"):
        tamper(
            home,
            "DROP TRIGGER IF EXISTS audit_no_update",
            f"UPDATE audit SET person = {edit} WHERE seq = 1",
        )
        with Registry.open(home) as reg:
            problems = reg.verify_audit().problems
        assert "audit entry 1 (init) was edited: its hash does not match" in problems


def test_a_person_added_to_an_old_entry_is_caught(old_home: Home) -> None:
    with Registry.open(old_home):
        pass  # migrate
    tamper(
        old_home,
        "DROP TRIGGER audit_no_update",
        "UPDATE audit SET person = 'Dr Ada' WHERE seq = 2",
    )
    with Registry.open(old_home) as reg:
        assert "audit entry 2 (create) was edited: its hash does not match" in (
            reg.verify_audit().problems
        )


# --- consent show, the takedown list --------------------------------------------------------


def test_consent_show_names_who_did_what(
    ready_home: Home,
    runner: CliRunner,
    new_consent: Callable[..., ConsentRecord],
    signature_png: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(people.USER_ENV, "Nurse Bo")
    rec = new_consent("teaching", "journal")
    monkeypatch.setenv(people.USER_ENV, "Dr Ada Lee")
    scanread.sign_electronically(
        home=ready_home, consent_id=rec.id, signature_image=signature_png, signed_by="Ann Example"
    )
    monkeypatch.delenv(people.USER_ENV)
    code, out = invoke(
        runner, "consent", "revoke", rec.id, "--grant", "journal", "--reason", "asked",
        "--user", "Reception Desk",
    )  # fmt: skip
    assert code == 0, out
    code, out = invoke(runner, "consent", "show", rec.id)
    assert code == 0, out
    login = audit.os_user()
    history = out.split("history\n", 1)[1].splitlines()
    assert [line.split(" by ", 1)[1] for line in history] == [
        f"Nurse Bo ({login})",
        f"Dr Ada Lee ({login})",
        f"Reception Desk ({login})",
    ]
    assert [line.split()[3] for line in history] == ["create", "sign", "revoke"]
    code, out = invoke(runner, "consent", "show", rec.id, "--json")
    shown = json.loads(out)["history"]
    assert [(h["event"], h["person"], h["os_user"]) for h in shown] == [
        ("create", "Nurse Bo", login),
        ("sign", "Dr Ada Lee", login),
        ("revoke", "Reception Desk", login),
    ]


def test_takedown_list_names_who_exported(
    ready_home: Home,
    runner: CliRunner,
    new_consent: Callable[..., ConsentRecord],
    signature_png: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rec = scanread.sign_electronically(
        home=ready_home,
        consent_id=new_consent("teaching").id,
        signature_image=signature_png,
        signed_by="Ann Example",
    ).record
    monkeypatch.setenv(people.USER_ENV, "Dr Exporter")
    with Registry.open(ready_home) as reg:
        reg.record_export_decision(
            consent_id=rec.id,
            sha256="ab" * 32,
            purpose="teaching",
            allowed=True,
            rule=None,
            detail={"output": f"{rec.id}_clip01_teaching.mp4", "destination": "/exports"},
        )
    monkeypatch.delenv(people.USER_ENV)
    code, out = invoke(runner, "consent", "revoke", rec.id, "--reason", "stop", "--json",
                       "--user", "Reception Desk")  # fmt: skip
    assert code == 0, out
    exported = json.loads(out)["already_exported"]
    assert [(e["person"], e["os_user"]) for e in exported] == [("Dr Exporter", audit.os_user())]
    with Registry.open(ready_home) as reg:
        assert reg.audit_entries(rec.id)[-1].person == "Reception Desk"


def test_takedown_list_text_names_the_exporter(
    ready_home: Home,
    runner: CliRunner,
    new_consent: Callable[..., ConsentRecord],
    signature_png: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rec = scanread.sign_electronically(
        home=ready_home,
        consent_id=new_consent("teaching").id,
        signature_image=signature_png,
        signed_by="Ann Example",
    ).record
    with Registry.open(ready_home) as reg:
        reg.record_export_decision(
            consent_id=rec.id, sha256="cd" * 32, purpose="teaching", allowed=True, rule=None,
            detail={"output": "x.mp4", "destination": "/exports"},
        )  # fmt: skip
    code, out = invoke(runner, "consent", "revoke", rec.id, "--reason", "stop")
    assert code == 0, out
    # Nobody named: the login alone, as before.
    assert f"x.mp4  -> /exports  by {audit.os_user()}\n" in out


# --- a clinic that requires a person --------------------------------------------------------


def test_required_person_refuses_every_change_and_writes_nothing(
    home: Home, runner: CliRunner, tmp_path: Path
) -> None:
    assert invoke(runner, "init")[0] == 0
    code, cid = invoke(runner, "consent", "new", "--patient", "P", "--patient-name", "A",
                       "--grant", "teaching", "--expires", "2099-01-01")  # fmt: skip
    cid = cid.strip()
    set_audit_settings(home, "require_person = true")
    before = db_dump(home)
    new = ("consent", "new", "--patient", "P", "--patient-name", "A", "--grant", "teaching",
           "--expires", "2099-01-01")  # fmt: skip
    for argv in (
        new,
        ("consent", "void", cid, "--reason", "x"),
        ("audit", "reanchor", "--accept-rollback", "--reason", "x"),
        ("link", str(tmp_path / "nothing.mp4"), "--consent", cid),
    ):
        code, out = invoke(runner, *argv)
        if argv[0] == "link":  # a missing clip is found first; still nothing written
            assert code != 0
            continue
        assert code == 2, (argv, out)
        assert out.count("\n") == 1 and "no person was named" in out and "--user NAME" in out
    code, out = invoke(runner, *new, "--json")
    assert code == 2 and json.loads(out)["error"]["kind"] == "person_required"
    assert db_dump(home) == before
    # Reading is never refused.
    assert invoke(runner, "consent", "show", cid)[0] == 0
    assert invoke(runner, "audit", "log")[0] == 0
    assert invoke(runner, "audit", "verify")[0] == 0
    # Named: the change goes through and records the person.
    code, out = invoke(runner, *new, "--user", "Dr Ada")
    assert code == 0, out
    assert log_json(runner)[-1]["person"] == "Dr Ada"


def test_required_person_from_settings_default(home: Home, runner: CliRunner) -> None:
    assert invoke(runner, "init")[0] == 0
    set_audit_settings(home, 'require_person = true\nuser = "Photography room"')
    code, out = invoke(runner, "consent", "new", "--patient", "P", "--patient-name", "A",
                       "--grant", "teaching", "--expires", "2099-01-01")  # fmt: skip
    assert code == 0, out
    assert log_json(runner)[-1]["person"] == "Photography room"


def test_export_check_refuses_before_any_work(ready_home: Home) -> None:
    set_audit_settings(ready_home, "require_person = true")
    with Registry.open(ready_home) as reg, pytest.raises(PersonRequired):
        reg.check_writable()


@pytest.mark.parametrize(
    ("table", "needle"),
    [
        ("require_person = 'yes'", "must be true or false"),
        ("user = 3", "must be a name in quotes"),
        ('user = "a\\nb"', "control character"),
    ],
)
def test_bad_audit_settings_are_one_line(
    home: Home, runner: CliRunner, table: str, needle: str
) -> None:
    assert invoke(runner, "init")[0] == 0
    set_audit_settings(home, table)
    code, out = invoke(runner, "consent", "new", "--patient", "P", "--patient-name", "A",
                       "--grant", "teaching", "--expires", "2099-01-01")  # fmt: skip
    assert code == 1 and needle in out and out.count("\n") == 1


def test_check_name_rules() -> None:
    assert people.check_name("  Dr Ada Lee ") == "Dr Ada Lee"
    assert people.check_name("Д-р Иванова") == "Д-р Иванова"
    with pytest.raises(UsageError):
        people.check_name("Dr\u200bAda")  # a zero-width space (format character)
