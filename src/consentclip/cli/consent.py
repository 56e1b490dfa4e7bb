"""consentclip consent ...: the registry of signed consent records."""

from __future__ import annotations

import typer

from consentclip.cli._util import cli_command, not_built

app = typer.Typer(
    help="Create, print, sign, revoke, show and verify per-purpose consent records.",
    no_args_is_help=True,
)


@app.command("new")
@cli_command
def new_cli() -> None:
    """Create a draft consent record with one grant per purpose."""
    not_built("consent new", "issue 3")
