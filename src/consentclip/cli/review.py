"""consentclip review ...: check every detection on a local page, fix it, and approve."""

from __future__ import annotations

import sys
import webbrowser
from pathlib import Path
from typing import Annotated

import typer

from consentclip.cli._util import JsonOption, QuietOption, cli_command, emit_json, home_from
from consentclip.cli.options import (
    EXIT_CODES,
    CrfOption,
    FacesOption,
    KeepAudioOption,
    ModeOption,
    PresetOption,
    PurposeOption,
    TattooSensitivityOption,
    TattoosOption,
    ThresholdOption,
    UserOption,
    check_preset,
)
from consentclip.consent.records import Purpose
from consentclip.errors import UsageError
from consentclip.progress import phase_lines
from consentclip.review.actions import approve_clip, open_review
from consentclip.review.approval import list_reviews
from consentclip.review.batch import exit_code, stage_folder
from consentclip.review.staging import BaseOptions
from consentclip.settings import EngineSettings, RedactMode

app = typer.Typer(
    help="Review an anonymised clip or photo on a local page, fix it, and approve it for export.",
    no_args_is_help=True,
    epilog=EXIT_CODES,
)

ClipArgument = Annotated[
    Path, typer.Argument(help="The clip or photo (linked to a consent).", dir_okay=False)
]


@app.command("open", epilog=EXIT_CODES)
@cli_command
def open_cli(
    ctx: typer.Context,
    clip: ClipArgument,
    purpose: PurposeOption,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Only print the page's address.")
    ] = False,
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port on 127.0.0.1 (0: any free).")
    ] = 0,
    keep_audio: KeepAudioOption = False,
    mode: ModeOption = RedactMode.BLUR,
    threshold: ThresholdOption = EngineSettings.threshold,
    tattoo_sensitivity: TattooSensitivityOption = EngineSettings.tattoo_sensitivity,
    crf: CrfOption = EngineSettings.crf,
    preset: PresetOption = EngineSettings.preset,
    faces: FacesOption = None,
    tattoos: TattoosOption = None,
    user: UserOption = None,
) -> None:
    """Anonymise into the review staging area (in the consent home) and serve the review page
    on 127.0.0.1 until you press Done on the page or Ctrl-C here."""
    check_preset(preset)
    options = BaseOptions(
        mode.value, threshold, tattoo_sensitivity, crf, preset, keep_audio, faces, tattoos
    )
    server = open_review(
        home=home_from(ctx), clip=clip, purpose=Purpose.parse(purpose), options=options, port=port
    )
    typer.echo(f"review: {server.url}")
    sys.stdout.flush()
    typer.echo(f"staging: {server.state.session.dir}", err=True)
    if not no_browser:
        webbrowser.open(server.url)
    typer.echo("press Done on the page, or Ctrl-C here, to stop", err=True)
    server.serve()
    typer.echo("review server stopped", err=True)


@app.command("list", epilog=EXIT_CODES)
@cli_command
def list_cli(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """What awaits review and what is approved."""
    reviews = list_reviews(home_from(ctx))
    if json_out:
        emit_json([r.to_dict() for r in reviews])
        return
    if not reviews:
        typer.echo("nothing staged for review")
        return
    for r in reviews:
        who = f"  by {r.reviewer} at {r.approved_at}" if r.reviewer else ""
        typer.echo(f"{r.name:<36} {r.media_kind:<6} {r.state}{who}")


@app.command("approve", epilog=EXIT_CODES)
@cli_command
def approve_cli(
    ctx: typer.Context,
    clip: ClipArgument,
    purpose: PurposeOption,
    reviewer: Annotated[str, typer.Option("--reviewer", help="Your name, as recorded.")],
    decisions: Annotated[
        Path | None,
        typer.Option(
            "--decisions",
            help="Decisions JSON (docs/review.md); default: the saved ones.",
            dir_okay=False,
            exists=True,
        ),
    ] = None,
    keep_audio: KeepAudioOption = False,
    mode: ModeOption = RedactMode.BLUR,
    threshold: ThresholdOption = EngineSettings.threshold,
    tattoo_sensitivity: TattooSensitivityOption = EngineSettings.tattoo_sensitivity,
    crf: CrfOption = EngineSettings.crf,
    preset: PresetOption = EngineSettings.preset,
    faces: FacesOption = None,
    tattoos: TattoosOption = None,
    quiet: QuietOption = False,
    json_out: JsonOption = False,
    user: UserOption = None,
) -> None:
    """Approve from the terminal: renders first if the staged file does not match the
    decisions, then records the signed approval in the audit log."""
    check_preset(preset)
    options = BaseOptions(
        mode.value, threshold, tattoo_sensitivity, crf, preset, keep_audio, faces, tattoos
    )
    session, approval = approve_clip(
        home=home_from(ctx),
        clip=clip,
        purpose=Purpose.parse(purpose),
        options=options,
        reviewer=reviewer,
        decisions=decisions,
        progress=phase_lines(quiet=quiet or json_out),
    )
    if json_out:
        emit_json({"session": session.name, **approval.summary()})
        return
    typer.echo(
        f"approved {session.name} by {approval.reviewer} (audit entry {approval.seq}); "
        f"staged SHA-256 {approval.body['staged']['sha256'][:16]}…"
    )


def stage_batch(
    ctx: typer.Context,
    folder: Path,
    purpose: object,
    out: Path,
    *,
    recursive: bool,
    keep_audio: bool,
    geometry: tuple[list[str] | None, list[str] | None],
    toggles: tuple[bool | None, bool | None],
    engine: tuple[RedactMode, float, float, int, str],
    quiet: bool,
    json_out: bool,
) -> None:
    """``batch --review``: stage a folder for review (called by cli/batch.py)."""
    if any(geometry):
        raise UsageError(
            "--region and --keep apply to one clip: draw them on the review page instead"
        )
    mode, threshold, tattoo_sensitivity, crf, preset = engine
    check_preset(preset)
    options = BaseOptions(
        mode.value, threshold, tattoo_sensitivity, crf, preset, keep_audio, *toggles
    )

    def line(staged) -> None:  # type: ignore[no-untyped-def]
        if not (quiet or json_out):
            detail = staged.review or staged.reason
            print(f"{staged.outcome:14} {staged.source}  {detail}", file=sys.stderr, flush=True)

    files = stage_folder(
        home_from(ctx),
        folder,
        purpose,  # type: ignore[arg-type]
        options,
        recursive=recursive,
        exclude=(out,),
        on_file=line,
    )
    code = exit_code(files)
    if json_out:
        emit_json({"staged_for_review": [f.to_dict() for f in files], "exit_code": int(code)})
    else:
        ok = sum(1 for f in files if f.ok)
        typer.echo(
            f"{ok} of {len(files)} file(s) staged for review; open each with 'consentclip review "
            "open CLIP --purpose ...', or see 'consentclip review list'"
        )
    if code:
        raise typer.Exit(int(code))
