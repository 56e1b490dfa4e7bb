"""Identifying text through a real teaching export (issue 16): a label, a wristband and a screen
with a patient's name are unreadable afterwards, the lesion beside them is untouched; photo and
video. Tesseract is the judge when it is installed (``make test`` installs it); the ink of every
line must have been redacted in any case.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from benchmods import bench_module
from consentclip.cli import app
from consentclip.consent.records import Grant, Purpose
from consentclip.errors import ConsentRefused
from consentclip.export import EngineOptions, settings_for
from consentclip.home import Home
from consentclip.redact.colours import bgr

from .test_export_cli import export, link
from .test_export_library import decision_for

HAS_TESSERACT = shutil.which("tesseract") is not None


ts = bench_module("textsynth")
OBJECTS = ("label", "wristband", "screen")


def names(frame) -> set[str]:
    """The patient's names and numbers on the objects (3+ characters)."""
    fields = {"DOB", "MRN", "NHS", "PATIENT", "HOSPITAL", "BASAL", "CELL", "CARCINOMA"}
    return {
        w for line in frame.lines for w in map(ts.normalise, line.words) if len(w) >= 3
    } - fields


def keep_arg(frame) -> str:
    x, y, w, h = frame.keep
    return f"{x},{y},{w},{h}"


def assert_unreadable(before: np.ndarray, after: np.ndarray, frame) -> None:
    """Every line's ink was redacted; tesseract reads names before and none after."""
    for line in frame.lines:
        mask = frame.line_mask(line)
        if mask.sum() < 30:
            continue
        change = np.abs(after.astype(np.int16) - before.astype(np.int16)).max(axis=2)[mask]
        assert float(np.median(change)) > 25, f"{line.obj} line {' '.join(line.words)} untouched"
    if HAS_TESSERACT:
        want = names(frame)
        crops = ts.object_crops(frame)
        read_before = ts.words_read(before, want, crops, whole=False, psms=(6,))
        # The judge must be able to read the original, or "nothing read" proves nothing.
        assert len(read_before) >= len(want) // 2, (read_before, want)
        assert ts.words_read(after, want, crops, whole=True, psms=(6, 11)) == set()


def assert_lesion_untouched(before: np.ndarray, after: np.ndarray, frame, tol: float) -> None:
    x1, y1, x2, y2 = frame.lesion_box
    diff = np.abs(after[y1:y2, x1:x2].astype(np.int16) - before[y1:y2, x1:x2].astype(np.int16))
    assert float(diff.mean()) <= tol, float(diff.mean())


def test_teaching_photo_label_wristband_screen_unreadable_lesion_untouched(
    runner: CliRunner, make_consent: Callable[..., str], tmp_path: Path
) -> None:
    frame = ts.still(ts.TextSpec(objects=OBJECTS, width=960, height=540, tone=3, seed=5))
    photo = tmp_path / "IMG_0042.png"
    assert cv2.imwrite(str(photo), frame.image)
    out = tmp_path / "out"
    out.mkdir()
    cid = make_consent("teaching")
    link(runner, photo, cid)

    # The clinician keeps the lesion (the tattoo detector, also on for teaching, would otherwise
    # take the dark lesion among the printed objects for ink); text detection never touches it
    # on its own (tests/detect/test_text.py).
    result = export(runner, photo, "teaching", out, "--json", "--keep", keep_arg(frame))

    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["engine"]["settings"]["text"] is True
    assert data["detections"]["text_tracks"] >= 3
    after = cv2.imread(str(out / f"{cid}_clip01_teaching.png"))
    assert after.shape == frame.image.shape
    assert_unreadable(frame.image, after, frame)
    assert_lesion_untouched(frame.image, after, frame, tol=0.0)  # lossless PNG: not one level


