"""Fixtures for export and batch tests: a real initialised consent home and real signed consents.

Consents are made through the registry's own API (create + sign), the same calls the
``consent`` commands make; nothing here bypasses signing or the audit chain.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone

import pytest

from consentclip.consent.records import (
    Grant,
    Purpose,
    Signature,
    Signer,
    SignerRole,
    Template,
)
from consentclip.consent.registry import NewConsent, Registry
from consentclip.home import Home

# The patient's reference and name: the tests assert they never reach a manifest or report.
PATIENT_REF = "MRN-0042-SECRET"
PATIENT_NAME = "Jane Quixote Doe"


def _grants(specs: tuple[str, ...], expires: date) -> tuple[Grant, ...]:
    return tuple(Grant.parse(spec, expires) for spec in specs)


@pytest.fixture
def registry_home(home: Home) -> Home:
    Registry.initialise(home)
    return home


@pytest.fixture
def make_consent(registry_home: Home) -> Callable[..., str]:
    """``make_consent("teaching", "conference:identifiable:voice", signed=True)`` -> consent id.

    ``created`` backdates creation (the registry validates against that day), so expired grants
    and minors who have since come of age are real records, not clock tricks.
    """

    def _make(
        *specs: str,
        signed: bool = True,
        expires: date | None = None,
        created: date | None = None,
        signer: Signer | None = None,
        birth_date: date | None = None,
        supersedes: str | None = None,
    ) -> str:
        created = created or date.today()
        expires = expires or created + timedelta(days=365)
        new = NewConsent(
            patient_ref=PATIENT_REF,
            signer=signer or Signer(SignerRole.PATIENT, PATIENT_NAME),
            grants=_grants(specs or ("teaching",), expires),
            template=Template("derm-video", "1", "en", hashlib.sha256(b"form text").hexdigest()),
            patient_name=PATIENT_NAME,
            birth_date=birth_date,
            supersedes=supersedes,
        )
        with Registry.open(registry_home) as registry:
            record = registry.create(new, today=created)
            if signed:
                registry.sign(
                    record.id,
                    Signature(
                        method="electronic",
                        signed_at=datetime.now(timezone.utc),
                        signed_by=PATIENT_NAME,
                        document_sha256=hashlib.sha256(record.id.encode()).hexdigest(),
                    ),
                )
        return record.id

    return _make


@pytest.fixture
def purpose() -> Purpose:
    return Purpose.TEACHING
