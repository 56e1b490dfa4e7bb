"""consentclip preview: the anonymised output for review, marked as not for distribution."""

from __future__ import annotations

from consentclip.cli._util import cli_command, not_built

HELP = "Anonymise a clip for review, with a visible PREVIEW band. Clean files come only from export."


@cli_command
def preview_cli() -> None:
    not_built("preview", "issue 4")
