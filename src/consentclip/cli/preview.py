"""consentclip preview: the anonymised output for review, marked as not for distribution.

Parses and validates, builds EngineSettings, calls the library's ``preview(...)``, prints.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from consentclip.cli._util import JsonOption, QuietOption, cli_command, emit_json
from consentclip.cli.options import (
    CrfOption,
    KeepOption,
    ModeOption,
    OutputAliasOption,
    PresetOption,
    RegionOption,
    TattooSensitivityOption,
    ThresholdOption,
    check_preset,
    keep_auto_asked,
    parse_geometry,
    pick_out,
)
from consentclip.errors import UsageError
from consentclip.preview import PreviewExists, preview
from consentclip.progress import progress_for
from consentclip.settings import EngineSettings, RedactMode

HELP = (
    "Anonymise a clip for review, with a visible PREVIEW band. Clean files come only from export."
)


def _settings(
    regions: list[str] | None, keep: list[str] | None, base: EngineSettings
) -> EngineSettings:
    manual, kept = parse_geometry(regions, keep)
    check_preset(base.preset)
    return dataclasses.replace(base, regions=manual, keep=kept, keep_auto=keep_auto_asked(keep))


@cli_command
def preview_cli(
    clip: Annotated[
        Path, typer.Argument(help="Clip or photo to preview (use ./NAME for names starting '-').")
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Output file: .mp4 for clips, .png/.jpg for photos.  [required]",
            show_default=False,
        ),
    ] = None,
    output_alias: OutputAliasOption = None,
    show_detections: Annotated[
        bool, typer.Option("--show-detections", help="Outline what was found, with track ids.")
    ] = False,
    mode: ModeOption = RedactMode.BLUR,
    threshold: ThresholdOption = EngineSettings.threshold,
    region: RegionOption = None,
    keep: KeepOption = None,
    # Tattoos, text and audio differ from export's: on by default, with no grant to force them.
    tattoos: Annotated[
        bool, typer.Option("--tattoos/--no-tattoos", help="Also find and redact tattoos.")
    ] = True,
    tattoo_sensitivity: TattooSensitivityOption = EngineSettings.tattoo_sensitivity,
    text: Annotated[
        bool,
        typer.Option(
            "--text/--no-text", help="Also find and redact text (labels, wristbands, screens)."
        ),
    ] = True,
    keep_audio: Annotated[bool, typer.Option("--keep-audio", help="Keep the sound (AAC).")] = False,
    crf: CrfOption = EngineSettings.crf,
    preset: PresetOption = EngineSettings.preset,
    force: Annotated[bool, typer.Option("--force", help="Replace OUT if it exists.")] = False,
    quiet: QuietOption = False,
    json_out: JsonOption = False,
) -> None:
    base = EngineSettings(
        tattoos=tattoos,
        text=text,
        mode=mode,
        threshold=threshold,
        tattoo_sensitivity=tattoo_sensitivity,
        keep_audio=keep_audio,
        crf=crf,
        preset=preset,
        preview=True,
        show_detections=show_detections,
    )
    settings = _settings(region, keep, base)
    target = pick_out(out, output_alias)
    with progress_for("preview", quiet=quiet or json_out) as progress:
        try:
            result = preview(clip, target, settings, force=force, progress=progress)
        except PreviewExists as exc:
            raise UsageError(exc.message, hint="pass --force to replace it") from None
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    if json_out:
        emit_json(dataclasses.asdict(result))
        return
    typer.echo(f"wrote {result.output} (PREVIEW - NOT FOR DISTRIBUTION)")
    size = f"{result.width}x{result.height}"
    frames = f", {result.frames} frames" if result.media_kind == "video" else ""
    typer.echo(
        f"  {result.media_kind} {size}{frames}, audio {'kept' if result.audio_kept else 'removed'}"
    )
    typer.echo(
        f"  faces: {result.face_tracks} track(s) in {result.frames_with_faces} frame(s); "
        f"tattoos: {result.tattoo_tracks} track(s) in {result.frames_with_tattoos} frame(s); "
        f"text: {result.text_tracks} track(s) in {result.frames_with_text} frame(s)"
    )
    verdict = "ok" if result.verification.ok else "FAILED"
    typer.echo(f"  metadata verified: {verdict} ({result.elapsed_s:.1f} s)")
