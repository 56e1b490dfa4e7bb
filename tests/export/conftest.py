"""Fixtures for export and batch tests: a real initialised consent home and real signed consents.

Consents are made through the registry's own API (create + sign), the same calls the
``consent`` commands make; nothing here bypasses signing or the audit chain.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest

from consentclip import scanread
from consentclip.consent import templates
from consentclip.consent.records import Grant, Purpose, Signer, SignerRole
from consentclip.consent.registry import NewConsent, Registry
from consentclip.home import Home

SIGNATURE_PNG = (
    Path(__file__).resolve().parents[2] / "sample_media" / "signatures" / "sample-signature.png"
)

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
    and minors who have since come of age are real records, not clock tricks. Signing is the
    real electronic signature: a signed PDF is rendered and kept in the home by its hash.
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
        signer = signer or Signer(SignerRole.PATIENT, PATIENT_NAME)
        with Registry.open(registry_home) as registry:
            new = NewConsent(
                patient_ref=PATIENT_REF,
                signer=signer,
                grants=_grants(specs or ("teaching",), expires),
                template=templates.load("derm-video-photo", "en", registry_home).ref,
                patient_name=PATIENT_NAME,
                birth_date=birth_date,
                supersedes=supersedes,
            )
            record = registry.create(new, today=created)
        if signed:
            scanread.sign_electronically(
                home=registry_home,
                consent_id=record.id,
                signature_image=SIGNATURE_PNG,
                signed_by=signer.name,
            )
        return record.id

    return _make


@pytest.fixture
def purpose() -> Purpose:
    return Purpose.TEACHING


@pytest.fixture
def no_review_required(registry_home: Home) -> Home:
    """A clinic that lets every purpose export without an approved review (clinic.toml), for
    tests about the consent gate and the engine rather than the review step."""
    registry_home.settings_path.write_text("[review]\nrequired_for = []\n", encoding="utf-8")
    return registry_home
