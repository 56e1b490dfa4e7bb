"""Options that several commands share, spelled once: the purpose (a choice list in --help),
the output folder (``--out``/``-o`` everywhere; ``--output`` is a hidden alias), and the exit
codes every command's --help lists."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from consentclip.consent.records import Purpose

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
    from consentclip.errors import UsageError

    if out is not None and alias is not None:
        raise UsageError("give --out once (--output is its old spelling)")
    chosen = out if out is not None else alias
    if chosen is None:
        raise UsageError("missing option --out / -o")
    return chosen
