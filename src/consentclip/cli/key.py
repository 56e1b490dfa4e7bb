"""consentclip key ...: the clinic's signing key (encrypting it with a passphrase)."""

from __future__ import annotations

import os

import click
import typer

from consentclip.cli import options
from consentclip.cli._util import JsonOption, cli_command, emit_json, home_from
from consentclip.cli.options import EXIT_CODES, UserOption
from consentclip.consent import backend, people, signing
from consentclip.consent.registry import Registry
from consentclip.consent.signing import ClinicKey
from consentclip.errors import HomeError, KeyPassphraseError
from consentclip.home import Home

NEW_PASSPHRASE_ENV = "CONSENTCLIP_NEW_KEY_PASSPHRASE"

app = typer.Typer(
    help="The clinic's signing key: store it encrypted with a passphrase.",
    no_args_is_help=True,
    epilog=EXIT_CODES,
)


def new_passphrase(*, first: bool) -> bytes:
    """The passphrase to encrypt with: ``$CONSENTCLIP_NEW_KEY_PASSPHRASE``; for a key not yet
    encrypted also ``$CONSENTCLIP_KEY_PASSPHRASE`` (the one services will then read); else
    asked twice on the terminal. It is kept in ``$CONSENTCLIP_KEY_PASSPHRASE`` for the rest of
    the command, so the key just written opens without asking again."""

    given = os.environ.get(NEW_PASSPHRASE_ENV, "")
    if not given and first:
        given = os.environ.get(signing.PASSPHRASE_ENV, "")
    if not given and options.interactive():
        try:
            given = click.prompt(
                "new passphrase for the clinic signing key",
                hide_input=True,
                confirmation_prompt=True,
                err=True,
            )
        except (click.Abort, EOFError):
            given = ""
    if not given:
        raise KeyPassphraseError(
            "no new passphrase was given; nothing was written",
            hint=f"run it in a terminal, or set ${NEW_PASSPHRASE_ENV}",
        )
    data = signing.check_passphrase(str(given))
    os.environ[signing.PASSPHRASE_ENV] = str(given)
    return data


def encrypt_key(home: Home) -> dict[str, object]:
    """Encrypt the clinic key (or change its passphrase) and record it in the audit log."""
    path = home.private_key_path
    if not path.exists():
        raise HomeError(f"clinic signing key missing at {path}", hint="run 'consentclip init'")
    people.resolve(home).require()  # before anything is written, like every change
    was_encrypted = signing.is_encrypted(path)
    key = ClinicKey.load(home)  # an encrypted key needs its present passphrase first
    key.store_encrypted(home, new_passphrase(first=not was_encrypted))
    detail = {"fingerprint": key.fingerprint(), "passphrase_changed": was_encrypted}
    if backend.for_home(home).is_postgres or home.db_path.exists():
        with Registry.open(home) as registry:
            registry.append_audit("key.encrypted", detail=detail)
    return {"key": path, **detail}


@app.command("encrypt", epilog=EXIT_CODES)
@cli_command
def encrypt_cli(ctx: typer.Context, json_out: JsonOption = False, user: UserOption = None) -> None:
    """Store the clinic key encrypted with a passphrase, or change its passphrase. Every
    command then needs it: from $CONSENTCLIP_KEY_PASSPHRASE (services) or a prompt."""
    done = encrypt_key(home_from(ctx))
    if json_out:
        emit_json(done)
        return
    verb = "passphrase changed" if done["passphrase_changed"] else "encrypted with a passphrase"
    typer.echo(f"clinic signing key {done['fingerprint']} {verb}: {done['key']}")
    typer.echo("every command now asks for it (services: set CONSENTCLIP_KEY_PASSPHRASE)")
