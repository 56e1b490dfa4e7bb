"""Batch on a Dask distributed cluster: one task per file, the same gate, the same report.

``batch --cluster tcp://scheduler:8786`` sends every file of a batch as a task to an existing Dask
cluster; ``--cluster local:N`` starts a local cluster of N worker processes first. Each task runs
the very code a local batch worker runs (``batch._run_job`` -> ``export.export_clip``), so the
consent gate, the claim-by-hard-link, the manifest, the audit entry and the QA sheet are those of
a local batch. Tasks carry paths and settings; results carry the report row built from the
manifest. No clip's bytes ever travel through the scheduler: the workers read and write the same
paths (the same machine, or shared storage).

What a cluster adds, and how each is kept safe:

- **A worker that dies mid-file** (out of memory, killed): Dask runs the task again on another
  worker, up to ``distributed.scheduler.allowed-failures`` times (3 by default), then gives up
  with ``KilledWorker`` and the file is reported as failed. Every attempt writes down its process
  (pid and start time) in the scheduler's metadata before it starts. A retry removes what a dead
  attempt left (its hidden partial files, which carry its pid) and runs with ``resume`` semantics,
  so that an output the dead attempt had claimed but not yet logged is redone, not left behind.
  The claim itself is ``export.py``'s hard link, which fails when the name exists: two attempts,
  or two batches, can never both export one file.
- **Ctrl-C**: the client sets a cluster-wide stop event; tasks not yet started are cancelled,
  running ones stop at their next frame from inside the engine (which removes its temporary
  file), and the client waits for them before it writes the report. Local workers leave the
  terminal's process group, so the Ctrl-C reaches only the client, never a worker or its ffmpeg
  half-way through a write.
- **The SQLite registry** (WAL journal) may only be used by processes of one machine: SQLite's
  shared-memory index does not work across machines, even on shared storage. So every worker
  must run on the client's machine (same kernel boot id) and see the same registry file, batch
  folder and output folder; a cluster that does not is refused before the first task, with the
  reason in one line. See docs/deploy.md.
- **A PostgreSQL registry** (consent.backend) is shared by design: then workers may run on other
  machines, provided every one uses the same database (the URL its home or environment names),
  sees the consent home (clinic key, signed forms) and the batch and output folders at the same
  paths (shared storage), and runs the same code.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import hashlib
import logging
import os
import re
import socket
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dask
import psutil
from distributed import Client, Event, Future, LocalCluster, get_client, wait
from distributed.scheduler import KilledWorker

from consentclip import __version__
from consentclip.batch import (
    ALREADY,
    EXPORTED,
    FAILED,
    NOT_RUN,
    BatchSink,
    FileOutcome,
    _Job,
    _run_job,
)
from consentclip.consent import backend, people
from consentclip.detect.models import mediapipe_version
from consentclip.errors import ConsentClipError, UsageError
from consentclip.export import PARTIAL_MARK, qa_sheet_path
from consentclip.home import Home

if TYPE_CHECKING:
    from consentclip.batch import BatchRequest

LOCAL_PREFIX = "local:"
# Scheduler metadata and event names live under this root, one branch per batch.
_ROOT = "consentclip-batch"
# How often a task reports frames and looks at the stop event (each is a call to the scheduler).
_REPORT_EVERY_S = 0.5
# How often the client polls the running tasks' frame counts.
_POLL_S = 0.25
_FRAMES_EVERY_S = 1.0
# After Ctrl-C, how long running tasks get to stop at their next frame and clean up.
_STOP_WAIT_S = 60.0
# How long to try to reach a scheduler.
_CONNECT_S = 10.0
# How long to wait for a remote cluster to have at least one worker.
_WORKERS_WAIT_S = 30.0


class ClusterError(ConsentClipError):
    """The cluster cannot be reached, or its workers cannot run this batch safely."""


@dataclass(frozen=True)
class ClusterSpec:
    """Parsed ``--cluster``: a scheduler address, or ``local:N`` worker processes."""

    address: str | None = None
    local_workers: int | None = None

    @property
    def label(self) -> str:
        return self.address or f"{LOCAL_PREFIX}{self.local_workers}"


def parse_cluster(value: str) -> ClusterSpec:
    """``tcp://host:8786`` / ``tls://host:8786`` / ``host:8786`` or ``local:N`` (N >= 1)."""
    text = value.strip()
    if text.lower().startswith(LOCAL_PREFIX):
        count = text[len(LOCAL_PREFIX) :]
        if not count.isdigit() or int(count) < 1:
            raise UsageError(
                f"--cluster {value!r}: local:N needs a number of workers N >= 1",
                hint="e.g. --cluster local:2",
            )
        return ClusterSpec(local_workers=int(count))
    if not re.fullmatch(r"((tcp|tls|ws|wss|inproc)://)?[\w.\-\[\]:]+(:\d+)?/?", text):
        raise UsageError(
            f"--cluster {value!r} is not a Dask scheduler address",
            hint="e.g. --cluster tcp://scheduler:8786, or --cluster local:2",
        )
    return ClusterSpec(address=text)


