"""The plain, keyword-only functions behind ``consentclip consent ...``.

The CLI parses options into these and prints what they return; tests and scripts call them
directly. Each opens the registry, does one thing, and leaves nothing half-done on failure.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from consentclip.consent import documents, pdf, state, templates
from consentclip.consent.audit import AuditEntry, now_utc
from consentclip.consent.clinic import Clinic
from consentclip.consent.records import (
    Clinician,
    ConsentRecord,
    Grant,
    IntegrityReport,
    Interpreter,
    Purpose,
    Recording,
    Signature,
    Signer,
    SignerRole,
    State,
)
from consentclip.consent.registry import RECORD_EVENTS, NewConsent, Registry, Revocation
from consentclip.errors import UsageError
from consentclip.home import Home


@dataclass(frozen=True)
class SignResult:
    record: ConsentRecord
    document: Path


@dataclass(frozen=True)
class ScanReader:
    """The pixel work of filing a scan, which consent/ does not do (it knows no pixels):
    ``consentclip.scanread`` supplies it. Called here, inside the registry session, so that a
    draft is checked before any page is decoded."""

    consent_ids: Callable[[Path], list[str]]  # every consentclip QR code's id, in page order
    # what keeps the scan from being filed (pages missing, empty fields); empty when it may be
    problems: Callable[
        [Sequence[Path], pdf.FormLayout, bytes, Sequence[tuple[str, str]]], tuple[str, ...]
    ]
    is_pdf: Callable[[bytes], bool]


def create_consent(
    *,
    home: Home,
    patient_ref: str,
    grants: Sequence[str],
    expires: date | None = None,
    template: str = templates.DEFAULT_TEMPLATE,
    language: str = "en",
    signer_role: str = "patient",
    signer_name: str | None = None,
    signer_authority: str | None = None,
    patient_name: str | None = None,
    birth_date: date | None = None,
    clinician: str | None = None,
    clinician_registration: str | None = None,
    witness: str | None = None,
    interpreter: str | None = None,
    body_sites: Sequence[str] = (),
    face_visible: bool = False,
    tattoos_visible: bool = False,
    supersedes: str | None = None,
) -> ConsentRecord:
    """A draft consent from what ``consent new`` was given, as typed: grant specs
    (``PURPOSE[:identifiable][:voice][@DATE]``, ``expires`` for those without a date), the
    signer's role as a word, the interpreter as ``NAME:LANGUAGE``, the template by id and
    language. Parsed here into the one request type, NewConsent, which the registry validates
    and stores."""
    parsed = tuple(Grant.parse(spec, expires) for spec in grants)
    role = SignerRole.parse(signer_role)
    name = signer_name
    if not name and role is SignerRole.PATIENT:
        name = patient_name
    if not name:
        raise UsageError("who signs? give the signer's name", option="signer_or_patient_name")
    helper = None
    if interpreter:
        who, sep, lang = interpreter.rpartition(":")
        if not sep or not who.strip() or not lang.strip():
            raise UsageError(
                f"the interpreter '{interpreter}' must be NAME:LANGUAGE", option="interpreter"
            )
        helper = Interpreter(who.strip(), lang.strip())
    with Registry.open(home) as registry:
        new = NewConsent(
            patient_ref=patient_ref,
            signer=Signer(role, name.strip(), signer_authority),
            grants=parsed,
            template=templates.load(template, language, home).ref,
            recording=Recording(
                tuple(s.strip() for s in body_sites if s.strip()), face_visible, tattoos_visible
            ),
            clinician=Clinician(clinician, clinician_registration) if clinician else None,
            patient_name=patient_name,
            birth_date=birth_date,
            witness=witness,
            interpreter=helper,
            supersedes=supersedes,
        )
        return registry.create(new)


def write_form(*, home: Home, consent_id: str, out: Path) -> Path:
    """The form to print and sign; it shows the grants chosen and the QR code of the id."""
    with Registry.open(home) as registry:
        record = registry.get(consent_id)
    template = templates.load_for(record.template, home)
    data = pdf.render_form(pdf.FormInput(record, template, Clinic.load(home)))
    return _write_output(out, data)


def sign_with_scan(
    *, home: Home, consent_id: str, scan_path: Path | Sequence[Path], reader: ScanReader
) -> SignResult:
    """File a wet-ink-signed form: its QR code must name this consent, every page must be there
    and the signer's signature and initials must be on it.

    ``scan_path`` is one file (a PDF of every page, or an image of a one-page form) or several
    (one photo per page). Several are kept as they are, each by its hash, bound together by a
    small JSON document that lists them; that document's hash is what the signature binds."""
    paths = [scan_path] if isinstance(scan_path, Path) else list(scan_path)
    if not paths:
        raise UsageError("give the scan", option="scan")
    label = ", ".join(p.name for p in paths)
    with Registry.open(home) as registry:
        record = registry.get(consent_id)
        state.require_signable(record, state.today())
        found = [cid for p in paths for cid in reader.consent_ids(p)]
        found = list(dict.fromkeys(found))
        if not found:
            raise UsageError(
                f"no readable consentclip QR code in {label}",
                hint="rescan page 1 flat, in focus, at 200 dpi or more",
            )
        if found != [record.id]:
            others = [cid for cid in found if cid != record.id]
            raise UsageError(
                f"the scan {label} carries the QR code of consent {', '.join(others)}, "
                f"not {record.id}; file it under that consent"
            )
        _require_ink(home, record, paths, reader)
        signature = Signature("wet_ink_scan", now_utc(), record.signer.name, "")
        if len(paths) == 1:
            data = paths[0].read_bytes()
            suffix = ".pdf" if reader.is_pdf(data) else (paths[0].suffix.lower() or ".img")
            return _file_signed(registry, record, data, suffix, signature)
        return _file_signed_pages(registry, record, paths, signature, reader)


