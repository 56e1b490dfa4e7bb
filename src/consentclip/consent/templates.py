"""Consent form templates: TOML data shipped as package data in ``consent/form_templates/``
(format in its README), read with ``importlib.resources`` so an installed wheel finds them.

A template is named ``<id>.<language>.toml``. Its SHA-256 (of the exact bytes) is stored with
every consent made from it, so the text a patient saw can be proven later, and a form is never
printed from a template that changed since the consent was created.
"""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from consentclip.consent.records import Purpose, SignerRole, Template
from consentclip.errors import IntegrityError, NotFoundError, UsageError
from consentclip.home import Home

if sys.version_info >= (3, 11):
    from importlib.resources.abc import Traversable

    import tomllib
else:  # pragma: no cover - Python 3.10
    from importlib.abc import Traversable

    import tomli as tomllib

DEFAULT_TEMPLATE = "derm-video-photo"
TEMPLATES_ENV = "CONSENTCLIP_TEMPLATES"
HEADINGS = (
    "patient",
    "recorded",
    "purposes",
    "audiences",
    "storage",
    "expiry",
    "withdrawal",
    "refusal",
    "signatures",
    "verification",
)
TEXTS = (
    "recorded",
    "purposes",
    "audiences",
    "storage",
    "expiry",
    "withdrawal",
    "refusal",
    "declaration",
)
LABELS = (
    "consent_id",
    "form",
    "language",
    "patient_name",
    "patient_ref",
    "birth_date",
    "signer",
    "role",
    "authority",
    "body_sites",
    "face_visible",
    "tattoos_visible",
    "yes",
    "no",
    "not_stated",
    "purpose",
    "audience",
    "identifiable",
    "anonymised",
    "voice",
    "voice_yes",
    "voice_no",
    "expires",
    "initials",
    "not_requested",
    "name",
    "signature",
    "date",
    "patient_signature",
    "representative_signature",
    "clinician_signature",
    "witness_signature",
    "interpreter_signature",
    "page",
    "template_hash",
    "signed_by",
    "signed_at",
    "method",
    "method_electronic",
    "record_hash",
    "clinic_key",
)


@dataclass(frozen=True)
class FormTemplate:
    id: str
    version: str
    language: str
    language_name: str
    title: str
    subtitle: str
    headings: dict[str, str]
    labels: dict[str, str]
    roles: dict[str, str]
    purposes: dict[str, dict[str, str]]
    texts: dict[str, str]
    sha256: str
    path: Path | Traversable  # a file on disk, or package data inside an installed wheel

    @property
    def ref(self) -> Template:
        return Template(self.id, self.version, self.language, self.sha256)


SHIPPED = "form_templates"  # package data folder beside this module


def shipped_dir() -> Traversable:
    """The templates shipped inside the package (a wheel, an sdist or a source checkout alike)."""
    return resources.files("consentclip.consent").joinpath(SHIPPED)


def search_dirs(home: Home | None) -> list[Path | Traversable]:
    """Where templates are found, first match wins: $CONSENTCLIP_TEMPLATES, the home's
    ``templates/`` (a clinic's own wording), then the templates shipped with consentclip."""
    dirs: list[Path | Traversable] = []
    env = os.environ.get(TEMPLATES_ENV)
    if env:
        dirs.append(Path(env))
    if home is not None:
        dirs.append(home.root / "templates")
    dirs.append(shipped_dir())
    return dirs


def available(home: Home | None) -> list[tuple[str, str, Path | Traversable]]:
    """(id, language, file) of every template that can be found."""
    seen: dict[tuple[str, str], Path | Traversable] = {}
    for folder in search_dirs(home):
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir(), key=lambda p: p.name):
            parts = path.name.split(".")
            if len(parts) == 3 and parts[2] == "toml" and path.is_file():
                seen.setdefault((parts[0], parts[1]), path)
    return [(tid, lang, path) for (tid, lang), path in sorted(seen.items())]


def load(name: str, language: str, home: Home | None) -> FormTemplate:
    language = language.strip().lower()
    for tid, lang, path in available(home):
        if tid == name and lang == language:
            return parse(path)
    have = sorted({f"{tid}.{lang}" for tid, lang, _ in available(home)})
    if any(tid == name for tid, _, _ in available(home)):
        langs = ", ".join(lang for tid, lang, _ in available(home) if tid == name)
        raise UsageError(f"template {name} has no '{language}' version; languages: {langs}")
    raise NotFoundError(f"no consent template '{name}'; templates: {', '.join(have) or 'none'}")


def load_for(ref: Template, home: Home | None) -> FormTemplate:
    """The exact template a consent was made from; refuses one whose text changed since."""
    template = load(ref.id, ref.language, home)
    if template.sha256 != ref.sha256:
        raise IntegrityError(
            f"template {ref.id}.{ref.language} changed since this consent was created "
            f"(was {ref.sha256[:12]}, now {template.sha256[:12]})",
            hint="restore the original template file; the patient must sign the text they saw",
        )
    return template


def parse(path: Path | Traversable) -> FormTemplate:
    raw = path.read_bytes()
    try:
        data: dict[str, Any] = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"template {path} is not valid UTF-8 TOML: {exc}") from None
    missing: list[str] = [k for k in ("id", "version", "language", "title") if k not in data]
    sections = {"headings": HEADINGS, "labels": LABELS, "text": TEXTS}
    for table, keys in sections.items():
        missing += [f"{table}.{k}" for k in keys if k not in data.get(table, {})]
    missing += [f"roles.{r.value}" for r in SignerRole if r.value not in data.get("roles", {})]
    for p in Purpose:
        entry = data.get("purposes", {}).get(p.value, {})
        missing += [f"purposes.{p.value}.{k}" for k in ("label", "audience") if k not in entry]
    if missing:
        raise UsageError(f"template {path.name} lacks {', '.join(missing[:5])}")
    return FormTemplate(
        id=str(data["id"]),
        version=str(data["version"]),
        language=str(data["language"]),
        language_name=str(data.get("language_name", data["language"])),
        title=str(data["title"]),
        subtitle=str(data.get("subtitle", "")),
        headings=dict(data["headings"]),
        labels=dict(data["labels"]),
        roles=dict(data["roles"]),
        purposes={k: dict(v) for k, v in data["purposes"].items()},
        texts=dict(data["text"]),
        sha256=hashlib.sha256(raw).hexdigest(),
        path=path,
    )


def check(home: Home | None) -> tuple[bool, str]:
    """doctor's view: every template that would be used parses, and the default form exists in
    each shipped language. (ok, one-line detail)."""
    found = available(home)
    problems: list[str] = []
    for tid, lang, path in found:
        try:
            parse(path)
        except UsageError as exc:
            problems.append(f"{tid}.{lang}: {exc.one_line()}")
    names = sorted(f"{tid}.{lang}" for tid, lang, _ in found)
    if not any(tid == DEFAULT_TEMPLATE for tid, _, _ in found):
        problems.insert(0, f"no '{DEFAULT_TEMPLATE}' template (the package data is missing)")
    if problems:
        return False, "; ".join(problems)
    own = [f"{tid}.{lang}" for tid, lang, p in found if not _is_shipped(p)]
    detail = f"{len(found)} template(s): {', '.join(names)}"
    if own:
        detail += f" (clinic's own: {', '.join(own)})"
    return True, detail


def _is_shipped(path: Path | Traversable) -> bool:
    shipped = shipped_dir()
    try:
        return Path(str(path)).parent == Path(str(shipped))
    except (TypeError, ValueError):
        return False
