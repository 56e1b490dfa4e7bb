"""The clinic's settings, from ``clinic.toml`` in the consent home: what consent forms print."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from consentclip.consent.records import Purpose
from consentclip.errors import HomeError, UsageError
from consentclip.home import Home

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


def read_settings(home: Home) -> dict[str, Any] | None:
    """The home's ``clinic.toml`` as a table, None when there is none. The one reader: each
    part (the clinic, [review], [audit], the database URL, the anchors) takes its own keys."""
    path = home.settings_path
    if not path.exists():
        return None
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise HomeError(f"{path} cannot be read: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise HomeError(f"{path} is not valid TOML: {exc}") from None


DEFAULT_TOML = """\
# Printed on every consent form. Edit to match your clinic.
# The language the texts below are written in.
language = "en"
name = "Example Dermatology Clinic"
address = "1 Example Street, Example City"
phone = ""
# Who patients contact to withdraw consent (email, phone or desk).
withdraw_contact = "the clinic reception or privacy@example.org"
# Years the signed consent is kept (HIPAA asks for at least 6).
retention_years = 6
# Optional logo (PNG/JPEG), relative to this file's folder.
logo = ""
# Paper size of printed forms: "A4" or "letter".
paper = "A4"

# The same texts for forms in other languages. A form in a language that has no table here is
# not printed: a Spanish or Russian form must not carry English contact details.
[languages.es]
name = "Clínica Dermatológica de Ejemplo"
address = "Calle Ejemplo 1, Ciudad Ejemplo"
withdraw_contact = "la recepción de la clínica o privacy@example.org"

[languages.ru]
name = "Дерматологическая клиника «Пример»"
address = "ул. Примерная, 1, г. Пример"
withdraw_contact = "регистратуру клиники или privacy@example.org"

[review]
# Purposes whose exports need a clinician's approved review first ('consentclip review open').
required_for = ["conference", "journal", "public_web", "social_media"]
# When true, the person exporting may not be the one who approved the review.
approver_must_differ = false
"""
PAPERS = ("A4", "letter")
# What a form in another language must have from [languages.<code>]; the name and phone may be
# shared (a proper name and digits), but an address and a contact are sentences.
LOCALISED = ("address", "withdraw_contact")

# Outside the clinic, material is seen by people who may know the patient: a human checks it.
DEFAULT_REVIEW_PURPOSES = frozenset(
    {Purpose.CONFERENCE, Purpose.JOURNAL, Purpose.PUBLIC_WEB, Purpose.SOCIAL_MEDIA}
)


@dataclass(frozen=True)
class ReviewPolicy:
    """Which exports need an approved review, and whether approver and exporter must differ."""

    required_for: frozenset[Purpose] = DEFAULT_REVIEW_PURPOSES
    approver_must_differ: bool = False

    def requires(self, purpose: Purpose) -> bool:
        return purpose in self.required_for

    @classmethod
    def load(cls, home: Home) -> ReviewPolicy:
        """Only the [review] table: an export must not fail over, say, a missing logo."""
        data = read_settings(home)
        return cls() if data is None else cls.from_dict(data.get("review", {}), home.settings_path)

    @classmethod
    def from_dict(cls, data: object, where: Path) -> ReviewPolicy:
        if not isinstance(data, dict):
            raise HomeError(f"[review] in {where} must be a table")
        names = data.get("required_for", [p.value for p in DEFAULT_REVIEW_PURPOSES])
        if not isinstance(names, list):
            raise HomeError(f"review.required_for in {where} must be a list of purposes")
        try:
            purposes = frozenset(Purpose.parse(str(n)) for n in names)
        except UsageError as exc:
            raise HomeError(f"review.required_for in {where}: {exc.message}") from None
        differ = data.get("approver_must_differ", False)
        if not isinstance(differ, bool):
            raise HomeError(f"review.approver_must_differ in {where} must be true or false")
        return cls(purposes, differ)


@dataclass(frozen=True)
class Clinic:
    name: str
    address: str
    phone: str = ""
    withdraw_contact: str = ""
    retention_years: int = 6
    logo: Path | None = None
    paper: str = "A4"
    language: str = "en"  # the language of the texts above
    # Other languages' texts: code -> {name, address, phone, withdraw_contact}.
    languages: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
    source: str = "clinic.toml"

    def for_language(self, language: str) -> Clinic:
        """The clinic's texts for a form in ``language``; refuses rather than mix languages."""
        language = language.strip().lower()
        if language == self.language:
            return self
        table = dict(dict(self.languages).get(language, ()))
        missing = [k for k in LOCALISED if not table.get(k) and getattr(self, k)]
        if missing:
            raise HomeError(
                f"{self.source} has no {', '.join(missing)} in language '{language}' "
                f"(its texts are in '{self.language}')",
                hint=f"add a [languages.{language}] table with {' and '.join(LOCALISED)}",
            )
        return replace(
            self,
            name=table.get("name") or self.name,
            address=table.get("address", ""),
            phone=table.get("phone") or self.phone,
            withdraw_contact=table.get("withdraw_contact", ""),
            language=language,
        )

    review: ReviewPolicy = field(default_factory=ReviewPolicy)

    @classmethod
    def load(cls, home: Home) -> Clinic:
        data = read_settings(home)
        return cls.from_dict(tomllib.loads(DEFAULT_TOML) if data is None else data, home)

    @classmethod
    def from_dict(cls, data: dict[str, object], home: Home) -> Clinic:
        logo_text = str(data.get("logo") or "")
        logo = (home.root / logo_text) if logo_text else None
        if logo is not None and not logo.is_file():
            raise HomeError(
                f"clinic logo {logo} does not exist", hint=f"fix 'logo' in {home.settings_path}"
            )
        try:
            retention = int(data.get("retention_years", 6))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise HomeError(f"retention_years in {home.settings_path} must be a number") from None
        paper = str(data.get("paper") or "A4")
        match = {p.lower(): p for p in PAPERS}.get(paper.lower())
        if match is None:
            raise HomeError(f"paper in {home.settings_path} must be A4 or letter, not '{paper}'")
        languages = data.get("languages") or {}
        if not isinstance(languages, dict) or not all(
            isinstance(v, dict) for v in languages.values()
        ):
            raise HomeError(f"[languages] in {home.settings_path} must hold one table per code")
        return cls(
            paper=match,
            language=str(data.get("language") or "en").strip().lower(),
            languages=tuple(
                (code.strip().lower(), tuple((str(k), str(v)) for k, v in table.items()))
                for code, table in sorted(languages.items())
            ),
            source=str(home.settings_path),
            name=str(data.get("name") or "Clinic"),
            address=str(data.get("address") or ""),
            phone=str(data.get("phone") or ""),
            withdraw_contact=str(data.get("withdraw_contact") or "the clinic"),
            retention_years=retention,
            logo=logo,
            review=ReviewPolicy.from_dict(data.get("review", {}), home.settings_path),
        )


def write_default(home: Home) -> bool:
    """Write a starter clinic.toml unless one exists. True when written."""
    if home.settings_path.exists():
        return False
    home.settings_path.write_text(DEFAULT_TOML, encoding="utf-8")
    return True
