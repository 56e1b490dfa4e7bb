"""consentclip batch: export a whole folder of recordings."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from consentclip.batch import (
    REPORT_CSV,
    REPORT_JSON,
    BatchReport,
    BatchRequest,
    FileOutcome,
    run_batch,
)
from consentclip.cli._util import JsonOption, QuietOption, cli_command, emit_json, home_from
from consentclip.cli.options import (
    CrfOption,
    FacesOption,
    KeepAudioOption,
    KeepOption,
    ModeOption,
    OutOption,
    PresetOption,
    PurposeOption,
    RegionOption,
    TattooSensitivityOption,
    TattoosOption,
    TextOption,
    ThresholdOption,
    UserOption,
    engine_options,
)
from consentclip.cli.review import stage_batch
from consentclip.consent.records import Purpose
from consentclip.progress import Bar
from consentclip.settings import EngineSettings, RedactMode

HELP = "Export every recording in a folder through the consent gate, resumably, with a report."
SHOW_SKIPPED = 10  # skipped files listed on the terminal; the report lists them all

_MARK = {
    "exported": "ok",
    "already_exported": "kept",
    "duplicate": "copy",
    "refused": "REFUSED",
    "failed": "FAILED",
    "not_run": "stopped",
}


def _line(outcome: FileOutcome) -> str:
    mark = _MARK.get(outcome.outcome, outcome.outcome)
    if outcome.outcome in ("exported", "already_exported"):
        detail = f"-> {outcome.output}"
        if outcome.outcome == "exported":
            detail += (
                f" ({outcome.frames} frames, faces {outcome.face_tracks},"
                f" tattoos {outcome.tattoo_tracks}, {outcome.seconds:.1f} s)"
            )
    else:
        detail = outcome.reason
    return f"{mark:8} {outcome.source}  {detail}"


class PlainSink:
    """Logs and pipes: a line per finished file, no carriage-return bar."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def start(self, files: int, workers: int) -> None:
        print(f"batch: {files} file(s), {workers} worker(s)", file=self.stream, flush=True)

    def frames(self, done: int) -> None:
        pass

    def file_done(self, outcome: FileOutcome) -> None:
        print(_line(outcome), file=self.stream, flush=True)

    def finish(self, report: BatchReport) -> None:
        pass


class RichSink:
    """A terminal: the overall bar (files, frames/s, ETA) and a line per finished file above it."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.bar: Bar | None = None

    def start(self, files: int, workers: int) -> None:
        label = f"batch ({workers} worker{'s' if workers > 1 else ''})"
        self.bar = Bar(self.stream, label, unit="files  ", total=files).__enter__()

    def frames(self, done: int) -> None:
        assert self.bar is not None
        self.bar.frames(done)

    def file_done(self, outcome: FileOutcome) -> None:
        assert self.bar is not None
        style = {"refused": "yellow", "failed": "red", "not_run": "dim"}.get(outcome.outcome, "")
        self.bar.line(_line(outcome), style=style)
        self.bar.advance()

    def finish(self, report: BatchReport) -> None:
        if self.bar is not None:
            self.bar.__exit__()


class QuietSink(PlainSink):
    def start(self, files: int, workers: int) -> None:
        pass

    def file_done(self, outcome: FileOutcome) -> None:
        pass


@cli_command
def batch_cli(
    ctx: typer.Context,
    folder: Annotated[
        Path,
        typer.Argument(help="Folder of recordings.", exists=True, file_okay=False, readable=True),
    ],
    purpose: PurposeOption,
    out: OutOption,
    workers: Annotated[
        int | None,
        typer.Option("--workers", "-w", min=1, help="Parallel files (default: cores / 2)."),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume", help="Keep exports that verify (manifest + hashes); redo the rest."
        ),
    ] = False,
    recursive: Annotated[
        bool, typer.Option("--recursive", "-r", help="Look in sub-folders too.")
    ] = False,
    keep_audio: KeepAudioOption = False,
    mode: ModeOption = RedactMode.BLUR,
    threshold: ThresholdOption = EngineSettings.threshold,
    tattoo_sensitivity: TattooSensitivityOption = EngineSettings.tattoo_sensitivity,
    region: RegionOption = None,
    keep: KeepOption = None,
    faces: FacesOption = None,
    tattoos: TattoosOption = None,
    text: TextOption = None,
    crf: CrfOption = EngineSettings.crf,
    preset: PresetOption = EngineSettings.preset,
    no_qa: Annotated[
        bool, typer.Option("--no-qa", help="Skip the per-clip QA sheets (OUT/qa/*.qa.pdf).")
    ] = False,
    review: Annotated[
        bool,
        typer.Option(
            "--review",
            help="Stage every file for review instead of exporting (nothing goes to OUT); "
            "run the same batch without --review to export what was approved.",
        ),
    ] = False,
    cluster: Annotated[
        str | None,
        typer.Option(
            "--cluster",
            metavar="ADDRESS",
            help="Run each file as a task on a Dask cluster: a scheduler address "
            "(tcp://scheduler:8786) or local:N for N local worker processes (docs/deploy.md).",
        ),
    ] = None,
    quiet: QuietOption = False,
    json_out: JsonOption = False,
    user: UserOption = None,
) -> None:
    if review:
        stage_batch(ctx, folder, Purpose.parse(purpose), out, recursive=recursive,
                    keep_audio=keep_audio, geometry=(region, keep), toggles=(faces, tattoos),
                    engine=(mode, threshold, tattoo_sensitivity, crf, preset),
                    quiet=quiet, json_out=json_out)  # fmt: skip
        return

    options = engine_options(
        mode=mode,
        sensitivity=(threshold, tattoo_sensitivity),
        region=region,
        keep=keep,
        toggles=(faces, tattoos),
        encoder=(crf, preset),
        text=text,
    )
    request = BatchRequest(
        root=folder,
        purpose=Purpose.parse(purpose),
        out_dir=out,
        workers=workers,
        resume=resume,
        recursive=recursive,
        keep_audio=keep_audio,
        options=options,
        qa_sheets=not no_qa,
        cluster=cluster,
    )
    stream = sys.stderr
    if quiet or json_out:
        sink: Any = QuietSink(stream)
    elif stream.isatty():
        sink = RichSink(stream)
    else:
        sink = PlainSink(stream)
    report = run_batch(home_from(ctx), request, sink=sink)
    if json_out:
        emit_json(report.to_dict())
    else:
        if not quiet:  # what was not processed, and why (all of it is in the report)
            for source, why in report.skipped[:SHOW_SKIPPED]:
                typer.echo(f"skipped  {source}  {why}", err=True)
            if len(report.skipped) > SHOW_SKIPPED:
                typer.echo(f"skipped  ... {len(report.skipped) - SHOW_SKIPPED} more", err=True)
        typer.echo(report.summary())
        typer.echo(f"report: {out / REPORT_JSON} and {out / REPORT_CSV}")
    if report.exit_code:
        raise typer.Exit(int(report.exit_code))
