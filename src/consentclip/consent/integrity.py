"""Naming what changed when a record no longer matches its signature."""

from __future__ import annotations

from typing import Any


def changed_fields(signed: dict[str, Any], current: dict[str, Any], prefix: str = "") -> list[str]:
    """Human names for the fields that differ from the last signed version."""
    out: list[str] = []
    if prefix == "" and "grants" in signed and "grants" in current:
        before = {g["purpose"]: g for g in signed["grants"]}
        after = {g["purpose"]: g for g in current["grants"]}
        for purpose in sorted(set(before) | set(after)):
            if purpose not in after:
                out.append(f"grant {purpose} was deleted")
            elif purpose not in before:
                out.append(f"grant {purpose} was added")
            else:
                for name in sorted(set(before[purpose]) | set(after[purpose])):
                    b, a = before[purpose].get(name), after[purpose].get(name)
                    if b != a:
                        out.append(f"grant {purpose} {name} changed ({b} -> {a})")
        signed = {k: v for k, v in signed.items() if k != "grants"}
        current = {k: v for k, v in current.items() if k != "grants"}
    for name in sorted(set(signed) | set(current)):
        b, a = signed.get(name), current.get(name)
        if b == a:
            continue
        if isinstance(b, dict) and isinstance(a, dict):
            out += changed_fields(b, a, prefix=f"{prefix}{name}.")
        else:
            out.append(f"{prefix}{name} changed ({b} -> {a})")
    return out
