"""consentclip init: create the consent home."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from consentclip.cli._util import JsonOption, cli_command, emit_json, home_from
from consentclip.consent.registry import Registry
from consentclip.consent.signing import ClinicKey

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
    database: Annotated[
        str | None,
        typer.Option(
            "--database",
            help="Keep the registry in this PostgreSQL database (postgresql://USER@HOST/DB), "
            "shared by several workstations; stored in the home's clinic.toml.",
        ),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    home = home_from(ctx, home_dir)
    created = Registry.initialise(home, database=database)
    key = ClinicKey.load(home)
    if json_out:
        emit_json(
            {
                "home": home.root,
                "created": created,
                "key_fingerprint": key.fingerprint(),
                "clinic_settings": home.settings_path,
            }
        )
        return
    if database is not None:
        from consentclip.consent.backend import redact

        typer.echo(f"the registry of this home is the PostgreSQL database {redact(database)}")
    if created:
        typer.echo(f"created consent home at {home.root}")
        typer.echo(
            f"clinic signing key {key.fingerprint()} (keep {home.keys_dir} private and backed up)"
        )
        typer.echo(
            f"edit {home.settings_path} to put your clinic's name, address and logo on forms"
        )
    else:
        typer.echo(
            f"consent home at {home.root} already exists; nothing changed (key {key.fingerprint()})"
        )