# --- what a machine sees (runs on the client and on every worker) -------------------------


@dataclass(frozen=True)
class MachineView:
    """What one process sees: which machine it is on, which code it runs, which files it sees.

    Files are identified by (device, inode), which is only meaningful on one machine; that is
    fine, because with SQLite every worker must be on the client's machine anyway.
    """

    machine: str  # the kernel's boot id (shared by containers on one host), else the host name
    host: str
    code: str  # consentclip version and a hash of its source files
    mediapipe: str  # the detection models ship inside the mediapipe wheel
    registry: tuple[int, int] | None  # SQLite: the file; PostgreSQL: the home's clinic key
    root: tuple[int, int] | None
    out_dir: tuple[int, int] | None
    database: str | None = None  # the PostgreSQL registry (URL without password); None: SQLite


def machine_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
    except OSError:  # not Linux
        return socket.gethostname()


_CODE: str | None = None


def code_fingerprint() -> str:
    """``0.1.0+<hash of the package's .py files>``: two checkouts of one version differ."""
    global _CODE
    if _CODE is None:
        package = Path(__file__).resolve().parent
        digest = hashlib.sha256()
        for path in sorted(package.rglob("*.py")):
            digest.update(path.relative_to(package).as_posix().encode())
            digest.update(path.read_bytes())
        _CODE = f"{__version__}+{digest.hexdigest()[:12]}"
    return _CODE


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def look(registry: str, root: str, out_dir: str, home: str | None = None) -> MachineView:
    """What this process sees. Run on the client, and on every worker through ``Client.run``.
    ``home``: the consent home, whose settings (or this process's environment) may name a
    shared PostgreSQL registry."""
    database = None
    if home is not None:
        where = backend.for_home(Home(Path(home)))
        if where.is_postgres:
            database = where.where
            registry = str(Home(Path(home)).private_key_path)
    return MachineView(
        machine=machine_id(),
        host=socket.gethostname(),
        code=code_fingerprint(),
        mediapipe=mediapipe_version(),
        registry=_identity(Path(registry)),
        root=_identity(Path(root)),
        out_dir=_identity(Path(out_dir)),
        database=database,
    )


def refusal(client: MachineView, worker: str, view: MachineView) -> str | None:
    """Why ``worker`` must not run this batch, in one line; None when it may."""
    if view.database != client.database:
        return (
            f"worker {worker} uses {view.database or 'a SQLite registry'}, this client "
            f"{client.database or 'a SQLite registry'}: every worker must use the same consent "
            "registry (see docs/deploy.md)"
        )
    shared = client.database is not None
    remote = view.machine != client.machine
    if remote and not shared:
        return (
            f"worker {worker} runs on {view.host}, another machine: the SQLite consent registry "
            "cannot be shared between machines, not even on shared storage (its WAL index lives "
            "in one machine's memory); run the workers on this machine, or use --cluster local:N"
        )
    if view.code != client.code:
        return (
            f"worker {worker} runs consentclip {view.code}, this client {client.code}: "
            "install the same version on every worker"
        )
    if view.mediapipe != client.mediapipe:
        return (
            f"worker {worker} has mediapipe {view.mediapipe}, this client {client.mediapipe}: "
            "the detection models differ; install the same version on every worker"
        )
    for what, mine, theirs in (
        ("consent registry", client.registry, view.registry),
        ("batch folder", client.root, view.root),
        ("output folder", client.out_dir, view.out_dir),
    ):
        if remote and theirs is not None:
            continue  # (device, inode) means nothing on another machine; the path is there
        if theirs != mine:
            return (
                f"worker {worker} does not see the same {what} as this client: workers need "
                "the same paths (see docs/deploy.md)"
            )
    return None


