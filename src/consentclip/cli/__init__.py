"""The Typer application. Command groups are attached here, in one place.

Each module under cli/ parses and validates, calls a plain library function, and leaves exit
codes to ``_util.cli_command``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from consentclip import __version__
from consentclip.cli import (
    audit,
    batch,
    consent,
    doctor,
    export,
    init,
    key,
    link,
    preview,
    registry,
    review,
)
from consentclip.cli._util import ConsentClipGroup
from consentclip.cli.options import EXIT_CODES
from consentclip.signals import interrupt_on_signals

app = typer.Typer(
    name="consentclip",
    help=(
        "Consent-gated anonymisation of clinical recordings. Footage leaves the clinic only "
        "through 'export', which refuses anything the patient's signed consent does not cover."
    ),
    no_args_is_help=True,
    # --install-completion / --show-completion for bash, zsh, fish and PowerShell.
    add_completion=True,
    cls=ConsentClipGroup,
    epilog=EXIT_CODES,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"consentclip {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    home: Annotated[
        Path | None,
        typer.Option(
            "--home",
            help="Consent home for every command (default: $CONSENTCLIP_HOME, else user data dir).",
            file_okay=False,
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    ctx.obj = {"home": home}


app.add_typer(consent.app, name="consent")
app.add_typer(audit.app, name="audit")
app.add_typer(review.app, name="review")
app.add_typer(key.app, name="key")
app.add_typer(registry.app, name="registry")
app.command("link", help=link.HELP, epilog=EXIT_CODES)(link.link_cli)
app.command("preview", help=preview.HELP, epilog=EXIT_CODES)(preview.preview_cli)
app.command("export", help=export.HELP, epilog=EXIT_CODES)(export.export_cli)
app.command("batch", help=batch.HELP, epilog=EXIT_CODES)(batch.batch_cli)
app.command("doctor", help=doctor.HELP, epilog=EXIT_CODES)(doctor.doctor_cli)
app.command("init", help=init.HELP, epilog=EXIT_CODES)(init.init_cli)


def main() -> None:
    with interrupt_on_signals():  # SIGTERM/SIGHUP clean up exactly like Ctrl-C, in every command
        app(prog_name="consentclip")
