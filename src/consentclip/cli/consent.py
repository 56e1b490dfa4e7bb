"""consentclip consent ...: the registry of signed consent records."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from consentclip import scanread
from consentclip.cli._util import JsonOption, cli_command, emit_json, home_from
from consentclip.cli.audit import who
from consentclip.cli.options import EXIT_CODES, UserOption
from consentclip.consent import actions
from consentclip.consent import state as consent_state
from consentclip.consent.audit import AuditEntry
from consentclip.consent.records import ConsentRecord, Purpose, SignerRole, State, parse_date
from consentclip.errors import IntegrityError, UsageError

app = typer.Typer(
    help="Create, print, sign, revoke, show and verify per-purpose consent records.",
    no_args_is_help=True,
    epilog=EXIT_CODES,
)

# --agree's choices: every purpose, or all of those on the form.
Agreement = Enum(  # type: ignore[misc]
    "Agreement", {**{p.name: p.value for p in Purpose}, "ALL": "all"}, type=str
)

IdArg = Annotated[str, typer.Argument(help="Consent id, e.g. C-7K2M.", show_default=False)]


@app.command("new", epilog=EXIT_CODES)
@cli_command
def new_cli(
    ctx: typer.Context,
    patient: Annotated[
        str,
        typer.Option(
            "--patient", help="The clinic's patient reference (kept in the registry only)."
        ),
    ],
    grant: Annotated[
        list[str],
        typer.Option(
            "--grant",
            metavar="PURPOSE[:identifiable][:voice][@DATE]",
            help="Repeat per purpose. Without "
            ":identifiable a grant is anonymised-only. Purposes: clinical_record, teaching, "
            "conference, journal, public_web, social_media.",
        ),
    ],
    expires: Annotated[
        str | None,
        typer.Option("--expires", metavar="YYYY-MM-DD", help="Expiry for grants without @DATE."),
    ] = None,
    template: Annotated[
        str, typer.Option("--template", help="Consent form template id.")
    ] = "derm-video-photo",
    language: Annotated[str, typer.Option("--language", help="Form language: en, es, ru.")] = "en",
    signer_role: Annotated[
        SignerRole,
        typer.Option("--signer-role", help="Who signs.", case_sensitive=False),
    ] = SignerRole.PATIENT,
    signer_name: Annotated[str | None, typer.Option("--signer-name", help="Who signs.")] = None,
    signer_authority: Annotated[
        str | None,
        typer.Option(
            "--signer-authority",
            help="A representative's authority (e.g. 'mother', 'court order 12/2024').",
        ),
    ] = None,
    patient_name: Annotated[
        str | None, typer.Option("--patient-name", help="Printed on the form only.")
    ] = None,
    birth_date: Annotated[
        str | None,
        typer.Option(
            "--birth-date",
            metavar="YYYY-MM-DD",
            help="Required when a parent or guardian signs.",
        ),
    ] = None,
    clinician: Annotated[str | None, typer.Option("--clinician", help="Clinician's name.")] = None,
    registration: Annotated[
        str | None,
        typer.Option("--clinician-registration", help="Clinician's registration number."),
    ] = None,
    witness: Annotated[str | None, typer.Option("--witness", help="Witness name.")] = None,
    interpreter: Annotated[
        str | None, typer.Option("--interpreter", help="NAME:LANGUAGE of the interpreter.")
    ] = None,
    body_site: Annotated[
        list[str] | None,
        typer.Option("--body-site", metavar="SITE", help="Body site recorded; repeat."),
    ] = None,
    face_visible: Annotated[
        bool, typer.Option("--face-visible", help="The face may be visible.")
    ] = False,
    tattoos_visible: Annotated[
        bool, typer.Option("--tattoos-visible", help="Tattoos may be visible.")
    ] = False,
    supersedes: Annotated[
        str | None, typer.Option("--supersedes", help="Id this consent replaces once signed.")
    ] = None,
    json_out: JsonOption = False,
    user: UserOption = None,
) -> None:
    """Create a draft consent record with one grant per purpose; prints its id."""
    record = actions.create_consent(
        home=home_from(ctx),
        patient_ref=patient,
        grants=tuple(grant),
        expires=parse_date(expires, what="--expires") if expires else None,
        template=template,
        language=language,
        signer_role=signer_role.value,
        signer_name=signer_name,
        signer_authority=signer_authority,
        patient_name=patient_name,
        birth_date=parse_date(birth_date, what="--birth-date") if birth_date else None,
        clinician=clinician,
        clinician_registration=registration,
        witness=witness,
        interpreter=interpreter,
        body_sites=tuple(body_site or ()),
        face_visible=face_visible,
        tattoos_visible=tattoos_visible,
        supersedes=supersedes,
    )
    if json_out:
        emit_json(_record_json(record))
    else:
        typer.echo(record.id)


@app.command("pdf", epilog=EXIT_CODES)
@cli_command
def pdf_cli(
    ctx: typer.Context,
    consent_id: IdArg,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Where to write the PDF.", dir_okay=False)
    ],
    json_out: JsonOption = False,
) -> None:
    """Write the consent form to print and sign (QR code of the id, grants pre-filled)."""
    path = actions.write_form(home=home_from(ctx), consent_id=consent_id, out=out)
    if json_out:
        emit_json({"consent_id": consent_id, "pdf": path})
    else:
        typer.echo(f"wrote {path}")


@app.command("sign", epilog=EXIT_CODES)
@cli_command
def sign_cli(
    ctx: typer.Context,
    consent_id: IdArg,
    scan: Annotated[
        list[Path] | None,
        typer.Option(
            "--scan",
            metavar="FILE",
            help="Scanned wet-ink-signed form: a PDF of every page, or repeat --scan with one "
            "photo per page (JPEG, PNG, HEIC).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    signature_image: Annotated[
        Path | None,
        typer.Option(
            "--signature-image",
            help="Signature image (PNG) for an electronic signature.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    signed_by: Annotated[
        str | None,
        typer.Option("--signed-by", help="Name of the person signing electronically."),
    ] = None,
    agree: Annotated[
        list[Agreement] | None,
        typer.Option(
            "--agree",
            metavar="{" + "|".join(a.value for a in Agreement) + "}",
            help="Electronic signing: a purpose the patient agreed to (repeat, as they would "
            "initial each box on paper), or 'all' for every purpose on the form.",
            case_sensitive=False,
        ),
    ] = None,
    initials: Annotated[
        str | None,
        typer.Option(
            "--initials",
            help="Electronic signing: the patient's initials in each agreed box (default: a tick).",
        ),
    ] = None,
    json_out: JsonOption = False,
    user: UserOption = None,
) -> None:
    """File a signed form: --scan FILE, or --signature-image PNG --signed-by NAME --agree ..."""
    home = home_from(ctx)
    if (not scan) == (signature_image is None):
        raise UsageError("give either --scan FILE or --signature-image PNG --signed-by NAME")
    if scan:
        if signed_by or agree or initials:
            raise UsageError(
                "--signed-by, --agree and --initials go with --signature-image, not with --scan"
            )
        result = scanread.sign_with_scan(home=home, consent_id=consent_id, scan_path=scan)
    else:
        if not signed_by:
            raise UsageError("an electronic signature needs --signed-by NAME (the signer's intent)")
        if not agree:
            raise UsageError(
                "which purposes did the patient agree to? repeat --agree PURPOSE (or --agree all)"
            )
        assert signature_image is not None
        agreed = None if Agreement.ALL in agree else [Purpose(a.value) for a in agree]
        result = scanread.sign_electronically(
            home=home,
            consent_id=consent_id,
            signature_image=signature_image,
            signed_by=signed_by,
            agreed=agreed,
            initials=initials,
        )
    if json_out:
        emit_json({**_record_json(result.record), "document": result.document})
    else:
        sig = result.record.signature
        assert sig is not None
        typer.echo(f"{result.record.id} signed ({sig.method}) by {sig.signed_by}")
        typer.echo(f"document: {result.document}")


@app.command("revoke", epilog=EXIT_CODES)
@cli_command
def revoke_cli(
    ctx: typer.Context,
    consent_id: IdArg,
    reason: Annotated[str, typer.Option("--reason", help="Why (as the patient said it).")],
    grant: Annotated[
        Purpose | None,
        typer.Option(
            "--grant", help="Withdraw only this purpose (default: all).", case_sensitive=False
        ),
    ] = None,
    json_out: JsonOption = False,
    user: UserOption = None,
) -> None:
    """Withdraw one grant or all; lists what was already exported, for takedown requests."""
    result = actions.revoke(
        home=home_from(ctx),
        consent_id=consent_id,
        purpose=grant.value if grant else None,
        reason=reason,
    )
    if json_out:
        emit_json(
            {
                **_record_json(result.record),
                "withdrawn": [p.value for p in result.withdrawn],
                "already_exported": [_export_json(e) for e in result.exports],
            }
        )
        return
    names = ", ".join(p.value for p in result.withdrawn)
    now = consent_state.state_of(result.record, consent_state.today())
    typer.echo(f"{result.record.id}: withdrew {names}; state now {now.value}")
    if not result.exports:
        typer.echo("nothing was exported under this consent")
        return
    typer.echo(f"already exported under {result.record.id} (cannot be recalled; ask for takedown):")
    for entry in result.exports:
        e = _export_json(entry)
        typer.echo(
            f"  {e['when']}  {e['purpose']:<15} {e['output']}  -> {e['destination']}"
            f"  by {who(entry)}"
        )


@app.command("void", epilog=EXIT_CODES)
@cli_command
def void_cli(
    ctx: typer.Context,
    consent_id: IdArg,
    reason: Annotated[
        str, typer.Option("--reason", help="Why the record is void (e.g. made in error).")
    ],
    user: UserOption = None,
) -> None:
    """Mark a record void (made in error). Nothing can be exported under it."""
    record = actions.void(home=home_from(ctx), consent_id=consent_id, reason=reason)
    typer.echo(f"{record.id} voided")


@app.command("show", epilog=EXIT_CODES)
@cli_command
def show_cli(ctx: typer.Context, consent_id: IdArg, json_out: JsonOption = False) -> None:
    """Show a consent: signer, grants and their state, signature, linked clips."""
    view = actions.show(home=home_from(ctx), consent_id=consent_id)
    if json_out:
        emit_json(
            {
                **_record_json(view.record),
                "document": view.document,
                "clips": view.clips,
                "history": [_history_json(e) for e in view.history],
            }
        )
        return
    for line in _describe(view.record, view.document, view.clips):
        typer.echo(line)
    typer.echo("history")
    for e in view.history:
        typer.echo(f"  {e.ts:%Y-%m-%d %H:%M} UTC  {e.event:<10} by {who(e)}")


@app.command("list", epilog=EXIT_CODES)
@cli_command
def list_cli(
    ctx: typer.Context,
    state: Annotated[
        State | None, typer.Option("--state", help="Only records in this state.")
    ] = None,
    patient: Annotated[
        str | None, typer.Option("--patient", help="Only this patient reference.")
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """List consents, newest last."""
    records = actions.list_consents(home=home_from(ctx), state=state, patient_ref=patient)
    if json_out:
        emit_json([_record_json(r) for r in records])
        return
    today = consent_state.today()
    for r in records:
        grants = ", ".join(g.purpose.value for g in r.grants)
        now = consent_state.state_of(r, today).value
        typer.echo(f"{r.id}  {now:<19} {r.patient_ref:<12} {grants}")
    if not records:
        typer.echo("no consents match")


@app.command("verify", epilog=EXIT_CODES)
@cli_command
def verify_cli(
    ctx: typer.Context,
    consent_id: Annotated[str | None, typer.Argument(help="One consent (default: all).")] = None,
    json_out: JsonOption = False,
) -> None:
    """Check records' signatures, history and signed documents against the clinic key and log."""
    report = actions.verify(home=home_from(ctx), consent_id=consent_id)
    if json_out:
        emit_json({"ok": report.ok, "checked": report.checked, "problems": report.problems})
    else:
        for problem in report.problems:
            typer.echo(f"FAIL  {problem}")
        if report.ok:
            typer.echo(f"ok: {report.checked} consent record(s) verify")
    if not report.ok:
        raise IntegrityError(f"{len(report.problems)} integrity problem(s): {report.problems[0]}")


