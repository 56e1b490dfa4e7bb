"""PostgreSQL only: several workstations (homes) on one database, init --database, registry copy.

The rest of tests/consent runs on both backends; these need two homes or a SQLite source.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consentclip import scanread
from consentclip.cli import app
from consentclip.consent import actions, backend
from consentclip.consent.registry import Registry
from consentclip.errors import HomeError, RollbackError
from consentclip.home import ENV_VAR, Home

from .conftest import FUTURE
from .dbtools import tamper

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def url(pg_server, monkeypatch: pytest.MonkeyPatch) -> str:  # type: ignore[no-untyped-def]
    monkeypatch.delenv(backend.URL_ENV, raising=False)
    return str(pg_server.fresh_url())


def cli(home: Home, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--home", str(home.root), *args])
    return result.exit_code, result.output


def make_signed(home: Home, png: Path, *grants: str) -> str:
    from consentclip.consent.actions import create_consent

    record = create_consent(
        home=home, patient_ref="P-7", grants=grants, expires=FUTURE, patient_name="Ann Example"
    )
    scanread.sign_electronically(
        home=home, consent_id=record.id, signature_image=png, signed_by=record.signer.name
    )
    return record.id


def workstation(tmp_path: Path, name: str, url: str, keys_from: Home | None = None) -> Home:
    home = Home(tmp_path / name)
    if keys_from is not None:  # the clinic's key, shared as docs/deploy.md says
        home.root.mkdir()
        shutil.copytree(keys_from.keys_dir, home.keys_dir)
    Registry.initialise(home, database=url)
    return home


# --- init --database ------------------------------------------------------------------------
def test_init_database_is_stored_and_a_second_home_joins(tmp_path: Path, url: str) -> None:
    a = Home(tmp_path / "a")
    code, out = cli(a, "init", "--database", url)
    assert code == 0, out
    assert backend.configured_url(a) == url and not a.db_path.exists()
    b = workstation(tmp_path, "b", url, keys_from=a)
    with Registry.open(a) as reg:
        reg.append_audit("note", detail={"from": "a"})
    with Registry.open(b) as reg:  # B sees A's entry in the one shared log
        assert [e.event for e in reg.audit_entries()][-1] == "note"
        assert reg.verify_audit().ok
    code, out = cli(a, "init", "--database", url)  # re-run: nothing changes
    assert code == 0 and "already exists" in out


def test_workstations_with_the_same_home_path_keep_their_own_anchors(
    tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every workstation's home is often at the same default path. The log names an anchor
    with its machine, so one workstation's anchor is not another's "missing" one."""
    import socket

    a = workstation(tmp_path, "home", url)
    with Registry.open(a) as reg:
        reg.append_audit("note", detail={"at": "reception"})
    a.root.rename(tmp_path / "reception")  # reception's disk, out of sight of the other machine
    monkeypatch.setattr(socket, "gethostname", lambda: "photo-room")
    b = workstation(tmp_path, "home", url, keys_from=Home(tmp_path / "reception"))
    with Registry.open(b) as reg:
        reg.append_audit("note", detail={"at": "photo-room"})
        assert reg.verify_audit().ok
    monkeypatch.undo()
    b.root.rename(tmp_path / "photo-room")
    (tmp_path / "reception").rename(a.root)  # reception again: its anchor, now behind, is fine
    with Registry.open(a) as reg:
        notes = [e.detail["at"] for e in reg.audit_entries() if e.event == "note"]
        assert notes == ["reception", "photo-room"]
    (tmp_path / "home" / "audit-anchor.json").unlink()  # but removing its own is still caught
    with pytest.raises(RollbackError, match="is missing"):
        Registry.open(a)


def test_a_home_with_another_key_is_refused(tmp_path: Path, url: str) -> None:
    workstation(tmp_path, "a", url)
    with pytest.raises(HomeError, match="another clinic key"):
        workstation(tmp_path, "b", url)


