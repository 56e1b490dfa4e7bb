"""``batch --review`` stages a folder; a later batch exports what was approved, refuses the rest."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from consentclip.cli import app
from consentclip.hashing import sha256_file
from consentclip.home import Home

from .conftest import SAMPLE, link


def test_batch_review_then_batch_exports_only_the_approved(
    runner: CliRunner,
    registry_home: Home,
    make_consent: Callable[..., str],
    make_clip: Callable[..., Path],
    tmp_path: Path,
) -> None:
    folder = tmp_path / "shoot"
    folder.mkdir()
    clip = make_clip("shoot/clip.mp4", seconds=0.6, audio=False)
    photo = folder / "photo.jpg"
    shutil.copyfile(SAMPLE / "lesion_photo.jpg", photo)
    cid = make_consent("public_web")
    for path in (clip, photo):
        link(runner, path, cid)
    out = tmp_path / "out"
    args = ["batch", str(folder), "--purpose", "public_web", "--out", str(out), "--workers", "1"]

    staged = runner.invoke(app, [*args, "--review", "--json"])
    assert staged.exit_code == 0, staged.output
    rows = json.loads(staged.stdout)["staged_for_review"]
    assert {r["outcome"] for r in rows} == {"staged"}
    assert not out.exists()  # nothing goes to the export folder
    listed = json.loads(runner.invoke(app, ["review", "list", "--json"]).stdout)
    assert {r["state"] for r in listed} == {"awaiting_review"}

    approved = runner.invoke(
        app, ["review", "approve", str(photo), "--purpose", "public_web", "--reviewer", "Dr A"]
    )
    assert approved.exit_code == 0, approved.output

    exported = runner.invoke(app, [*args, "--json", "--no-qa"])
    assert exported.exit_code == 4, exported.output
    report = {f["source"]: f for f in json.loads(exported.stdout)["files"]}
    assert report["photo.jpg"]["outcome"] == "exported"
    assert report["clip.mp4"]["outcome"] == "refused"
    assert report["clip.mp4"]["rule"] == "review_required"
    staged_photo = registry_home.root / "review" / f"{cid}_clip02_public_web" / "staged.png"
    assert sha256_file(out / report["photo.jpg"]["output"]) == sha256_file(staged_photo)