def _record_json(record: ConsentRecord) -> dict[str, Any]:
    today = consent_state.today()
    data = record.to_dict()
    data["state"] = consent_state.state_of(record, today).value
    for g, item in zip(record.grants, data["grants"], strict=True):
        item["expired"] = consent_state.grant_expired(g, today)
    return data


# What happened to the record itself, and by whom: consent show's history (exports and links
# are in 'audit log --consent ID').
def _history_json(entry: AuditEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "when": entry.ts.isoformat(),
        "event": entry.event,
        "person": entry.person,
        "os_user": entry.os_user,
    }


def _export_json(entry: AuditEntry) -> dict[str, Any]:
    d = entry.detail
    return {
        "when": entry.ts.isoformat(),
        "purpose": d.get("purpose"),
        "output": d.get("output") or d.get("output_name") or "?",
        "destination": d.get("destination") or d.get("out_dir") or "?",
        "sha256": d.get("sha256"),
        "person": entry.person,  # who exported it ("" before people were recorded)
        "os_user": entry.os_user,
    }


def _describe(record: ConsentRecord, doc: Path | None, clips: int) -> list[str]:
    today = consent_state.today()
    now = consent_state.state_of(record, today)
    lines = [f"{record.id}  {now.value} (version {record.version})"]
    patient = record.patient_ref
    if record.patient_name or record.birth_date:
        extra = ", ".join(
            x for x in (record.patient_name, record.birth_date and f"born {record.birth_date}") if x
        )
        patient += f" ({extra})"
    lines.append(f"patient    {patient}")
    signer = f"{record.signer.role.value} {record.signer.name}"
    if record.signer.authority:
        signer += f" (authority: {record.signer.authority})"
    lines.append(f"signer     {signer}")
    if record.clinician:
        reg = f", {record.clinician.registration}" if record.clinician.registration else ""
        lines.append(f"clinician  {record.clinician.name}{reg}")
    t = record.template
    lines.append(f"form       {t.id} v{t.version} ({t.language}) sha256 {t.sha256[:16]}")
    lines.append("grants")
    for g in record.grants:
        held = consent_state.grant_state(g, today)
        status = held.value
        if held is consent_state.GrantState.WITHDRAWN:
            status = f"WITHDRAWN {g.withdrawn_at:%Y-%m-%d} ({g.withdrawal_reason})"
        elif held is consent_state.GrantState.EXPIRED:
            status = "EXPIRED"
        ident = "identifiable" if g.identifiable else "anonymised only"
        voice = "voice" if g.voice else "no voice"
        lines.append(f"  {g.purpose.value:<16}{ident}, {voice}, until {g.expires}  {status}")
    if record.signature:
        s = record.signature
        lines.append(f"signed     {s.method} by {s.signed_by} at {s.signed_at:%Y-%m-%d %H:%M} UTC")
        lines.append(f"document   {doc or 'MISSING sha256 ' + s.document_sha256}")
    if record.supersedes:
        lines.append(f"supersedes {record.supersedes}")
    if record.superseded_by:
        lines.append(f"superseded by {record.superseded_by}")
    if record.void_reason:
        lines.append(f"void       {record.void_reason}")
    lines.append(f"clips      {clips} linked")
    return lines
