"""Options that several commands share, spelled once: the purpose (a choice list in --help),
the output folder (``--out``/``-o`` everywhere; ``--output`` is a hidden alias), the engine
options of export, batch, preview and review, the exit codes every command's --help lists;
``--user`` and the context every command runs in."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import click
import typer

from consentclip.consent import people, signing
from consentclip.consent.records import Purpose
from consentclip.detect.regions import Box
from consentclip.errors import UsageError
from consentclip.export import EngineOptions
from consentclip.media.encode import PRESETS
from consentclip.settings import ManualRegion, RedactMode

# "\b" keeps the help formatter from re-flowing the table into one paragraph.
EXIT_CODES = """\
\b
Exit codes:
  0    success
  1    error (bad file, missing consent home, integrity failure, ...)
  2    usage (unknown option, malformed value)
  3    refused for lack of valid consent
  4    batch finished with some files failed or refused
  130  interrupted (Ctrl-C); nothing half-written is left
"""

# How the CLI spells an input the library names in an error (ConsentClipError.option): added to
# the one-line message as its hint, so the library never names a flag.
OPTION_HINTS = {
    "patient_ref": "--patient REF",
    "grants": "--grant PURPOSE[:identifiable][:voice]",
    "expires": "--expires YYYY-MM-DD or @YYYY-MM-DD",
    "signer_name": "--signer-name NAME",
    "signer_or_patient_name": "--signer-name NAME, or --patient-name for a patient",
    "signer_role": "--signer-role",
    "signer_authority": "--signer-authority TEXT",
    "birth_date": "--birth-date YYYY-MM-DD",
    "interpreter": "--interpreter NAME:LANGUAGE",
    "supersedes": "create a new one with --supersedes",
    "reason": "--reason TEXT",
    "scan": "--scan FILE, repeated for one photo per page",
    "signed_by": "--signed-by NAME",
    "initials": "--initials TEXT",
    "recursive": "add --recursive to look in sub-folders",
}

PurposeOption = Annotated[
    Purpose,
    typer.Option("--purpose", "-p", help="What the output is for.", case_sensitive=False),
]
OutOption = Annotated[
    Path, typer.Option("--out", "-o", help="Output folder (created if missing).", file_okay=False)
]
# The spelling some commands used to take; still accepted, no longer shown.
OutputAliasOption = Annotated[
    Path | None, typer.Option("--output", hidden=True, help="Old spelling of --out.")
]


def pick_out(out: Path | None, alias: Path | None) -> Path:
    """``--out`` or its hidden alias ``--output``, exactly one."""
    if out is not None and alias is not None:
        raise UsageError("give --out once (--output is its old spelling)")
    chosen = out if out is not None else alias
    if chosen is None:
        raise UsageError("missing option --out / -o")
    return chosen


# Every command that changes the registry takes --user. ``cli_command`` takes the value out of
# the call and runs the command inside ``command_context``, so a command's body never handles
# it and the person reaches each audit entry (and each batch worker) the same way.
UserOption = Annotated[
    str | None,
    typer.Option(
        "--user",
        metavar="NAME",
        help="The person acting, recorded in the audit log besides the login "
        "(default: $CONSENTCLIP_USER, else [audit] user in clinic.toml).",
        show_default=False,
    ),
]


@contextmanager
def command_context(user: str | None) -> Iterator[None]:
    """What every command runs inside: ``--user NAME`` as ``$CONSENTCLIP_USER``, and a prompt
    for the clinic key's passphrase when the key is encrypted and no variable gives it."""
    with (
        people.named_user(user),
        _kept_env(signing.PASSPHRASE_ENV),
        signing.passphrase_source(_ask_passphrase),
    ):
        yield


def _ask_passphrase(path: Path) -> str | None:
    """Ask once per command, on stderr; the answer is kept in $CONSENTCLIP_KEY_PASSPHRASE for
    the rest of the command, so later opens and batch worker processes use it without asking
    again. None when there is nobody to ask (end of input)."""
    if not interactive():
        return None
    try:
        answer = click.prompt(
            f"passphrase for the clinic signing key {path}", hide_input=True, err=True
        )
    except (click.Abort, EOFError):
        return None
    os.environ[signing.PASSPHRASE_ENV] = answer
    return str(answer)


def interactive() -> bool:
    """Whether a person can be asked: stdin is a terminal. A service or a script with a pipe
    on stdin is never asked (it would hang, or read a line meant for something else); it sets
    the environment variable instead. Tests replace this to answer through CliRunner."""
    return sys.stdin.isatty()


@contextmanager
def _kept_env(name: str) -> Iterator[None]:
    """Put the environment variable ``name`` back as it was when the block ends."""
    old = os.environ.get(name)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


# --- engine options: export, batch, preview and review spell them alike ---------------------
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
