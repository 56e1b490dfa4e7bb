"""The review staging area's temporary files follow consentclip.atomic's scheme, so every sweep
recognises what a killed render left."""

from __future__ import annotations

import os
from pathlib import Path

from consentclip.atomic import PARTIAL_MARK, partial_path
from consentclip.export import sweep_stale_partials
from consentclip.review.staging import sweep_partials


def test_partial_path_is_hidden_keeps_the_suffix_and_is_swept(tmp_path: Path) -> None:
    target = tmp_path / "original.mp4"
    tmp = partial_path(target)
    assert tmp.parent == tmp_path and tmp.name.startswith(".original.mp4" + PARTIAL_MARK)
    assert tmp.suffix == ".mp4"  # ffmpeg picks the container from it
    assert partial_path(target) != tmp  # two writers never share one

    tmp.write_bytes(b"half")
    target.write_bytes(b"whole")
    sweep_partials(tmp_path)
    assert not tmp.exists() and target.read_bytes() == b"whole"


def test_a_dead_writers_partial_is_removed_by_the_export_sweep_too(tmp_path: Path) -> None:
    target = tmp_path / "original.mp4"
    live = partial_path(target)  # this process: still writing, left alone
    mine, other = f"{PARTIAL_MARK}{os.getpid()}-", f"{PARTIAL_MARK}999999999-"
    dead = live.with_name(live.name.replace(mine, other))
    live.write_bytes(b"x")
    dead.write_bytes(b"x")
    assert sweep_stale_partials(target) == [dead]
    assert live.exists()
