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

Workers die with their batch: on Linux each asks the kernel for SIGTERM when its parent goes
(``PR_SET_PDEATHSIG``, which covers spawned workers), a watchdog thread sends the same SIGTERM
when the batch process is gone (forkserver workers, whose parent is the server, and other
systems), SIGTERM cleans up like Ctrl-C, and before logging an export a worker checks once more
that its batch is still alive.

The reports written into the export folder name no input file and no input path (a file name
is often the patient's name): each row is the clip id and the input's short hash. The full
mapping (row -> input path) is kept in the consent home under ``batch-reports/``.
"""

from __future__ import annotations

import csv
import ctypes
import ctypes.util
import io
import itertools
import json
import multiprocessing
import os
import queue
import re
import signal
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NoReturn, Protocol

from consentclip.atomic import write_text_atomic
from consentclip.consent import people
from consentclip.consent.records import Purpose
from consentclip.detect import preload_modules
from consentclip.errors import (
    ConsentClipError,
    ConsentRefused,
    ExitCode,
    MediaError,
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
from consentclip.hashing import sha256_file
from consentclip.home import Home
from consentclip.media.sniff import claims_media, classify
from consentclip.signals import interrupt_on_signals

REPORT_JSON = "batch-report.json"
REPORT_CSV = "batch-report.csv"
QA_DIR = "qa"
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
    root: str = ""  # the batch folder; used to scrub messages, never written to OUT
    # Everything not processed, with the reason: not media, hidden, partial, FIFOs, ...
    skipped: tuple[tuple[str, str], ...] = ()

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
        others = len(self.skipped) - len(self.ignored)
        if others > 0:
            parts.append(f"{others} other skipped")
        return ", ".join(parts) + f" in {self.elapsed_s:.1f} s with {self.workers} worker(s)"

    def to_dict(self, *, with_sources: bool = True) -> dict[str, Any]:
        """The report. ``with_sources=False`` is the form written into the export folder:
        rows are numbered and named by clip id and input hash, never by input file or path."""
        files = (
            [asdict(f) for f in self.files]
            if with_sources
            else [public_row(number, f, self.files, self.root) for number, f in _numbered(self)]
        )
        return {
            "format": "consentclip-batch-report/2",
            "purpose": self.purpose.value,
            "started_at": self.started_at,
            "elapsed_s": round(self.elapsed_s, 3),
            "workers": self.workers,
            "interrupted": self.interrupted,
            "exit_code": int(self.exit_code),
            "totals": {o: self.count(o) for o in (EXPORTED, ALREADY, REFUSED, FAILED, NOT_RUN)}
            | {"ignored": len(self.ignored), "frames": self.frames},
            "files": files,
            "ignored": list(self.ignored) if with_sources else len(self.ignored),
            "skipped": [
                {"source": s, "reason": why} if with_sources else {"reason": skip_kind(why)}
                for s, why in self.skipped
            ],
        }


def skip_kind(reason: str) -> str:
    """A skip reason without the file's name or path (``not media: NAME ...`` -> ``not media``):
    the export folder's report says why files were skipped, never which."""
    return reason.split(":", 1)[0]


def _numbered(report: BatchReport) -> list[tuple[int, FileOutcome]]:
    return list(enumerate(report.files, start=1))


def clip_label(outcome: FileOutcome) -> str | None:
    """``C-7K2M_clip02`` from the export's name (ids only), when the file was linked."""
    if not outcome.output:
        return None
    consent_id, _, rest = outcome.output.partition("_clip")
    number = "".join(itertools.takewhile(str.isdigit, rest))
    return f"{consent_id}_clip{number}" if consent_id and number else None


def public_row(
    number: int, outcome: FileOutcome, files: Sequence[FileOutcome], root: str
) -> dict[str, Any]:
    """One report row for the export folder: the input file's name and path are replaced by
    the row number wherever they occur (error messages quote them)."""
    row = asdict(outcome)
    # The short hash is enough to find the link in the home; the name and path stay there.
    for private in ("source", "sha256"):
        del row[private]
    row = {
        "file": number,
        "clip": clip_label(outcome),
        "input_sha256": outcome.sha256[:12] if outcome.sha256 else None,
        **row,
    }
    row["reason"] = _scrub(outcome.reason, files, root)
    if outcome.qa_sheet:
        row["qa_sheet"] = Path(outcome.qa_sheet).name
    return row


def _scrub(text: str, files: Sequence[FileOutcome], root: str) -> str:
    if not text:
        return text
    names: list[tuple[str, str]] = []
    for number, f in enumerate(files, start=1):
        label = f"file {number}"
        relative = Path(f.source)
        for variant in (str(Path(root) / relative) if root else "", f.source, relative.name):
            if variant:
                names.append((variant, label))
        if len(relative.stem) >= 3:
            names.append((relative.stem, label))
    if root:
        names.append((root, "the batch folder"))
    for original, label in sorted(names, key=lambda p: len(p[0]), reverse=True):
        text = re.sub(rf"(?<![\w.-]){re.escape(original)}(?![\w-])", label, text)
    return text


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
    """(candidates, ignored) under ``root``, sorted; ``ignored`` holds the files that are not
    media by content. ``survey`` has every skipped entry with its reason."""
    found = survey(root, recursive=recursive, exclude=exclude)
    return found.candidates, [path for path, _ in found.not_media]


@dataclass(frozen=True)
class Survey:
    """What discovery made of a folder. A candidate is whatever export would accept (the photo
    reader or ffprobe opens it), or a file whose name claims media, so a damaged clip is
    reported as failed; everything else is skipped with its reason."""

    candidates: list[Path]
    not_media: list[tuple[Path, str]]  # regular files neither reader opens
    other: list[tuple[Path, str]]  # hidden, partial, FIFOs, sockets, devices, folder links

    @property
    def skipped(self) -> list[tuple[Path, str]]:
        return sorted(self.not_media + self.other)


def survey(root: Path, *, recursive: bool, exclude: Sequence[Path] = ()) -> Survey:
    root = root.absolute()
    if not root.is_dir():
        raise NotFoundError(f"no such folder: {root}")
    excluded = {p.absolute() for p in exclude}
    found = Survey([], [], [])
    for path, why in _walk(root, recursive=recursive, excluded=excluded):
        if why:
            found.other.append((path, why))
            continue
        try:
            classify(path)
        except MediaError as exc:
            if claims_media(path):
                found.candidates.append(path)  # damaged media: export will say why, as failed
            else:
                found.not_media.append((path, f"not media: {exc.one_line()}"))
            continue
        found.candidates.append(path)
    return found


def _walk(folder: Path, *, recursive: bool, excluded: set[Path]) -> Iterator[tuple[Path, str]]:
    """(path, reason to skip or "") for every entry; never opens one (a FIFO would block)."""
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry in excluded:
            continue
        if is_partial_name(entry.name):
            if not entry.is_dir():
                hidden = entry.name.startswith(".")
                yield entry, "hidden file" if hidden else "still being written (partial name)"
            continue
        if entry.is_dir():
            # Directory symlinks are not followed: they can loop or leave the folder.
            if entry.is_symlink():
                yield entry, "link to a folder (not followed)"
            elif recursive:
                yield from _walk(entry, recursive=recursive, excluded=excluded)
        elif entry.is_file():
            yield entry, ""
        else:
            yield entry, f"not a regular file ({_file_type(entry)})"


def _file_type(path: Path) -> str:
    try:
        mode = path.lstat().st_mode
    except OSError as exc:
        return f"unreadable: {exc.strerror or exc}"
    for test, name in (
        (stat.S_ISFIFO, "FIFO"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISLNK, "broken link"),
    ):
        if test(mode):
            return name
    return "special file"


# --- one file (runs in a worker process, or inline for one worker) ------------------------

# Set in each worker by _init_worker; None when running inline.
_STOP: Any = None
_PROGRESS: Any = None
_BATCH_PID: int | None = None
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _init_worker(
    stop: Any,
    progress: Any,
    batch_pid: int | None = None,
    acting: dict[str, str | None] | None = None,
) -> None:
    global _STOP, _PROGRESS, _BATCH_PID
    _STOP, _PROGRESS, _BATCH_PID = stop, progress, batch_pid
    # The person and the key passphrase of *this* batch: a forkserver started by an earlier
    # batch in the same process would otherwise hand its workers that batch's environment.
    people.apply_environment(acting or {})
    # The parent decides when to stop and tells us through _STOP; a terminal's Ctrl-C reaching
    # a worker directly would otherwise kill it mid-write, out of order.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()
    if batch_pid is not None:
        if not _alive(batch_pid):
            os._exit(0)  # the batch died before we were ready: nothing to do, nothing to leave
        # With a forkserver our parent is the server, and every worker holds the server's
        # "batch alive" pipe open, so the server never notices the batch die and neither
        # does PR_SET_PDEATHSIG. A watchdog does: SIGTERM to ourselves, handled like Ctrl-C.
        threading.Thread(
            target=_watch_batch, args=(batch_pid,), name="consentclip-watchdog", daemon=True
        ).start()


def _watch_batch(batch_pid: int, every_s: float = 0.5) -> None:
    while _alive(batch_pid):
        time.sleep(every_s)
    os.kill(os.getpid(), signal.SIGTERM)


def die_with_parent() -> bool:
    """Ask Linux to send SIGTERM when this process's parent exits. False where unsupported
    (other systems; the check before logging still stops an orphan from exporting)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists
        return True
    return True


def _still_wanted() -> None:
    """Runs inside the export's final transaction: an orphaned or stopped worker must not
    log (and so must not keep) an export."""
    if _STOP is not None and _STOP.is_set():
        raise KeyboardInterrupt
    if _BATCH_PID is not None and not _alive(_BATCH_PID):
        raise KeyboardInterrupt


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
    started = time.monotonic()
    progress = _WorkerProgress(job.key, report)
    try:
        # Corrupt or unreadable media fails here, before the gate: "corrupt" says more than
        # "not linked" (a corrupt file could not have been linked).
        classify(job.source)
        result = export_clip(job.home, job.request, progress=progress, before_commit=_still_wanted)
    except ConsentRefused as exc:
        return FileOutcome(
            job.relative,
            REFUSED,
            exc.one_line(),
            exc.rule,
            seconds=_since(started),
            sha256=_sha_or_none(job.source),
        )
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
        return FileOutcome(
            job.relative,
            FAILED,
            exc.one_line(),
            seconds=_since(started),
            sha256=_sha_or_none(job.source),
        )
    except Exception as exc:  # an unexpected bug in one file's processing must not end the batch
        reason = f"internal error ({type(exc).__name__}: {exc}); please report it"
        return FileOutcome(
            job.relative, FAILED, reason, seconds=_since(started), sha256=_sha_or_none(job.source)
        )
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


def _sha_or_none(path: Path) -> str | None:
    """The input's hash for a refused or failed row (the report names it by hash, not name)."""
    try:
        return sha256_file(path)
    except OSError:
        return None


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
    found = survey(request.root, recursive=request.recursive, exclude=[out_dir])
    candidates, ignored = found.candidates, [p for p, _ in found.not_media]
    root = request.root.absolute()
    skipped = tuple((p.relative_to(root).as_posix(), why) for p, why in found.skipped)
    if not candidates:
        _nothing_to_process(home, request, out_dir, skipped, started_at)
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
        # Here, not at the top: cluster imports this module, and only --cluster loads Dask.
        from consentclip.cluster import ClusterRunner

        cluster = ClusterRunner.open(request.cluster, home=home, request=request, files=len(jobs))
        workers = cluster.workers
    sink.start(len(jobs), workers)
    outcomes: dict[int, FileOutcome] = {}
    interrupted = False
    try:
        with interrupt_on_signals():  # SIGTERM/SIGHUP: the same orderly stop as Ctrl-C
            if cluster is not None:
                cluster.run(jobs, outcomes, sink)  # closes the cluster whatever happens
            else:
                _run_all(jobs, workers, outcomes, sink)
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
        skipped=skipped,
        workers=workers,
        elapsed_s=time.monotonic() - t0,
        interrupted=interrupted,
        started_at=started_at,
        root=str(root),
    )
    write_report(out_dir, report)
    keep_mapping(home, out_dir, report)
    sink.finish(report)
    if interrupted:
        raise KeyboardInterrupt
    return report


