"""consentclip init: create the consent home."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from consentclip.cli._util import JsonOption, cli_command, emit_json, home_from
from consentclip.cli.key import new_passphrase
from consentclip.cli.options import UserOption
from consentclip.consent import signing
from consentclip.consent.backend import redact
from consentclip.consent.registry import Registry
from consentclip.consent.signing import ClinicKey
from consentclip.errors import UsageError

HELP = "Create the consent home: registry database, clinic signing key, settings. Safe to re-run."


@cli_command
def init_cli(
    ctx: typer.Context,
    home_dir: Annotated[
        Path | None,
        typer.Option(
            "--home",
            help="Where to create the consent home (default: $CONSENTCLIP_HOME or user data dir).",
            file_okay=False,
        ),
    ] = None,
    encrypt_key: Annotated[
        bool,
        typer.Option(
            "--encrypt-key",
            help="Store the new clinic key encrypted with a passphrase (asked twice, or "
            "$CONSENTCLIP_KEY_PASSPHRASE); every command then needs it.",
        ),
    ] = False,
    database: Annotated[
        str | None,
        typer.Option(
            "--database",
            help="Keep the registry in this PostgreSQL database (postgresql://USER@HOST/DB), "
            "shared by several workstations; stored in the home's clinic.toml.",
        ),
    ] = None,
    json_out: JsonOption = False,
    user: UserOption = None,
) -> None:
    home = home_from(ctx, home_dir)
    passphrase = None
    if encrypt_key:
        if home.private_key_path.exists():
            raise UsageError(
                f"the consent home {home.root} already has a clinic key",
                hint="encrypt it with 'consentclip key encrypt'",
            )
        passphrase = new_passphrase(first=True)
    created = Registry.initialise(home, key_passphrase=passphrase, database=database)
    key = ClinicKey.load(home)
    if json_out:
        emit_json(
            {
                "home": home.root,
                "created": created,
                "key_fingerprint": key.fingerprint(),
                "key_encrypted": signing.is_encrypted(home.private_key_path),
                "clinic_settings": home.settings_path,
            }
        )
        return
    if database is not None:
        typer.echo(f"the registry of this home is the PostgreSQL database {redact(database)}")
    if created:
        typer.echo(f"created consent home at {home.root}")
        typer.echo(
            f"clinic signing key {key.fingerprint()} (keep {home.keys_dir} private and backed up)"
        )
        if passphrase is not None:
            typer.echo(
                "the key is encrypted: every command asks for its passphrase "
                "(services: set CONSENTCLIP_KEY_PASSPHRASE); a lost passphrase cannot be recovered"
            )
        typer.echo(
            f"edit {home.settings_path} to put your clinic's name, address and logo on forms"
        )
    else:
        typer.echo(
            f"consent home at {home.root} already exists; nothing changed (key {key.fingerprint()})"
        )
