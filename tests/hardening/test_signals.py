"""Issue 14.4: no partial output survives a signal or a kill; batch workers die with their batch.

Each killed export is a real subprocess running the real engine. It pauses itself inside the
engine's progress hook (frames already written to the hidden temporary file) and says so in a
file; the test then signals it. Waiting is on that file, not on the clock.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from consentclip.consent.records import Purpose
from consentclip.consent.registry import Registry
from consentclip.export import (
    PARTIAL_MARK,
    ExportRequest,
    export_clip,
    output_name,
    sweep_stale_partials,
)
from consentclip.home import Home
from consentclip.link import link_clips
from shared import snapshot

SCRIPT = textwrap.dedent(
    """
    import os, signal, sys, time
    from pathlib import Path
    from consentclip.consent.records import Purpose
    from consentclip.export import ExportRequest, export_clip
    from consentclip.home import Home

    home, clip, out, ready = (Path(a) for a in sys.argv[1:5])
    # As from a terminal: a suite run under nohup hands its children SIGHUP ignored, and
    # consentclip then leaves it ignored on purpose (signals.interrupt_on_signals).
    signal.signal(signal.SIGHUP, signal.SIG_DFL)

    def progress(done, total=None):
        if done >= 5 and not ready.exists():
            ready.write_text(str(os.getpid()))
            for _ in range(2400):  # paused inside the engine until the signal arrives
                time.sleep(0.05)

    try:
        export_clip(Home(home), ExportRequest(clip, Purpose.TEACHING, out), progress=progress)
    except KeyboardInterrupt as exc:
        print(f"interrupted by {exc}", flush=True)
        sys.exit(130)
    """
)


def wait_for(path: Path, proc: subprocess.Popen, limit_s: float = 240) -> None:
    deadline = time.monotonic() + limit_s
    while not path.exists():
        if proc.poll() is not None:
            pytest.fail(f"the export ended before pausing: {proc.communicate()}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the export never reached its pause")
        time.sleep(0.05)


@pytest.fixture
def linked(
    registry_home: Home, make_consent: Callable[..., str], make_clip: Callable[..., Path]
) -> tuple[Path, str]:
    clip = make_clip("a.mp4", seconds=2.0, size="320x240", rate=25)
    cid = make_consent("teaching")
    link_clips(registry_home, [(clip, cid)])
    return clip, cid


def start_export(
    home: Home, clip: Path, out: Path, tmp_path: Path
) -> tuple[subprocess.Popen, Path]:
    ready = tmp_path / "ready"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(home.root), str(clip), str(out), str(ready)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(ready, proc)
    return proc, ready


def exports_logged(home: Home) -> int:
    with Registry.open(home) as registry:
        return sum(e.event == "export.allowed" for e in registry.audit_entries())


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_terminated_export_leaves_nothing(
    registry_home: Home, linked: tuple[Path, str], tmp_path: Path, signum: int
) -> None:
    clip, _ = linked
    out = tmp_path / "out"
    proc, _ = start_export(registry_home, clip, out, tmp_path)
    assert any(PARTIAL_MARK in name for name in snapshot(out))  # frames were being written
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=120)

    assert proc.returncode == 130, (stdout, stderr)
    assert signal.Signals(signum).name in stdout
    assert snapshot(out) == {}
    assert exports_logged(registry_home) == 0


def test_a_killed_exports_leftovers_are_swept_by_the_next(
    registry_home: Home, linked: tuple[Path, str], tmp_path: Path
) -> None:
    clip, cid = linked
    out = tmp_path / "out"
    proc, _ = start_export(registry_home, clip, out, tmp_path)
    proc.kill()  # SIGKILL: nothing can clean up
    proc.communicate(timeout=120)
    leftovers = [name for name in snapshot(out) if PARTIAL_MARK in name]
    assert leftovers  # what the issue saw: a hidden partial MP4

    result = export_clip(registry_home, ExportRequest(clip, Purpose.TEACHING, out))

    assert sorted(snapshot(out)) == sorted([result.plan.output.name, result.plan.manifest.name])
    assert result.plan.output.name == output_name(cid, 1, Purpose.TEACHING, "video")


def test_only_dead_writers_partials_are_swept(tmp_path: Path) -> None:
    target = tmp_path / "C-AAAA_clip01_teaching.mp4"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a pid that no longer runs
    stale = tmp_path / f".C-AAAA_clip01_teaching{PARTIAL_MARK}{dead.pid}.mp4"
    stale_manifest = tmp_path / f".{target.name}.manifest.json{PARTIAL_MARK}{dead.pid}-x1y2"
    running = tmp_path / f".C-AAAA_clip01_teaching{PARTIAL_MARK}{os.getppid()}.mp4"
    other_target = tmp_path / f".C-AAAA_clip02_teaching{PARTIAL_MARK}{dead.pid}.mp4"
    for path in (stale, stale_manifest, running, other_target):
        path.write_bytes(b"frames")

    removed = sweep_stale_partials(target)

    assert sorted(removed) == sorted([stale, stale_manifest])
    assert running.exists() and other_target.exists()


WORKER_SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    from concurrent.futures import ProcessPoolExecutor
    from consentclip import batch

    def job(path):
        with open(path, "w") as fh:
            fh.write(str(os.getpid()))
        time.sleep(600)

    if __name__ == "__main__":
        ctx = batch._worker_context()
        stop = ctx.Event()
        pool = ProcessPoolExecutor(
            max_workers=2, mp_context=ctx, initializer=batch._init_worker,
            initargs=(stop, None, os.getpid()),
        )
        futures = [pool.submit(job, p) for p in sys.argv[1:]]
        time.sleep(600)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_batch_workers_die_with_their_batch(tmp_path: Path) -> None:
    script = tmp_path / "pool.py"
    script.write_text(WORKER_SCRIPT)
    marks = [tmp_path / "w1", tmp_path / "w2"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    parent = subprocess.Popen(
        [sys.executable, str(script), *map(str, marks)], env=env, cwd=tmp_path
    )
    deadline = time.monotonic() + 240
    while not all(m.exists() and m.read_text() for m in marks):
        assert parent.poll() is None and time.monotonic() < deadline, "workers never started"
        time.sleep(0.05)
    workers = [int(m.read_text()) for m in marks]

    parent.kill()  # kill -9: no clean-up of its own at all
    parent.wait()

    deadline = time.monotonic() + 60
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(pid) for pid in workers)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (dead, not yet reaped by its new parent) counts as gone.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False
