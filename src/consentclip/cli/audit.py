"""consentclip audit ...: the hash-chained audit log."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from consentclip.cli._util import JsonOption, cli_command, emit_json, home_from
from consentclip.cli.options import EXIT_CODES, UserOption
from consentclip.consent import anchor, audit_actions
from consentclip.consent.audit import AuditEntry
from consentclip.errors import IntegrityError, UsageError

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
    """Show audit entries, oldest first: time, who (the person, and the operating-system
    account in brackets), event, consent, detail."""
    entries = audit_actions.entries(home=home_from(ctx), consent_id=consent, limit=limit)
    if json_out:
        emit_json([e.to_dict() for e in entries])
        return
    for e in entries:
        detail = json.dumps(e.detail, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        typer.echo(
            f"{e.seq:>5}  {e.ts:%Y-%m-%d %H:%M:%S}  {who(e):<22} {e.event:<15} "
            f"{e.consent_id or '-':<7} {detail}"
        )
    if not entries:
        typer.echo("no audit entries")


def who(entry: AuditEntry) -> str:
    """The person and, in brackets, the login ("Dr Ada Lee (clinic)"); the login alone when
    no person was named (every entry from before people were recorded)."""
    return f"{entry.person} ({entry.os_user})" if entry.person else entry.os_user


@app.command("verify", epilog=EXIT_CODES)
@cli_command
def verify_cli(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """Check the hash chain and its signed head: finds edited, removed or reordered entries."""
    report = audit_actions.verify(home=home_from(ctx))
    if json_out:
        emit_json({"ok": report.ok, "entries": report.checked, "problems": report.problems})
    else:
        for problem in report.problems:
            typer.echo(f"FAIL  {problem}")
        if report.ok:
            typer.echo(f"ok: {report.checked} audit entries, chain and signed head verify")
    if not report.ok:
        raise IntegrityError(f"the audit log does not verify: {report.problems[0]}")


@app.command("anchor", epilog=EXIT_CODES)
@cli_command
def anchor_cli(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """Show where the audit log's head is anchored outside the database, and whether the
    registry still agrees with every anchor (a restored older copy does not)."""
    report = audit_actions.anchors(home=home_from(ctx))
    problems, rows = report.problems, report.anchors
    if json_out:
        emit_json(
            {
                "ok": not problems,
                "problems": list(problems),
                "anchors": [
                    {"path": str(p), "seq": a.seq if a else None, "hash": a.hash if a else None}
                    for p, a in rows
                ],
            }
        )
    else:
        for path, found in rows:
            where = f"entry {found.seq} ({found.hash[:12]})" if found else "none yet"
            typer.echo(f"{path}: {where}")
        for problem in problems:
            typer.echo(f"FAIL  {problem}")
        if not problems:
            typer.echo("ok: the registry agrees with every anchor")
    if problems:
        raise IntegrityError(problems[0], hint=f"to recover: '{anchor.RECOVER}'")


@app.command("reanchor", epilog=EXIT_CODES)
@cli_command
def reanchor_cli(
    ctx: typer.Context,
    accept_rollback: Annotated[
        bool,
        typer.Option(
            "--accept-rollback",
            help="Accept the registry as it is now, even though it is older than its anchor.",
        ),
    ] = False,
    reason: Annotated[
        str, typer.Option("--reason", help="Why (e.g. 'disk failure, restored last night').")
    ] = "",
    user: UserOption = None,
) -> None:
    """Recover from a refused rollback: record it in the audit log, anchor the current head,
    and apply again every withdrawal the withdrawal ledger holds that the copy lacks."""
    if not accept_rollback:
        raise UsageError(
            "reanchoring accepts an older registry and can bring back withdrawn consents",
            hint="add --accept-rollback --reason TEXT once withdrawals made since are re-entered",
        )
    done = audit_actions.reanchor(home=home_from(ctx), reason=reason)
    for problem in done.problems:
        typer.echo(f"accepted: {problem}")
    typer.echo(f"anchored at audit entry {done.entry.seq}; recorded as 'anchor.reset'")
    for line in done.reapplied:
        typer.echo(f"applied again from the withdrawal ledger: {line}")
    for cid in done.missing:
        typer.echo(
            f"not in this copy: consent {cid} was withdrawn after the copy was made and does not "
            "exist in it; its clips are not linked here and cannot be exported"
        )
