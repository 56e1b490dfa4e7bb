"""Issue 14.6: every database error is one line with a reason and a stable exit code.

Before: a read-only home gave ``sqlite3.OperationalError`` on every command, a lock held for more
than ~35 s gave ``database is locked`` after the work was thrown away, and a refused export then
exited 1 and was not logged.
"""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consentclip.cli import app
from consentclip.consent import registry as registry_module
from consentclip.consent.registry import Registry
from consentclip.home import ENV_VAR, Home
from consentclip.link import link_clips
from shared import SMALL, snapshot


def one_line(result, code: int, *needles: str) -> str:
    assert result.exit_code == code, result.output
    errors = [ln for ln in result.output.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in result.output, result.output
    for needle in needles:
        assert needle in errors[0], errors[0]
    return result.output


@pytest.fixture
def read_only_home(
    registry_home: Home,
    make_consent: Callable[..., str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Home]:
    """The same home seen through a read-only bind mount (root ignores file modes, so a real
    read-only mount is the honest test); skipped where mounting is not allowed."""
    make_consent("teaching")
    view = tmp_path / "ro-home"
    view.mkdir()
    done = subprocess.run(["mount", "--bind", str(registry_home.root), str(view)], check=False)
    if done.returncode != 0:
        pytest.skip("cannot bind-mount here")
    try:
        if subprocess.run(["mount", "-o", "remount,bind,ro", str(view)], check=False).returncode:
            pytest.skip("cannot remount read-only here")
        monkeypatch.setenv(ENV_VAR, str(view))
        yield Home(view)
    finally:
        subprocess.run(["umount", str(view)], check=False)


def test_a_read_only_home_reads_and_refuses_writes_in_one_line(
    read_only_home: Home, runner: CliRunner, make_clip: Callable[..., Path], tmp_path: Path
) -> None:
    listed = runner.invoke(app, ["consent", "list"])
    assert listed.exit_code == 0 and "teaching" in listed.output, listed.output
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0

    result = runner.invoke(
        app,
        ["consent", "new", "--patient", "P-1", "--grant", "teaching", "--patient-name", "A",
         "--expires", (date.today() + timedelta(days=100)).isoformat()],
    )  # fmt: skip
    one_line(result, 1, "read-only")
    clip = make_clip("a.mp4", **SMALL)
    out = tmp_path / "out"
    result = runner.invoke(app, ["export", str(clip), "-p", "teaching", "-o", str(out), "-q"])
    one_line(result, 1, "read-only")
    assert snapshot(out) == {}


@pytest.fixture
def locked(registry_home: Home) -> Iterator[sqlite3.Connection]:
    """Another process's write lock on the registry, held until released."""
    holder = sqlite3.connect(registry_home.db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    yield holder
    if holder.in_transaction:
        holder.execute("ROLLBACK")
    holder.close()


def test_a_lock_past_the_limit_is_one_line(
    registry_home: Home,
    make_consent: Callable[..., str],
    runner: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    cid = make_consent("teaching")
    request.getfixturevalue("locked")
    monkeypatch.setenv(registry_module.LOCK_WAIT_ENV, "0")
    waits: list[float] = []
    monkeypatch.setattr(registry_module, "wait_reporter", lambda w, limit: waits.append(w))
    result = runner.invoke(app, ["consent", "revoke", cid, "--reason", "no"])
    one_line(result, 1, "stayed locked", "nothing was changed")


def test_the_lock_is_waited_for_with_progress(
    registry_home: Home, locked: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    said: list[float] = []

    def report(waited: float, limit: float) -> None:
        said.append(waited)
        locked.execute("COMMIT")  # the other process finishes while we wait

    monkeypatch.setattr(registry_module, "wait_reporter", report)
    with Registry.open(registry_home) as registry:
        registry.append_audit("note")
        assert registry.audit_entries()[-1].event == "note"
    assert said  # it said that it was waiting


def test_a_refused_export_under_a_lock_is_logged_and_exits_3(
    registry_home: Home,
    make_clip: Callable[..., Path],
    locked: sqlite3.Connection,
    runner: CliRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clip = make_clip("a.mp4", **SMALL)  # never linked: refused

    def release(waited: float, limit: float) -> None:
        if locked.in_transaction:
            locked.execute("COMMIT")

    monkeypatch.setattr(registry_module, "wait_reporter", release)
    out = tmp_path / "out"
    result = runner.invoke(app, ["export", str(clip), "-p", "teaching", "-o", str(out), "-q"])
    assert result.exit_code == 3, result.output
    with Registry.open(registry_home) as registry:
        assert registry.audit_entries()[-1].event == "export.refused"


def test_a_damaged_registry_is_one_line(registry_home: Home, runner: CliRunner) -> None:
    registry_home.db_path.write_bytes(b"this is not a database" * 100)
    for suffix in ("-wal", "-shm"):
        Path(str(registry_home.db_path) + suffix).unlink(missing_ok=True)
    result = runner.invoke(app, ["consent", "list"])
    one_line(result, 1, "registry")


def test_linking_under_a_lock_past_the_limit(
    registry_home: Home,
    make_consent: Callable[..., str],
    make_clip: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    from consentclip.errors import RegistryBusy

    cid = make_consent("teaching")
    clip = make_clip("a.mp4", **SMALL)
    request.getfixturevalue("locked")
    monkeypatch.setenv(registry_module.LOCK_WAIT_ENV, "0")
    monkeypatch.setattr(registry_module, "wait_reporter", lambda w, limit: None)
    with pytest.raises(RegistryBusy):
        link_clips(registry_home, [(clip, cid)])
