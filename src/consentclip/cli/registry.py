"""consentclip registry ...: where the consent registry lives (SQLite or PostgreSQL)."""

from __future__ import annotations

from typing import Annotated

import typer

from consentclip.cli._util import JsonOption, cli_command, emit_json, home_from
from consentclip.cli.options import EXIT_CODES

app = typer.Typer(
    help="Move the consent registry between backends (SQLite to a shared PostgreSQL).",
    no_args_is_help=True,
    epilog=EXIT_CODES,
)


@app.command("copy", epilog=EXIT_CODES)
@cli_command
def copy_cli(
    ctx: typer.Context,
    to: Annotated[
        str,
        typer.Option(
            "--to", help="PostgreSQL URL of an empty database: postgresql://USER@HOST/DB."
        ),
    ],
    json_out: JsonOption = False,
) -> None:
    """Copy this home's SQLite registry into PostgreSQL in one transaction, then verify every
    record signature and the audit chain there. Refuses a database that already holds one."""
    # Lazy: the copy needs SQLAlchemy (~0.2 s), which --help and the other commands do not.
    from consentclip.consent.copy import copy_to_postgres

    result = copy_to_postgres(home_from(ctx), to)
    if json_out:
        emit_json(
            {
                "target": result.target,
                "rows": result.rows,
                "records_verified": result.records,
                "audit_entries": result.audit_entries,
            }
        )
        return
    rows = ", ".join(f"{n} {table}" for table, n in result.rows.items())
    typer.echo(f"copied to {result.target}: {rows}")
    typer.echo(
        f"verified there: {result.records} consents, audit chain of {result.audit_entries} "
        "entries and its signed head"
    )
    typer.echo(f"to use it from this home: consentclip init --database '{result.target}'")
