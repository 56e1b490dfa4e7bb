"""Mapping between ConsentRecord and its SQLite rows (``consents`` and ``grants``).

Kept apart from the registry's logic so the stored shape is in one place: verification rebuilds
the record from these columns, so an edit to any column changes what is checked.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from consentclip.consent.records import (
    Clinician,
    ConsentRecord,
    Grant,
    Interpreter,
    Purpose,
    Recording,
    Signature,
    Signer,
    SignerRole,
    Status,
    Template,
)

CONSENT_COLUMNS = (
    "id",
    "version",
    "status",
    "patient_ref",
    "patient_name",
    "birth_date",
    "signer_role",
    "signer_name",
    "signer_authority",
    "clinician_name",
    "clinician_registration",
    "witness",
    "interpreter_name",
    "interpreter_language",
    "template_id",
    "template_version",
    "language",
    "template_sha256",
    "body_sites",
    "face_visible",
    "tattoos_visible",
    "created_at",
    "signature_method",
    "signed_at",
    "signed_by",
    "document_sha256",
    "supersedes",
    "superseded_by",
    "void_reason",
    "record_signature",
)


def consent_row(r: ConsentRecord) -> tuple[Any, ...]:
    s = r.signature
    return (
        r.id,
        r.version,
        r.status.value,
        r.patient_ref,
        r.patient_name,
        iso(r.birth_date),
        r.signer.role.value,
        r.signer.name,
        r.signer.authority,
        r.clinician.name if r.clinician else None,
        r.clinician.registration if r.clinician else None,
        r.witness,
        r.interpreter.name if r.interpreter else None,
        r.interpreter.language if r.interpreter else None,
        r.template.id,
        r.template.version,
        r.template.language,
        r.template.sha256,
        json.dumps(list(r.recording.body_sites)),
        int(r.recording.face_visible),
        int(r.recording.tattoos_visible),
        r.created_at.isoformat(),
        s.method if s else None,
        iso(s.signed_at) if s else None,
        s.signed_by if s else None,
        s.document_sha256 if s else None,
        r.supersedes,
        r.superseded_by,
        r.void_reason,
    )


def record_from_row(c: dict[str, Any], grants: list[tuple[Any, ...]]) -> ConsentRecord:
    signature = None
    if c["signature_method"]:
        signature = Signature(
            c["signature_method"],
            datetime.fromisoformat(c["signed_at"]),
            c["signed_by"],
            c["document_sha256"],
        )
    parsed = [
        Grant(
            Purpose(p),
            bool(ident),
            bool(voice),
            date.fromisoformat(exp),
            datetime.fromisoformat(w) if w else None,
            reason,
        )
        for p, ident, voice, exp, w, reason in grants
    ]
    parsed.sort(key=lambda g: list(Purpose).index(g.purpose))
    return ConsentRecord(
        id=c["id"],
        version=int(c["version"]),
        status=Status(c["status"]),
        patient_ref=c["patient_ref"],
        signer=Signer(SignerRole(c["signer_role"]), c["signer_name"], c["signer_authority"]),
        clinician=Clinician(c["clinician_name"], c["clinician_registration"])
        if c["clinician_name"]
        else None,
        template=Template(
            c["template_id"], c["template_version"], c["language"], c["template_sha256"]
        ),
        recording=Recording(
            tuple(json.loads(c["body_sites"])), bool(c["face_visible"]), bool(c["tattoos_visible"])
        ),
        grants=tuple(parsed),
        created_at=datetime.fromisoformat(c["created_at"]),
        patient_name=c["patient_name"],
        birth_date=date.fromisoformat(c["birth_date"]) if c["birth_date"] else None,
        witness=c["witness"],
        interpreter=Interpreter(c["interpreter_name"], c["interpreter_language"])
        if c["interpreter_name"]
        else None,
        signature=signature,
        supersedes=c["supersedes"],
        superseded_by=c["superseded_by"],
        void_reason=c["void_reason"],
    )


def iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