# --- the task (runs on a worker) -----------------------------------------------------------


@dataclass(frozen=True)
class _Task:
    job: _Job
    batch: str  # names this batch's metadata branch and stop event
    machine: str  # the client's machine: with SQLite, every worker must be on it
    code: str
    # The person acting ($CONSENTCLIP_USER of the client; "" for nobody): a worker may have
    # been started before, or for another batch. The key passphrase is never sent over Dask's
    # unauthenticated connection; workers of an encrypted key need it in their environment.
    person: str = ""
    shared: bool = False  # a PostgreSQL registry: workers on other machines may run it


def _attempt_record() -> dict[str, Any]:
    return {"pid": os.getpid(), "born": psutil.Process().create_time(), "machine": machine_id()}


def _alive(attempt: dict[str, Any]) -> bool:
    """Whether the process of an attempt still runs (on this machine). A zombie or a new
    process that reuses the pid does not count."""
    try:
        proc = psutil.Process(int(attempt["pid"]))
        if abs(proc.create_time() - float(attempt["born"])) > 0.01:
            return False
        return proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied, KeyError, ValueError, TypeError):
        return False


def dead_attempts(attempts: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The attempts, on this machine, whose process has died."""
    here = machine_id()
    return [a for a in attempts if a.get("machine") == here and not _alive(a)]


def sweep_dead(out_dir: Path, attempts: Sequence[dict[str, Any]]) -> list[Path]:
    """Remove the hidden partial files of dead attempts. ``export.py`` names an export's
    temporary file ``.<name>.partial-<pid>.<ext>`` (and the engine's own temporary file starts
    with that name), so the pid says whose it is; a live process's files are never touched."""
    pids = {int(a["pid"]) for a in dead_attempts(attempts)}
    removed: list[Path] = []
    if not pids or not out_dir.is_dir():
        return removed
    marks = tuple(f"{PARTIAL_MARK}{pid}." for pid in pids)
    for path in out_dir.iterdir():
        if path.name.startswith(".") and any(m in path.name for m in marks) and path.is_file():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            removed.append(path)
    return removed


class _Reporter:
    """The engine's progress hook on a worker (via ``batch._WorkerProgress``): frames go to the
    scheduler's metadata, and a set stop event becomes KeyboardInterrupt inside the engine,
    which then removes its temporary file, as in a local batch."""

    def __init__(self, client: Client, stop: Any, batch: str) -> None:
        self.client, self.stop, self.batch = client, stop, batch
        self.last = 0.0

    def __call__(self, key: int, done: int) -> None:
        now = time.monotonic()
        if now - self.last < _REPORT_EVERY_S:
            return
        self.last = now
        if self.stop.is_set():
            raise KeyboardInterrupt
        self.client.set_metadata([_ROOT, self.batch, "frames", str(key)], done)


def run_file(task: _Task) -> FileOutcome:
    """One file of a batch, on a Dask worker. Never raises for a bad file (a report row says
    what happened); a dead worker is Dask's to retry."""
    job = task.job
    elsewhere = machine_id() != task.machine and not task.shared
    if elsewhere or code_fingerprint() != task.code:
        # A worker that joined after the check at the start of the batch.
        return FileOutcome(
            job.relative,
            FAILED,
            f"worker {socket.gethostname()} is not on the client's machine or runs other code; "
            "with the SQLite registry all workers must run on this machine",
        )
    client = get_client()
    stop = Event(f"{_ROOT}-{task.batch}-stop", client=client)
    attempts_key = [_ROOT, task.batch, "attempts", str(job.key)]
    earlier = client.get_metadata(attempts_key, default=[])
    # Written before anything else, and before the stop event is read: the client, after a
    # Ctrl-C, waits for every file that has an attempt and cancels the rest.
    client.set_metadata(attempts_key, [*earlier, _attempt_record()])
    if stop.is_set():
        return FileOutcome(job.relative, NOT_RUN, "stopped before it ran")
    retried = bool(earlier)
    if retried:
        dead = dead_attempts(earlier)
        sweep_dead(job.request.out_dir, dead)
        if len(dead) == len(earlier):
            # Every earlier attempt is gone: what it claimed but did not log is redone, and
            # what it finished and logged is kept (resume semantics for this file only).
            job = replace(job, request=replace(job.request, resume=True))
    people.apply_environment({people.USER_ENV: task.person or None})
    try:
        outcome = _run_job(job, _Reporter(client, stop, task.batch))
    except KeyboardInterrupt:
        return FileOutcome(job.relative, NOT_RUN, "stopped while running")
    if retried:
        outcome = _after_retry(outcome, job, len(earlier), resumed=task.job.request.resume)
    return outcome


def _after_retry(outcome: FileOutcome, job: _Job, deaths: int, *, resumed: bool) -> FileOutcome:
    note = f"retried after {deaths} worker(s) died on it"
    if outcome.outcome not in (EXPORTED, ALREADY) or not outcome.output:
        return replace(outcome, reason="; ".join(r for r in (outcome.reason, note) if r))
    # This attempt holds the output name now, so a manifest or QA sheet temporary file left by
    # a dead attempt (killed while writing it) is stale; nobody else can be writing one.
    for stale in job.request.out_dir.glob(f".{outcome.output}.manifest.json{PARTIAL_MARK}*"):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()
    if job.request.qa_dir is not None:
        sheet = qa_sheet_path(job.request.qa_dir, Path(outcome.output))
        for stale in sheet.parent.glob(f".{sheet.name}{PARTIAL_MARK}*"):
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()
    if outcome.outcome == ALREADY and not resumed:
        reason = f"exported by an attempt whose worker then died; verified and kept ({note})"
        return replace(outcome, reason=reason)
    return replace(outcome, reason="; ".join(r for r in (outcome.reason, note) if r))


def dask_setup(worker: Any) -> None:
    """Dask preload (``local:N`` uses it; ``dask worker --preload consentclip.cluster`` for a
    cluster of your own): frame-sized allocations back on the heap, and out of the terminal's
    process group, so that a Ctrl-C reaches only the client, which stops the tasks in order,
    instead of killing every worker and its ffmpeg processes half-way through a write."""
    heap_for_frames()
    with contextlib.suppress(OSError):
        os.setpgrp()


def heap_for_frames() -> None:
    """Undo what Dask's nanny does to glibc's malloc for the engine's sake.

    The nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``, and setting any malloc
    threshold freezes glibc's mmap threshold at 128 KiB: every frame buffer is then a fresh
    mmap, zeroed page by page and unmapped again. Measured on 320x240 frames: 8 ms of system
    CPU per frame more than in a local batch worker (which runs with glibc's defaults). The
    values set here are where glibc's own adaptive thresholds end up after the first large
    free, so the worker allocates like a local batch worker again.
    """
    name = ctypes.util.find_library("c")
    if name is None:
        return
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt(m_mmap_threshold, 32 * 1024 * 1024)
    mallopt(m_trim_threshold, 64 * 1024 * 1024)


# --- the client side -----------------------------------------------------------------------


def start_local_cluster(workers: int) -> Any:
    """A LocalCluster of ``workers`` processes with one thread each (the engine has its own
    threads). The scheduler hands a worker one file at a time (saturation 1.0), so a worker that
    dies takes only its running file with it. Workers run ``dask_setup`` above."""
    settings = {
        "distributed.scheduler.worker-saturation": 1.0,
        # The nanny would write MALLOC_TRIM_THRESHOLD_ and OMP_NUM_THREADS=1 into this very
        # process's environment before spawning (every later child inherits them); the
        # engine wants neither (see heap_for_frames), so nothing is set.
        "distributed.nanny.pre-spawn-environ": {},
    }
    with dask.config.set(settings):
        return LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            # Loopback only: a local cluster is nobody else's business (Dask's TCP has no
            # authentication). Port 0: never collide with another cluster's dashboard.
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
            silence_logs=logging.ERROR,
            preload=["consentclip.cluster"],
        )


