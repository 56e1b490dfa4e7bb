"""Assemble docs/benchmarks.md from the summary below and the per-area results that each
benchmark in bench/ writes to bench/results/<area>.md.

    .venv/bin/python scripts/collect_benchmarks.py
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
SUMMARY = ROOT / "docs" / "benchmarks-summary.md"
# Real material first, then the generated benchmarks; any results file not named here follows.
ORDER = [
    "real_faces",
    "closeup_faces",
    "face_parts",
    "real_skin",
    "real_lesions",
    "real_tattoo_scenes",
    "real_tattoos",
    "real_text",
    "leak",
    "engine",
    "engine_ab",
    "dim_scenes",
    "tattoos",
    "text",
    "batch",
    "cluster",
    "consent",
    "registry",
    "scan",
    "scan_signatures",
    "hardening",
    "review",
    "people",
    "qa_decode",
]


def demote(markdown: str) -> str:
    """Push every heading one level down so each results file nests under its section."""
    lines = []
    fenced = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        lines.append("#" + line if line.startswith("#") and not fenced else line)
    return "\n".join(lines)


def main() -> None:
    parts = [SUMMARY.read_text().rstrip(), ""]
    others = sorted(p.stem for p in RESULTS.glob("*.md") if p.stem not in ORDER)
    for name in [*ORDER, *others]:
        path = RESULTS / f"{name}.md"
        if path.exists():
            parts += [demote(path.read_text()).rstrip(), ""]
    parts.append(
        f"_Assembled by `scripts/collect_benchmarks.py` on a machine with nproc={os.cpu_count()}._"
    )
    (ROOT / "docs" / "benchmarks.md").write_text("\n".join(parts) + "\n")


if __name__ == "__main__":
    main()
