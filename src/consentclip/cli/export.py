"""consentclip export: the consent-gated way out of the clinic.

Also defines the engine options ``batch`` shares (one spelling for both commands).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from consentclip.cli._util import JsonOption, QuietOption, cli_command, emit_json, home_from
from consentclip.cli.options import OutOption, PurposeOption, UserOption
from consentclip.detect.regions import Box
from consentclip.errors import UsageError
from consentclip.media.encode import PRESETS
from consentclip.settings import EngineSettings, ManualRegion, RedactMode

if TYPE_CHECKING:
    from consentclip.export import EngineOptions

HELP = "Export one clip for a purpose, only if its linked consent covers that purpose."

__all__ = ["OutOption", "PurposeOption"]  # defined in cli/options.py; batch imports them here
KeepAudioOption = Annotated[
    bool,
    typer.Option("--keep-audio", help="Keep the sound; refused unless the grant allows the voice."),
]
ModeOption = Annotated[RedactMode, typer.Option("--mode", help="How regions are redacted.")]
ThresholdOption = Annotated[
    float,
    typer.Option("--threshold", min=0.05, max=0.95, help="Face detector confidence floor."),
]
TattooSensitivityOption = Annotated[
    float,
    typer.Option(
        "--tattoo-sensitivity",
        min=0.0,
        max=1.0,
        help="Tattoo detector sensitivity: higher finds fainter ink, with more false positives.",
    ),
]
RegionOption = Annotated[
    list[str] | None,
    typer.Option(
        "--region",
        metavar="X,Y,W,H[@START-END]",
        help="Extra region to redact (times in seconds); repeat.",
    ),
]
KeepOption = Annotated[
    list[str] | None,
    typer.Option(
        "--keep",
        metavar="X,Y,W,H|auto",
        help="Region never redacted automatically (the lesion): x,y,w,h, or 'auto' to protect "
        "the lesion found in a close-up.",
    ),
]
FacesOption = Annotated[
    bool | None,
    typer.Option(
        "--faces/--no-faces",
        help="Redact faces (forced on for anonymised-only grants; off by default otherwise).",
        show_default=False,
    ),
]
TattoosOption = Annotated[
    bool | None,
    typer.Option(
        "--tattoos/--no-tattoos",
        help="Redact tattoos (forced on for anonymised-only grants; off by default otherwise).",
        show_default=False,
    ),
]
TextOption = Annotated[
    bool | None,
    typer.Option(
        "--text/--no-text",
        help="Redact text: labels, wristbands, badges, screens (on by default; forced on for "
        "anonymised-only grants).",
        show_default=False,
    ),
]
CrfOption = Annotated[
    int, typer.Option("--crf", min=0, max=51, help="x264 quality (lower=better).")
]
PresetOption = Annotated[str, typer.Option("--preset", help="x264 preset (speed vs size).")]


def parse_geometry(
    region: list[str] | None, keep: list[str] | None
) -> tuple[tuple[ManualRegion, ...], tuple[Box, ...]]:
    """``--region`` and ``--keep`` values, shared by preview, export and batch."""
    try:
        return (
            tuple(ManualRegion.parse(r) for r in region or ()),
            tuple(Box.parse(k) for k in keep or () if k.strip().lower() != "auto"),
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def keep_auto_asked(keep: list[str] | None) -> bool:
    """``--keep auto`` among the --keep values."""
    return any(k.strip().lower() == "auto" for k in keep or ())


def check_preset(preset: str) -> None:
    if preset not in PRESETS:
        raise UsageError(f"unknown --preset '{preset}'; presets: {', '.join(PRESETS)}")


def engine_options(
    *,
    mode: RedactMode,
    sensitivity: tuple[float, float],
    region: list[str] | None,
    keep: list[str] | None,
    toggles: tuple[bool | None, bool | None],
    encoder: tuple[int, str],
    text: bool | None = None,
) -> EngineOptions:
    """Validate the engine options shared by export and batch into ``EngineOptions``."""
    from consentclip.export import EngineOptions

    faces, tattoos = toggles
    threshold, tattoo_sensitivity = sensitivity
    crf, preset = encoder
    regions, kept = parse_geometry(region, keep)
    check_preset(preset)
    return EngineOptions(
        faces=faces,
        tattoos=tattoos,
        text=text,
        mode=mode,
        threshold=threshold,
        tattoo_sensitivity=tattoo_sensitivity,
        regions=regions,
        keep=kept,
        keep_auto=keep_auto_asked(keep),
        crf=crf,
        preset=preset,
    )


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
    # Imported here so that the rest of the CLI works while the engine or registry is broken.
    from consentclip.consent.records import Purpose
    from consentclip.export import ExportRequest, export_clip
    from consentclip.progress import progress_for

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
