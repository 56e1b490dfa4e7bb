"""consentclip audit ...: the hash-chained audit log."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from consentclip.cli._util import JsonOption, cli_command, emit_json, home_from
from consentclip.cli.options import EXIT_CODES
from consentclip.consent.registry import Registry
from consentclip.errors import IntegrityError

app = typer.Typer(
    help="Read and verify the tamper-evident audit log.", no_args_is_help=True, epilog=EXIT_CODES
)


@app.command("log", epilog=EXIT_CODES)
@cli_command
def log_cli(
    ctx: typer.Context,
    consent: Annotated[
        str | None, typer.Option("--consent", help="Only entries for this consent.")
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", help="Only the newest N entries.", min=1)
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Show audit entries, oldest first: time, operating-system user, event, consent, detail."""
    with Registry.open(home_from(ctx)) as registry:
        entries = registry.audit_entries(consent)
    if limit is not None:
        entries = entries[-limit:]
    if json_out:
        emit_json([e.to_dict() for e in entries])
        return
    for e in entries:
        detail = json.dumps(e.detail, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        typer.echo(
            f"{e.seq:>5}  {e.ts:%Y-%m-%d %H:%M:%S}  {e.os_user:<10} {e.event:<15} "
            f"{e.consent_id or '-':<7} {detail}"
        )
    if not entries:
        typer.echo("no audit entries")


@app.command("verify", epilog=EXIT_CODES)
@cli_command
def verify_cli(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """Check the hash chain and its signed head: finds edited, removed or reordered entries."""
    with Registry.open(home_from(ctx)) as registry:
        report = registry.verify_audit()
    if json_out:
        emit_json({"ok": report.ok, "entries": report.checked, "problems": report.problems})
    else:
        for problem in report.problems:
            typer.echo(f"FAIL  {problem}")
        if report.ok:
            typer.echo(f"ok: {report.checked} audit entries, chain and signed head verify")
    if not report.ok:
        raise IntegrityError(f"the audit log does not verify: {report.problems[0]}")
