"""One line of `consentclip doctor`: a named check, whether it passed, and what was seen."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    # A risk that does not stop the work (doctor prints WARN; the verdict stays "ready").
    warning: bool = False
