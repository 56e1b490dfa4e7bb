"""--keep auto through a real export: gate, engine, manifest (scene kind and the auto-kept box)
and the QA sheet. The photo is a generated skin close-up (bench/skinsynth.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import cv2

from benchmods import bench_module
from consentclip.cli.options import engine_options
from consentclip.consent.records import Purpose
from consentclip.export import ExportRequest, export_clip, manifest_path
from consentclip.home import Home
from consentclip.link import link_clips
from consentclip.settings import RedactMode


def test_export_keep_auto_records_scene_and_kept_box(
    registry_home: Home, make_consent: Callable[..., str], tmp_path: Path
) -> None:
    image, lesion = bench_module("skinsynth").dermoscopy_field(5, vignette=False, seed=3)
    photo = tmp_path / "closeup.png"
    cv2.imwrite(str(photo), image)
    cid = make_consent("teaching")
    link_clips(registry_home, [(photo, cid)])
    options = engine_options(
        mode=RedactMode.BLUR,
        sensitivity=(0.3, 0.5),
        region=None,
        keep=["auto"],
        toggles=(None, None),
        encoder=(20, "medium"),
    )
    assert options.keep_auto and options.keep == ()
    request = ExportRequest(photo, Purpose.TEACHING, tmp_path / "out", options=options,
                            qa_dir=tmp_path / "qa")  # fmt: skip
    result = export_clip(registry_home, request)
    manifest = json.loads(manifest_path(result.plan.output).read_text())
    assert manifest["engine"]["settings"]["keep_auto"] is True
    assert manifest["detections"]["scene"] == "skin_closeup"
    (box,) = manifest["detections"]["auto_keep"]
    ys, xs = lesion.nonzero()
    assert box["x"] <= xs.min() and box["y"] <= ys.min()
    assert box["x"] + box["w"] >= xs.max() and box["y"] + box["h"] >= ys.max()
    assert result.qa_sheet is not None and result.qa_sheet.is_file()
