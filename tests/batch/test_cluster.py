"""batch --cluster: the same batch as tasks on a Dask distributed cluster.

Real LocalCluster (2 worker processes, shared by the module), real registry, real engine, media
generated with lavfi in tmp_path. A worker is killed from the test by its pid, which the engine's
hidden partial file names (``.<output>.partial-<pid>...``), so no hook exists in the product.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from batch.test_batch import hidden_partials, link, mixed
from consentclip import cluster
from consentclip.batch import REPORT_JSON, BatchReport, BatchRequest, FileOutcome, run_batch
from consentclip.cli import app
from consentclip.cluster import (
    ClusterError,
    MachineView,
    look,
    parse_cluster,
    refusal,
)
from consentclip.consent.records import Purpose
from consentclip.consent.registry import Registry
from consentclip.errors import UsageError
from consentclip.home import Home

__all__ = ["mixed"]  # the mixed clinic-day folder of test_batch, used here as a fixture

PARTIAL_PID = re.compile(r"\.partial-(\d+)\.")
# Long enough that the test sees the file being written before it is done, on any machine.
LONG = {"seconds": 4.0, "size": "160x120", "rate": 25}
SHORT = {"seconds": 0.6, "size": "160x120", "rate": 10}


def worker_pids(address: str) -> set[int]:
    from distributed import Client

    with Client(address, timeout=10) as client:
        return set(client.run(os.getpid).values())


def comparable(outcome: dict[str, Any]) -> dict[str, Any]:
    """A report row without what depends on the run (time taken, where the sheet went)."""
    return {k: v for k, v in outcome.items() if k not in ("seconds", "qa_sheet")}


def assert_two_exported_by_two_workers(result: Any, out: Path, cid: str) -> None:
    """A two-file batch on a two-worker cluster exported both clips, numbered, and left no
    half-written file."""
    assert result.exit_code == 0, result.output
    assert "2 exported" in result.stdout and "with 2 worker(s)" in result.stdout
    assert sorted(p.name for p in out.glob(f"{cid}_*.mp4")) == [
        f"{cid}_clip01_teaching.mp4",
        f"{cid}_clip02_teaching.mp4",
    ]
    assert hidden_partials(out) == []


def linked_folder(
    runner: CliRunner,
    make_consent: Callable[..., str],
    make_clip: Callable[..., Path],
    tmp_path: Path,
    specs: dict[str, dict[str, Any]],
) -> tuple[Path, str]:
    day = tmp_path / "day"
    day.mkdir()
    for name, spec in specs.items():
        shutil.move(make_clip(name, **spec), day / name)
    cid = make_consent("teaching")
    link(runner, cid, *(day / n for n in specs))
    return day, cid


class Batch(threading.Thread):
    """run_batch in a thread, so the test can act on the cluster while it runs."""

    def __init__(self, home: Home, request: BatchRequest, sink: Any = None) -> None:
        super().__init__(daemon=True)
        self.home, self.request, self.sink = home, request, sink
        self.report: BatchReport | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.report = run_batch(self.home, self.request, sink=self.sink)
        except BaseException as exc:
            self.error = exc

    def result(self, timeout: float = 240) -> BatchReport:
        self.join(timeout)
        assert not self.is_alive(), "the batch did not finish"
        if self.error is not None:
            raise self.error
        assert self.report is not None
        return self.report


def kill_writer(out: Path, output_stem: str, known: set[int], batch: Batch) -> int | None:
    """SIGKILL the worker process that is writing ``output_stem`` (found by the pid in its
    partial file's name), once it is a worker we have not killed yet. None if the batch ended
    first."""
    while batch.is_alive():
        for path in out.glob(f".*{output_stem}.partial-*"):
            found = PARTIAL_PID.search(path.name)
            if found and int(found.group(1)) not in known:
                pid = int(found.group(1))
                os.kill(pid, signal.SIGKILL)
                return pid
        time.sleep(0.01)
    return None


def exports_logged(home: Home, cid: str) -> list[str]:
    with Registry.open(home) as registry:
        return sorted(e.detail["output"] for e in registry.exports_for(cid))


# --- the same batch as a local one ---------------------------------------------------------


def test_mixed_folder_gives_the_same_report_as_a_local_batch(
    runner: CliRunner, registry_home: Home, mixed: tuple[Path, dict[str, str]], tmp_path: Path,
    scheduler: str,
) -> None:  # fmt: skip
    day, ids = mixed
    local_out, cluster_out = tmp_path / "local", tmp_path / "cluster"
    local = run_batch(
        registry_home,
        BatchRequest(root=day, purpose=Purpose.TEACHING, out_dir=local_out, workers=1,
                     recursive=True),
    )  # fmt: skip

    result = runner.invoke(
        app,
        ["batch", str(day), "-p", "teaching", "-o", str(cluster_out), "--recursive",
         "--cluster", scheduler, "--json"],
    )  # fmt: skip

    assert result.exit_code == 4, result.output  # some refused or failed, as locally
    report = json.loads(result.stdout)
    public = json.loads((cluster_out / REPORT_JSON).read_text())
    # The export folder's copy is the same report without input names (those stay in the home).
    assert public["totals"] == report["totals"] and public["workers"] == report["workers"]
    assert "linked.mp4" not in json.dumps(public)
    assert report["workers"] == 2
    mine = {f["source"]: comparable(f) for f in report["files"]}
    theirs = {f.source: comparable(asdict(f)) for f in local.files}
    # Which of two identical files is exported first depends on who finishes first; the other
    # is the duplicate. Everything else is row for row the same.
    pair = ("linked.mp4", "linked_copy.mp4")
    assert sorted(mine[s]["outcome"] for s in pair) == ["duplicate", "exported"]
    assert {mine[s]["output"] for s in pair} == {theirs["linked.mp4"]["output"]}
    for source in pair:
        del mine[source], theirs[source]
    assert mine == theirs
    assert report["totals"] == local.to_dict()["totals"]
    assert report["ignored"] == ["notes.txt"]
    # The same exports, manifests and QA sheets, byte for byte where the engine is
    # deterministic (it is: x264 with fixed settings, bit-exact muxing).
    cid = ids["teaching"]
    names = sorted(p.name for p in local_out.iterdir() if p.is_file())
    assert sorted(p.name for p in cluster_out.iterdir() if p.is_file()) == names
    assert sorted(p.name for p in (cluster_out / "qa").iterdir()) == sorted(
        p.name for p in (local_out / "qa").iterdir()
    )
    for name in names:
        if name.startswith(cid) and not name.endswith(".json"):
            assert (cluster_out / name).read_bytes() == (local_out / name).read_bytes(), name
            manifest = json.loads((cluster_out / f"{name}.manifest.json").read_text())
            assert manifest["verification"]["ok"] is True
    assert hidden_partials(cluster_out) == []


def test_local_cluster_from_the_command_line(
    runner: CliRunner, registry_home: Home, make_consent: Callable[..., str],
    make_clip: Callable[..., Path], tmp_path: Path, scheduler: str,
) -> None:  # fmt: skip
    day, cid = linked_folder(
        runner,
        make_consent,
        make_clip,
        tmp_path,
        {"a.mp4": SHORT, "b.mp4": {**SHORT, "seconds": 0.7}},
    )
    out = tmp_path / "out"
    argv = ["batch", str(day), "-p", "teaching", "-o", str(out), "--cluster", "local:2"]

    result = runner.invoke(app, [*argv, "--no-qa"])

    assert_two_exported_by_two_workers(result, out, cid)
    # --resume on the cluster keeps what verifies (here on the module's cluster, by address).
    on_scheduler = [*argv[:-1], scheduler]
    result = runner.invoke(app, [*on_scheduler, "--no-qa", "--resume", "--json"])
    assert result.exit_code == 0, result.output
    assert [f["outcome"] for f in json.loads(result.stdout)["files"]] == ["already_exported"] * 2
    # --workers belongs to the local pool; a malformed address is a usage error.
    result = runner.invoke(app, [*argv, "--workers", "2"])
    assert result.exit_code == 2 and "--workers does not apply with --cluster" in result.output
    result = runner.invoke(app, [*argv[:-1], "local:0"])
    assert result.exit_code == 2 and "local:N needs a number of workers" in result.output


# --- workers that die ----------------------------------------------------------------------


def test_a_worker_killed_mid_file_is_recovered_and_the_file_exported_once(
    runner: CliRunner, registry_home: Home, make_consent: Callable[..., str],
    make_clip: Callable[..., Path], tmp_path: Path, scheduler: str,
) -> None:  # fmt: skip
    day, cid = linked_folder(
        runner, make_consent, make_clip, tmp_path, {"long.mp4": LONG, "short.mp4": SHORT}
    )
    out = tmp_path / "out"
    long_name = f"{cid}_clip01_teaching"
    before = worker_pids(scheduler)
    batch = Batch(
        registry_home,
        BatchRequest(root=day, purpose=Purpose.TEACHING, out_dir=out, cluster=scheduler),
    )
    batch.start()

    killed = kill_writer(out, long_name, set(), batch)
    report = batch.result()

    assert killed in before, "the file finished before it could be interrupted"
    assert killed not in worker_pids(scheduler)  # it really died (the nanny started another)
    rows = {f.source: f for f in report.files}
    assert rows["long.mp4"].outcome == "exported", rows["long.mp4"]
    assert "retried after 1 worker(s) died on it" in rows["long.mp4"].reason
    assert rows["long.mp4"].frames == 100
    assert rows["short.mp4"].outcome == "exported"
    assert report.exit_code == 0
    # Exactly once: one output, one manifest, one QA sheet, one audit entry; nothing partial.
    assert sorted(p.name for p in out.glob(f"{long_name}*")) == [
        f"{long_name}.mp4",
        f"{long_name}.mp4.manifest.json",
    ]
    assert (out / "qa" / f"{long_name}.qa.pdf").is_file()
    assert exports_logged(registry_home, cid) == [f"{long_name}.mp4", f"{cid}_clip02_teaching.mp4"]
    assert hidden_partials(out) == []


def test_a_file_that_kills_every_worker_is_reported_failed_not_retried_forever(
    runner: CliRunner, registry_home: Home, make_consent: Callable[..., str],
    make_clip: Callable[..., Path], tmp_path: Path, scheduler: str,
) -> None:  # fmt: skip
    day, cid = linked_folder(
        runner, make_consent, make_clip, tmp_path, {"bad.mp4": LONG, "good.mp4": SHORT}
    )
    out = tmp_path / "out"
    bad_name = f"{cid}_clip01_teaching"
    batch = Batch(
        registry_home,
        BatchRequest(
            root=day, purpose=Purpose.TEACHING, out_dir=out, cluster=scheduler, qa_sheets=False
        ),
    )
    batch.start()

    killed: set[int] = set()
    while (pid := kill_writer(out, bad_name, killed, batch)) is not None:
        killed.add(pid)  # every attempt, on whichever worker it lands
    report = batch.result()

    assert len(killed) == 2  # the first try and the one retry this cluster allows
    rows = {f.source: f for f in report.files}
    assert rows["bad.mp4"].outcome == "failed"
    assert "its worker died 2 times while exporting it" in rows["bad.mp4"].reason
    assert rows["good.mp4"].outcome == "exported"
    assert report.exit_code == 4
    assert list(out.glob(f"*{bad_name}*")) == [] and hidden_partials(out) == []
    assert exports_logged(registry_home, cid) == [f"{cid}_clip02_teaching.mp4"]


# --- two batches, Ctrl-C -------------------------------------------------------------------


def test_two_batches_on_one_output_folder_export_each_file_once(
    runner: CliRunner, registry_home: Home, make_consent: Callable[..., str],
    make_clip: Callable[..., Path], tmp_path: Path, scheduler: str,
) -> None:  # fmt: skip
    specs = {f"c{i}.mp4": {**SHORT, "seconds": 0.5 + i / 10} for i in range(4)}
    day, cid = linked_folder(runner, make_consent, make_clip, tmp_path, specs)
    out = tmp_path / "out"
    request = BatchRequest(
        root=day, purpose=Purpose.TEACHING, out_dir=out, cluster=scheduler, qa_sheets=False
    )
    shown = Recorder()
    batches = [Batch(registry_home, request, shown), Batch(registry_home, request)]

    for batch in batches:
        batch.start()
    reports = [batch.result() for batch in batches]

    outputs = [f"{cid}_clip{i:02d}_teaching.mp4" for i in range(1, 5)]
    for source in specs:
        rows = [next(f for f in r.files if f.source == source) for r in reports]
        outcomes = sorted(f.outcome for f in rows)
        assert outcomes == ["exported", "failed"], rows
        loser = next(f for f in rows if f.outcome == "failed")
        assert "already exists" in loser.reason and "never overwritten" in loser.reason
    assert sorted(p.name for p in out.glob(f"{cid}_*.mp4")) == outputs
    assert exports_logged(registry_home, cid) == outputs  # one audit entry each
    assert hidden_partials(out) == []
    # Progress reached the client: every finished file, and in the end the frames it exported.
    assert sorted(f.source for f in shown.finished) == sorted(specs)
    assert shown.frames_seen[-1] == reports[0].frames


class Recorder:
    """What a terminal would show: files as they finish, frames as they go."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.stop_after = stop_after
        self.finished: list[FileOutcome] = []
        self.frames_seen: list[int] = []

    def start(self, files: int, workers: int) -> None:
        pass

    def frames(self, done: int) -> None:
        self.frames_seen.append(done)

    def file_done(self, outcome: FileOutcome) -> None:
        self.finished.append(outcome)
        if len(self.finished) == self.stop_after:
            raise KeyboardInterrupt  # Ctrl-C, while the other files run or wait

    def finish(self, report: BatchReport) -> None:
        pass


def test_ctrl_c_stops_the_tasks_leaves_nothing_half_written_and_resume_completes(
    runner: CliRunner, registry_home: Home, make_consent: Callable[..., str],
    make_clip: Callable[..., Path], tmp_path: Path, scheduler: str,
) -> None:  # fmt: skip
    specs = {"a.mp4": SHORT, **{f"long{i}.mp4": {**LONG, "seconds": 3 + i / 2} for i in range(3)}}
    day, cid = linked_folder(runner, make_consent, make_clip, tmp_path, specs)
    out = tmp_path / "out"
    request = BatchRequest(
        root=day, purpose=Purpose.TEACHING, out_dir=out, cluster=scheduler, qa_sheets=False
    )

    with pytest.raises(KeyboardInterrupt):
        run_batch(registry_home, request, sink=Recorder(stop_after=1))

    report = json.loads((out / REPORT_JSON).read_text())
    assert report["interrupted"] is True
    done = [f for f in report["files"] if f["outcome"] == "exported"]
    assert 1 <= len(done) < 4
    assert {f["outcome"] for f in report["files"]} == {"exported", "not_run"}
    assert sorted(p.name for p in out.glob(f"{cid}_*.mp4")) == sorted(f["output"] for f in done)
    assert hidden_partials(out) == []
    assert exports_logged(registry_home, cid) == sorted(f["output"] for f in done)

    report = run_batch(registry_home, replace(request, resume=True))

    assert [f.outcome for f in report.files].count("exported") == 4 - len(done)
    assert report.exit_code == 0 and hidden_partials(out) == []


# --- refusals ------------------------------------------------------------------------------


def test_workers_that_cannot_share_the_registry_are_refused(tmp_path: Path) -> None:
    registry = tmp_path / "registry.sqlite3"
    registry.write_bytes(b"")
    (tmp_path / "out").mkdir()
    mine = look(str(registry), str(tmp_path), str(tmp_path / "out"))
    assert refusal(mine, "tcp://w1:1", mine) is None

    elsewhere = MachineView(**{**asdict(mine), "machine": "other-boot-id", "host": "node7"})
    reason = refusal(mine, "tcp://w1:1", elsewhere)
    assert reason is not None and "node7, another machine" in reason
    assert "SQLite consent registry cannot be shared between machines" in reason
    older = MachineView(**{**asdict(mine), "code": "0.0.9+abc"})
    assert "runs consentclip 0.0.9+abc" in (refusal(mine, "w", older) or "")
    blind = MachineView(**{**asdict(mine), "registry": None})
    assert "does not see the same consent registry" in (refusal(mine, "w", blind) or "")
    other_out = MachineView(**{**asdict(mine), "out_dir": (1, 2)})
    assert "same output folder" in (refusal(mine, "w", other_out) or "")


def test_cluster_addresses(
    registry_home: Home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert parse_cluster("local:3").local_workers == 3
    assert parse_cluster("tcp://scheduler:8786").address == "tcp://scheduler:8786"
    assert parse_cluster("tls://10.0.0.5:8786").address == "tls://10.0.0.5:8786"
    for bad in ("local:", "local:-1", "local:two", "tcp://a b:1", ""):
        with pytest.raises(UsageError):
            parse_cluster(bad)
    (tmp_path / "day").mkdir()
    (tmp_path / "day" / "x.mp4").write_bytes(b"not really")
    request = BatchRequest(
        root=tmp_path / "day",
        purpose=Purpose.TEACHING,
        out_dir=tmp_path / "out",
        cluster="tcp://127.0.0.1:9",  # nothing listens on the discard port
    )
    monkeypatch.setattr(cluster, "_CONNECT_S", 1.0)
    with pytest.raises(ClusterError, match="cannot reach the Dask scheduler"):
        run_batch(registry_home, request)


@pytest.mark.slow
def test_ctrl_c_in_the_terminal_reaches_only_the_client(
    runner: CliRunner, registry_home: Home, make_consent: Callable[..., str],
    make_clip: Callable[..., Path], tmp_path: Path,
) -> None:  # fmt: skip
    """The real thing: SIGINT to the whole foreground process group, as a terminal sends it.
    The local:2 workers left that group, so they and their ffmpeg processes are stopped by the
    client, in order, instead of dying mid-write."""
    import subprocess
    import sys

    specs = {f"c{i}.mp4": {**LONG, "size": "320x240", "seconds": 3 + i / 10} for i in range(5)}
    day, cid = linked_folder(runner, make_consent, make_clip, tmp_path, specs)
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "consentclip", "batch", str(day), "-p", "teaching"]
    argv += ["-o", str(out), "--cluster", "local:2", "--no-qa"]
    env = {**os.environ, "CONSENTCLIP_HOME": str(registry_home.root)}
    proc = subprocess.Popen(
        argv, env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.startswith("ok"):
            os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the whole process group
            break
    _, err = proc.communicate(timeout=240)

    assert proc.returncode == 130, err
    report = json.loads((out / REPORT_JSON).read_text())
    assert report["interrupted"] is True
    done = [f for f in report["files"] if f["outcome"] == "exported"]
    assert 1 <= len(done) < 5
    assert sorted(p.name for p in out.glob(f"{cid}_*.mp4")) == sorted(f["output"] for f in done)
    assert hidden_partials(out) == []
