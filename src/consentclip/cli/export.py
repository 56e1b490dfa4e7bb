"""consentclip export: the consent-gated way out of the clinic."""

from __future__ import annotations

from consentclip.cli._util import cli_command, not_built

HELP = "Export one clip for a purpose, only if its linked consent covers that purpose."


@cli_command
def export_cli() -> None:
    not_built("export", "issue 6")
