"""A new consent as collected from the clinician, and the rules it must meet before it is stored."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from consentclip.consent.records import (
    AGE_OF_MAJORITY,
    Clinician,
    Grant,
    Interpreter,
    Purpose,
    Recording,
    Signer,
    SignerRole,
    Template,
    age_on,
)
from consentclip.errors import UsageError


@dataclass(frozen=True)
class NewConsent:
    """Everything ``consent new`` collects; the registry assigns id, version and state."""

    patient_ref: str
    signer: Signer
    grants: tuple[Grant, ...]
    template: Template
    recording: Recording = field(default_factory=Recording)
    clinician: Clinician | None = None
    patient_name: str | None = None
    birth_date: date | None = None
    witness: str | None = None
    interpreter: Interpreter | None = None
    supersedes: str | None = None


def validate_new(new: NewConsent, today: date) -> None:
    if not new.patient_ref.strip():
        raise UsageError("a consent needs the clinic's patient reference", option="patient_ref")
    if not new.grants:
        raise UsageError("a consent needs at least one grant", option="grants")
    seen: set[Purpose] = set()
    for grant in new.grants:
        if grant.purpose in seen:
            raise UsageError(f"purpose {grant.purpose.value} is granted twice; give it once")
        seen.add(grant.purpose)
        if grant.expires < today:
            raise UsageError(
                f"the {grant.purpose.value} grant expires {grant.expires.isoformat()}, "
                "which is in the past"
            )
    if not new.signer.name.strip():
        raise UsageError("the signer needs a name", option="signer_name")
    if new.birth_date is not None and new.birth_date > today:
        raise UsageError(f"birth date {new.birth_date.isoformat()} is in the future")
    if new.signer.role.signs_for_minor:
        if new.birth_date is None:
            raise UsageError(
                f"a {new.signer.role.value} signs for a minor: give the patient's birth-date "
                "so the consent can lapse when they come of age",
                option="birth_date",
            )
        if age_on(new.birth_date, today) >= AGE_OF_MAJORITY:
            raise UsageError(
                f"the patient is {age_on(new.birth_date, today)}, an adult: they sign themselves "
                "(as patient) or through a legal_representative",
                option="signer_role",
            )
    minor = new.birth_date is not None and age_on(new.birth_date, today) < AGE_OF_MAJORITY
    if new.signer.role is SignerRole.PATIENT and minor:
        raise UsageError("the patient is a minor: a parent or guardian signs", option="signer_role")
    if new.signer.role is SignerRole.LEGAL_REPRESENTATIVE and not new.signer.authority:
        raise UsageError(
            "a legal_representative must state their authority", option="signer_authority"
        )