class ClusterRunner:
    """Connects to (or starts) the cluster, checks its workers, runs the jobs, closes."""

    def __init__(self, spec: ClusterSpec, client: Client, cluster: Any, out_dir: Path) -> None:
        self.spec, self.client, self.cluster, self.out_dir = spec, client, cluster, out_dir
        self.batch = uuid.uuid4().hex[:12]
        self.shared = False  # set by _check: a PostgreSQL registry lets workers be elsewhere
        info = client.scheduler_info()["workers"]
        self.workers = max(1, sum(int(w.get("nthreads", 1)) for w in info.values()))

    @classmethod
    def open(cls, value: str, *, home: Home, request: BatchRequest, files: int) -> ClusterRunner:
        """Refuses (ClusterError) a cluster that cannot be reached or has unsuitable workers."""
        spec = parse_cluster(value)
        if request.workers is not None:
            raise UsageError(
                "--workers does not apply with --cluster",
                hint="local:N sets the number of workers; a remote cluster has its own",
            )
        out_dir = request.out_dir.absolute()
        out_dir.mkdir(parents=True, exist_ok=True)  # the workers must see it; the report goes there
        cluster = None
        try:
            if spec.local_workers is not None:
                cluster = start_local_cluster(min(spec.local_workers, files))
                client = Client(cluster)
            else:
                try:
                    client = Client(spec.address, timeout=_CONNECT_S)
                except (OSError, TimeoutError) as exc:
                    raise ClusterError(
                        f"cannot reach the Dask scheduler at {spec.address}: {exc}",
                        hint="start it with 'dask scheduler'; see docs/deploy.md",
                    ) from None
                except TypeError:  # Dask's way of saying that tls:// has no TLS settings
                    raise ClusterError(
                        f"{spec.address} needs TLS, and no client certificate is configured",
                        hint="set DASK_DISTRIBUTED__COMM__TLS__CA_FILE, __CLIENT__CERT and "
                        "__CLIENT__KEY; see docs/deploy.md",
                    ) from None
            runner = cls(spec, client, cluster, out_dir)
            try:
                runner._check(home, request.root.absolute(), out_dir)
            except BaseException:
                runner.close()
                raise
            return runner
        except BaseException:
            if cluster is not None:
                cluster.close()
            raise

    def _check(self, home: Home, root: Path, out_dir: Path) -> None:
        try:
            self.client.wait_for_workers(1, timeout=_WORKERS_WAIT_S)
        except TimeoutError:
            raise ClusterError(
                f"the Dask cluster at {self.spec.label} has no workers",
                hint="start workers with 'dask worker ADDRESS'; see docs/deploy.md",
            ) from None
        args = (str(home.db_path), str(root), str(out_dir), str(home.root))
        mine = look(*args)
        self.shared = mine.database is not None
        try:
            views = self.client.run(look, *args)
        except (ImportError, AttributeError) as exc:  # a worker without (this) consentclip
            raise ClusterError(
                f"a worker of {self.spec.label} cannot run consentclip ({type(exc).__name__}: "
                f"{exc})",
                hint="install the same consentclip on every worker; see docs/deploy.md",
            ) from None
        for worker, view in sorted(views.items()):
            reason = refusal(mine, worker, view)
            if reason is not None:
                raise ClusterError(reason)
        info = self.client.scheduler_info()["workers"]
        self.workers = max(1, sum(int(w.get("nthreads", 1)) for w in info.values()))

    def run(self, jobs: Sequence[_Job], outcomes: dict[int, FileOutcome], sink: BatchSink) -> None:
        """Fill ``outcomes`` as files finish. KeyboardInterrupt: stop the tasks, wait for the
        running ones to clean up, close, re-raise. Closes the cluster whatever happens."""
        client = self.client
        stop = Event(f"{_ROOT}-{self.batch}-stop", client=client)
        pending: dict[Future, _Job] = {}
        try:
            for job in jobs:
                task = _Task(
                    job,
                    self.batch,
                    machine_id(),
                    code_fingerprint(),
                    people.from_environment(),
                    self.shared,
                )
                future = client.submit(
                    run_file, task, key=f"consentclip-file-{self.batch}-{job.key}", pure=False
                )
                pending[future] = job
            self._follow(pending, outcomes, sink)
        except KeyboardInterrupt:
            # Stopping must end in KeyboardInterrupt (the report, exit code 130) even when the
            # scheduler is already gone or a task failed meanwhile.
            with contextlib.suppress(Exception):
                self._stop(stop, pending, outcomes)
            raise
        finally:
            self.close()

    def _follow(
        self, pending: dict[Future, _Job], outcomes: dict[int, FileOutcome], sink: BatchSink
    ) -> None:
        try:
            self._follow_until_done(pending, outcomes, sink)
        except OSError as exc:  # the scheduler went away (CommClosedError is an OSError)
            # The report is still written: what finished is in it, the rest is "not run" and
            # --resume picks it up (exports already claimed verify, partial ones are redone).
            for job in pending.values():
                if job.key not in outcomes:
                    outcomes[job.key] = FileOutcome(
                        job.relative,
                        NOT_RUN,
                        f"the connection to the Dask scheduler was lost ({exc}); "
                        "run the batch again with --resume",
                    )
                    sink.file_done(outcomes[job.key])
            pending.clear()

    def _follow_until_done(
        self, pending: dict[Future, _Job], outcomes: dict[int, FileOutcome], sink: BatchSink
    ) -> None:
        finished_frames = 0
        live: dict[str, int] = {}
        next_frames = 0.0
        while pending:
            for future in [f for f in pending if f.done()]:
                job = pending.pop(future)
                outcome = _outcome_of(future, job)
                outcomes[job.key] = outcome
                live.pop(str(job.key), None)
                if outcome.outcome == EXPORTED:
                    finished_frames += outcome.frames or 0
                sink.file_done(outcome)
            now = time.monotonic()
            if pending and now >= next_frames:
                next_frames = now + _FRAMES_EVERY_S
                reported = self.client.get_metadata([_ROOT, self.batch, "frames"], default={})
                running = {str(j.key) for j in pending.values()}
                live = {k: int(v) for k, v in reported.items() if k in running}
            sink.frames(finished_frames + sum(live.values()))
            if pending:
                time.sleep(_POLL_S)

    def _stop(
        self, stop: Any, pending: dict[Future, _Job], outcomes: dict[int, FileOutcome]
    ) -> None:
        """After Ctrl-C: files that never started are cancelled; files that did stop at their
        next frame (the event) and clean up; wait for those, keeping what finished meanwhile."""
        stop.set()
        started = self.client.get_metadata([_ROOT, self.batch, "attempts"], default={})
        running = {f: j for f, j in pending.items() if str(j.key) in started}
        self.client.cancel([f for f in pending if f not in running])
        with contextlib.suppress(TimeoutError):
            wait(list(running), timeout=_STOP_WAIT_S)
        for future, job in running.items():
            if future.status == "finished":  # else it failed or is still stopping: not run
                outcome = future.result()
                if outcome.outcome in (EXPORTED, ALREADY):
                    outcomes[job.key] = outcome

    def close(self) -> None:
        """Close the client (and a local cluster), then remove what dead attempts left behind.
        After a local cluster closes, all its workers are dead, so this also covers a worker
        stopped mid-file by the close itself."""
        attempts: dict[str, list[dict[str, Any]]] = {}
        with contextlib.suppress(Exception):
            attempts = self.client.get_metadata([_ROOT, self.batch, "attempts"], default={})
            self.client.set_metadata([_ROOT, self.batch], {})
        with contextlib.suppress(Exception):
            self.client.close()
        if self.cluster is not None:
            with contextlib.suppress(Exception):
                self.cluster.close()
        for tried in attempts.values():
            sweep_dead(self.out_dir, tried)


def _outcome_of(future: Future, job: _Job) -> FileOutcome:
    if future.status == "cancelled":
        return FileOutcome(job.relative, NOT_RUN, "cancelled on the cluster")
    try:
        return future.result()
    except KilledWorker as exc:
        return FileOutcome(
            job.relative,
            FAILED,
            f"its worker died {exc.allowed_failures + 1} times while exporting it (out of memory,"
            " or a crash); not retried again",
        )
    except Exception as exc:  # a task that could not run at all fails only its file
        return FileOutcome(job.relative, FAILED, f"worker failed: {type(exc).__name__}: {exc}")


__all__ = [
    "ClusterError",
    "ClusterRunner",
    "ClusterSpec",
    "MachineView",
    "look",
    "parse_cluster",
    "refusal",
    "run_file",
    "start_local_cluster",
    "sweep_dead",
]