def test_bad_and_unreachable_urls_are_one_line(tmp_path: Path, pg_server) -> None:  # type: ignore[no-untyped-def]
    code, out = cli(Home(tmp_path / "x"), "init", "--database", "mysql://db/clinic")
    assert code == 2 and "is not a PostgreSQL URL" in out and len(out.strip().splitlines()) == 1
    dead = f"postgresql://postgres@127.0.0.1:{pg_server.port + 1}/none?connect_timeout=3"
    code, out = cli(Home(tmp_path / "y"), "init", "--database", dead)
    assert code == 1 and "cannot reach the consent registry" in out
    assert len(out.strip().splitlines()) == 1


# --- two workstations: a withdrawal on one refuses the next export on the other ---------------
def _export(home: Home, clip: Path, out: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, ENV_VAR: str(home.root), "PYTHONPATH": str(REPO / "src")}
    env.pop(backend.URL_ENV, None)  # each workstation finds the URL in its own clinic.toml
    argv = [sys.executable, "-m", "consentclip", "export", str(clip), "-p", "teaching"]
    return subprocess.run(
        [*argv, "-o", str(out)], env=env, capture_output=True, text=True, timeout=300
    )


def test_revoke_on_one_workstation_refuses_export_on_another(
    tmp_path: Path, url: str, signature_png: Path, make_clip: Callable[..., Path]
) -> None:
    a = workstation(tmp_path, "reception", url)
    b = workstation(tmp_path, "photo-room", url, keys_from=a)
    # Signed forms are files in the home, not rows: the workstations share that folder
    # (docs/deploy.md); the export gate checks that the signed form is there.
    b.documents_dir.rmdir()
    b.documents_dir.symlink_to(a.documents_dir)
    cid = make_signed(a, signature_png, "teaching")
    clip = make_clip("lesion.mp4", seconds=1.0, size="160x120", audio=False)
    code, out = cli(b, "link", str(clip), "--consent", cid)
    assert code == 0, out
    assert _export(b, clip, tmp_path / "out0").returncode == 0

    # A revokes while B exports (two processes at once): whichever commits first, the shared log
    # is one chain, and an export that went out is listed before the withdrawal.
    env = {**os.environ, ENV_VAR: str(a.root), "PYTHONPATH": str(REPO / "src")}
    env.pop(backend.URL_ENV, None)
    revoker = subprocess.Popen(
        [sys.executable, "-m", "consentclip", "consent", "revoke", cid, "--reason", "no more"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    during = _export(b, clip, tmp_path / "out1")
    assert revoker.wait(timeout=300) == 0, revoker.stdout.read() if revoker.stdout else ""
    assert during.returncode in (0, 3), during.stderr

    after = _export(b, clip, tmp_path / "out2")  # B's next export: refused at once
    assert after.returncode == 3 and "withdrew teaching" in after.stderr
    assert not (tmp_path / "out2").exists() or not any((tmp_path / "out2").iterdir())
    with Registry.open(b) as reg:
        events = [(e.seq, e.event) for e in reg.audit_entries(cid)]
        revoke_seq = next(s for s, e in events if e == "revoke")
        allowed = [s for s, e in events if e == "export.allowed"]
        assert len(allowed) == (2 if during.returncode == 0 else 1)
        assert all(s < revoke_seq for s in allowed)
        assert reg.verify_audit().ok and reg.verify().ok


# --- registry copy --------------------------------------------------------------------------
@pytest.mark.sqlite_only("the copy's source is a SQLite registry")
def test_copy_moves_a_clinic_and_verifies_it(
    tmp_path: Path,
    url: str,
    home: Home,
    registry_backend: str,
    signature_png: Path,
) -> None:
    Registry.initialise(home)
    cid = make_signed(home, signature_png, "teaching", "journal")
    actions.revoke(home=home, consent_id=cid, purpose="journal", reason="changed mind")
    code, out = cli(home, "init", "--database", url)  # not before the copy
    assert code == 2 and "already has a SQLite registry" in out
    code, out = cli(home, "registry", "copy", "--to", url, "--json")
    assert code == 0, out
    result = json.loads(out)
    assert result["rows"]["consents"] == 1 and result["records_verified"] == 1
    # Another home with the clinic's key reads the same consent from PostgreSQL.
    joined = workstation(tmp_path, "joined", url, keys_from=home)
    with Registry.open(joined) as reg, Registry.open(home) as old:
        assert reg.get(cid) == old.get(cid)
        assert reg.verify().ok and reg.verify_audit().ok
        copied = [e for e in reg.audit_entries() if e.event != "registry.copy"]
        assert [e.hash for e in copied] == [e.hash for e in old.audit_entries()]
    # This home switches to the copy: the anchor it kept still matches, nothing was lost.
    code, out = cli(home, "init", "--database", url)
    assert code == 0, out
    with Registry.open(home) as reg:
        assert reg.backend.is_postgres and reg.get(cid).state.value == "partially_withdrawn"
        assert reg.verify().ok and reg.verify_audit().ok
    # A target that holds a registry is refused, one line, nothing added.
    other = Home(tmp_path / "another-clinic")
    Registry.initialise(other)
    code, out = cli(other, "registry", "copy", "--to", url)
    assert code == 2 and "already holds a consent registry" in out
    assert len(out.strip().splitlines()) == 1


@pytest.mark.sqlite_only("the copy's source is a SQLite registry")
def test_copy_of_a_tampered_registry_is_refused_and_leaves_nothing(
    tmp_path: Path, url: str, home: Home, registry_backend: str, signature_png: Path
) -> None:
    Registry.initialise(home)
    make_signed(home, signature_png, "teaching")
    tamper(home, "UPDATE grants SET identifiable = 1")
    code, out = cli(home, "registry", "copy", "--to", url)
    assert code == 1 and "does not verify" in out and len(out.strip().splitlines()) == 1
    import psycopg

    with psycopg.connect(url) as conn:  # not even the schema was made
        assert conn.execute("SELECT to_regclass('audit')").fetchone() == (None,)


def test_copy_from_a_postgres_home_is_refused(tmp_path: Path, url: str) -> None:
    a = workstation(tmp_path, "a", url)
    code, out = cli(a, "registry", "copy", "--to", url)
    assert code == 2 and "already uses the PostgreSQL registry" in out


# --- the application role of docs/deploy.md -------------------------------------------------
APP_GRANTS = """
GRANT USAGE ON SCHEMA {schema} TO {role};
GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role};
GRANT INSERT ON audit, record_versions TO {role};
GRANT INSERT, UPDATE ON consents, audit_head TO {role};
GRANT INSERT, DELETE ON grants, clip_links TO {role};
"""


def test_the_app_role_appends_but_cannot_rewrite_the_log(
    tmp_path: Path, url: str, signature_png: Path, make_clip: Callable[..., Path]
) -> None:
    """The grants docs/deploy.md gives the workstations' role (kept identical to APP_GRANTS):
    every command works, and the
    database itself refuses to change or delete an audit entry, even with the triggers gone."""
    import psycopg

    owner_home = workstation(tmp_path, "owner", url)  # the owner creates the schema
    schema_name = url.rsplit("%3D", 1)[1]
    role = f"app_{schema_name}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")  # type: ignore[arg-type]
        for statement in APP_GRANTS.format(schema=schema_name, role=role).split(";"):
            if statement.strip():
                conn.execute(statement)  # type: ignore[arg-type]
    app_url = url.replace("postgres@", f"{role}@", 1)
    app = workstation(tmp_path, "app", app_url, keys_from=owner_home)
    cid = make_signed(app, signature_png, "teaching", "journal")
    clip = make_clip("c.mp4", seconds=0.5, size="160x120", audio=False)
    assert cli(app, "link", str(clip), "--consent", cid)[0] == 0
    actions.revoke(home=app, consent_id=cid, purpose="journal", reason="no")
    with Registry.open(app) as reg:
        assert reg.verify().ok and reg.verify_audit().ok
    app_dsn = app_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as owner:  # even without the trigger, the grants refuse
        owner.execute("DROP TRIGGER audit_no_update ON audit")
    for sql in ("UPDATE audit SET event = 'x'", "DELETE FROM audit", "TRUNCATE audit"):
        with psycopg.connect(app_dsn) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(sql)  # type: ignore[arg-type]
