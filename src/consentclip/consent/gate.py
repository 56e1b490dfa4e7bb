"""The export gate: a pure decision over a consent record, a purpose and a date. No I/O.

Rules are checked in the order of docs/domain.md §1.6 and the first that fails decides; each has a
stable id (``rule``) and a message that says what failed and what would fix it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from consentclip.consent import state
from consentclip.consent.records import ConsentRecord, Grant, Purpose, State

RULES: tuple[str, ...] = (
    "not_linked",
    "not_signed",
    "voided",
    "superseded",
    "integrity",
    "not_granted",
    "withdrawn",
    "expired",
    "reconsent_required",
    "voice_not_granted",
    "review_required",
    "approver_is_exporter",
)


@dataclass(frozen=True)
class GateRequest:
    record: ConsentRecord | None
    purpose: Purpose
    linked: bool
    today: date
    integrity_ok: bool
    integrity_problems: tuple[str, ...] = ()
    want_audio: bool = False
    # The clinic requires an approved review for this purpose (clinic.toml [review]).
    review_required: bool = False
    # An approval of this clip for this purpose exists (whether it still holds is checked
    # against the files by the caller: review/approval.py).
    review_approved: bool = False
    # The clinic wants approver and exporter to differ, and they do not.
    approver_is_exporter: bool = False


@dataclass(frozen=True)
class GateDecision:
    allowed: bool
    rule: str | None
    message: str
    grant: Grant | None
    redact_faces: bool
    redact_tattoos: bool
    keep_audio: bool


def _refuse(rule: str, message: str, grant: Grant | None = None) -> GateDecision:
    # A refusal still says "redact everything, drop audio", so a caller that ignored `allowed`
    # would fail closed rather than leak.
    return GateDecision(False, rule, message, grant, True, True, False)


def evaluate(request: GateRequest) -> GateDecision:
    record, purpose = request.record, request.purpose
    if not request.linked or record is None:
        return _refuse(
            "not_linked",
            "this clip is not linked to any consent (or changed since it was linked); "
            "link it with 'consentclip link CLIP --consent ID'",
        )
    cid = record.id
    status_rule = state.status_rule(record)
    if status_rule == "not_signed":
        return _refuse(
            "not_signed",
            f"consent {cid} is not signed yet; file the signed form with "
            f"'consentclip consent sign {cid} --scan FILE' or sign it electronically",
        )
    if status_rule == "voided":
        return _refuse("voided", f"consent {cid} was voided; a new consent is needed")
    if status_rule == "superseded":
        newer = record.superseded_by or "a newer consent"
        return _refuse(
            "superseded", f"consent {cid} was superseded by {newer}; link the clip to {newer}"
        )
    if not request.integrity_ok:
        first = request.integrity_problems[0] if request.integrity_problems else "unknown problem"
        return _refuse(
            "integrity",
            f"consent {cid} or the audit log does not verify ({first}); "
            "run 'consentclip consent verify' and 'consentclip audit verify'",
        )
    grant = record.grant_for(purpose)
    if grant is None:
        granted = ", ".join(g.purpose.value for g in record.grants) or "none"
        return _refuse(
            "not_granted",
            f"consent {cid} has no grant for {purpose.value}; grants: {granted}",
        )
    if grant.withdrawn:
        when = grant.withdrawn_at.date().isoformat() if grant.withdrawn_at else "?"
        return _refuse(
            "withdrawn",
            f"consent {cid}: the patient withdrew {purpose.value} on {when}; it cannot be used",
            grant,
        )
    if state.grant_expired(grant, request.today):
        return _refuse(
            "expired",
            f"consent {cid}: the {purpose.value} grant expired on {grant.expires.isoformat()}; "
            "ask the patient for a new consent",
            grant,
        )
    if state.state_of(record, request.today) is State.RECONSENT_REQUIRED:
        return _refuse(
            "reconsent_required",
            f"consent {cid} was signed by a {record.signer.role.value} for a minor who has since "
            "come of age; the patient must re-consent",
            grant,
        )
    if request.want_audio and not grant.voice:
        return _refuse(
            "voice_not_granted",
            f"consent {cid} does not allow the voice for {purpose.value}; "
            "export without --keep-audio",
            grant,
        )
    if request.review_required and not request.review_approved:
        return _refuse(
            "review_required",
            f"consent {cid} allows {purpose.value}, but the clinic requires an approved review "
            f"before a {purpose.value} export; run 'consentclip review open CLIP --purpose "
            f"{purpose.value}' and approve it",
            grant,
        )
    if request.review_required and request.approver_is_exporter:
        return _refuse(
            "approver_is_exporter",
            f"the {purpose.value} review of this clip was approved by the person now exporting "
            "it; the clinic requires someone else to export (or to approve)",
            grant,
        )
    anonymised = not grant.identifiable
    how = "identifiable" if grant.identifiable else "anonymised only (faces and tattoos redacted)"
    audio = "with audio" if request.want_audio and grant.voice else "without audio"
    return GateDecision(
        allowed=True,
        rule=None,
        message=f"consent {cid} allows {purpose.value}: {how}, {audio}",
        grant=grant,
        redact_faces=anonymised,
        redact_tattoos=anonymised,
        keep_audio=request.want_audio and grant.voice,
    )
