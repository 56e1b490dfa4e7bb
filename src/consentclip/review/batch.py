"""``batch --review``: stage every recording of a folder for review instead of exporting it.

Each file goes through the consent gate (less the review rule) and is rendered into the review
staging area; nothing is written to the export folder. A later ``batch`` of the same folder
exports what was approved (``export`` publishes the approved staged files) and refuses the rest
with the ``review_required`` rule. One file at a time: each render already uses the cores, and a
reviewer looks at them one by one anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from consentclip.batch import discover
from consentclip.consent.records import Purpose
from consentclip.errors import ConsentClipError, ConsentRefused, ExitCode, NotFoundError
from consentclip.home import Home
from consentclip.review.staging import BaseOptions, open_session, render, render_is_current

STAGED, ALREADY, REFUSED, FAILED = "staged", "already_staged", "refused", "failed"


@dataclass(frozen=True)
class StagedFile:
    source: str  # relative to the folder
    outcome: str
    reason: str = ""
    review: str | None = None  # the staging folder's name (ids only)

    @property
    def ok(self) -> bool:
        return self.outcome in (STAGED, ALREADY)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def exit_code(files: list[StagedFile]) -> ExitCode:
    return ExitCode.OK if all(f.ok for f in files) else ExitCode.BATCH_PARTIAL


def stage_folder(
    home: Home,
    root: Path,
    purpose: Purpose,
    options: BaseOptions,
    *,
    recursive: bool = False,
    exclude: tuple[Path, ...] = (),
    on_file: Callable[[StagedFile], None] | None = None,
) -> list[StagedFile]:
    candidates, _ignored = discover(root, recursive=recursive, exclude=list(exclude))
    if not candidates:
        raise NotFoundError(f"no media files found in {root}")
    base = root.absolute()
    staged: list[StagedFile] = []
    for path in candidates:
        relative = path.absolute().relative_to(base).as_posix()
        try:
            session = open_session(home, path, purpose, options)
            decisions = session.decisions()
            if render_is_current(home, session, decisions):
                outcome = StagedFile(relative, ALREADY, "already rendered", session.name)
            else:
                render(home, session, decisions)
                outcome = StagedFile(relative, STAGED, "", session.name)
        except ConsentRefused as exc:
            outcome = StagedFile(relative, REFUSED, exc.one_line())
        except ConsentClipError as exc:
            outcome = StagedFile(relative, FAILED, exc.one_line())
        staged.append(outcome)
        if on_file is not None:
            on_file(outcome)
    return staged
