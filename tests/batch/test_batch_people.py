"""Issue 17 in batch: every worker process records the person of *its* batch and opens an
encrypted clinic key, even when a forkserver started by an earlier batch in the same process
(with another person, or none) forks the workers."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consentclip.cli import app
from consentclip.consent import people, signing
from consentclip.consent.registry import Registry
from consentclip.consent.signing import ClinicKey
from consentclip.home import Home

PASS = "correct horse battery"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(people.USER_ENV, raising=False)
    monkeypatch.delenv(signing.PASSPHRASE_ENV, raising=False)


def refused_entries(home: Home) -> list[tuple[str, str]]:
    with Registry.open(home) as registry:
        return [
            (e.detail.get("input_name") or e.detail.get("sha256", "")[:8], e.person)
            for e in registry.audit_entries()
            if e.event == "export.refused"
        ]


def test_each_batch_records_its_own_person_in_its_workers(
    runner: CliRunner,
    registry_home: Home,
    make_clip: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    persons = []
    for n, user in enumerate(("Dr First", "Dr Second")):
        day = tmp_path / f"day{n}"
        day.mkdir()
        for name in ("a.mp4", "b.mp4"):
            clip = make_clip(f"{n}{name}", seconds=0.3 + 0.1 * n, size="160x120", rate=10)
            shutil.move(clip, day / name)
        if n == 1:
            # The second batch also runs with the key encrypted: its workers need the passphrase.
            monkeypatch.setenv(signing.PASSPHRASE_ENV, PASS)
            ClinicKey.load(registry_home).store_encrypted(registry_home, PASS.encode())
        argv = ["batch", str(day), "-p", "teaching", "-o", str(tmp_path / f"out{n}")]
        result = runner.invoke(app, [*argv, "--workers", "2", "--user", user])
        assert result.exit_code == 3, result.output  # nothing linked: every file refused
        persons.append([p for _, p in refused_entries(registry_home)])
    assert persons[0] == ["Dr First"] * 2
    assert persons[1] == ["Dr First"] * 2 + ["Dr Second"] * 2
