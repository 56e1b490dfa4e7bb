"""Options that several commands share, spelled once: the purpose (a choice list in --help),
the output folder (``--out``/``-o`` everywhere; ``--output`` is a hidden alias), and the exit
codes every command's --help lists; ``--user`` and the context every command runs in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
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
    from consentclip.consent import people, signing

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
    import os

    import click

    from consentclip.consent import signing

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
    import sys

    return sys.stdin.isatty()


@contextmanager
def _kept_env(name: str) -> Iterator[None]:
    """Put the environment variable ``name`` back as it was when the block ends."""
    import os

    old = os.environ.get(name)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old