def _run_all(
    jobs: Sequence[_Job], workers: int, outcomes: dict[int, FileOutcome], sink: BatchSink
) -> None:
    if workers == 1:
        _run_inline(jobs, outcomes, sink)
    else:
        _run_pool(jobs, workers, outcomes, sink)


def _nothing_to_process(
    home: Home,
    request: BatchRequest,
    out_dir: Path,
    skipped: tuple[tuple[str, str], ...],
    started_at: str,
) -> NoReturn:
    """A folder where nothing can be processed is a failure (exit 1), and the report still
    lists what was skipped and why."""
    if skipped:
        ignored = tuple(s for s, why in skipped if why.startswith("not media"))
        report = BatchReport(
            request.purpose,
            (),
            ignored,
            0,
            0.0,
            False,
            started_at,
            root=str(request.root),
            skipped=skipped,
        )
        write_report(out_dir, report)
        keep_mapping(home, out_dir, report)
        first = f"{skipped[0][0]}: {skipped[0][1]}"
        more = f" and {len(skipped) - 1} more" if len(skipped) > 1 else ""
        raise NotFoundError(
            f"nothing in {request.root} can be processed: skipped {first}{more}",
            hint=f"reasons in {out_dir / REPORT_JSON}",
        )
    raise NotFoundError(
        f"no media files found in {request.root}",
        option=None if request.recursive else "recursive",
    )


