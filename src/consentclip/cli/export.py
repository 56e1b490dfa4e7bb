"""consentclip export: the consent-gated way out of the clinic."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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
from consentclip.consent.records import Purpose
from consentclip.export import ExportRequest, export_clip
from consentclip.progress import progress_for
from consentclip.settings import EngineSettings, RedactMode

HELP = "Export one clip for a purpose, only if its linked consent covers that purpose."


@cli_command
def export_cli(
    ctx: typer.Context,
    clip: Annotated[Path, typer.Argument(help="The clip or photo to export.", dir_okay=False)],
    purpose: PurposeOption,
    out: OutOption,
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
    qa: Annotated[
        Path | None,
        typer.Option(
            "--qa",
            help="Also write a one-page QA sheet (PDF) into this folder, for review.",
            file_okay=False,
        ),
    ] = None,
    quiet: QuietOption = False,
    json_out: JsonOption = False,
    user: UserOption = None,
) -> None:
    options = engine_options(
        mode=mode,
        sensitivity=(threshold, tattoo_sensitivity),
        region=region,
        keep=keep,
        toggles=(faces, tattoos),
        encoder=(crf, preset),
        text=text,
    )
    request = ExportRequest(
        clip=clip,
        purpose=Purpose.parse(purpose),
        out_dir=out,
        keep_audio=keep_audio,
        options=options,
        qa_dir=qa,
    )
    with progress_for("exporting", quiet=quiet or json_out) as progress:
        result = export_clip(home_from(ctx), request, progress=progress)
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    if json_out:
        emit_json(
            {
                **result.manifest,
                "paths": {
                    "output": result.plan.output,
                    "manifest": result.plan.manifest,
                    "qa_sheet": result.qa_sheet,
                },
            }
        )
        return
    m = result.manifest
    det = m["detections"]
    typer.echo(f"exported {result.plan.output}")
    typer.echo(
        f"  consent {m['consent_id']} for {m['purpose']}: "
        f"{'identifiable' if m['grant']['identifiable'] else 'anonymised only'}, "
        f"audio {'kept' if m['output']['audio'] else 'removed'}"
    )
    typer.echo(
        f"  {m['output']['frames']} frame(s); faces {det['face_tracks']} track(s), "
        f"tattoos {det['tattoo_tracks']} track(s), text {det.get('text_tracks', 0)} track(s); "
        "metadata verified: "
        f"{'yes' if m['verification']['ok'] else 'NO'}"
    )
    typer.echo(f"  manifest {result.plan.manifest}")
    if result.qa_sheet:
        typer.echo(f"  QA sheet {result.qa_sheet}")