def test_teaching_video_wristband_on_a_moving_arm_unreadable_in_every_frame(
    runner: CliRunner, make_consent: Callable[..., str], tmp_path: Path
) -> None:
    spec = ts.TextSpec(objects=OBJECTS, width=640, height=360, tone=4, frames=24, seed=6)
    frames = list(ts.TextScene(spec).frames())
    clip = tmp_path / "ward_round.mp4"
    _write_clip([f.image for f in frames], clip)
    decoded_in = _read_clip(clip)  # what the engine sees (after the input's own coding)
    out = tmp_path / "out"
    out.mkdir()
    cid = make_consent("teaching")
    link(runner, clip, cid)

    # The lesion sways with the arm: the keep box holds it over the whole clip.
    x1 = min(f.lesion_box[0] for f in frames) - 6
    y1 = min(f.lesion_box[1] for f in frames) - 6
    x2 = max(f.lesion_box[2] for f in frames) + 6
    y2 = max(f.lesion_box[3] for f in frames) + 6
    keep = f"{x1},{y1},{x2 - x1},{y2 - y1}"
    result = export(runner, clip, "teaching", out, "--json", "--keep", keep)

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["detections"]["frames_with_text"] == len(frames)
    decoded_out = _read_clip(out / f"{cid}_clip01_teaching.mp4")
    assert len(decoded_out) == len(frames)
    for i in range(len(frames)):  # the ink is redacted in every frame, the first ones included
        for line in frames[i].lines:
            mask = frames[i].line_mask(line)
            if mask.sum() >= 30:
                change = np.abs(
                    decoded_out[i].astype(np.int16) - decoded_in[i].astype(np.int16)
                ).max(axis=2)[mask]
                assert float(np.median(change)) > 25, (i, line.obj)
        assert_lesion_untouched(decoded_in[i], decoded_out[i], frames[i], tol=4.0)
    for i in (0, len(frames) // 2, len(frames) - 1):
        assert_unreadable(decoded_in[i], decoded_out[i], frames[i])


def test_no_text_is_refused_for_an_anonymised_grant_and_honoured_otherwise() -> None:
    anonymised = decision_for(
        Grant(Purpose.TEACHING, identifiable=False, voice=False, expires=date(2099, 1, 1))
    )
    assert settings_for(anonymised, EngineOptions(), consent_id="C-7K2M").text
    with pytest.raises(ConsentRefused) as refused:
        settings_for(anonymised, EngineOptions(text=False), consent_id="C-7K2M")
    assert refused.value.rule == "anonymisation_required"
    assert "text redaction cannot be switched off" in refused.value.message
    assert "--no-text," in (refused.value.hint or "")
    identifiable = decision_for(
        Grant(Purpose.JOURNAL, identifiable=True, voice=False, expires=date(2099, 1, 1))
    )
    assert settings_for(identifiable, EngineOptions(), consent_id="C-7K2M").text  # on by default
    assert not settings_for(identifiable, EngineOptions(text=False), consent_id="C-7K2M").text


def test_cli_no_text_refused_for_teaching_with_nothing_written(
    runner: CliRunner, registry_home: Home, make_consent: Callable[..., str], tmp_path: Path
) -> None:
    photo = tmp_path / "IMG_0043.png"
    assert cv2.imwrite(str(photo), ts.still(ts.TextSpec(width=320, height=180, seed=7)).image)
    out = tmp_path / "out"
    out.mkdir()
    link(runner, photo, make_consent("teaching"))
    result = export(runner, photo, "teaching", out, "--no-text")
    assert result.exit_code == 3, result.output
    assert "text redaction cannot be switched off" in result.output
    assert list(out.iterdir()) == []


def test_preview_draws_text_in_its_own_colour(runner: CliRunner, tmp_path: Path) -> None:
    frame = ts.still(ts.TextSpec(objects=("label",), width=640, height=360, seed=8))
    photo = tmp_path / "card.png"
    assert cv2.imwrite(str(photo), frame.image)
    shown = tmp_path / "shown.png"
    result = runner.invoke(
        app,
        ["preview", str(photo), "-o", str(shown), "--show-detections", "--no-tattoos", "--quiet"],
    )
    assert result.exit_code == 0, result.output
    assert "text: " in result.output
    img = cv2.imread(str(shown))
    colour = np.array(bgr("text"), dtype=np.int16)
    outline = (np.abs(img.astype(np.int16) - colour) <= 12).all(axis=2)
    assert outline.sum() > 200  # the text outline, in the one colour table's text colour
    plain = tmp_path / "plain.png"
    result = runner.invoke(app, ["preview", str(photo), "-o", str(plain), "--no-text", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "text: 0 track(s)" in result.output


def _write_clip(frames: list[np.ndarray], path: Path) -> None:
    import subprocess

    h, w = frames[0].shape[:2]
    proc = subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{w}x{h}",
         "-r", "30", "-i", "-", "-c:v", "libx264", "-crf", "16", "-pix_fmt", "yuv420p", str(path)],
        input=b"".join(f.tobytes() for f in frames),
        check=False,
    )  # fmt: skip
    assert proc.returncode == 0


def _read_clip(path: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    return frames
