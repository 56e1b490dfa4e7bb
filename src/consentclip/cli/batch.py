"""consentclip batch: export a whole folder of recordings."""

from __future__ import annotations

from consentclip.cli._util import cli_command, not_built

HELP = "Export every recording in a folder through the consent gate, resumably, with a report."


@cli_command
def batch_cli() -> None:
    not_built("batch", "issue 7")
