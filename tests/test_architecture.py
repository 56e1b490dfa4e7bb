"""The package boundaries of docs/architecture.md, read from the source's import statements.

Parsed with ``ast``, nothing imported: a function-level import counts as much as one at the
top. The "may import" table in docs/architecture.md is compared with ``MAY_IMPORT`` below, and
its folder tree with the package on disk, so the page cannot drift from the code either.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "consentclip"
DOC = SRC.parents[1] / "docs" / "architecture.md"

# Small modules every layer may use: errors, plain types and settings, file and hash helpers.
FOUNDATION = frozenset(
    {
        "__init__.py",
        "atomic.py",
        "detect/regions.py",
        "errors.py",
        "hashing.py",
        "health.py",
        "home.py",
        "image_budget.py",
        "jsonable.py",
        "progress.py",
        "settings.py",
        "signals.py",
    }
)

# unit -> the other units it may import. A unit is a package ("media/") or a top-level module
# ("export.py"); detect/regions.py is a unit of its own because every layer shares its types.
MAY_IMPORT: dict[str, frozenset[str]] = {
    "__init__.py": frozenset(),
    "atomic.py": frozenset(),
    "errors.py": frozenset(),
    "health.py": frozenset(),
    "home.py": frozenset(),
    "jsonable.py": frozenset(),
    "progress.py": frozenset(),
    "signals.py": frozenset(),
    "hashing.py": frozenset({"errors.py"}),
    "image_budget.py": frozenset({"errors.py"}),
    "detect/regions.py": frozenset({"errors.py"}),
    "settings.py": frozenset({"detect/regions.py"}),
    "consent/": frozenset(
        {"atomic.py", "errors.py", "hashing.py", "health.py", "home.py", "jsonable.py"}
    ),
    "media/": FOUNDATION,
    "detect/": FOUNDATION,
    "redact/": FOUNDATION,
    "pipeline.py": FOUNDATION | {"detect/", "media/", "redact/"},
    "qa/": FOUNDATION | {"media/", "redact/"},
    "scanread.py": FOUNDATION | {"consent/", "media/"},
    "link.py": FOUNDATION | {"consent/", "media/"},
    "preview.py": FOUNDATION | {"pipeline.py"},
    "export.py": FOUNDATION | {"consent/", "media/", "pipeline.py", "qa/", "review/"},
    "review/": FOUNDATION
    | {"batch.py", "consent/", "detect/", "export.py", "media/", "pipeline.py", "redact/"},
    "batch.py": FOUNDATION | {"cluster.py", "consent/", "detect/", "export.py", "media/"},
    "cluster.py": FOUNDATION | {"batch.py", "consent/", "detect/", "export.py"},
    "__main__.py": frozenset({"cli/"}),
}
UNITS = frozenset(MAY_IMPORT) | {"cli/"}
MAY_IMPORT["cli/"] = UNITS - {"cli/", "__main__.py"}  # the commands may call anything below

# Third-party packages only some units may import (a path ending in "/" is a package).
ONLY_IN: dict[str, tuple[str, ...]] = {
    "mediapipe": ("detect/",),
    "reportlab": ("consent/pdf.py", "qa/sheet.py"),
    "distributed": ("cluster.py",),
    "dask": ("cluster.py",),
    "typer": ("cli/",),
    "starlette": ("review/server.py",),
    "uvicorn": ("review/server.py",),
}
# consent/ knows no pixels: no decoder, no array, no rasteriser.
PIXEL_LIBRARIES = frozenset({"cv2", "numpy", "PIL", "pypdfium2", "pillow_heif", "mediapipe"})

# Where a function-level import needs no comment: nowhere now (kept for a file in transition).
LAZY_RULE_EXEMPT: tuple[str, ...] = ()


@dataclass(frozen=True)
class Import:
    file: str  # relative to src/consentclip, e.g. "media/raster.py"
    line: int
    module: str  # the imported module, absolute ("consentclip.media.photo", "cv2")
    top_level: bool  # at module level (TYPE_CHECKING blocks and try/except included)
    commented: bool  # a comment on or just above it, or above its group (why it is lazy)


def unit_of_path(rel: str) -> str:
    if rel == "detect/regions.py":
        return rel
    head, sep, _ = rel.partition("/")
    return f"{head}/" if sep else head


def unit_of_module(module: str) -> str:
    parts = module.split(".")[1:]
    if not parts:
        return "__init__.py"
    if parts[:2] == ["detect", "regions"]:
        return "detect/regions.py"
    if (SRC / parts[0]).is_dir():
        return f"{parts[0]}/"
    if (SRC / f"{parts[0]}.py").is_file():
        return f"{parts[0]}.py"
    return "__init__.py"  # a name defined in consentclip/__init__.py (__version__)


def imports() -> Iterator[Import]:
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        tree = ast.parse(text)
        top = {id(node) for node in _module_level(tree.body)}
        said: set[int] = set()  # last lines of commented imports: the next one in a group shares it
        nodes = [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
        for node in sorted(nodes, key=lambda n: n.lineno):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif not node.level and node.module:
                names = [node.module]
                if node.module == "consentclip":
                    names = [f"consentclip.{alias.name}" for alias in node.names]
            else:
                continue
            above = lines[node.lineno - 2].strip() if node.lineno > 1 else ""
            commented = (
                "#" in lines[node.lineno - 1] or above.startswith("#") or node.lineno - 1 in said
            )
            if commented:
                said.add(node.end_lineno or node.lineno)
            for name in names:
                yield Import(rel, node.lineno, name, id(node) in top, commented)


def _module_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    for node in body:
        yield node
        if isinstance(node, ast.If | ast.Try):  # if TYPE_CHECKING:, try: import tomllib
            nested = [*node.body, *node.orelse]
            if isinstance(node, ast.Try):
                nested += [s for handler in node.handlers for s in handler.body]
            yield from _module_level(nested)


def test_every_file_belongs_to_a_unit() -> None:
    files = {p.relative_to(SRC).as_posix() for p in SRC.rglob("*.py")}
    assert {unit_of_path(f) for f in files} == UNITS


def test_units_import_only_what_the_architecture_allows() -> None:
    broken = sorted(
        f"{i.file}:{i.line} imports {i.module}"
        for i in imports()
        if i.module.startswith("consentclip")
        and unit_of_module(i.module) != unit_of_path(i.file)
        and unit_of_module(i.module) not in MAY_IMPORT[unit_of_path(i.file)]
    )
    assert not broken, "\n".join(broken)


def test_export_asks_review_only_for_the_approval() -> None:
    """export -> review is the one edge that points up: export.decide asks review.approval for
    the approval of a clip, which review's own modules reach through export (a cycle broken by
    function-level imports, each saying so)."""
    reached = {
        i.module
        for i in imports()
        if i.file == "export.py" and i.module.startswith("consentclip.review")
    }
    assert reached <= {"consentclip.review.approval"}


@pytest.mark.parametrize("library", sorted(ONLY_IN))
def test_third_party_packages_stay_where_they_belong(library: str) -> None:
    allowed = ONLY_IN[library]
    outside = sorted(
        f"{i.file}:{i.line}"
        for i in imports()
        if i.module.split(".")[0] == library and not i.file.startswith(allowed)
    )
    assert not outside, f"{library} imported outside {allowed}: {outside}"


def test_consent_knows_no_pixels() -> None:
    found = sorted(
        f"{i.file}:{i.line} imports {i.module}"
        for i in imports()
        if i.file.startswith("consent/") and i.module.split(".")[0] in PIXEL_LIBRARIES
    )
    assert not found, "\n".join(found)


def test_media_knows_no_patients() -> None:
    assert not [
        i
        for i in imports()
        if i.file.startswith("media/") and i.module.startswith("consentclip.consent")
    ]


def test_lazy_imports_say_why() -> None:
    """Imports sit at the top of a module; one inside a function is there for a reason (start-up
    time, an import cycle, a platform-only module) that a comment on or above its line gives."""
    silent = sorted(
        f"{i.file}:{i.line} {i.module}"
        for i in imports()
        if not i.top_level and not i.commented and not i.file.startswith(LAZY_RULE_EXEMPT)
    )
    assert not silent, "function-level imports without a reason:\n" + "\n".join(silent)


# --- the page says the same ---------------------------------------------------------------


def _doc_table() -> dict[str, frozenset[str]]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Packages", 1)[1].split("\n## ", 1)[0]
    table: dict[str, frozenset[str]] = {}
    for row in section.splitlines():
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        names = frozenset(re.findall(r"`([^`]+)`", cells[2]))
        if "foundation" in cells[2]:
            names |= FOUNDATION
        if cells[2].startswith("everything"):
            names = UNITS - {"cli/", "__main__.py"}
        for unit in re.findall(r"`([^`]+)`", cells[0]):
            table[unit] = names
    return table


def test_architecture_page_table_matches() -> None:
    table = _doc_table()
    assert set(table) == set(MAY_IMPORT), "rows for every unit, no others"
    wrong = {u: sorted(table[u] ^ MAY_IMPORT[u]) for u in MAY_IMPORT if table[u] != MAY_IMPORT[u]}
    assert not wrong, f"may import differs from MAY_IMPORT (symmetric difference): {wrong}"


def test_architecture_page_tree_lists_every_module() -> None:
    text = DOC.read_text(encoding="utf-8")
    tree = text.split("## Folders", 1)[1].split("```", 2)[1]
    shown = set(re.findall(r"(?<!\S)(\w[\w.]*\.py|\w+/)(?!\S)", tree)) - {"src/", "consentclip/"}
    on_disk = {
        f"{p.name}/" if p.is_dir() else p.name
        for p in SRC.iterdir()
        if (p.is_dir() and (p / "__init__.py").is_file()) or p.suffix == ".py"
    }
    assert shown >= on_disk, f"missing from the tree: {sorted(on_disk - shown)}"
    assert not shown - on_disk - _subfolder_entries(), f"not on disk: {sorted(shown - on_disk)}"


def _subfolder_entries() -> set[str]:
    return {
        f"{p.name}/" if p.is_dir() else p.name
        for package in SRC.iterdir()
        if package.is_dir()
        for p in package.iterdir()
        if p.name != "__pycache__"
    }


# --- the corner marks the form draws are the ones the scan reader finds --------------------


def test_marker_table_is_opencvs_dictionary() -> None:
    """consent/markers draws the ArUco marks from a table (consent/ imports no OpenCV);
    scanread detects them with OpenCV's DICT_4X4_50. Both must mean the same markers."""
    import cv2

    from consentclip.consent import markers

    dictionary = cv2.aruco.getPredefinedDictionary(cv2.aruco.DICT_4X4_50)
    assert len(markers.PAYLOADS) == 4 * markers.MAX_PAGES
    for marker in range(4 * markers.MAX_PAGES):
        image = cv2.aruco.generateImageMarker(dictionary, marker, markers.CELLS)
        assert markers.bits(marker) == tuple(tuple(bool(v < 128) for v in row) for row in image)
