"""Issue 17: the consent home holds patient names and the clinic key, so it is created readable
by its owner only, and doctor warns when an existing home is not."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consentclip.cli import app
from consentclip.consent import privacy
from consentclip.consent.home_health import home_checks
from consentclip.consent.registry import Registry
from consentclip.home import Home

V1_HOME = Path(__file__).parent / "data" / "registry_v1"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask():
    """The loosest usual umask (022 would already hide writes, not reads)."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.sqlite_only("the SQLite file and its WAL are what is checked")
def test_init_creates_everything_owner_only(home: Home, open_umask: None) -> None:
    Registry.initialise(home)
    assert mode(home.root) == 0o700
    assert mode(home.documents_dir) == 0o700
    assert mode(home.keys_dir) == 0o700
    assert mode(home.db_path) == 0o600
    assert mode(home.private_key_path) == 0o600
    assert privacy.loose_paths(home) == []
    checks = {c.name: c for c in home_checks(home)}
    assert checks["home privacy"].ok and not checks["home privacy"].warning


@pytest.mark.sqlite_only("the SQLite file and its WAL are what is checked")
def test_wal_and_shm_files_are_owner_only_while_open(home: Home, open_umask: None) -> None:
    Registry.initialise(home)
    wal = home.db_path.with_name("registry.sqlite3-wal")
    shm = home.db_path.with_name("registry.sqlite3-shm")
    with Registry.open(home) as reg:
        reg.append_audit("test.event", detail={"n": 1})
        # The registry is still open: SQLite keeps its WAL and shared-memory files.
        assert wal.exists() and shm.exists()
        assert mode(wal) == 0o600 and mode(shm) == 0o600


def test_init_through_the_cli_in_a_new_nested_folder(tmp_path: Path, open_umask: None) -> None:
    target = tmp_path / "clinic" / "consent-home"
    result = CliRunner().invoke(app, ["init", "--home", str(target)])
    assert result.exit_code == 0, result.output
    assert mode(target) == 0o700 and mode(target / "registry.sqlite3") == 0o600


def test_an_existing_folder_is_not_changed_behind_the_owners_back(
    tmp_path: Path, open_umask: None
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    os.chmod(shared, 0o755)
    home = Home(shared)
    Registry.initialise(home)
    assert mode(shared) == 0o755  # the clinic's folder, left as it was...
    assert mode(home.db_path) == 0o600  # ...but what consentclip creates in it is private
    check = {c.name: c for c in home_checks(home)}["home privacy"]
    assert check.ok and check.warning  # doctor warns; the verdict stays "ready"
    assert f"{shared} is 0755" in check.detail


def test_doctor_warns_on_a_home_made_before_issue_17(tmp_path: Path) -> None:
    root = tmp_path / "old"
    shutil.copytree(V1_HOME, root)
    os.chmod(root, 0o755)
    os.chmod(root / "registry.sqlite3", 0o644)
    home = Home(root)
    loose = privacy.loose_paths(home)
    assert f"{root} is 0755 (others can read it; want 0700)" in loose
    assert f"{home.db_path} is 0644 (others can read it; want 0600)" in loose
    check = {c.name: c for c in home_checks(home)}["home privacy"]
    assert check.warning and " more: " in check.detail and "chmod -R go-rwx" in check.detail
    result = CliRunner().invoke(app, ["--home", str(root), "doctor"])
    assert "WARN  home privacy:" in result.output
    # What doctor tells the clinic to run, done here: nothing is left to warn about.
    for path in (root, *root.rglob("*")):
        os.chmod(path, mode(path) & 0o700)
    assert privacy.loose_paths(home) == []
