"""Batch export of a folder: discovery by content, parallel workers, resume, a report.

Every file goes through ``export.export_clip``: the same consent gate and the same engine as a
single export, so a batch can never export what ``export`` would refuse.

Workers are processes (``ProcessPoolExecutor``). They are never forked from this process, which
may hold threads (rich's refresher, the engine's queues): a forkserver, started fresh, imports
the engine once and forks the workers (spawn where there is no forkserver). Each worker builds
its own detectors inside the engine. Stopping is cooperative: on Ctrl-C the parent sets a shared
event, and each worker's progress hook raises KeyboardInterrupt inside the engine at the next
frame, so the engine removes its temporary file and ``export_clip`` removes anything it had
claimed. Finished exports stay; ``--resume`` completes the rest later.
"""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import os
import queue
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from consentclip.consent.records import Purpose
from consentclip.errors import (
    ConsentClipError,
    ConsentRefused,
    ExitCode,
    NotFoundError,
    UsageError,
)
from consentclip.export import (
    EngineOptions,
    ExportExists,
    ExportRequest,
    export_clip,
    sweep_partials,
)
from consentclip.home import Home

REPORT_JSON = "batch-report.json"
REPORT_CSV = "batch-report.csv"
QA_DIR = "qa"
# Extensions a clinic's recordings come with. Used only so that a corrupt file that claims to
# be media is reported as failed instead of silently ignored; what a file IS is decided by content.
MEDIA_SUFFIXES = frozenset(
    {
        ".mp4", ".mov", ".m4v", ".mkv", ".avi", ".webm",
        ".jpg", ".jpeg", ".png", ".heic", ".heif", ".webp", ".tif", ".tiff",
    }
)  # fmt: skip
# Files still being written by a camera, browser or editor.
PARTIAL_SUFFIXES = (".part", ".partial", ".tmp", ".crdownload", ".download", "~", ".swp")

EXPORTED, ALREADY, DUPLICATE, REFUSED, FAILED, NOT_RUN = (
    "exported",
    "already_exported",
    "duplicate",  # same bytes as another file of this batch, which was exported
    "refused",
    "failed",
    "not_run",
)


@dataclass(frozen=True)
class BatchRequest:
    root: Path
    purpose: Purpose
    out_dir: Path
    workers: int | None = None  # None: default_workers()
    resume: bool = False
    recursive: bool = False
    keep_audio: bool = False
    options: EngineOptions = field(default_factory=EngineOptions)
    qa_sheets: bool = True
    # A Dask scheduler address or "local:N": each file becomes a task there (consentclip.cluster).
    cluster: str | None = None


@dataclass(frozen=True)
class FileOutcome:
    """One line of the report. ``source`` is relative to the batch folder."""

    source: str
    outcome: str  # exported | already_exported | duplicate | refused | failed | not_run
    reason: str = ""
    rule: str | None = None
    consent_id: str | None = None
    output: str | None = None
    qa_sheet: str | None = None
    media_kind: str | None = None
    duration_s: float | None = None
    frames: int | None = None
    face_tracks: int | None = None
    tattoo_tracks: int | None = None
    frames_with_faces: int | None = None
    frames_with_tattoos: int | None = None
    seconds: float = 0.0
    sha256: str | None = None  # of the input: ties the row to the link and the manifest

    @property
    def ok(self) -> bool:
        return self.outcome in (EXPORTED, ALREADY, DUPLICATE)


