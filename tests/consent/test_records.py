"""Ids and the parsing of what people type after --grant."""

from __future__ import annotations

from datetime import date

import pytest

from consentclip.consent import ids
from consentclip.consent.records import Grant, Purpose
from consentclip.errors import UsageError


def test_ids_are_short_and_unambiguous() -> None:
    made = {ids.new_id() for _ in range(2000)}
    assert len(made) > 1990  # 810,000 possible ids: collisions are rare (the registry retries)
    for cid in made:
        assert len(cid) == 6 and cid.startswith("C-")
        assert not set(cid[2:]) & set("01ILOU")


@pytest.mark.parametrize("typed", ["C-7K2M", "c-7k2m", "C7K2M", " c 7k2m ", "7K2M"])
def test_ids_normalise_what_people_type(typed: str) -> None:
    assert ids.normalise(typed) == "C-7K2M"


@pytest.mark.parametrize("bad", ["C-7K2O", "C-", "hello", "C-7K", "C-7K2M; DROP TABLE"])
def test_bad_ids_are_refused(bad: str) -> None:
    with pytest.raises(UsageError, match="not a consent id"):
        ids.normalise(bad)


def test_qr_payload_round_trip_and_foreign_codes() -> None:
    assert ids.parse_qr_payload(ids.qr_payload("C-7K2M")) == "C-7K2M"
    assert ids.parse_qr_payload("https://example.org/C-7K2M") is None


def test_grant_spec_parsing() -> None:
    default = date(2030, 1, 1)
    g = Grant.parse("teaching", default)
    assert (g.purpose, g.identifiable, g.voice, g.expires) == (
        Purpose.TEACHING,
        False,
        False,
        default,
    )
    g = Grant.parse("Journal:identifiable:voice@2028-02-29", default)
    assert (g.purpose, g.identifiable, g.voice, g.expires) == (
        Purpose.JOURNAL,
        True,
        True,
        date(2028, 2, 29),
    )
    g = Grant.parse("public-web:voice", default)
    assert g.purpose is Purpose.PUBLIC_WEB and g.voice and not g.identifiable


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("tiktok", "unknown purpose 'tiktok'; purposes: clinical_record"),
        ("teaching:loud", "unknown grant option 'loud'"),
        ("teaching@2028-13-01", "is not a date"),
    ],
)
def test_bad_grant_specs(spec: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        Grant.parse(spec, date(2030, 1, 1))


def test_grant_without_any_expiry_is_refused() -> None:
    with pytest.raises(UsageError, match="no expiry"):
        Grant.parse("teaching", None)