def _file_signed_pages(
    registry: Registry,
    record: ConsentRecord,
    paths: list[Path],
    signature: Signature,
    reader: ScanReader,
) -> SignResult:
    created: list[Path] = []
    pages = []
    try:
        for path in paths:
            data = path.read_bytes()
            suffix = ".pdf" if reader.is_pdf(data) else (path.suffix.lower() or ".img")
            digest, stored, new = documents.store(registry.home, data, suffix)
            if new:
                created.append(stored)
            pages.append({"sha256": digest, "suffix": suffix, "name": path.name})
        bundle = {"format": "consentclip-scan-pages/1", "consent_id": record.id, "pages": pages}
        data = (json.dumps(bundle, indent=2, ensure_ascii=False) + "\n").encode()
        return _file_signed(registry, record, data, ".json", signature)
    except BaseException:
        for stored in created:  # only what this call stored; stored documents are never removed
            stored.chmod(0o644)
            stored.unlink(missing_ok=True)
        raise


def required_fields(record: ConsentRecord) -> list[tuple[str, str]]:
    """What the signer fills in by hand: their signature, and each granted purpose's box."""
    signer = (
        "patient_signature"
        if record.signer.role is SignerRole.PATIENT
        else ("representative_signature")
    )
    return [("signature", signer), *(("initials", g.purpose.value) for g in record.grants)]


def _require_ink(
    home: Home, record: ConsentRecord, paths: Sequence[Path], reader: ScanReader
) -> None:
    """Refuse a scan whose pages are missing or whose signature or initials are empty: the
    form it is checked against is the one ``consent pdf`` printed for this record."""
    template = templates.load_for(record.template, home)
    reference, layout = pdf.render_form_layout(pdf.FormInput(record, template, Clinic.load(home)))
    problems = reader.problems(paths, layout, reference, required_fields(record))
    if problems:
        raise UsageError(
            f"the scan {', '.join(p.name for p in paths)} is not a signed consent {record.id}: "
            + "; ".join(problems),
            hint="scan every page, flat and whole, into one PDF or one --scan per page",
        )