@dataclass(frozen=True)
class BatchReport:
    purpose: Purpose
    files: tuple[FileOutcome, ...]
    ignored: tuple[str, ...]  # not media by content (notes, spreadsheets, ...)
    workers: int
    elapsed_s: float
    interrupted: bool = False
    started_at: str = ""

    def count(self, outcome: str) -> int:
        return sum(1 for f in self.files if f.outcome == outcome)

    @property
    def exit_code(self) -> ExitCode:
        if self.interrupted:
            return ExitCode.INTERRUPTED
        if all(f.ok for f in self.files):
            return ExitCode.OK
        if all(f.outcome == REFUSED for f in self.files):
            return ExitCode.REFUSED
        return ExitCode.BATCH_PARTIAL

    @property
    def frames(self) -> int:
        return sum(f.frames or 0 for f in self.files if f.outcome == EXPORTED)

    def summary(self) -> str:
        parts = [f"{self.count(EXPORTED)} exported"]
        for outcome, label in ((ALREADY, "already exported"), (DUPLICATE, "duplicate(s)")):
            if self.count(outcome):
                parts.append(f"{self.count(outcome)} {label}")
        parts += [f"{self.count(REFUSED)} refused", f"{self.count(FAILED)} failed"]
        if self.count(NOT_RUN):
            parts.append(f"{self.count(NOT_RUN)} not run")
        if self.ignored:
            parts.append(f"{len(self.ignored)} ignored (not media)")
        return ", ".join(parts) + f" in {self.elapsed_s:.1f} s with {self.workers} worker(s)"

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "consentclip-batch-report/1",
            "purpose": self.purpose.value,
            "started_at": self.started_at,
            "elapsed_s": round(self.elapsed_s, 3),
            "workers": self.workers,
            "interrupted": self.interrupted,
            "exit_code": int(self.exit_code),
            "totals": {o: self.count(o) for o in (EXPORTED, ALREADY, REFUSED, FAILED, NOT_RUN)}
            | {"ignored": len(self.ignored), "frames": self.frames},
            "files": [asdict(f) for f in self.files],
            "ignored": list(self.ignored),
        }


class BatchSink(Protocol):
    """What the CLI edge shows. The library never knows whether a terminal exists."""

    def start(self, files: int, workers: int) -> None: ...

    def frames(self, done: int) -> None: ...  # frames processed so far, all workers together

    def file_done(self, outcome: FileOutcome) -> None: ...

    def finish(self, report: BatchReport) -> None: ...


class _NullSink:
    def start(self, files: int, workers: int) -> None:
        pass

    def frames(self, done: int) -> None:
        pass

    def file_done(self, outcome: FileOutcome) -> None:
        pass

    def finish(self, report: BatchReport) -> None:
        pass


# --- discovery ---------------------------------------------------------------------------


