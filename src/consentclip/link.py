"""Linking clips to consents: the clip's content hash bound to a consent id, one file at a time
or a whole shoot from a CSV. Between ``consent`` (the registry, which knows no media) and
``media`` (which decides what a file is)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from consentclip.consent.ids import normalise
from consentclip.consent.registry import ClipLink, Registry
from consentclip.errors import NotFoundError, UsageError
from consentclip.hashing import sha256_file
from consentclip.home import Home
from consentclip.media.sniff import classify


def link_clips(home: Home, pairs: Sequence[tuple[Path, str]]) -> list[ClipLink]:
    """Link each (clip, consent id) by the SHA-256 of the clip's content.

    Every file is checked to be readable media and every consent id to exist before the first
    link is written, so a typo in row 40 of a CSV does not leave rows 1-39 linked. The registry
    refuses unsigned, withdrawn and voided consents (ConsentRefused).
    """
    prepared: list[tuple[str, str, str, str]] = []
    for path, consent_id in pairs:
        kind = classify(Path(path))
        prepared.append(
            (normalise(consent_id), sha256_file(Path(path)), Path(path).name, kind.value)
        )
    with Registry.open(home) as registry:
        for consent_id in dict.fromkeys(cid for cid, *_ in prepared):
            registry.get(consent_id)
        # One transaction: a refusal in any row leaves none of them linked.
        return registry.link_many(prepared)


def read_link_csv(path: Path) -> list[tuple[Path, str]]:
    """``path,consent_id`` rows (a header row is allowed); relative paths are taken from the
    CSV's own folder, so a shoot's CSV can travel with its folder."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise NotFoundError(f"cannot read {path}: {exc.strerror or exc}") from exc
    pairs: list[tuple[Path, str]] = []
    # The reader sees the whole text, not split lines: a quoted path may hold a newline.
    reader = csv.reader(io.StringIO(text, newline=""))
    for row in reader:
        number = reader.line_num
        cells = [c.strip() for c in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if number == 1 and [c.lower() for c in cells[:2]] == ["path", "consent_id"]:
            continue
        if len(cells) != 2 or not all(cells):
            raise UsageError(f"{Path(path).name} line {number}: expected 'path,consent_id'")
        clip = Path(cells[0]).expanduser()
        if not clip.is_absolute():
            clip = Path(path).parent / clip
        pairs.append((clip, cells[1]))
    if not pairs:
        raise UsageError(f"{Path(path).name} has no 'path,consent_id' rows")
    return pairs


def list_links(home: Home, consent_id: str | None = None) -> list[ClipLink]:
    """Every link, or one consent's, in order."""
    with Registry.open(home) as registry:
        return registry.list_links(normalise(consent_id) if consent_id else None)
