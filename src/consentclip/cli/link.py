"""consentclip link: bind clips to a consent by content hash."""

from __future__ import annotations

from consentclip.cli._util import cli_command, not_built

HELP = "Link clips or photos to a signed consent by the SHA-256 of their content."


@cli_command
def link_cli() -> None:
    not_built("link", "issue 6")