def default_workers() -> int:
    """One worker per two cores: each engine already overlaps decode, detection and x264."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, cores // 2)


def is_partial_name(name: str) -> bool:
    return name.startswith(".") or name.lower().endswith(PARTIAL_SUFFIXES)


def discover(
    root: Path, *, recursive: bool, exclude: Sequence[Path] = ()
) -> tuple[list[Path], list[Path]]:
    """(candidates, ignored) under ``root``, sorted. Hidden and partial files are skipped
    entirely; a file is a candidate when its first bytes are a media format we handle, or when
    its name claims to be media (so a corrupt clip is reported, not silently dropped)."""
    from consentclip.media.sniff import magic_kind

    root = root.absolute()
    if not root.is_dir():
        raise NotFoundError(f"no such folder: {root}")
    excluded = {p.absolute() for p in exclude}
    candidates: list[Path] = []
    ignored: list[Path] = []
    for path in _walk(root, recursive=recursive, excluded=excluded):
        try:
            with path.open("rb") as fh:
                head = fh.read(64)
        except OSError:
            candidates.append(path)  # unreadable: let the export say why
            continue
        if magic_kind(head) is not None or path.suffix.lower() in MEDIA_SUFFIXES:
            candidates.append(path)
        else:
            ignored.append(path)
    return candidates, ignored


def _walk(folder: Path, *, recursive: bool, excluded: set[Path]) -> Iterator[Path]:
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if is_partial_name(entry.name) or entry in excluded:
            continue
        if entry.is_dir():
            # Directory symlinks are not followed: they can loop or leave the folder.
            if recursive and not entry.is_symlink():
                yield from _walk(entry, recursive=recursive, excluded=excluded)
        elif entry.is_file():
            yield entry


# --- one file (runs in a worker process, or inline for one worker) ------------------------

# Set in each worker by _init_worker; None when running inline.
_STOP: Any = None
_PROGRESS: Any = None


def _init_worker(stop: Any, progress: Any) -> None:
    global _STOP, _PROGRESS
    _STOP, _PROGRESS = stop, progress
    # The parent decides when to stop and tells us through _STOP; a terminal's Ctrl-C reaching
    # a worker directly would otherwise kill it mid-write, out of order.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class _WorkerProgress:
    """The engine's progress hook in a worker: reports frames to the parent, and is where a
    stop request turns into KeyboardInterrupt inside the engine (which then cleans up)."""

    def __init__(self, key: int, report: Callable[[int, int], None] | None = None) -> None:
        self.key = key
        self.report = report
        self.last = 0.0

    def __call__(self, done: int, total: int | None = None) -> None:
        if _STOP is not None and _STOP.is_set():
            raise KeyboardInterrupt
        now = time.monotonic()
        if (
            now - self.last < 0.2
        ):  # throttled: a queue message per frame would cost more than it tells
            return
        self.last = now
        if self.report is not None:
            self.report(self.key, done)
        elif _PROGRESS is not None:
            _PROGRESS.put((self.key, done))


@dataclass(frozen=True)
class _Job:
    key: int
    home: Home
    source: Path
    relative: str
    request: ExportRequest


def _run_job(job: _Job, report: Callable[[int, int], None] | None = None) -> FileOutcome:
    """Export one file and describe what happened. Never raises for a bad file: one failure
    must not stop the others (KeyboardInterrupt does propagate: it is a stop, not a failure)."""
    from consentclip.media.sniff import classify

    started = time.monotonic()
    progress = _WorkerProgress(job.key, report)
    try:
        # Corrupt or unreadable media fails here, before the gate: "corrupt" says more than
        # "not linked" (a corrupt file could not have been linked).
        classify(job.source)
        result = export_clip(job.home, job.request, progress=progress)
    except ConsentRefused as exc:
        return FileOutcome(job.relative, REFUSED, exc.one_line(), exc.rule, seconds=_since(started))
    except ExportExists as exc:
        return FileOutcome(
            job.relative,
            FAILED,
            exc.one_line(),
            output=exc.output.name,
            seconds=_since(started),
            sha256=exc.input_sha256,
        )
    except ConsentClipError as exc:
        return FileOutcome(job.relative, FAILED, exc.one_line(), seconds=_since(started))
    except Exception as exc:  # an unexpected bug in one file's processing must not end the batch
        reason = f"internal error ({type(exc).__name__}: {exc}); please report it"
        return FileOutcome(job.relative, FAILED, reason, seconds=_since(started))
    plan, engine = result.plan, result.engine
    manifest = result.manifest
    out, det = manifest.get("output", {}), manifest.get("detections", {})
    return FileOutcome(
        source=job.relative,
        outcome=ALREADY if engine is None else EXPORTED,
        reason="verified earlier export kept" if engine is None else "; ".join(result.warnings),
        consent_id=plan.consent_id,
        output=plan.output.name,
        qa_sheet=str(result.qa_sheet) if result.qa_sheet else None,
        media_kind=out.get("media_kind"),
        duration_s=out.get("duration_s"),
        frames=out.get("frames"),
        face_tracks=det.get("face_tracks"),
        tattoo_tracks=det.get("tattoo_tracks"),
        frames_with_faces=det.get("frames_with_faces"),
        frames_with_tattoos=det.get("frames_with_tattoos"),
        seconds=_since(started),
        sha256=plan.input_sha256,
    )


def _since(started: float) -> float:
    return round(time.monotonic() - started, 3)


# --- the batch ---------------------------------------------------------------------------


def run_batch(home: Home, request: BatchRequest, *, sink: BatchSink | None = None) -> BatchReport:
    """Export every media file under ``request.root``; write the report into ``out_dir``.

    Returns the report (its ``exit_code`` is the command's). On KeyboardInterrupt the running
    files are abandoned without leftovers, the report is written with ``interrupted: true``,
    and KeyboardInterrupt is raised again.
    """
    sink = sink or _NullSink()
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    t0 = time.monotonic()
    out_dir = request.out_dir.absolute()
    if out_dir == request.root.absolute():
        # Exports would be rediscovered as unlinked recordings on the next run.
        raise UsageError(
            "--out must not be the folder being exported", hint="use a sub-folder or another one"
        )
    candidates, ignored = discover(request.root, recursive=request.recursive, exclude=[out_dir])
    if not candidates:
        raise NotFoundError(
            f"no media files found in {request.root}",
            hint=None if request.recursive else "add --recursive to look in sub-folders",
        )
    root = request.root.absolute()
    qa_dir = out_dir / QA_DIR if request.qa_sheets else None
    jobs = [
        _Job(
            key=i,
            home=home,
            source=path,
            relative=path.relative_to(root).as_posix(),
            request=ExportRequest(
                clip=path,
                purpose=request.purpose,
                out_dir=out_dir,
                keep_audio=request.keep_audio,
                options=request.options,
                qa_dir=qa_dir,
                resume=request.resume,
            ),
        )
        for i, path in enumerate(candidates)
    ]
    workers = max(1, min(request.workers or default_workers(), len(jobs)))
    if request.resume:
        sweep_partials(out_dir)
    cluster = None
    if request.cluster is not None:
        from consentclip.cluster import ClusterRunner

        cluster = ClusterRunner.open(request.cluster, home=home, request=request, files=len(jobs))
        workers = cluster.workers
    sink.start(len(jobs), workers)
    outcomes: dict[int, FileOutcome] = {}
    interrupted = False
    try:
        if cluster is not None:
            cluster.run(jobs, outcomes, sink)  # closes the cluster whatever happens
        elif workers == 1:
            _run_inline(jobs, outcomes, sink)
        else:
            _run_pool(jobs, workers, outcomes, sink)
    except KeyboardInterrupt:
        interrupted = True
    files = _mark_duplicates(
        [
            outcomes.get(j.key) or FileOutcome(j.relative, NOT_RUN, "stopped before it ran")
            for j in jobs
        ]
    )
    report = BatchReport(
        purpose=request.purpose,
        files=files,
        ignored=tuple(p.relative_to(root).as_posix() for p in ignored),
        workers=workers,
        elapsed_s=time.monotonic() - t0,
        interrupted=interrupted,
        started_at=started_at,
    )
    write_report(out_dir, report)
    sink.finish(report)
    if interrupted:
        raise KeyboardInterrupt
    return report


def _mark_duplicates(files: list[FileOutcome]) -> tuple[FileOutcome, ...]:
    """A file whose bytes equal an exported file's maps to the same export name and so finds it
    taken; that is a copy, not a failure."""
    exported = {f.sha256: f for f in files if f.ok and f.sha256}
    marked = []
    for f in files:
        twin = exported.get(f.sha256) if f.outcome == FAILED and f.sha256 else None
        if twin is not None and twin is not f and twin.output == f.output:
            f = replace(
                f,
                outcome=DUPLICATE,
                reason=f"same content as {twin.source}, exported as {twin.output}",
            )
        marked.append(f)
    return tuple(marked)


def _run_inline(jobs: Sequence[_Job], outcomes: dict[int, FileOutcome], sink: BatchSink) -> None:
    finished = 0

    def report(_key: int, done: int) -> None:
        sink.frames(finished + done)

    for job in jobs:
        outcome = _run_job(job, report)
        outcomes[job.key] = outcome
        if outcome.outcome == EXPORTED:
            finished += outcome.frames or 0
        sink.frames(finished)
        sink.file_done(outcome)


# What every worker needs; a forkserver imports them once and forks ready workers from it.
_PRELOAD = ["consentclip.export", "consentclip.pipeline", "consentclip.qa_sheet", "mediapipe"]


def _worker_context() -> multiprocessing.context.BaseContext:
    """forkserver where it exists (Linux): a fresh single-threaded server process imports the
    heavy modules once, and workers fork from it, so they start in a fraction of a second yet
    never inherit this process's threads. spawn elsewhere."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(_PRELOAD)
        return ctx
    return multiprocessing.get_context("spawn")


def _run_pool(
    jobs: Sequence[_Job], workers: int, outcomes: dict[int, FileOutcome], sink: BatchSink
) -> None:
    ctx = _worker_context()
    stop = ctx.Event()
    progress: Any = ctx.Queue()
    live: dict[int, int] = {}  # frames done so far in files still running
    finished_frames = 0
    executor = ProcessPoolExecutor(
        max_workers=workers, mp_context=ctx, initializer=_init_worker, initargs=(stop, progress)
    )
    pending: dict[Future[FileOutcome], _Job] = {}
    try:
        pending = {executor.submit(_run_job, job): job for job in jobs}
        while pending:
            done, _ = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
            _drain(progress, live)
            for future in done:
                job = pending.pop(future)
                outcome = _outcome_of(future, job)
                outcomes[job.key] = outcome
                live.pop(job.key, None)
                if outcome.outcome == EXPORTED:
                    finished_frames += outcome.frames or 0
                sink.file_done(outcome)
            sink.frames(finished_frames + sum(live.values()))
    except KeyboardInterrupt:
        stop.set()
        for future in pending:
            future.cancel()
        # Running files now stop at their next frame and clean up; wait for that, so that no
        # worker is still writing when we report "nothing half-written was left behind".
        for future, job in list(pending.items()):
            if future.cancelled():
                continue
            try:
                outcome = future.result()
            except (KeyboardInterrupt, Exception):  # the worker's own stop, travelling back
                continue
            if outcome.outcome in (EXPORTED, ALREADY):
                outcomes[job.key] = outcome
        raise
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
        progress.close()
        progress.join_thread()


def _drain(progress: Any, live: dict[int, int]) -> None:
    while True:
        try:
            key, done = progress.get_nowait()
        except queue.Empty:
            return
        live[key] = done


def _outcome_of(future: Future[FileOutcome], job: _Job) -> FileOutcome:
    try:
        return future.result()
    except KeyboardInterrupt:
        return FileOutcome(job.relative, NOT_RUN, "stopped while running")
    except Exception as exc:  # a worker that died (out of memory, killed) fails only its file
        return FileOutcome(job.relative, FAILED, f"worker failed: {type(exc).__name__}: {exc}")


# --- report ------------------------------------------------------------------------------

CSV_FIELDS = (
    "source",
    "outcome",
    "reason",
    "rule",
    "consent_id",
    "output",
    "media_kind",
    "duration_s",
    "frames",
    "face_tracks",
    "tattoo_tracks",
    "frames_with_faces",
    "frames_with_tattoos",
    "seconds",
    "qa_sheet",
    "sha256",
)


def report_csv(report: BatchReport) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for outcome in report.files:
        writer.writerow({k: "" if v is None else v for k, v in asdict(outcome).items()})
    return buffer.getvalue()


def write_report(out_dir: Path, report: BatchReport) -> tuple[Path, Path]:
    """``batch-report.json`` and ``batch-report.csv`` in OUT, each written atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, csv_path = out_dir / REPORT_JSON, out_dir / REPORT_CSV
    _write_text_atomic(json_path, json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n")
    _write_text_atomic(csv_path, report_csv(report))
    return json_path, csv_path


def _write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8", newline="")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
