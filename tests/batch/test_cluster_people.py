"""Issue 17 on a Dask cluster: the workers were started before the batch (by address), yet
every file's audit entry names the person of the batch that sent it."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consentclip.cli import app
from consentclip.consent import people
from consentclip.consent.registry import Registry
from consentclip.home import Home


def test_cluster_workers_record_the_person_of_each_batch(
    runner: CliRunner,
    registry_home: Home,
    make_clip: Callable[..., Path],
    tmp_path: Path,
    scheduler: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(people.USER_ENV, raising=False)
    for n, user in enumerate(("Dr First", None)):
        day = tmp_path / f"day{n}"
        day.mkdir()
        clip = make_clip(f"{n}.mp4", seconds=0.3 + 0.1 * n, size="160x120", rate=10)
        shutil.move(clip, day / "a.mp4")
        argv = ["batch", str(day), "-p", "teaching", "-o", str(tmp_path / f"out{n}")]
        argv += ["--cluster", scheduler, "--no-qa"]
        result = runner.invoke(app, [*argv, *(("--user", user) if user else ())])
        assert result.exit_code == 3, result.output  # not linked: refused, and logged
    with Registry.open(registry_home) as registry:
        refused = [e.person for e in registry.audit_entries() if e.event == "export.refused"]
    # The second batch named nobody: its worker must not keep the first batch's person.
    assert refused == ["Dr First", ""]
