"""consentclip audit ...: the hash-chained audit log."""

from __future__ import annotations

import typer

from consentclip.cli._util import cli_command, not_built

app = typer.Typer(help="Read and verify the tamper-evident audit log.", no_args_is_help=True)


@app.command("log")
@cli_command
def log_cli() -> None:
    """Show audit entries."""
    not_built("audit log", "issue 3")
