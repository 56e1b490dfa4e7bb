"""Issue 14.5: reports inside the export folder name no input file and no input path.

Clinic file names are often the patient's name and hospital number. The report rows carry the
clip id and the input's short hash; the full mapping (row -> path) stays in the consent home.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

from consentclip.batch import REPORT_CSV, REPORT_JSON, BatchRequest, run_batch
from consentclip.consent.records import Purpose
from consentclip.hashing import sha256_file
from consentclip.home import Home
from consentclip.link import link_clips
from shared import SMALL

IDENTIFYING = ("Doe", "MRN77123", "Smith", "Roe", "ward-7-Jane")


def test_reports_in_the_export_folder_are_anonymous(
    registry_home: Home,
    make_consent: Callable[..., str],
    make_clip: Callable[..., Path],
    tmp_path: Path,
) -> None:
    day = tmp_path / "ward-7-Jane"
    day.mkdir()
    linked = make_clip("a.mp4", **SMALL).rename(day / "Jane Doe MRN77123.mp4")
    unlinked = make_clip("b.mp4", **{**SMALL, "seconds": 0.4}).rename(day / "John Smith.mp4")
    (day / "Richard Roe.mp4").write_bytes(b"not a video at all")  # corrupt: quoted by ffprobe
    (day / "Doe notes.txt").write_text("ignored")
    cid = make_consent("teaching")
    link_clips(registry_home, [(linked, cid)])
    out = tmp_path / "out"

    report = run_batch(
        registry_home,
        BatchRequest(root=day, purpose=Purpose.TEACHING, out_dir=out, workers=1, qa_sheets=False),
    )

    assert [f.outcome for f in report.files] == ["exported", "refused", "failed"]
    for name in (REPORT_JSON, REPORT_CSV):
        text = (out / name).read_text()
        for needle in (*IDENTIFYING, str(day)):
            assert needle not in text, (name, needle)
    rows = json.loads((out / REPORT_JSON).read_text())["files"]
    assert [(r["file"], r["clip"], r["outcome"]) for r in rows] == [
        (1, f"{cid}_clip01", "exported"),
        (2, None, "refused"),
        (3, None, "failed"),
    ]
    assert rows[0]["input_sha256"] == sha256_file(linked)[:12]
    assert rows[1]["input_sha256"] == sha256_file(unlinked)[:12]
    assert "file 3" in rows[2]["reason"]  # the corrupt file's name, replaced
    with (out / REPORT_CSV).open(newline="") as fh:
        assert [r["clip"] for r in csv.DictReader(fh)] == [f"{cid}_clip01", "", ""]
    assert json.loads((out / REPORT_JSON).read_text())["ignored"] == 1

    # The mapping back to the files lives in the consent home, and only there.
    kept = list((registry_home.root / "batch-reports").glob("*.json"))
    assert len(kept) == 1
    private = json.loads(kept[0].read_text())
    assert [f["source"] for f in private["files"]] == [
        "Jane Doe MRN77123.mp4",
        "John Smith.mp4",
        "Richard Roe.mp4",
    ]
    assert private["root"] == str(day)
