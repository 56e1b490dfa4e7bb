"""Consent records: who agreed to what, per purpose, and in which state the record is.

Plain frozen data, no I/O. The registry stores and signs these; the gate reads them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import Enum
from typing import Any

from consentclip.errors import UsageError
from consentclip.jsonable import jsonable

# Age at which a patient signs for themselves; a guardian's consent for a minor lapses then.
AGE_OF_MAJORITY = 18


class Purpose(str, Enum):
    """The purposes of docs/domain.md §1.1; each is granted separately, none inherits another."""

    CLINICAL_RECORD = "clinical_record"
    TEACHING = "teaching"
    CONFERENCE = "conference"
    JOURNAL = "journal"
    PUBLIC_WEB = "public_web"
    SOCIAL_MEDIA = "social_media"

    @classmethod
    def parse(cls, text: str) -> Purpose:
        try:
            return cls(text.strip().lower().replace("-", "_"))
        except ValueError:
            names = ", ".join(p.value for p in cls)
            raise UsageError(f"unknown purpose '{text}'; purposes: {names}") from None


class SignerRole(str, Enum):
    PATIENT = "patient"
    PARENT = "parent"
    GUARDIAN = "guardian"
    LEGAL_REPRESENTATIVE = "legal_representative"

    @classmethod
    def parse(cls, text: str) -> SignerRole:
        try:
            return cls(text.strip().lower().replace("-", "_"))
        except ValueError:
            names = ", ".join(r.value for r in cls)
            raise UsageError(f"unknown signer role '{text}'; roles: {names}") from None

    @property
    def signs_for_minor(self) -> bool:
        return self in (SignerRole.PARENT, SignerRole.GUARDIAN)


class Status(str, Enum):
    """What is stored. The state shown to people is derived from it (see ConsentRecord.state_on)."""

    DRAFT = "draft"
    SIGNED = "signed"
    VOIDED = "voided"
    SUPERSEDED = "superseded"


class State(str, Enum):
    DRAFT = "draft"
    SIGNED = "signed"
    PARTIALLY_WITHDRAWN = "partially_withdrawn"
    WITHDRAWN = "withdrawn"
    VOIDED = "voided"
    SUPERSEDED = "superseded"
    RECONSENT_REQUIRED = "reconsent_required"


@dataclass(frozen=True)
class Grant:
    purpose: Purpose
    identifiable: bool
    voice: bool
    expires: date
    withdrawn_at: datetime | None = None
    withdrawal_reason: str | None = None

    @property
    def withdrawn(self) -> bool:
        return self.withdrawn_at is not None

    def expired_on(self, today: date) -> bool:
        # The rule lives in consent/state.py; imported here because state.py imports records.
        from consentclip.consent.state import grant_expired

        return grant_expired(self, today)

    def describe(self) -> str:
        ident = "identifiable" if self.identifiable else "anonymised only"
        voice = "voice" if self.voice else "no voice"
        return f"{self.purpose.value} ({ident}, {voice}, until {self.expires.isoformat()})"

    @classmethod
    def parse(cls, spec: str, default_expiry: date | None) -> Grant:
        """``PURPOSE[:identifiable][:voice][@YYYY-MM-DD]`` as typed after ``--grant``."""
        expires = default_expiry
        body = spec.strip()
        if "@" in body:
            body, _, when = body.partition("@")
            expires = parse_date(when, what=f"expiry of grant '{spec}'")
        parts = [p.strip().lower() for p in body.split(":")]
        purpose = Purpose.parse(parts[0])
        flags = set(parts[1:])
        unknown = flags - {"identifiable", "voice"}
        if unknown:
            raise UsageError(
                f"unknown grant option '{sorted(unknown)[0]}' in '{spec}'; "
                "use PURPOSE[:identifiable][:voice][@YYYY-MM-DD]"
            )
        if expires is None:
            raise UsageError(f"grant '{spec}' has no expiry", option="expires")
        return cls(purpose, "identifiable" in flags, "voice" in flags, expires)


@dataclass(frozen=True)
class Signer:
    role: SignerRole
    name: str
    # For a representative: the basis of their authority (e.g. "mother", "court order 123").
    authority: str | None = None


@dataclass(frozen=True)
class Clinician:
    name: str
    registration: str | None = None


@dataclass(frozen=True)
class Interpreter:
    name: str
    language: str


@dataclass(frozen=True)
class Recording:
    body_sites: tuple[str, ...] = ()
    face_visible: bool = False
    tattoos_visible: bool = False


@dataclass(frozen=True)
class Template:
    """Which form the patient saw: id, version, language and the SHA-256 of its exact text."""

    id: str
    version: str
    language: str
    sha256: str


@dataclass(frozen=True)
class Signature:
    """How the patient's signature was captured, bound to the document by its hash."""

    method: str  # "wet_ink_scan" or "electronic"
    signed_at: datetime
    signed_by: str
    document_sha256: str


@dataclass(frozen=True)
class ConsentRecord:
    id: str
    version: int
    status: Status
    patient_ref: str
    signer: Signer
    clinician: Clinician | None
    template: Template
    recording: Recording
    grants: tuple[Grant, ...]
    created_at: datetime
    patient_name: str | None = None
    birth_date: date | None = None
    witness: str | None = None
    interpreter: Interpreter | None = None
    signature: Signature | None = None
    supersedes: str | None = None
    superseded_by: str | None = None
    void_reason: str | None = None

    def grant_for(self, purpose: Purpose) -> Grant | None:
        for grant in self.grants:
            if grant.purpose == purpose:
                return grant
        return None

    # The state rules live in consent/state.py (one place); these delegate to them, imported
    # when called because state.py imports this module.
    def came_of_age(self, today: date) -> bool:
        """True when a parent/guardian signed for a minor who has since turned 18."""
        from consentclip.consent import state  # here: state.py imports this module

        return state.came_of_age(self, today)

    def state_on(self, today: date) -> State:
        from consentclip.consent import state  # here: state.py imports this module

        return state.state_of(self, today)

    @property
    def state(self) -> State:
        """The state today, by the registry's clock."""
        from consentclip.consent import state  # here: state.py imports this module

        return state.state_of(self, state.today())

    def with_grants(self, grants: tuple[Grant, ...]) -> ConsentRecord:
        return replace(self, grants=grants)

    # --- canonical form: what the clinic key signs --------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)

    def canonical_bytes(self) -> bytes:
        """Deterministic JSON of every field; a change to any field changes the signature."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":")).encode()

    def sha256(self) -> str:
        return hashlib.sha256(self.canonical_bytes()).hexdigest()


@dataclass(frozen=True)
class IntegrityReport:
    ok: bool
    problems: list[str] = field(default_factory=list)
    checked: int = 0


def age_on(birth: date, today: date) -> int:
    years = today.year - birth.year
    if (today.month, today.day) < (birth.month, birth.day):
        years -= 1
    return years


def parse_date(text: str, *, what: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"{what} '{text}' is not a date; use YYYY-MM-DD") from None
