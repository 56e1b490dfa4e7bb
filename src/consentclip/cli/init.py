"""consentclip init: create the consent home."""

from __future__ import annotations

from consentclip.cli._util import cli_command, not_built

HELP = "Create the consent home: registry database, clinic signing key, settings. Safe to re-run."


@cli_command
def init_cli() -> None:
    not_built("init", "issue 3")