def _mark_duplicates(files: list[FileOutcome]) -> tuple[FileOutcome, ...]:
    """A file whose bytes equal an exported file's maps to the same export name and so finds it
    taken; that is a copy, not a failure.

    Which copy won the race for the name depends on which worker finished first; the export is
    the same bytes either way, so the report credits it to the copy first in relative-path order
    and lists the others as its duplicates, the same on every run."""
    exported = {f.sha256: f for f in files if f.ok and f.sha256}
    copies: dict[str, list[FileOutcome]] = {}
    for f in files:
        twin = exported.get(f.sha256) if f.outcome == FAILED and f.sha256 else None
        if twin is not None and twin is not f and twin.output == f.output:
            copies.setdefault(twin.source, [twin]).append(f)
    relabelled: dict[str, FileOutcome] = {}
    for group in copies.values():
        winner = group[0]
        first = min(group, key=lambda f: f.source)
        relabelled[first.source] = replace(
            winner,
            source=first.source,
            reason=winner.reason.replace(Path(winner.source).name, Path(first.source).name),
        )
        reason = f"same content as {first.source}, exported as {winner.output}"
        for f in group:
            if f is not first:
                relabelled[f.source] = FileOutcome(
                    f.source,
                    DUPLICATE,
                    reason,
                    output=winner.output,
                    seconds=f.seconds,
                    sha256=f.sha256,
                )
    return tuple(relabelled.get(f.source, f) for f in files)


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
_PRELOAD = [
    "consentclip.export",
    "consentclip.pipeline",
    "consentclip.qa.sheet",
    *preload_modules(),
]


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
        max_workers=workers,
        mp_context=ctx,
        initializer=_init_worker,
        initargs=(stop, progress, os.getpid(), people.worker_environment()),
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
    "file",
    "clip",
    "input_sha256",
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
)


def report_csv(report: BatchReport) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for row in report.to_dict(with_sources=False)["files"]:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return buffer.getvalue()


def keep_mapping(home: Home, out_dir: Path, report: BatchReport) -> Path | None:
    """The full report, input paths included, in the consent home (``batch-reports/``): the
    only place that maps a report row back to a file. Best effort: the export folder's report
    is already written, and a home that cannot take it has failed louder elsewhere."""
    folder = home.root / "batch-reports"
    stamp = report.started_at.replace(":", "").replace("+0000", "Z") or "unknown"
    target = folder / f"{stamp}-{os.getpid()}.json"
    data = {**report.to_dict(), "root": report.root, "out_dir": str(out_dir)}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_text_atomic(target, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    except OSError:
        return None
    return target


def write_report(out_dir: Path, report: BatchReport) -> tuple[Path, Path]:
    """``batch-report.json`` and ``batch-report.csv`` in OUT, each written atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, csv_path = out_dir / REPORT_JSON, out_dir / REPORT_CSV
    public = report.to_dict(with_sources=False)
    write_text_atomic(json_path, json.dumps(public, indent=2, ensure_ascii=False) + "\n")
    write_text_atomic(csv_path, report_csv(report))
    return json_path, csv_path
