"""The plain, keyword-only functions behind ``consentclip audit ...``: each opens the registry,
does one thing and returns what the CLI prints."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from consentclip.consent import anchor
from consentclip.consent.audit import AuditEntry
from consentclip.consent.records import IntegrityReport
from consentclip.consent.registry import Reanchored, Registry
from consentclip.home import Home


@dataclass(frozen=True)
class AnchorReport:
    """Where the audit head is kept outside the database, what each place holds (None: nothing
    yet), and every way the registry disagrees with them."""

    anchors: tuple[tuple[Path, anchor.Anchor | None], ...]
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def entries(
    *, home: Home, consent_id: str | None = None, limit: int | None = None
) -> list[AuditEntry]:
    """Audit entries, oldest first; only the newest ``limit`` when given."""
    with Registry.open(home) as registry:
        found = registry.audit_entries(consent_id)
    return found[-limit:] if limit is not None else found


def verify(*, home: Home) -> IntegrityReport:
    """The hash chain and its signed head."""
    with Registry.open(home) as registry:
        return registry.verify_audit()


def anchors(*, home: Home) -> AnchorReport:
    # Opened without the anchor check: reporting a disagreement is this function's job.
    with Registry.open(home, check_anchor=False) as registry:
        problems = registry.anchor_problems()
        rows = tuple((path, anchor.read_quietly(path)) for path in anchor.locations(home))
    return AnchorReport(rows, tuple(problems))


def reanchor(*, home: Home, reason: str) -> Reanchored:
    with Registry.open(home, check_anchor=False) as registry:
        return registry.reanchor(reason=reason)
