"""Issue 14.1: putting back an older copy of the registry must not undo a withdrawal.

The attack needs no key, only a file copy: copy registry.sqlite3, revoke, put the copy back.
Before the audit anchor, ``consent verify`` and ``audit verify`` both said ok and the withdrawn
grant exported. Now every command refuses the rolled-back registry until a person accepts it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consentclip.cli import app
from consentclip.consent import anchor
from consentclip.consent.registry import Registry
from consentclip.errors import RollbackError
from consentclip.home import Home
from consentclip.link import link_clips
from shared import SMALL


def copy_registry(home: Home, to: Path) -> Path:
    """A backup as a clinic makes one: the database file while nothing runs (WAL checkpointed
    on the last close)."""
    target = to / "registry-backup.sqlite3"
    shutil.copy2(home.db_path, target)
    return target


def put_back(backup: Path, home: Home) -> None:
    for suffix in ("-wal", "-shm"):
        Path(str(home.db_path) + suffix).unlink(missing_ok=True)
    shutil.copy2(backup, home.db_path)


def one_line_error(result, *needles: str) -> None:
    assert result.exit_code == 1, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture
def withdrawn_then_restored(
    registry_home: Home,
    make_consent: Callable[..., str],
    make_clip: Callable[..., Path],
    tmp_path: Path,
    runner: CliRunner,
) -> tuple[str, Path]:
    clip = make_clip("a.mp4", **SMALL)
    cid = make_consent("teaching")
    link_clips(registry_home, [(clip, cid)])
    backup = copy_registry(registry_home, tmp_path)
    result = runner.invoke(app, ["consent", "revoke", cid, "--reason", "patient asked"])
    assert result.exit_code == 0, result.output
    put_back(backup, registry_home)
    return cid, clip


def test_restored_copy_is_refused_by_every_command(
    withdrawn_then_restored: tuple[str, Path], runner: CliRunner, tmp_path: Path
) -> None:
    _, clip = withdrawn_then_restored
    for argv in (
        ["consent", "list"],
        ["consent", "verify"],
        ["audit", "verify"],
        ["export", str(clip), "--purpose", "teaching", "--out", str(tmp_path / "out")],
    ):
        result = runner.invoke(app, argv)
        one_line_error(result, "rolled back", "reanchor")
    assert not (tmp_path / "out").exists()


def test_reanchor_accepts_the_copy_on_the_record(
    withdrawn_then_restored: tuple[str, Path], registry_home: Home, runner: CliRunner
) -> None:
    result = runner.invoke(app, ["audit", "reanchor"])
    assert result.exit_code == 2 and "--accept-rollback" in result.output
    result = runner.invoke(
        app, ["audit", "reanchor", "--accept-rollback", "--reason", "disk died, restored"]
    )
    assert result.exit_code == 0, result.output
    assert "accepted: the registry was rolled back" in result.output
    result = runner.invoke(app, ["audit", "anchor"])
    assert result.exit_code == 0 and "ok: the registry agrees" in result.output
    with Registry.open(registry_home) as registry:
        reset = [e for e in registry.audit_entries() if e.event == "anchor.reset"]
        assert registry.verify_audit().ok
    assert len(reset) == 1 and reset[0].detail["reason"] == "disk died, restored"
    assert "rolled back" in reset[0].detail["problems"][0]


def test_reanchor_applies_the_lost_withdrawal_again(
    withdrawn_then_restored: tuple[str, Path],
    registry_home: Home,
    runner: CliRunner,
    tmp_path: Path,
) -> None:
    """The withdrawal made after the backup sticks: the ledger beside the anchor kept it."""
    cid, clip = withdrawn_then_restored
    with Registry.open(registry_home, check_anchor=False) as registry:
        assert not registry.get(cid).grants[0].withdrawn  # the copy knows nothing of it
    result = runner.invoke(
        app, ["audit", "reanchor", "--accept-rollback", "--reason", "disk died, restored"]
    )
    assert result.exit_code == 0, result.output
    assert f"applied again from the withdrawal ledger: {cid}: teaching withdrawn" in result.output
    out = tmp_path / "out"
    result = runner.invoke(app, ["export", str(clip), "-p", "teaching", "-o", str(out), "-q"])
    assert result.exit_code == 3 and "withdrew teaching" in result.output, result.output
    assert not out.exists() or not any(out.iterdir())
    # Reanchoring again finds nothing left to apply.
    result = runner.invoke(app, ["audit", "reanchor", "--accept-rollback", "--reason", "again"])
    assert result.exit_code == 0 and "applied again" not in result.output


def test_a_forged_ledger_line_is_ignored(
    withdrawn_then_restored: tuple[str, Path], registry_home: Home
) -> None:
    del withdrawn_then_restored  # a registry rolled back past a withdrawal
    ledger = anchor.ledger_path(registry_home.root / anchor.ANCHOR_NAME)
    lines = ledger.read_text().splitlines()
    forged = json.loads(lines[-1])
    forged["consent_id"] = "C-ZZZZ"  # signature no longer matches
    ledger.write_text("\n".join([json.dumps(forged), "not json"]) + "\n")
    with Registry.open(registry_home, check_anchor=False) as registry:
        done = registry.reanchor(reason="restored")
    assert done.reapplied == [] and done.missing == []


def test_an_anchor_elsewhere_catches_a_restore_of_the_whole_home(
    registry_home: Home,
    make_consent: Callable[..., str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    runner: CliRunner,
) -> None:
    elsewhere = tmp_path / "other-volume"
    elsewhere.mkdir()
    monkeypatch.setenv(anchor.ENV_VAR, str(elsewhere))
    cid = make_consent("teaching")  # the first write records and writes the second anchor
    assert (elsewhere / f"consentclip-{anchor.ANCHOR_NAME}").is_file()
    whole_home = tmp_path / "home-backup"
    shutil.copytree(registry_home.root, whole_home)
    assert runner.invoke(app, ["consent", "revoke", cid, "--reason", "no"]).exit_code == 0
    shutil.rmtree(registry_home.root)
    shutil.copytree(whole_home, registry_home.root)  # the home's own anchor goes back too

    with pytest.raises(RollbackError, match=r"other-volume.*recorded entry"):
        Registry.open(registry_home)


def test_the_location_can_be_set_in_clinic_toml(registry_home: Home, tmp_path: Path) -> None:
    target = tmp_path / "share" / "anchor.json"
    # A top-level key: it goes before the file's first [table].
    settings = registry_home.settings_path.read_text(encoding="utf-8")
    registry_home.settings_path.write_text(
        f"audit_anchor = [{json.dumps(str(target))}]\n" + settings, encoding="utf-8"
    )
    assert anchor.locations(registry_home) == [registry_home.root / anchor.ANCHOR_NAME, target]
    with Registry.open(registry_home) as registry:
        registry.append_audit("note")
    assert json.loads(target.read_text())["seq"] == 3  # init, the location's record, the note


def test_a_removed_anchor_is_refused(registry_home: Home, make_consent: Callable[..., str]) -> None:
    make_consent("teaching")
    (registry_home.root / anchor.ANCHOR_NAME).unlink()
    with pytest.raises(RollbackError, match="is missing"):
        Registry.open(registry_home)


def test_an_anchor_from_another_registry_is_refused(registry_home: Home, tmp_path: Path) -> None:
    other = Home(tmp_path / "other-home")
    Registry.initialise(other)
    shutil.copy2(other.root / anchor.ANCHOR_NAME, registry_home.root / anchor.ANCHOR_NAME)
    with pytest.raises(RollbackError):
        Registry.open(registry_home)


def test_the_anchor_only_moves_forward(registry_home: Home) -> None:
    with Registry.open(registry_home) as registry:
        registry.append_audit("note")
        old = anchor.head(registry._conn)
        registry.append_audit("note")
        new = anchor.head(registry._conn)
        assert old is not None and new is not None
        anchor.advance(registry_home, registry.key, old)  # a slower writer, finishing late
        kept = anchor.read(registry_home.root / anchor.ANCHOR_NAME)
    assert kept is not None and kept.seq == new.seq


def test_a_forged_anchor_is_refused(registry_home: Home) -> None:
    path = registry_home.root / anchor.ANCHOR_NAME
    data = json.loads(path.read_text())
    data["seq"] = 7  # "the log reached entry 7": would refuse a good registry, if believed
    path.write_text(json.dumps(data))
    with pytest.raises(RollbackError, match="not signed by this clinic"):
        Registry.open(registry_home)
