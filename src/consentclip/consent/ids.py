"""Consent ids: short, unambiguous, easy to read aloud over the phone and to type.

``C-7K2M``: a fixed prefix and four characters from a Crockford-like alphabet with the
look-alikes removed (no 0/O, 1/I/L, U), so a clinician reading a printed form cannot confuse
them. 4 characters give 810,000 ids; the registry retries on collision and grows the length
when a length is getting crowded.
"""

from __future__ import annotations

import re
import secrets

from consentclip.errors import UsageError

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
PREFIX = "C-"
DEFAULT_LENGTH = 4
_PATTERN = re.compile(rf"^C-[{ALPHABET}]{{4,8}}$")
# What people type when they misread the form: map it back instead of failing.
_CONFUSABLES = str.maketrans({"O": "0", "I": "1", "L": "1"})


def new_id(length: int = DEFAULT_LENGTH) -> str:
    return PREFIX + "".join(secrets.choice(ALPHABET) for _ in range(length))


def normalise(text: str) -> str:
    """Accept ``c-7k2m``, ``C7K2M`` and ``c 7k2m``; return the canonical ``C-7K2M``.

    Raises UsageError for anything that cannot be a consent id.
    """
    compact = re.sub(r"[\s\-_]", "", text.strip().upper())
    if compact.startswith("C"):
        compact = compact[1:]
    candidate = PREFIX + compact
    if not _PATTERN.match(candidate):
        confusable = compact.translate(_CONFUSABLES)
        hint = (
            " (0, 1, I, L, O and U are never used)"
            if confusable != compact or "U" in compact
            else ""
        )
        raise UsageError(f"'{text}' is not a consent id; ids look like C-7K2M{hint}")
    return candidate


def qr_payload(consent_id: str) -> str:
    """What the QR code on a form encodes. Namespaced so a stray QR code is not taken for ours."""
    return f"consentclip:{consent_id}"


def parse_qr_payload(payload: str) -> str | None:
    """The consent id in a QR payload, or None when the code is not one of ours."""
    if not payload.startswith("consentclip:"):
        return None
    try:
        return normalise(payload.split(":", 1)[1])
    except UsageError:
        return None
