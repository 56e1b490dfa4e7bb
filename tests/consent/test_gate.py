"""The export gate: every rule, in the order of docs/domain.md §1.6, and what exporters read."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone

import pytest

from consentclip.consent.gate import RULES, GateRequest, evaluate
from consentclip.consent.records import (
    ConsentRecord,
    Grant,
    Purpose,
    Recording,
    Signature,
    Signer,
    SignerRole,
    State,
    Status,
    Template,
)

TODAY = date(2026, 6, 1)
WHEN = datetime(2026, 1, 1, tzinfo=timezone.utc)


def record(*grants: Grant, **changes: object) -> ConsentRecord:
    base = ConsentRecord(
        id="C-7K2M",
        version=2,
        status=Status.SIGNED,
        patient_ref="P1",
        signer=Signer(SignerRole.PATIENT, "Ann"),
        clinician=None,
        template=Template("derm-video-photo", "1.0", "en", "0" * 64),
        recording=Recording(),
        grants=grants or (Grant(Purpose.TEACHING, True, False, date(2027, 1, 1)),),
        created_at=WHEN,
        signature=Signature("electronic", WHEN, "Ann", "f" * 64),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def ask(rec: ConsentRecord | None, purpose: Purpose = Purpose.TEACHING, **kw: object):
    params: dict[str, object] = {"linked": rec is not None, "today": TODAY, "integrity_ok": True}
    params.update(kw)
    return evaluate(GateRequest(record=rec, purpose=purpose, **params))  # type: ignore[arg-type]


def test_identifiable_grant_allows_without_redaction() -> None:
    d = ask(record())
    assert d.allowed and d.rule is None
    assert (d.redact_faces, d.redact_tattoos, d.keep_audio) == (False, False, False)
    assert d.grant is not None and d.grant.purpose is Purpose.TEACHING


def test_anonymised_grant_demands_redaction_and_drops_audio() -> None:
    d = ask(record(Grant(Purpose.JOURNAL, False, False, date(2027, 1, 1))), Purpose.JOURNAL)
    assert d.allowed and d.redact_faces and d.redact_tattoos and not d.keep_audio


def test_voice_grant_keeps_audio_only_when_asked() -> None:
    rec = record(Grant(Purpose.TEACHING, False, True, date(2027, 1, 1)))
    assert ask(rec, want_audio=True).keep_audio
    assert not ask(rec, want_audio=False).keep_audio


@pytest.mark.parametrize(
    ("rec", "kw", "rule", "fragment"),
    [
        (None, {}, "not_linked", "not linked"),
        (record(status=Status.DRAFT, signature=None), {}, "not_signed", "not signed"),
        (record(status=Status.VOIDED), {}, "voided", "voided"),
        (record(status=Status.SUPERSEDED, superseded_by="C-9999"), {}, "superseded", "C-9999"),
        (
            record(),
            {"integrity_ok": False, "integrity_problems": ("grant edited",)},
            "integrity",
            "grant edited",
        ),
        (
            record(),
            {"purpose": Purpose.SOCIAL_MEDIA},
            "not_granted",
            "consent C-7K2M has no grant for social_media; grants: teaching",
        ),
        (
            record(Grant(Purpose.TEACHING, True, False, date(2027, 1, 1), WHEN, "no")),
            {},
            "withdrawn",
            "withdrew teaching",
        ),
        (
            record(Grant(Purpose.TEACHING, True, False, date(2026, 5, 31))),
            {},
            "expired",
            "expired on 2026-05-31",
        ),
        (
            record(
                signer=Signer(SignerRole.GUARDIAN, "Mum", "mother"), birth_date=date(2008, 5, 1)
            ),
            {},
            "reconsent_required",
            "come of age",
        ),
        (record(), {"want_audio": True}, "voice_not_granted", "--keep-audio"),
    ],
)
def test_each_rule_refuses_with_its_id(
    rec: ConsentRecord | None, kw: dict[str, object], rule: str, fragment: str
) -> None:
    purpose = kw.pop("purpose", Purpose.TEACHING)
    d = ask(rec, purpose, **kw)  # type: ignore[arg-type]
    assert not d.allowed
    assert d.rule == rule and rule in RULES
    assert fragment in d.message
    # A refusal fails closed even if a caller ignored `allowed`.
    assert d.redact_faces and d.redact_tattoos and not d.keep_audio


def test_rules_apply_in_reference_order() -> None:
    # Voided and not granted: voided is checked first.
    assert ask(record(status=Status.VOIDED), Purpose.SOCIAL_MEDIA).rule == "voided"
    # Withdrawn and expired: withdrawal is reported.
    g = Grant(Purpose.TEACHING, True, False, date(2020, 1, 1), WHEN, "no")
    assert ask(record(g)).rule == "withdrawn"


def test_expiry_date_is_the_last_valid_day() -> None:
    rec = record(Grant(Purpose.TEACHING, True, False, TODAY))
    assert ask(rec).allowed


def test_guardian_consent_holds_until_the_eighteenth_birthday() -> None:
    rec = record(signer=Signer(SignerRole.PARENT, "Dad", "father"), birth_date=date(2008, 6, 2))
    assert rec.state_on(TODAY) is State.SIGNED
    assert ask(rec).allowed
    assert rec.state_on(date(2026, 6, 2)) is State.RECONSENT_REQUIRED
    assert ask(rec, today=date(2026, 6, 2)).rule == "reconsent_required"


def test_states_derived_from_grants() -> None:
    a = Grant(Purpose.TEACHING, True, False, date(2027, 1, 1))
    b = Grant(Purpose.JOURNAL, False, False, date(2027, 1, 1))
    assert record(a, b).state_on(TODAY) is State.SIGNED
    withdrawn_a = replace(a, withdrawn_at=WHEN, withdrawal_reason="x")
    assert record(withdrawn_a, b).state_on(TODAY) is State.PARTIALLY_WITHDRAWN
    withdrawn_b = replace(b, withdrawn_at=WHEN, withdrawal_reason="x")
    assert record(withdrawn_a, withdrawn_b).state_on(TODAY) is State.WITHDRAWN
    assert record(status=Status.DRAFT).state_on(TODAY) is State.DRAFT
