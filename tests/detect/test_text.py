"""Text detection (detect/text.py) with the real bundled model: what it finds on generated
labels, wristbands, badges and screens, what it leaves alone on skin, keep boxes, the schedule,
and the DB post-processing on its own.

Scenes come from bench/textsynth.py, which draws every line of text into a label image too.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from benchmods import bench_module
from consentclip.detect.regions import Box, Region, RegionKind
from consentclip.detect.text import (
    MODEL_PATH,
    TextDetector,
    TextModel,
    TextTuning,
    check_model_file,
    db_boxes,
    scale_marking,
    text_checks,
    text_tracker,
    text_tuning_for,
)
from consentclip.errors import MediaError, UsageError

ts = bench_module("textsynth")
skinsynth = bench_module("skinsynth")


@pytest.fixture(scope="module")
def model() -> TextModel:
    return TextModel()


def covered(mask: np.ndarray, regions: list[Region]) -> float:
    cover = np.zeros(mask.shape, bool)
    h, w = mask.shape
    for r in regions:
        x1, y1, x2, y2 = r.box.clipped(w, h).int_corners()
        cover[y1:y2, x1:x2] = True
    return float((mask & cover).sum()) / max(1, int(mask.sum()))


def touches_lesion(frame, regions: list[Region]) -> bool:
    lesion = Box.from_corners(*frame.lesion_box)
    return any(r.box.intersection_area(lesion) > 0 for r in regions)


# --- the DB post-processing, without the model --------------------------------------------------


def test_db_boxes_grow_a_text_kernel_back_to_the_line() -> None:
    prob = np.zeros((96, 192), np.float32)
    prob[40:50, 30:150] = 0.9  # the shrunken kernel of one line of text
    boxes = db_boxes(prob, TextTuning())
    assert len(boxes) == 1
    pts, score, _ = boxes[0]
    assert score > 0.75  # the dilated contour takes in a pixel of background
    x1, y1 = pts.min(axis=0)
    x2, y2 = pts.max(axis=0)
    # Unclip distance = area * 1.6 / perimeter = 121*11*1.6/264 ~ 8 px on every side.
    assert x1 < 30 - 5 and x2 > 150 + 5 and y1 < 40 - 5 and y2 > 50 + 5
    assert x2 - x1 < 121 + 2 * 11 and y2 - y1 < 11 + 2 * 11


def test_db_boxes_drop_faint_and_tiny_blobs() -> None:
    prob = np.zeros((96, 192), np.float32)
    prob[10:20, 10:100] = 0.35  # above the pixel threshold, below the box threshold
    prob[60:62, 150:152] = 0.95  # a speck
    assert db_boxes(prob, TextTuning()) == []


def test_model_input_is_a_multiple_of_32_and_never_enlarged(model: TextModel) -> None:
    assert model.input_size(1920, 1080) == (960, 544)
    assert model.input_size(333, 200) == (320, 192)
    prob, small = model.probability(np.full((200, 333, 3), 128, np.uint8))
    assert prob.shape == (192, 320) and small.shape == (192, 320, 3)
    assert prob.dtype == np.float32 and prob.min() >= 0.0 and prob.max() <= 1.0


def test_a_missing_or_altered_model_is_refused(tmp_path: Path) -> None:
    assert check_model_file() is None
    assert "missing" in (check_model_file(tmp_path / "none.onnx") or "")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(MODEL_PATH.read_bytes()[:-10] + b"0123456789")
    assert "corrupt" in (check_model_file(bad) or "")
    with pytest.raises(MediaError, match="corrupt"):
        TextModel(path=bad)
    with pytest.raises(UsageError):
        TextModel(side=100)


def test_doctor_check_runs_the_model() -> None:
    (check,) = text_checks()
    assert check.ok, check.detail


# --- what it finds ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec",
    [
        ts.TextSpec(width=960, height=540, tone=2, font="sans", angle=8, seed=1),
        ts.TextSpec(width=960, height=540, tone=5, font="hershey", angle=-15, light=1.0, seed=2),
        ts.TextSpec(width=960, height=540, tone=3, font="bold", angle=25, blur=1.0, seed=3),
    ],
    ids=["sans", "hershey-dark-light", "bold-tilted-soft"],
)
def test_every_line_of_label_wristband_badge_and_screen_is_covered(model: TextModel, spec) -> None:
    frame = ts.still(spec)
    regions = TextDetector(model=model).process_frame(0, frame.image)
    assert all(r.kind is RegionKind.TEXT for r in regions)
    missed = [
        (line.obj, " ".join(line.words))
        for line in frame.lines
        if frame.line_mask(line).any() and covered(frame.line_mask(line), regions) < 0.98
    ]
    assert not missed
    assert not touches_lesion(frame, regions)  # the lesion beside them is not text


def test_keep_box_wins_a_rulers_scale_stays(model: TextModel) -> None:
    frame = np.full((360, 640, 3), (150, 170, 210), np.uint8)  # skin-ish background
    cv2.rectangle(frame, (40, 250), (600, 320), (245, 245, 245), -1)  # a ruler
    for i, x in enumerate(range(60, 600, 60)):
        cv2.line(frame, (x, 250), (x, 270), (20, 20, 20), 2)
        cv2.putText(frame, str(i), (x - 6, 300), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (20, 20, 20), 2)
    cv2.putText(frame, "SMITH JOHN 0421", (60, 120), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (20, 20, 20), 3)
    ruler = Box(30, 240, 580, 90)
    free = TextDetector(model=model).process_frame(0, frame)
    kept = TextDetector([ruler], model=model).process_frame(0, frame)
    assert any(r.box.intersection_area(ruler) > 0 for r in free)  # the scale is text...
    assert not [r for r in kept if r.box.intersection_area(ruler) >= r.box.area * 0.999]
    assert any(r.box.y2 < 200 for r in kept)  # ...the name is still found


# --- what it leaves alone -----------------------------------------------------------------------


@pytest.mark.parametrize("tone", [1, 2, 3, 4, 5, 6])
def test_no_text_on_skin_lesions_moles_hair_and_drawn_tattoos(model: TextModel, tone: int) -> None:
    spec = skinsynth.SceneSpec(
        tone,
        960,
        540,
        frames=1,
        seed=tone,
        tattoos=("line_art", "coloured", "faded"),
        distractors=skinsynth.DISTRACTOR_KINDS,
    )
    frame = next(skinsynth.Scene(spec).frames())
    detector = TextDetector(model=model)
    regions = detector.process_frame(0, frame.image)
    assert regions == [], [
        (c.box, c.reason, c.skin, c.contrast, c.pieces) for c in detector.last_candidates
    ]


# --- the video schedule and its tracker ----------------------------------------------------------


def test_model_runs_every_nth_frame_and_at_a_cut(model: TextModel) -> None:
    a = ts.still(ts.TextSpec(objects=("label",), width=640, height=360, seed=4)).image
    b = np.ascontiguousarray(a[::-1])  # a different picture: a cut
    detector = TextDetector(model=model, tuning=TextTuning(every=4))
    found = [bool(detector.process_frame(i, a)) for i in range(9)]
    assert detector.runs == 3 and found == [
        True,
        False,
        False,
        False,
        True,
        False,
        False,
        False,
        True,
    ]
    assert detector.process_frame(9, b) and detector.runs == 4  # the cut is looked at at once
    with pytest.raises(UsageError):
        TextDetector(model=model, tuning=TextTuning(every=0))


def test_cadence_fits_the_lookahead_and_the_tracker_confirms_over_it() -> None:
    assert text_tuning_for(24).every == 10 and text_tuning_for(12).every == 6
    tracker = text_tracker(24)
    label = Region(Box(100, 100, 200, 40), RegionKind.TEXT, score=0.6, source="text")
    out: list[tuple[int, list[Region]]] = []
    for i in range(60):
        out += tracker.push(i, [label] if i % 10 == 0 and i <= 40 else [])
    out += tracker.flush()
    covered_frames = [i for i, regions in out if regions]
    # Detections every 10 frames (0..40) confirm each other: covered throughout, and held after.
    assert covered_frames[:41] == list(range(41)) and len(covered_frames) > 41


# --- a ruler's scale is a measure, not a name (text.scale_marking) ----------------------------


def _scale_image(tick_px: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """A ruler scale as printed beside a lesion (baseline, a tick every millimetre, longer every
    5 and 10) on pink skin, grey; and the box the model puts over its long ticks (as on
    ISIC_0025769, where the ticks were taken for a line of text)."""
    gray = np.full((120, 400), 190, np.uint8)
    x0, y0 = 40, 80
    cv2.line(gray, (x0, y0), (x0 + 50 * tick_px, y0), 30, 2)
    for i in range(51):
        length = 16 if i % 10 == 0 else (10 if i % 5 == 0 else 5)
        cv2.line(gray, (x0 + i * tick_px, y0), (x0 + i * tick_px, y0 - length), 30, 1)
    box = np.array([[x0, y0 - 16], [x0 + 50 * tick_px, y0 - 16], [x0 + 50 * tick_px, y0 - 6],
                    [x0, y0 - 6]], np.float32)  # fmt: skip
    return gray, box


@pytest.mark.parametrize("tick_px", [3, 5, 8])
def test_ruler_ticks_are_a_scale_not_text(tick_px: int) -> None:
    gray, box = _scale_image(tick_px)
    assert scale_marking(gray, box)
    # Turned a quarter: a scale along the side of the picture.
    turned = np.ascontiguousarray(np.rot90(gray))
    tbox = np.stack([box[:, 1], gray.shape[1] - 1 - box[:, 0]], axis=1)
    assert scale_marking(turned, tbox)


def test_underlined_lettering_is_not_a_scale() -> None:
    # A label card's line: a name and a date, underlined. The underline is a baseline, but the
    # letters are neither thin ticks nor evenly spaced.
    gray = np.full((120, 400), 235, np.uint8)
    cv2.putText(gray, "JANE DOE 12/03/61", (20, 70), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 20, 2)
    cv2.line(gray, (18, 80), (340, 80), 20, 2)
    box = np.array([[18, 45], [340, 45], [340, 74], [18, 74]], np.float32)
    assert not scale_marking(gray, box)


def test_scale_without_regular_ticks_is_not_a_scale() -> None:
    gray, box = _scale_image(5)
    cv2.rectangle(gray, (100, 60), (160, 78), 30, -1)  # a block of print on the ticks
    assert not scale_marking(gray, box)


@pytest.mark.parametrize("rule_gap", [None, 6, 1])
def test_barcode_is_not_a_scale(rule_gap: int | None) -> None:
    # A wristband's barcode encodes an identifier: thin bars, but of varying widths and gaps. It
    # must stay text (hidden), also printed above a rule or standing on one.
    for seed in range(20):
        gray = np.full((120, 400), 235, np.uint8)
        rng = np.random.default_rng(seed)
        x = 40
        while x < 330:
            bar = int(rng.integers(1, 5))
            cv2.rectangle(gray, (x, 40), (x + bar - 1, 80), 20, -1)
            x += bar + int(rng.integers(1, 5))
        if rule_gap is not None:
            cv2.line(gray, (40, 80 + rule_gap), (330, 80 + rule_gap), 20, 2)
        box = np.array([[40, 60], [330, 60], [330, 84], [40, 84]], np.float32)
        assert not scale_marking(gray, box), seed


@pytest.mark.parametrize("factor", [0.6, 1.0, 1.7])
def test_resampled_ruler_is_still_a_scale(factor: float) -> None:
    # The model sees the frame resampled to its input size: a millimetre can be 2-3 pixels.
    gray, box = _scale_image(4)
    interp = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    small = cv2.resize(gray, None, fx=factor, fy=factor, interpolation=interp)
    assert scale_marking(small, box * factor)
