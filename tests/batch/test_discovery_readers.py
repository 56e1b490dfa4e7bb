"""batch takes what export takes: camcorder .mts, .mpg and GIF are exported, decided by what
ffprobe and the photo reader open; everything skipped is in the report with its reason, a FIFO
too; a folder where nothing can be processed is a failure."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consentclip.batch import REPORT_JSON, survey
from consentclip.cli import app
from consentclip.home import Home


def full_report(home: Home) -> dict:
    """The report with input names, which only the consent home keeps."""
    (kept,) = (home.root / "batch-reports").glob("*.json")
    return json.loads(kept.read_text())


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *args], check=True)


def camcorder_day(folder: Path) -> Path:
    folder.mkdir(parents=True)
    src = ["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=0.4"]
    ffmpeg(*src, "-c:v", "mpeg2video", "-f", "mpegts", str(folder / "00001.MTS"))
    ffmpeg(*src, "-c:v", "mpeg1video", str(folder / "old_camera.mpg"))
    ffmpeg(*src, str(folder / "dermoscope.gif"))
    (folder / "notes.txt").write_text("patient was nervous\n")
    return folder


def test_batch_exports_mts_mpg_and_gif_and_reports_skips(
    runner: CliRunner, make_consent: Callable[..., str], tmp_path: Path, registry_home: Home
) -> None:
    home = registry_home
    day = camcorder_day(tmp_path / "day")
    os.mkfifo(day / "stream.fifo")  # opening it would block a naive reader forever
    cid = make_consent("teaching")
    clips = [day / "00001.MTS", day / "old_camera.mpg", day / "dermoscope.gif"]
    result = runner.invoke(app, ["link", *map(str, clips), "--consent", cid])
    assert result.exit_code == 0, result.output
    for clip in clips:  # export takes each of them ...
        single = runner.invoke(
            app, ["export", str(clip), "-p", "teaching", "-o", str(tmp_path / "one"), "-q"]
        )
        assert single.exit_code == 0, single.output
    out = tmp_path / "out"
    result = runner.invoke(  # ... and so does batch
        app, ["batch", str(day), "-p", "teaching", "-o", str(out), "--workers", "1"]
    )
    assert result.exit_code == 0, result.output
    public = json.loads((out / REPORT_JSON).read_text())
    assert "notes.txt" not in json.dumps(public)  # the export folder names no input file
    assert {"reason": "not a regular file (FIFO)"} in public["skipped"]
    report = full_report(home)
    rows = {f["source"]: f["outcome"] for f in report["files"]}
    assert set(rows) == {"00001.MTS", "old_camera.mpg", "dermoscope.gif"}
    assert set(rows.values()) == {"exported"}, rows
    skipped = {s["source"]: s["reason"] for s in report["skipped"]}
    assert skipped["stream.fifo"] == "not a regular file (FIFO)"
    assert skipped["notes.txt"].startswith("not media: notes.txt")
    assert report["ignored"] == ["notes.txt"]
    assert "1 other skipped" in result.output
    assert "skipped  stream.fifo  not a regular file (FIFO)" in result.output


def test_a_folder_with_nothing_to_process_fails_and_says_why(
    runner: CliRunner, tmp_path: Path, make_consent: Callable[..., str], registry_home: Home
) -> None:
    home = registry_home
    make_consent("teaching")  # an initialised home
    day = tmp_path / "day"
    day.mkdir()
    (day / "notes.txt").write_text("hello\n")
    (day / ".DS_Store").write_bytes(b"\0" * 16)
    (day / "copying.mov.part").write_bytes(b"\0" * 16)
    out = tmp_path / "out"
    result = runner.invoke(app, ["batch", str(day), "-p", "teaching", "-o", str(out)])
    assert result.exit_code == 1, result.output
    assert "nothing in" in result.output and "can be processed" in result.output
    public = json.loads((out / REPORT_JSON).read_text())
    assert sorted(s["reason"] for s in public["skipped"]) == [
        "hidden file",
        "not media",
        "still being written (partial name)",
    ]
    report = full_report(home)
    reasons = {s["source"]: s["reason"] for s in report["skipped"]}
    assert reasons[".DS_Store"] == "hidden file"
    assert reasons["copying.mov.part"] == "still being written (partial name)"
    assert reasons["notes.txt"].startswith("not media")
    assert report["files"] == []


def test_a_damaged_clip_is_reported_not_skipped(tmp_path: Path) -> None:
    day = camcorder_day(tmp_path / "day")
    data = (day / "old_camera.mpg").read_bytes()
    (day / "broken.mts").write_bytes(b"\0" * 64 + data[:10])
    (day / "broken.txt").write_bytes(data)  # a video by content, whatever its name says
    found = survey(day, recursive=False)
    names = [p.name for p in found.candidates]
    assert "broken.mts" in names and "broken.txt" in names
    assert [p.name for p, _ in found.not_media] == ["notes.txt"]


@pytest.mark.parametrize("name", ["clip.mp4", "x.jpg"])
def test_survey_never_opens_a_fifo(tmp_path: Path, name: str) -> None:
    day = tmp_path / "day"
    day.mkdir()
    os.mkfifo(day / name)
    found = survey(day, recursive=False)
    assert found.candidates == [] and found.other == [(day / name, "not a regular file (FIFO)")]
