"""Consent-gated export: the ONE place where a consent decision and a media file meet.

Order of work, and why:
1. Hash the clip's bytes. The link is by content, so a clip edited after linking no longer
   matches any consent and is refused as unlinked.
2. Load the linked record, verify its signatures and the audit chain, and ask the pure gate
   (``consent.gate.evaluate``) before a single frame is decoded. A refusal is logged in the audit
   chain and raised as ``ConsentRefused``; nothing is written to the output folder.
3. Map the grant to engine settings: an anonymised-only grant forces face and tattoo redaction and
   cannot be weakened from the command line; an identifiable grant redacts only what the
   clinician asked for. Metadata is always stripped and verified by the engine.
4. The engine writes a hidden temporary file in the output folder. Then, inside ONE registry
   transaction (``_commit``): the gate is evaluated again on the record as it is now, and only if
   it still allows the export is the file hard-linked to its final name (which fails if that name
   exists, so an export is never overwritten), the manifest written and ``export.allowed``
   logged. A withdrawal that lands during the export is either seen there (the export is refused,
   logged, and nothing is left) or lands after the commit, and then its takedown list names this
   export. If anything fails after the claim, both files are removed again: an export that is
   not in the audit log must not exist.
5. SIGTERM and SIGHUP clean up exactly like Ctrl-C (``consentclip.signals``), and each export
   first sweeps the half-made files that a killed export of the same target left behind.

Output names come from the consent id, the clip number and the purpose, never from the input
name (which is often the patient's name). The manifest holds no patient name or reference.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from consentclip import __version__
from consentclip.atomic import PARTIAL_MARK, write_json_atomic
from consentclip.consent import state as consent_state
from consentclip.consent.gate import GateRequest, evaluate
from consentclip.consent.records import Grant, Purpose
from consentclip.consent.registry import Registry
from consentclip.detect.regions import Box, Region
from consentclip.errors import (
    ConsentClipError,
    ConsentRefused,
    MediaError,
    RegistryError,
)
from consentclip.hashing import sha256_file
from consentclip.home import Home
from consentclip.jsonable import jsonable
from consentclip.media.ffmpeg import version as tool_version
from consentclip.pipeline import anonymise
from consentclip.qa.sheet import QaInput, write_qa_sheet
from consentclip.settings import EngineResult, EngineSettings, ManualRegion, RedactMode
from consentclip.signals import interrupt_on_signals

if TYPE_CHECKING:
    import sqlite3

    from consentclip.consent.gate import GateDecision
    from consentclip.consent.records import ConsentRecord
    from consentclip.consent.registry import ClipLink
    from consentclip.progress import ProgressSink
    from consentclip.review.approval import ApprovedStaging, ExportReview

MANIFEST_SUFFIX = ".manifest.json"
MANIFEST_FORMAT = "consentclip-export-manifest/1"
VIDEO_SUFFIX = ".mp4"
# Photos are re-encoded as PNG: lossless, so the lesion's detail survives, and PNG carries no EXIF.
PHOTO_SUFFIX = ".png"

ExportState = Literal["absent", "verified", "partial"]


class ExportExists(ConsentClipError):
    """The export's name is taken: exports are never overwritten. Carries what batch needs to
    tell a duplicate file (same content, already exported) from a real conflict."""

    def __init__(self, output: Path, input_sha256: str, hint: str) -> None:
        super().__init__(
            f"{output.name} already exists in {output.parent}; exports are never overwritten",
            hint=hint,
        )
        self.output = output
        self.input_sha256 = input_sha256


@dataclass(frozen=True)
class EngineOptions:
    """What the clinician asked of the engine, before the grant has its say.

    ``faces``/``tattoos`` are None when not asked: the grant decides. An anonymised-only grant
    refuses an explicit False.
    """

    faces: bool | None = None
    tattoos: bool | None = None
    text: bool | None = None  # None: on (text is redacted unless the clinician says --no-text)
    mode: RedactMode = RedactMode.BLUR
    threshold: float = EngineSettings.threshold
    tattoo_sensitivity: float = EngineSettings.tattoo_sensitivity
    regions: tuple[ManualRegion, ...] = ()
    keep: tuple[Box, ...] = ()
    keep_auto: bool = False  # --keep auto (detect/lesion.py)
    crf: int = EngineSettings.crf
    preset: str = EngineSettings.preset


@dataclass(frozen=True)
class ExportRequest:
    clip: Path
    purpose: Purpose
    out_dir: Path
    keep_audio: bool = False
    options: EngineOptions = field(default_factory=EngineOptions)
    # Where the QA sheet goes (None: no sheet). Never the export folder's own files.
    qa_dir: Path | None = None
    # Batch --resume: a verified earlier export is kept and reported, a partial one is redone.
    resume: bool = False
    # Staging for review (review/staging.py): the gate without its "review required" rule.
    for_review: bool = False


@dataclass(frozen=True)
class ExportPlan:
    """Everything decided before processing: who consented, to what, and how to process."""

    source: Path  # read by the engine only; never written to a manifest or report
    consent_id: str
    clip_number: int
    media_kind: str
    input_sha256: str
    purpose: Purpose
    grant: Grant
    settings: EngineSettings
    output: Path
    # An approved review: export publishes its staged file instead of running the engine.
    approved: ApprovedStaging | None = None

    @property
    def manifest(self) -> Path:
        return manifest_path(self.output)


@dataclass(frozen=True)
class ExportResult:
    plan: ExportPlan
    output_sha256: str
    manifest: dict[str, Any]
    engine: EngineResult | None  # None when --resume found a verified earlier export
    qa_sheet: Path | None = None
    warnings: tuple[str, ...] = ()

    @property
    def skipped(self) -> bool:
        return self.engine is None


# --- naming ------------------------------------------------------------------------------


def output_name(consent_id: str, clip_number: int, purpose: Purpose, media_kind: str) -> str:
    """``C-7K2M_clip02_teaching.mp4``: from ids only, never from the input file name."""
    suffix = PHOTO_SUFFIX if media_kind == "photo" else VIDEO_SUFFIX
    return f"{consent_id}_clip{clip_number:02d}_{purpose.value}{suffix}"


def manifest_path(output: Path) -> Path:
    return output.with_name(output.name + MANIFEST_SUFFIX)


def qa_sheet_path(qa_dir: Path, output: Path) -> Path:
    return qa_dir / f"{output.stem}.qa.pdf"


# --- gate -> engine settings -------------------------------------------------------------


def settings_for(
    decision: GateDecision, options: EngineOptions, *, consent_id: str
) -> EngineSettings:
    """Engine settings the grant demands, plus what the clinician asked for on top.

    Raises ConsentRefused (rule ``anonymisation_required``) when the clinician asks to switch off
    a redaction that an anonymised-only grant requires.
    """
    grant = decision.grant
    purpose = grant.purpose.value if grant is not None else "this purpose"
    for name, demanded, asked in (
        ("face", decision.redact_faces, options.faces),
        ("tattoo", decision.redact_tattoos, options.tattoos),
        # A name on a label identifies as surely as a face: anonymised means no text either.
        ("text", decision.redact_faces, options.text),
    ):
        if demanded and asked is False:
            raise ConsentRefused(
                f"consent {consent_id} grants {purpose} anonymised only: "
                f"{name} redaction cannot be switched off",
                rule="anonymisation_required",
                hint=f"drop --no-{name}{'' if name == 'text' else 's'}, "
                f"or get an identifiable grant for {purpose}",
            )
    faces = True if decision.redact_faces else bool(options.faces)
    tattoos = True if decision.redact_tattoos else bool(options.tattoos)
    return EngineSettings(
        faces=faces,
        tattoos=tattoos,
        text=True if decision.redact_faces else options.text is not False,
        mode=options.mode,
        threshold=options.threshold,
        tattoo_sensitivity=options.tattoo_sensitivity,
        regions=options.regions,
        keep=options.keep,
        keep_auto=options.keep_auto,
        keep_audio=decision.keep_audio,
        crf=options.crf,
        preset=options.preset,
        preview=False,
        show_detections=False,
    )


# --- deciding ----------------------------------------------------------------------------


def decide(registry: Registry, request: ExportRequest) -> ExportPlan:
    """Run the consent gate for one clip. Logs and raises on refusal; returns the plan if allowed.

    No file is created here; the output folder is not even looked at beyond its path. A clock
    set back before the newest audit entry (ClockError) or a registry that cannot be written
    (RegistryError) fails here, before minutes are spent on the clip.
    """
    registry.require_clock_forward()
    registry.check_writable()
    sha = sha256_file(request.clip)
    decision, link, record, review = _evaluate(registry, sha, request, documents=True)
    consent_id = link.consent_id if link is not None else None
    try:
        # The gate allows only linked clips with a grant; checked again so that this never
        # rests on an assert (stripped under python -O).
        if not decision.allowed or link is None or decision.grant is None:
            raise ConsentRefused(decision.message, rule=decision.rule or "refused")
        options = review.options(request.options) if review is not None else request.options
        settings = settings_for(decision, options, consent_id=link.consent_id)
        approved = review.check(registry, record, sha, settings) if review is not None else None
    except ConsentRefused as refusal:
        _log_refusal(registry, consent_id, sha, request.purpose, refusal)
        raise
    name = output_name(link.consent_id, link.clip_number, request.purpose, link.media_kind)
    return ExportPlan(
        source=Path(request.clip),
        consent_id=link.consent_id,
        clip_number=link.clip_number,
        media_kind=link.media_kind,
        input_sha256=sha,
        purpose=request.purpose,
        grant=decision.grant,
        settings=settings,
        output=Path(request.out_dir).absolute() / name,
        approved=approved,
    )


def _evaluate(
    registry: Registry, sha: str, request: ExportRequest, *, documents: bool
) -> tuple[GateDecision, ClipLink | None, ConsentRecord | None, ExportReview | None]:
    """The gate over the registry as it is now: the link, the record, its integrity, and the
    review the purpose needs (none while staging a clip for review)."""
    # Here, not at the top: review/ imports this module (export.decide asks the approval).
    from consentclip.review.approval import review_for_export

    link = registry.find_link(sha)
    record = registry.get(link.consent_id) if link is not None else None
    integrity_ok, problems = True, ()
    if record is not None:
        reports = (registry.verify(record.id, documents=documents), registry.verify_audit())
        integrity_ok = all(r.ok for r in reports)
        problems = tuple(p for r in reports for p in r.problems)
    review = None
    if link is not None and not request.for_review:
        review = review_for_export(registry, link, request.purpose)
    decision = evaluate(
        GateRequest(
            record=record,
            purpose=request.purpose,
            linked=link is not None,
            today=consent_state.today(),
            integrity_ok=integrity_ok,
            integrity_problems=problems,
            want_audio=request.keep_audio,
            review_required=review is not None and review.required,
            review_approved=review is not None and review.approved,
            approver_is_exporter=review is not None and review.approver_is_exporter,
        )
    )
    return decision, link, record, review


def _log_refusal(
    registry: Registry,
    consent_id: str | None,
    sha: str,
    purpose: Purpose,
    refusal: ConsentRefused,
    conn: sqlite3.Connection | None = None,
) -> None:
    """Every refusal is logged. If the registry cannot take the entry, the refusal still
    stands (exit 3) and says that it could not be logged."""
    try:
        registry.record_export_decision(
            consent_id=consent_id,
            sha256=sha,
            purpose=purpose.value,
            allowed=False,
            rule=refusal.rule,
            detail={"message": refusal.one_line()},
            conn=conn,
        )
    except RegistryError as exc:
        refusal.hint = f"{refusal.hint + '; ' if refusal.hint else ''}NOT logged: {exc.one_line()}"


def _recheck(registry: Registry, plan: ExportPlan, request: ExportRequest) -> ConsentRefused | None:
    """The gate once more, just before the output is claimed; None if the export still stands."""
    decision, link, _, review = _evaluate(registry, plan.input_sha256, request, documents=False)
    if not decision.allowed:
        return ConsentRefused(
            f"{decision.message} (changed while the clip was being exported; nothing was kept)",
            rule=decision.rule or "refused",
        )
    if link is None or (link.consent_id, link.clip_number) != (plan.consent_id, plan.clip_number):
        return ConsentRefused(
            "the clip was linked to another consent while it was being exported; nothing was kept",
            rule="relinked",
        )
    try:
        options = review.options(request.options) if review is not None else request.options
        settings = settings_for(decision, options, consent_id=plan.consent_id)
    except ConsentRefused as refusal:
        return refusal
    if decision.grant != plan.grant or settings != plan.settings:
        return ConsentRefused(
            f"consent {plan.consent_id} changed while the clip was being exported; nothing was "
            "kept",
            rule="grant_changed",
            hint="export it again",
        )
    return None


# --- existing exports (never overwrite; --resume) ----------------------------------------


def export_state(output: Path, input_sha256: str) -> ExportState:
    """``verified`` when output and manifest exist, the manifest is for this input and the
    output's bytes hash to what the manifest says; ``absent`` when neither exists; else
    ``partial`` (an interrupted or tampered export)."""
    manifest = manifest_path(output)
    if not output.exists() and not manifest.exists():
        return "absent"
    if not output.is_file() or not manifest.is_file():
        return "partial"
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        recorded_in = data["input"]["sha256"]
        recorded_out = data["output"]["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        return "partial"
    if recorded_in != input_sha256 or recorded_out != sha256_file(output):
        return "partial"
    return "verified"


def _was_logged(registry: Registry, consent_id: str, output_sha256: str) -> bool:
    return any(
        e.detail.get("output_sha256") == output_sha256 for e in registry.exports_for(consent_id)
    )


def _remove_quietly(*paths: Path) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def sweep_partials(out_dir: Path) -> list[Path]:
    """Remove hidden half-made files a killed process left in the output folder (ours only)."""
    removed: list[Path] = []
    if not out_dir.is_dir():
        return removed
    for path in out_dir.iterdir():
        if path.name.startswith(".") and PARTIAL_MARK in path.name and path.is_file():
            _remove_quietly(path)
            removed.append(path)
    return removed


def sweep_stale_partials(output: Path) -> list[Path]:
    """Remove the half-made files of THIS target whose writer is gone (killed, crashed).

    Every temporary name carries its writer's process id; one whose process still runs is
    another export in progress and is left alone.
    """
    removed: list[Path] = []
    if not output.parent.is_dir():
        return removed
    # The engine's own temporary file sits beside ours and starts with our name: "..{stem}".
    candidates = [
        *output.parent.glob(f".{output.stem}.*"),
        *output.parent.glob(f"..{output.stem}.*"),
    ]
    for path in candidates:
        _, mark, rest = path.name.partition(PARTIAL_MARK)
        digits = "".join(itertools.takewhile(str.isdigit, rest))
        if not mark or not digits or not path.is_file() or _process_alive(int(digits)):
            continue
        _remove_quietly(path)
        removed.append(path)
    return removed


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    except OSError:
        return False
    return True


# --- doing -------------------------------------------------------------------------------


def export_clip(
    home: Home,
    request: ExportRequest,
    *,
    progress: ProgressSink | None = None,
    on_frame_regions: Callable[[int, Sequence[Region]], None] | None = None,
    before_commit: Callable[[], None] | None = None,
) -> ExportResult:
    """Gate, anonymise, re-check the gate and claim the output name, write the manifest, log,
    and make the QA sheet.

    Raises ConsentRefused (exit 3) before any processing if consent does not cover the request,
    and again after processing if the consent changed meanwhile; ConsentClipError if the export
    already exists (never overwritten); MediaError / VerificationError from the engine. On any
    failure, a signal included, nothing is left in the output folder. ``before_commit`` runs
    inside the final transaction (a batch worker checks there that its batch still runs).
    """
    with interrupt_on_signals():
        return _export_clip(home, request, progress, on_frame_regions, before_commit)


def _export_clip(
    home: Home,
    request: ExportRequest,
    progress: ProgressSink | None,
    on_frame_regions: Callable[[int, Sequence[Region]], None] | None,
    before_commit: Callable[[], None] | None,
) -> ExportResult:
    with Registry.open(home) as registry:
        plan = decide(registry, request)
        sweep_stale_partials(plan.output)
        state = export_state(plan.output, plan.input_sha256)
        if state == "verified":
            manifest = json.loads(plan.manifest.read_text(encoding="utf-8"))
            logged = _was_logged(registry, plan.consent_id, manifest["output"]["sha256"])
            if request.resume and logged:
                return ExportResult(plan, manifest["output"]["sha256"], manifest, None)
            if not logged:
                # Killed between writing and logging: an export the audit log does not know
                # of must not go out, so it counts as partial and is redone.
                state = "partial"
    if state == "partial" and request.resume:
        _remove_quietly(plan.output, plan.manifest)
    elif state != "absent":
        raise ExportExists(
            plan.output, plan.input_sha256, "remove it first, choose another --out, or resume"
        )

    collected: dict[int, list[Region]] = {}

    def remember(index: int, regions: Sequence[Region]) -> None:
        if request.qa_dir is not None and regions:
            collected[index] = list(regions)
        if on_frame_regions is not None:
            on_frame_regions(index, regions)

    plan.output.parent.mkdir(parents=True, exist_ok=True)
    with _partial_output(plan.output) as tmp:
        if plan.approved is not None:  # what the reviewer saw is what ships
            result = plan.approved.publish(tmp)
            collected.update(plan.approved.regions() if request.qa_dir is not None else {})
        else:
            result = _run_engine(plan, tmp, progress, remember)
        # The engine read the file after we hashed it: make sure it is still the linked clip.
        if sha256_file(plan.source) != plan.input_sha256:
            raise MediaError(
                f"{plan.source.name} changed while it was being exported; nothing was written",
                hint="export it again once it is no longer being copied or edited",
            )
        output_sha = sha256_file(tmp)
        with Registry.open(home) as registry:
            manifest = _commit(registry, plan, request, tmp, result, output_sha, before_commit)

    qa_sheet, warnings = None, list(result.warnings)
    if request.qa_dir is not None:
        qa_sheet, warning = _qa_sheet(plan, result, manifest, collected, request.qa_dir)
        if warning:
            warnings.append(warning)
    return ExportResult(plan, output_sha, manifest, result, qa_sheet, tuple(warnings))


def _commit(
    registry: Registry,
    plan: ExportPlan,
    request: ExportRequest,
    tmp: Path,
    result: EngineResult,
    output_sha: str,
    before_commit: Callable[[], None] | None,
) -> dict[str, Any]:
    """Gate again, claim, manifest, ``export.allowed``: one registry transaction.

    ``consent revoke`` takes the same write lock, so it lands either before (this export is
    refused, the refusal logged, the temporary file removed by the caller) or after (its
    takedown list, read in its own transaction, names this export).
    """
    refusal: ConsentRefused | None = None
    claimed = False
    try:
        with registry.transaction() as conn:
            if before_commit is not None:
                before_commit()
            registry.require_clock_forward()
            refusal = _recheck(registry, plan, request)
            if refusal is not None:
                _log_refusal(
                    registry, plan.consent_id, plan.input_sha256, plan.purpose, refusal, conn
                )
                manifest: dict[str, Any] = {}
            else:
                _claim(tmp, plan)
                claimed = True
                manifest = build_manifest(plan, result, output_sha)
                if plan.approved is not None:
                    manifest["review"] = plan.approved.manifest_entry()
                write_json_atomic(plan.manifest, manifest)
                registry.record_export_decision(
                    consent_id=plan.consent_id,
                    sha256=plan.input_sha256,
                    purpose=plan.purpose.value,
                    allowed=True,
                    rule=None,
                    detail={
                        "output": plan.output.name,
                        "destination": str(plan.output.parent),
                        "output_sha256": output_sha,
                        "clip_number": plan.clip_number,
                        **({"review_seq": plan.approved.approval.seq} if plan.approved else {}),
                    },
                    conn=conn,
                )
    except BaseException:
        # Includes KeyboardInterrupt and a failed COMMIT: an export that is not in the audit
        # log must not exist.
        if claimed:
            _remove_quietly(plan.output, plan.manifest)
        raise
    if refusal is not None:
        raise refusal
    return manifest


def _run_engine(
    plan: ExportPlan,
    dst: Path,
    progress: ProgressSink | None,
    on_frame_regions: Callable[[int, Sequence[Region]], None],
) -> EngineResult:
    return anonymise(
        plan.source, dst, plan.settings, progress=progress, on_frame_regions=on_frame_regions
    )


@contextlib.contextmanager
def _partial_output(output: Path) -> Iterator[Path]:
    """A hidden path beside ``output`` for the engine to write; removed unless claimed."""
    tmp = output.with_name(f".{output.stem}{PARTIAL_MARK}{os.getpid()}{output.suffix}")
    _remove_quietly(tmp)
    try:
        yield tmp
    finally:
        _remove_quietly(tmp)


def _claim(tmp: Path, plan: ExportPlan) -> None:
    """Give the finished file its final name without ever replacing an existing file."""
    output = plan.output
    try:
        os.link(tmp, output)  # atomic, and fails if the name exists
    except FileExistsError:
        raise ExportExists(
            output, plan.input_sha256, "an export of the same clip finished first"
        ) from None
    except OSError:
        # File systems without hard links (some network/FAT mounts): check, then rename.
        if output.exists():
            raise ExportExists(
                output, plan.input_sha256, "remove it first or choose another --out"
            ) from None
        os.replace(tmp, output)


# --- manifest ----------------------------------------------------------------------------


def build_manifest(plan: ExportPlan, result: EngineResult, output_sha256: str) -> dict[str, Any]:
    """The export's record: ids, hashes, grant, settings, statistics, verification, time.

    Deliberately absent: the patient's name and reference, and the input file name.
    """
    grant = plan.grant
    return {
        "format": MANIFEST_FORMAT,
        "consent_id": plan.consent_id,
        "clip_number": plan.clip_number,
        "purpose": plan.purpose.value,
        "grant": {
            "purpose": grant.purpose.value,
            "identifiable": grant.identifiable,
            "voice": grant.voice,
            "expires": grant.expires.isoformat(),
        },
        "input": {"sha256": plan.input_sha256, "media_kind": plan.media_kind},
        "output": {
            "name": plan.output.name,
            "sha256": output_sha256,
            "bytes": plan.output.stat().st_size,
            "media_kind": result.media_kind,
            "width": result.width,
            "height": result.height,
            "frames": result.frames,
            "fps": result.fps,
            "duration_s": result.duration,
            "audio": result.audio_kept,
        },
        "engine": {
            "consentclip": __version__,
            "ffmpeg": tool_version("ffmpeg"),
            "settings": jsonable(plan.settings),
        },
        "detections": {
            "face_tracks": result.face_tracks,
            "tattoo_tracks": result.tattoo_tracks,
            "frames_with_faces": result.frames_with_faces,
            "frames_with_tattoos": result.frames_with_tattoos,
            "text_tracks": result.text_tracks,
            "frames_with_text": result.frames_with_text,
            "scene": result.scene,
            "auto_keep": jsonable(result.auto_keep),
        },
        "verification": {
            "ok": result.verification.ok,
            "checked": list(result.verification.checked),
            "problems": list(result.verification.problems),
        },
        "warnings": list(result.warnings),
        "elapsed_s": round(result.elapsed_s, 3),
        "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _qa_sheet(
    plan: ExportPlan,
    result: EngineResult,
    manifest: dict[str, Any],
    regions: dict[int, list[Region]],
    qa_dir: Path,
) -> tuple[Path | None, str | None]:
    """The QA sheet is a review aid, not part of the export: a failure to draw it is a warning."""
    target = qa_sheet_path(qa_dir, plan.output)
    try:
        write_qa_sheet(
            target, QaInput(output=plan.output, result=result, manifest=manifest, regions=regions)
        )
    except (MediaError, OSError, ValueError) as exc:
        return None, f"QA sheet not written: {exc}"
    return target, None


__all__ = [
    "EngineOptions",
    "ExportExists",
    "ExportPlan",
    "ExportRequest",
    "ExportResult",
    "build_manifest",
    "decide",
    "export_clip",
    "export_state",
    "output_name",
    "settings_for",
    "sweep_partials",
    "sweep_stale_partials",
]
