"""consentclip batch over a mixed folder, resume after an interruption, and the report.

Real registry, real engine, real process pool; media generated with lavfi in tmp_path.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pypdfium2
import pytest
from typer.testing import CliRunner

from consentclip.batch import (
    REPORT_CSV,
    REPORT_JSON,
    BatchReport,
    BatchRequest,
    FileOutcome,
    _mark_duplicates,
    discover,
    run_batch,
)
from consentclip.cli import app
from consentclip.consent.records import Purpose
from consentclip.home import Home
from shared import PATIENT_NAME, PATIENT_REF

SMALL = {"seconds": 0.6, "size": "160x120", "rate": 10}


def link(runner: CliRunner, consent_id: str, *clips: Path) -> None:
    result = runner.invoke(app, ["link", *map(str, clips), "--consent", consent_id])
    assert result.exit_code == 0, result.output


def make_photo(path: Path) -> Path:
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=160x120",
         "-frames:v", "1", str(path)],
        check=True,
    )  # fmt: skip
    return path


def hidden_partials(folder: Path) -> list[Path]:
    return [p for p in folder.rglob(".*") if p.is_file()]


@pytest.fixture
def mixed(
    runner: CliRunner,
    make_consent: Callable[..., str],
    make_clip: Callable[..., Path],
    tmp_path: Path,
) -> tuple[Path, dict[str, str]]:
    """A clinic day: linked, unlinked, refused purpose, corrupt, a photo, a nested clip, noise."""
    day = tmp_path / "day"
    (day / "nested").mkdir(parents=True)
    teaching = make_consent("teaching")
    conference_only = make_consent("conference")
    files = {
        "linked.mp4": make_clip("linked.mp4", **SMALL),
        "unlinked.mp4": make_clip("unlinked.mp4", seconds=0.5, size="160x120", rate=10),
        "wrong_purpose.mp4": make_clip("wrong_purpose.mp4", seconds=0.7, size="160x120", rate=10),
        "nested/deep.mp4": make_clip("deep.mp4", seconds=0.8, size="160x120", rate=10),
    }
    for rel, src in files.items():
        shutil.move(src, day / rel)
    photo = make_photo(day / "lesion.jpg")
    link(runner, teaching, day / "linked.mp4", photo, day / "nested/deep.mp4")
    link(runner, conference_only, day / "wrong_purpose.mp4")
    good = (day / "linked.mp4").read_bytes()
    (day / "corrupt.mp4").write_bytes(good[: len(good) // 3])  # truncated: claims mp4, is not
    (day / "linked_copy.mp4").write_bytes(good)  # the same recording copied twice
    (day / "notes.txt").write_text("patient was nervous\n")
    (day / ".hidden.mp4").write_bytes(good)
    (day / "copying.mp4.part").write_bytes(good[:100])
    return day, {"teaching": teaching, "conference": conference_only}


def test_discovery_by_content_skips_hidden_and_partial_files(
    mixed: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    day, _ = mixed
    renamed = day / "no_extension_clip"
    shutil.copy(day / "linked.mp4", renamed)  # media by content, whatever its name says
    found, ignored = discover(day, recursive=False)
    assert [p.name for p in found] == [
        "corrupt.mp4",
        "lesion.jpg",
        "linked.mp4",
        "linked_copy.mp4",
        "no_extension_clip",
        "unlinked.mp4",
        "wrong_purpose.mp4",
    ]
    assert [p.name for p in ignored] == ["notes.txt"]
    found, _ = discover(day, recursive=True)
    assert "deep.mp4" in [p.name for p in found]


def test_batch_over_a_mixed_folder(
    runner: CliRunner, mixed: tuple[Path, dict[str, str]], tmp_path: Path, registry_home: Home
) -> None:
    day, ids = mixed
    out = tmp_path / "out"

    result = runner.invoke(
        app,
        ["batch", str(day), "--purpose", "teaching", "--out", str(out), "--recursive",
         "--workers", "2"],
    )  # fmt: skip

    assert result.exit_code == 4, result.output  # some refused or failed
    report = json.loads((out / REPORT_JSON).read_text())
    # The report in OUT names no input file (issue 14); the mapping is kept in the home.
    (kept,) = (registry_home.root / "batch-reports").glob("*.json")
    sources = [f["source"] for f in json.loads(kept.read_text())["files"]]
    number = {source: i for i, source in enumerate(sources, start=1)}
    rows = {sources[f["file"] - 1]: f for f in report["files"]}
    assert set(rows) == {
        "corrupt.mp4",
        "lesion.jpg",
        "linked.mp4",
        "linked_copy.mp4",
        "nested/deep.mp4",
        "unlinked.mp4",
        "wrong_purpose.mp4",
    }
    cid = ids["teaching"]
    assert rows["linked.mp4"]["outcome"] == "exported", rows["linked.mp4"]
    assert rows["linked.mp4"]["consent_id"] == cid
    assert rows["linked.mp4"]["output"] == f"{cid}_clip01_teaching.mp4"
    assert rows["linked.mp4"]["frames"] == 6 and rows["linked.mp4"]["duration_s"] == 0.6
    assert rows["linked.mp4"]["face_tracks"] == 0 and rows["linked.mp4"]["seconds"] > 0
    assert rows["linked_copy.mp4"]["outcome"] == "duplicate", rows["linked_copy.mp4"]
    same = f"same content as file {number['linked.mp4']}"
    assert rows["linked_copy.mp4"]["reason"].startswith(same)
    assert rows["lesion.jpg"]["outcome"] == "exported"
    assert rows["lesion.jpg"]["output"] == f"{cid}_clip02_teaching.png"
    assert rows["nested/deep.mp4"]["output"] == f"{cid}_clip03_teaching.mp4"
    assert rows["unlinked.mp4"]["outcome"] == "refused"
    assert rows["unlinked.mp4"]["rule"] == "not_linked"
    assert rows["wrong_purpose.mp4"]["outcome"] == "refused"
    assert rows["wrong_purpose.mp4"]["rule"] == "not_granted"
    assert f"{ids['conference']} has no grant for teaching" in rows["wrong_purpose.mp4"]["reason"]
    assert rows["corrupt.mp4"]["outcome"] == "failed"
    assert f"file {number['corrupt.mp4']}" in rows["corrupt.mp4"]["reason"]
    assert "corrupt" not in rows["corrupt.mp4"]["reason"]
    assert report["ignored"] == 1
    assert report["totals"]["exported"] == 3 and report["totals"]["refused"] == 2
    assert report["totals"]["failed"] == 1 and report["exit_code"] == 4
    assert report["workers"] == 2

    exported = sorted(p.name for p in out.iterdir() if p.is_file())
    assert exported == sorted(
        [
            f"{cid}_clip01_teaching.mp4",
            f"{cid}_clip01_teaching.mp4.manifest.json",
            f"{cid}_clip02_teaching.png",
            f"{cid}_clip02_teaching.png.manifest.json",
            f"{cid}_clip03_teaching.mp4",
            f"{cid}_clip03_teaching.mp4.manifest.json",
            REPORT_CSV,
            REPORT_JSON,
        ]
    )
    # One QA sheet per exported clip, one A4 page each, beside the report, not among exports.
    sheets = sorted((out / "qa").iterdir())
    assert [p.name for p in sheets] == [
        f"{cid}_clip01_teaching.qa.pdf",
        f"{cid}_clip02_teaching.qa.pdf",
        f"{cid}_clip03_teaching.qa.pdf",
    ]
    for sheet in sheets:
        pdf = pypdfium2.PdfDocument(sheet)
        assert len(pdf) == 1
        width, height = pdf[0].get_size()
        assert (round(width), round(height)) == (595, 842)  # A4 in points
        text = pdf[0].get_textpage().get_text_range()
        assert cid in text and "teaching" in text and "PASSED" in text
        pdf.close()
    # The CSV has the same rows, and no patient name or reference is anywhere in OUT.
    with (out / REPORT_CSV).open(newline="") as fh:
        csv_rows = {sources[int(r["file"]) - 1]: r for r in csv.DictReader(fh)}
    assert csv_rows["linked.mp4"]["outcome"] == "exported"
    assert csv_rows["corrupt.mp4"]["outcome"] == "failed"
    for path in out.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".csv"):
            text = path.read_text()
            assert PATIENT_REF not in text and PATIENT_NAME not in text
    assert hidden_partials(out) == []
    # Without --recursive the nested clip is not seen at all.
    out2 = tmp_path / "out2"
    result = runner.invoke(
        app, ["batch", str(day), "-p", "teaching", "-o", str(out2), "--json", "--no-qa"]
    )
    assert result.exit_code == 4
    assert "nested/deep.mp4" not in {f["source"] for f in json.loads(result.stdout)["files"]}


@pytest.mark.parametrize("winner", ["a/copy.mp4", "b.mp4", "clip.mp4"])
def test_identical_copies_credit_the_export_to_the_first_path_whoever_finished_first(
    winner: str,
) -> None:
    """Three identical files race for one export name; whichever worker got there first, the
    report names the same file as exported and the other two as its duplicates."""
    output = "CID_clip01_teaching.mp4"
    sources = ["clip.mp4", "a/copy.mp4", "b.mp4"]  # job order is discovery order, not sorted

    def finished(source: str) -> FileOutcome:
        if source == winner:
            return FileOutcome(
                source,
                "exported",
                f"{Path(source).name} has no audio",
                consent_id="CID",
                output=output,
                frames=6,
                seconds=2.0,
                sha256="f" * 64,
            )
        taken = f"{output} already exists in out; exports are never overwritten"
        return FileOutcome(source, "failed", taken, output=output, seconds=0.1, sha256="f" * 64)

    rows = {f.source: f for f in _mark_duplicates([finished(s) for s in sources])}

    assert [f.source for f in _mark_duplicates([finished(s) for s in sources])] == sources
    first = rows["a/copy.mp4"]
    assert first.outcome == "exported" and first.output == output and first.frames == 6
    assert first.consent_id == "CID" and first.reason == "copy.mp4 has no audio"
    for other in ("b.mp4", "clip.mp4"):
        assert rows[other].outcome == "duplicate", rows[other]
        assert rows[other].reason == f"same content as a/copy.mp4, exported as {output}"
        assert rows[other].frames is None and rows[other].output == output


def test_every_file_refused_exits_3(
    runner: CliRunner, registry_home: Home, make_clip: Callable[..., Path], tmp_path: Path
) -> None:
    day = tmp_path / "day"
    day.mkdir()
    for name in ("a.mp4", "b.mp4"):
        shutil.move(make_clip(name, seconds=0.3, size="160x120", rate=10), day / name)
    out = tmp_path / "out"
    result = runner.invoke(app, ["batch", str(day), "-p", "teaching", "-o", str(out)])
    assert result.exit_code == 3, result.output
    assert "2 refused" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == [REPORT_CSV, REPORT_JSON]


def test_empty_folder_and_out_equal_to_folder_are_errors(
    runner: CliRunner, registry_home: Home, tmp_path: Path
) -> None:
    (tmp_path / "empty").mkdir()
    result = runner.invoke(
        app, ["batch", str(tmp_path / "empty"), "-p", "teaching", "-o", str(tmp_path / "o")]
    )
    assert result.exit_code == 1 and "no media files" in result.output
    # The library names the input (option="recursive"); the CLI spells the flag.
    assert "(add --recursive to look in sub-folders)" in result.output
    result = runner.invoke(
        app, ["batch", str(tmp_path / "empty"), "-p", "teaching", "-o", str(tmp_path / "empty")]
    )
    assert result.exit_code == 2 and "--out must not be the folder" in result.output


class StopInSecondFile:
    """Presses Ctrl-C while the second file is being processed (inside the engine)."""

    def __init__(self) -> None:
        self.finished: list[FileOutcome] = []
        self.base = 0

    def start(self, files: int, workers: int) -> None:
        pass

    def frames(self, done: int) -> None:
        if len(self.finished) == 1 and done > self.base:
            raise KeyboardInterrupt
        self.base = done

    def file_done(self, outcome: FileOutcome) -> None:
        self.finished.append(outcome)

    def finish(self, report: BatchReport) -> None:
        pass


def test_resume_after_an_interruption(
    runner: CliRunner,
    registry_home: Home,
    make_consent: Callable[..., str],
    make_clip: Callable[..., Path],
    tmp_path: Path,
) -> None:
    day = tmp_path / "day"
    day.mkdir()
    clips = []
    for name, seconds in (("a.mp4", 1.0), ("b.mp4", 1.1), ("c.mp4", 1.2)):
        clips.append(day / name)
        shutil.move(make_clip(name, seconds=seconds, size="160x120", rate=10), day / name)
    cid = make_consent("teaching")
    link(runner, cid, *clips)
    out = tmp_path / "out"
    request = BatchRequest(
        root=day, purpose=Purpose.TEACHING, out_dir=out, workers=1, qa_sheets=False
    )

    with pytest.raises(KeyboardInterrupt):
        run_batch(registry_home, request, sink=StopInSecondFile())

    first = out / f"{cid}_clip01_teaching.mp4"
    second = out / f"{cid}_clip02_teaching.mp4"
    report = json.loads((out / REPORT_JSON).read_text())
    assert report["interrupted"] is True
    assert [f["outcome"] for f in report["files"]] == ["exported", "not_run", "not_run"]
    assert first.is_file() and not second.exists()  # the running file left nothing behind
    assert hidden_partials(out) == []
    first_stat = first.stat()
    # A partial export from a harder crash: an output with no manifest.
    second.write_bytes(b"half a file")

    # Without --resume an existing export is never overwritten (the third file is new).
    argv = ["batch", str(day), "-p", "teaching", "-o", str(out), "--json", "--no-qa"]
    result = runner.invoke(app, argv)
    assert result.exit_code == 4, result.output
    files = json.loads(result.stdout)["files"]
    assert [f["outcome"] for f in files] == ["failed", "failed", "exported"]
    assert all("already exists" in f["reason"] for f in files[:2])
    assert second.read_bytes() == b"half a file"

    result = runner.invoke(app, [*argv, "--resume"])

    assert result.exit_code == 0, result.output
    files = json.loads(result.stdout)["files"]
    assert [f["outcome"] for f in files] == ["already_exported", "exported", "already_exported"]
    assert first.stat().st_mtime_ns == first_stat.st_mtime_ns  # kept, not redone
    manifest = json.loads((out / f"{second.name}.manifest.json").read_text())
    assert manifest["output"]["frames"] == 11 and second.read_bytes() != b"half a file"
    assert (out / f"{cid}_clip03_teaching.mp4").is_file()
    # A tampered export no longer verifies and is redone on the next resume.
    with first.open("ab") as fh:
        fh.write(b"\0")
    result = runner.invoke(app, [*argv, "--resume"])
    files = json.loads(result.stdout)["files"]
    assert [f["outcome"] for f in files] == ["exported", "already_exported", "already_exported"]


@pytest.mark.slow
def test_ctrl_c_with_workers_leaves_no_leftovers_and_resume_completes(
    runner: CliRunner,
    registry_home: Home,
    make_consent: Callable[..., str],
    make_clip: Callable[..., Path],
    tmp_path: Path,
) -> None:
    """The real thing: SIGINT to the `consentclip batch` process while two workers run."""
    import os
    import signal
    import sys

    day = tmp_path / "day"
    day.mkdir()
    clips = []
    for i in range(8):
        name = f"c{i}.mp4"
        shutil.move(make_clip(name, seconds=1.5 + i / 10, size="160x120", rate=10), day / name)
        clips.append(day / name)
    cid = make_consent("teaching")
    link(runner, cid, *clips)
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "consentclip", "batch", str(day), "-p", "teaching"]
    argv += ["-o", str(out), "--workers", "2", "--no-qa"]
    env = {**os.environ, "CONSENTCLIP_HOME": str(registry_home.root)}
    proc = subprocess.Popen(
        argv, env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.startswith("ok"):
            proc.send_signal(signal.SIGINT)  # like Ctrl-C, once the first file is done
            break
    _, err = proc.communicate(timeout=120)

    assert proc.returncode == 130, err
    assert "interrupted" in err
    report = json.loads((out / REPORT_JSON).read_text())
    assert report["interrupted"] is True
    done = [f for f in report["files"] if f["outcome"] == "exported"]
    assert 1 <= len(done) < 8
    assert hidden_partials(out) == []
    exports = sorted(p.name for p in out.glob(f"{cid}_*.mp4"))
    assert exports == sorted(f["output"] for f in done)  # nothing but finished exports
    assert all((out / f"{name}.manifest.json").is_file() for name in exports)

    result = runner.invoke(
        app, ["batch", str(day), "-p", "teaching", "-o", str(out), "--resume", "--json", "--no-qa"]
    )
    assert result.exit_code == 0, result.output
    outcomes = [f["outcome"] for f in json.loads(result.stdout)["files"]]
    assert outcomes.count("already_exported") == len(done)
    assert outcomes.count("exported") == 8 - len(done)
