"""--keep auto and the scene pass through the real engine (consentclip.pipeline.anonymise), the
preview CLI, the export settings and the QA sheet's kept boxes. Media: generated dermoscopy
fields and close-ups from bench/skinsynth.py, written to tmp_path."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from benchmods import bench_module
from consentclip.cli import app
from consentclip.cli.options import keep_auto_asked, parse_geometry
from consentclip.detect.regions import Box
from consentclip.pipeline import _FrameFlow, anonymise, default_components
from consentclip.qa.frames import QaInput, kept_boxes
from consentclip.settings import EngineResult, EngineSettings, ManualRegion

skinsynth = bench_module("skinsynth")


def _write(tmp_path: Path, name: str, image: np.ndarray) -> Path:
    path = tmp_path / name
    assert cv2.imwrite(str(path), image)
    return path


def test_dermoscopy_photo_comes_out_untouched(tmp_path: Path) -> None:
    image, _ = skinsynth.dermoscopy_field(3, vignette=True, seed=5)
    src = _write(tmp_path, "field.png", image)
    result = anonymise(src, tmp_path / "out.png", EngineSettings())
    out = cv2.imread(str(tmp_path / "out.png"))
    assert np.array_equal(out, image)
    assert result.scene == "dermoscopy" and result.auto_keep == ()


def test_keep_auto_protects_the_lesion_from_every_redaction(tmp_path: Path) -> None:
    image, lesion = skinsynth.dermoscopy_field(4, vignette=False, seed=6)
    src = _write(tmp_path, "closeup.png", image)
    h, w = image.shape[:2]
    # A clinician's region over the whole picture: everything is redacted but the kept lesion.
    everything = (ManualRegion(Box(0, 0, w, h)),)
    settings = EngineSettings(keep_auto=True, regions=everything)
    result = anonymise(src, tmp_path / "out.png", settings)
    out = cv2.imread(str(tmp_path / "out.png"))
    assert result.scene == "skin_closeup" and len(result.auto_keep) == 1
    assert np.array_equal(out[lesion], image[lesion])
    x1, y1, x2, y2 = result.auto_keep[0].int_corners()
    outside = np.ones(lesion.shape, bool)
    outside[y1:y2, x1:x2] = False
    assert np.abs(out[outside].astype(int) - image[outside]).mean() > 1.0
    # Without --keep auto the same region redacts the lesion too.
    anonymise(src, tmp_path / "plain.png", dataclasses.replace(settings, keep_auto=False))
    plain = cv2.imread(str(tmp_path / "plain.png"))
    assert not np.array_equal(plain[lesion], image[lesion])


def test_keep_auto_finds_nothing_outside_close_ups(tmp_path: Path) -> None:
    src = _write(tmp_path, "arm.png", skinsynth.plain_limb(3))
    result = anonymise(src, tmp_path / "out.png", EngineSettings(keep_auto=True, faces=False))
    assert result.auto_keep == () and result.scene == "scene"


def test_keep_auto_on_the_command_line() -> None:
    regions, kept = parse_geometry(None, ["auto", "1,2,3,4"])
    assert kept == (Box(1, 2, 3, 4),) and regions == ()
    assert (
        keep_auto_asked(["AUTO"]) and not keep_auto_asked(["1,2,3,4"]) and not keep_auto_asked(None)
    )


def test_preview_keep_auto_shows_what_was_protected(tmp_path: Path) -> None:
    image, _ = skinsynth.dermoscopy_field(2, vignette=False, seed=7)
    src = _write(tmp_path, "closeup.png", image)
    out = tmp_path / "p.png"
    argv = ["preview", str(src), "-o", str(out), "--keep", "auto", "--show-detections"]
    result = CliRunner().invoke(app, [*argv, "--quiet", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["scene"] == "skin_closeup" and len(data["auto_keep"]) == 1
    box = Box(**data["auto_keep"][0])
    drawn = cv2.imread(str(out))
    x1, y1, x2, _ = box.clipped(*image.shape[1::-1]).int_corners()
    # The keep box is outlined in the preview (green, redact.overlay.KEEP_COLOUR).
    edge = drawn[y1 : y1 + 3, x1:x2].astype(int)
    assert (edge[..., 1] - edge[..., 2] > 80).mean() > 0.5


def test_qa_sheet_draws_auto_kept_boxes(tmp_path: Path) -> None:
    result = EngineResult(tmp_path / "o.png", "photo", 100, 80, 1, None, None, False, 0, 0, 0, 0)
    manifest = {
        "engine": {"settings": {"keep": [{"x": 1, "y": 2, "w": 3, "h": 4}]}},
        "detections": {"auto_keep": [{"x": 10, "y": 20, "w": 30, "h": 40}]},
    }
    qa = QaInput(tmp_path / "o.png", result, manifest, {})
    assert kept_boxes(qa) == [Box(1, 2, 3, 4), Box(10, 20, 30, 40)]


def test_one_scene_check_serves_every_detector(monkeypatch: pytest.MonkeyPatch) -> None:
    # The engine's SceneWatch decides cuts and kinds once per frame and hands its SceneFrame to
    # the face and tattoo detectors (bench/results/engine_ab.md): classify_scene runs on the
    # watch's cadence (frames 0 and 10) and once more at a cut between (frame 5, for the face
    # detector's scene-start passes); at frame 0 the face detector reuses the cadence's answer.
    import consentclip.detect.scene as scene

    calls: list[int] = []
    real = scene.classify_scene
    monkeypatch.setattr(scene, "classify_scene", lambda f: calls.append(1) or real(f))
    settings = EngineSettings(text=False)
    flow = _FrameFlow(settings, default_components(), 30.0, (64, 48), None)
    cuts: list[int] = []
    try:
        assert flow.faces is not None and flow.tattoos is not None
        assert {id(flow.faces), id(flow.tattoos)} <= flow.takes_scene
        for tracker in flow.trackers.values():
            real_cut = tracker.cut  # type: ignore[attr-defined]
            tracker.cut = lambda i, real_cut=real_cut: cuts.append(i) or real_cut(i)  # type: ignore[attr-defined]
        for index in range(12):
            frame = np.full((48, 64, 3), 40 if index < 5 else 200, np.uint8)
            list(flow.push(index, frame))
        list(flow.flush())
    finally:
        flow.close()
    assert len(calls) == 3
    assert cuts == [5] * len(flow.trackers)
