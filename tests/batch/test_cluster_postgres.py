"""batch --cluster on a shared PostgreSQL registry (issue 18's last step): the same local:2
batch as tests/batch/test_cluster.py, with the registry on the throwaway PostgreSQL server of
tests/pgserver.py; and workers on other machines are allowed only with such a registry."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import pytest
from typer.testing import CliRunner

from batch.test_batch import link
from batch.test_cluster import assert_two_exported_by_two_workers
from consentclip.cli import app
from consentclip.cluster import MachineView, look, refusal
from consentclip.consent.registry import Registry
from consentclip.home import Home

SHORT = {"seconds": 0.6, "size": "160x120", "rate": 10}


@pytest.fixture
def home(home: Home, registry_backend: str) -> Home:
    return home


@pytest.mark.postgres_only("workers share the registry")
def test_local_cluster_on_the_postgres_registry(
    runner: CliRunner, registry_home: Home, make_consent: Callable[..., str],
    make_clip: Callable[..., Path], tmp_path: Path,
) -> None:  # fmt: skip
    assert Registry.open(registry_home).backend.is_postgres  # the fixture's PostgreSQL
    day = tmp_path / "day"
    day.mkdir()
    for name, seconds in (("a.mp4", 0.6), ("b.mp4", 0.7)):  # two clips, two different files
        shutil.move(make_clip(name, **{**SHORT, "seconds": seconds}), day / name)
    cid = make_consent("teaching")
    link(runner, cid, day / "a.mp4", day / "b.mp4")
    out = tmp_path / "out"
    argv = ["batch", str(day), "-p", "teaching", "-o", str(out), "--cluster", "local:2", "--no-qa"]

    result = runner.invoke(app, argv)

    assert_two_exported_by_two_workers(result, out, cid)
    with Registry.open(registry_home) as registry:
        assert len(registry.exports_for(cid)) == 2  # logged by the workers, in the shared log
        assert registry.verify_audit().ok


@pytest.mark.postgres_only("workers share the registry")
def test_workers_on_other_machines_are_allowed_with_postgres_only(
    registry_home: Home, tmp_path: Path
) -> None:
    (tmp_path / "out").mkdir()
    args = (str(registry_home.db_path), str(tmp_path), str(tmp_path / "out"))
    shared = look(*args, str(registry_home.root))
    assert shared.database is not None and shared.database.startswith("postgresql://")
    elsewhere = MachineView(
        **{**asdict(shared), "machine": "other-boot-id", "host": "node7", "out_dir": (9, 9)}
    )
    assert refusal(shared, "tcp://node7:1", elsewhere) is None
    blind = MachineView(**{**asdict(elsewhere), "out_dir": None})
    assert "same output folder" in (refusal(shared, "w", blind) or "")
    other_db = MachineView(**{**asdict(elsewhere), "database": "postgresql://elsewhere/db"})
    assert "must use the same consent registry" in (refusal(shared, "w", other_db) or "")
    sqlite_worker = MachineView(**{**asdict(elsewhere), "database": None})
    assert "same consent registry" in (refusal(shared, "w", sqlite_worker) or "")
    # With SQLite (the same folders, no URL) another machine is still refused.
    mine = look(*args)
    sqlite_elsewhere = MachineView(**{**asdict(mine), "machine": "other-boot-id", "host": "n7"})
    assert "cannot be shared between machines" in (refusal(mine, "w", sqlite_elsewhere) or "")