def sign_electronically(
    *,
    home: Home,
    consent_id: str,
    signature_png: Callable[[], bytes],
    signed_by: str,
    agreed: Sequence[Purpose] | None = None,
    initials: str | None = None,
) -> SignResult:
    """Make the final signed PDF: the signature in place, the patient's mark (initials, else a
    tick) in the box of each purpose they agreed to, and a verification section.

    ``agreed`` is the patient's choice per purpose, as on the paper form; it must be exactly the
    purposes the draft grants (a purpose the patient declines is not granted: void the draft
    and make a new one). None means the caller vouches for every granted purpose.
    ``signature_png`` gives the signature image re-encoded as a plain PNG (``media/raster``);
    it is asked for once the draft and the signer have been checked.
    """
    with Registry.open(home) as registry:
        record = registry.get(consent_id)
        state.require_signable(record, state.today())
        marks = _marks(record, agreed, initials)
        if _norm(signed_by) != _norm(record.signer.name):
            raise UsageError(
                f"'{signed_by}' is not the signer recorded on {record.id} "
                f"('{record.signer.name}'); the person named on the form must sign",
                option="signed_by",
            )
        image = signature_png()
        template = templates.load_for(record.template, home)
        signed_at = now_utc()
        esign = pdf.ElectronicSignature(
            image=image,
            signed_by=record.signer.name,
            signed_at=signed_at,
            record_sha256=record.sha256(),
            key_fingerprint=registry.key.fingerprint(),
            marks=marks,
        )
        data = pdf.render_form(pdf.FormInput(record, template, Clinic.load(home), esign))
        signature = Signature("electronic", signed_at, record.signer.name, "")
        return _file_signed(registry, record, data, ".pdf", signature)


def _marks(
    record: ConsentRecord, agreed: Sequence[Purpose] | None, initials: str | None
) -> tuple[tuple[Purpose, str], ...]:
    granted = [g.purpose for g in record.grants]
    chosen = list(dict.fromkeys(agreed)) if agreed is not None else granted
    extra = [p.value for p in chosen if p not in granted]
    if extra:
        raise UsageError(
            f"consent {record.id} does not ask for {', '.join(extra)}; "
            f"its form lists {', '.join(p.value for p in granted)}"
        )
    declined = [p.value for p in granted if p not in chosen]
    if declined:
        raise UsageError(
            f"the patient did not agree to {', '.join(declined)}, which draft {record.id} grants",
            hint=f"void {record.id} and create a consent without {', '.join(declined)}",
        )
    mark = pdf.TICK
    if initials is not None:
        mark = " ".join(initials.split())
        if not mark or len(mark) > 6:
            raise UsageError(
                f"the initials '{initials}' must be 1 to 6 characters, e.g. 'A.E.'",
                option="initials",
            )
    return tuple((p, mark) for p in granted)


def revoke(*, home: Home, consent_id: str, purpose: str | None, reason: str) -> Revocation:
    parsed = Purpose.parse(purpose) if purpose else None
    with Registry.open(home) as registry:
        return registry.revoke(consent_id, purpose=parsed, reason=reason)


def _file_signed(
    registry: Registry, record: ConsentRecord, data: bytes, suffix: str, signature: Signature
) -> SignResult:
    digest, path, created = documents.store(registry.home, data, suffix)
    bound = Signature(signature.method, signature.signed_at, signature.signed_by, digest)
    try:
        signed = registry.sign(record.id, bound, expected_sha256=record.sha256())
    except BaseException:
        # Only a document this call created may go: stored documents are never removed.
        if created:
            path.chmod(0o644)
            path.unlink(missing_ok=True)
        raise
    return SignResult(signed, path)


def _write_output(out: Path, data: bytes) -> Path:
    try:
        return documents.write_atomic(out, data)
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc}") from None


def _norm(name: str) -> str:
    return " ".join(name.split()).casefold()


@dataclass(frozen=True)
class ConsentView:
    """One consent as ``consent show`` prints it: the record, its signed document (None when
    it is missing from the home) and how many clips are linked to it."""

    record: ConsentRecord
    document: Path | None
    clips: int
    history: list[AuditEntry]  # create, sign, revoke, void, supersede: who did each


def void(*, home: Home, consent_id: str, reason: str) -> ConsentRecord:
    with Registry.open(home) as registry:
        return registry.void(consent_id, reason=reason)


def show(*, home: Home, consent_id: str) -> ConsentView:
    with Registry.open(home) as registry:
        record = registry.get(consent_id)
        clips = len(registry.list_links(record.id))
        history = [e for e in registry.audit_entries(record.id) if e.event in RECORD_EVENTS]
    doc = documents.find(home, record.signature.document_sha256) if record.signature else None
    return ConsentView(record, doc, clips, history)


def list_consents(
    *, home: Home, state: State | None = None, patient_ref: str | None = None
) -> list[ConsentRecord]:
    with Registry.open(home) as registry:
        return registry.list(state=state, patient_ref=patient_ref)


def verify(*, home: Home, consent_id: str | None = None) -> IntegrityReport:
    """Records' signatures, history and signed documents, against the clinic key and the log."""
    with Registry.open(home) as registry:
        return registry.verify(consent_id, documents=True)
