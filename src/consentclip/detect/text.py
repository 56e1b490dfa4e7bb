"""Text detection: labels, wristbands, badges and screens that carry a patient's name.

Detection, not reading: nothing needs to be understood to be hidden. The model is PaddleOCR's
PP-OCRv4 text *detector* (a DB - differentiable binarisation - network, Apache-2.0), the ONNX file
shipped inside the ``rapidocr_onnxruntime`` 1.4.4 wheel, vendored here in ``weights/`` with its
licence. It runs in the DNN module of the OpenCV that mediapipe brings: its output matched
onnxruntime's to 4e-5 and it was ~2.5x faster on these machines, so there is no new dependency
and no second OpenCV (rapidocr itself requires opencv-python). The post-processing is ours,
written after rapidocr's ``DBPostProcess``: probability map -> binary -> contours -> minimum-area
rectangles -> scored -> "unclipped" (grown by area * ratio / perimeter on every side, which for
a rectangle is exactly what rapidocr's polygon offset gives) -> axis-aligned boxes, padded.

Two things a dermatology clip needs on top of the model:

- **No text on skin.** The detector fires now and then on skin texture: hair, a row of freckles,
  the edge of a lesion. A candidate whose background is skin-coloured is kept only when it looks
  like lettering: high-contrast strokes in several separate pieces (tattoo lettering is hidden
  either way), never one compact blob (a lesion, a mole) or a faint texture (hair, freckles).
- **Cost.** The model takes ~0.2 s for a 960-pixel frame on two cores, so in a video it runs on
  frame 0, every ``every`` frames, and at once when the picture changes (a cut, a camera swing);
  the tracker's look-ahead interpolates the boxes between runs and back-fills before the first.

Detectors never touch files except this model, which is read once per detector.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from consentclip.detect.regions import Box, Region, RegionKind
from consentclip.detect.skin import LabImage
from consentclip.detect.tracking import Tracker, TrackerConfig
from consentclip.errors import MediaError, UsageError
from consentclip.health import Check

MODEL_PATH = Path(__file__).with_name("weights") / "ch_PP-OCRv4_det_infer.onnx"
MODEL_SHA256 = "d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9"
# PP-OCR's normalisation: (pixel / 255 - 0.5) / 0.5, RGB order as trained (BGR frames are swapped).
_MEAN, _STD = 0.5, 0.5
_K2 = np.ones((2, 2), np.uint8)


@dataclass(frozen=True)
class TextTuning:
    """Thresholds of the detector and its schedule. Model-input pixels unless said otherwise."""

    side: int = 960  # longest side of the model input (a multiple of 32)
    thresh: float = 0.3  # probability that makes a pixel "text" (rapidocr's default)
    # Mean probability inside a box for it to count. rapidocr uses 0.5 for reading; hiding
    # leans to privacy: a box that is blurred for nothing costs less than a name left readable.
    box_thresh: float = 0.4
    unclip: float = 1.6  # DB's box growth (the network predicts shrunken text kernels)
    min_side: float = 3.0  # smaller candidates are specks, not characters
    pad: float = 0.25  # each box grows by this share of its height on every side...
    pad_px: float = 2.0  # ...plus this many frame pixels: the blur must cover ascenders and ink
    # ...plus this share of its length: between two runs a long line that turns (a wristband on
    # a moving arm) sweeps its ends further than its height (measured: 1-3 frames in 120 left
    # 2-5% of a band's ink out without this).
    pad_long: float = 0.05
    # Video schedule: the model runs every ``every`` frames (10: +29% CPU, +39% wall on 1080p
    # at default settings, bench/text_bench.py; 8 cost +41% CPU; 12 let a card's lines 30 px
    # apart swap tracks between runs), and on a cut: a frame whose small
    # grey thumbnail differs from the previous frame's by more than ``scene_change`` levels
    # (mean). Steady motion is the tracker's (measured: a swaying limb drifts 2-5 levels a
    # frame, and compared with the last run instead it re-ran the model every 3-4 frames).
    every: int = 10
    scene_change: float = 12.0
    # No text on skin (see the module docstring).
    skin_background: float = 0.5  # share of the box's background that is skin-coloured
    skin_contrast: float = 60.0  # grey levels between strokes and background for lettering
    # Separate strokes lettering has at least (a name, a date); a drawing is one to three.
    skin_pieces: int = 5
    # One dark blob with little else in a compact box, soft-edged or of moderate contrast, is a
    # lesion, a mole or a pen mark, on skin of any colour (dermoscopy skin is nearly white):
    # lettering is a row of separate strokes. A line whose letters merged (small, blurred) stays
    # text: it is elongated; a single printed digit stays text: sharp and contrasted.
    blob_pieces: int = 6
    blob_share: float = 0.55
    blob_aspect: float = 3.0
    blob_sharpness: float = 0.55
    blob_contrast: float = 100.0
    # Print is sharp against its background; a candidate fainter than this, anywhere, is skin
    # texture or a shadow (grey levels between the Otsu classes).
    min_contrast: float = 25.0


@dataclass(frozen=True)
class TextCandidate:
    """One box the model proposed, in frame pixels, with what the skin filter saw."""

    box: Box
    score: float
    angle: float  # of the minimum-area rectangle, degrees
    skin: float  # share of the background that is skin-coloured
    contrast: float  # grey levels between the two Otsu classes
    pieces: int  # stroke components of the minority class
    largest: float  # share of the stroke pixels in the largest piece
    sharpness: float  # steepest edges (95th percentile of the gradient) / contrast
    reason: str = ""  # why rejected; "" when kept


def check_model_file(path: Path = MODEL_PATH) -> str | None:
    """None when the bundled model is present and intact, else what is wrong."""
    if not path.is_file():
        return f"missing: {path}"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != MODEL_SHA256:
        return f"corrupt (sha256 {digest[:12]}...): reinstall consentclip"
    return None


class TextModel:
    """The DB text detector in OpenCV's DNN module: frame -> probability map at model size."""

    def __init__(self, side: int = 960, path: Path = MODEL_PATH) -> None:
        problem = check_model_file(path)
        if problem is not None:
            raise MediaError(
                f"the text detection model is {problem}", hint="run 'consentclip doctor'"
            )
        if side < 64 or side % 32:
            raise UsageError(f"the text model's side must be a multiple of 32 from 64, got {side}")
        self.side = side
        self._net: Any = cv2.dnn.readNetFromONNX(str(path))

    def input_size(self, width: int, height: int) -> tuple[int, int]:
        """(w, h) the frame is resized to: longest side ``side`` (never enlarged beyond it),
        each side a multiple of 32 as the network needs."""
        scale = min(1.0, self.side / max(width, height))
        w = max(32, round(width * scale / 32) * 32)
        h = max(32, round(height * scale / 32) * 32)
        return w, h

    def probability(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(probability map HxW float32, the resized BGR image it was computed on)."""
        h, w = frame.shape[:2]
        iw, ih = self.input_size(w, h)
        small = cv2.resize(
            frame, (iw, ih), interpolation=cv2.INTER_AREA if iw < w else cv2.INTER_LINEAR
        )
        blob = cv2.dnn.blobFromImage(
            small, 1.0 / (255.0 * _STD), (iw, ih), (255.0 * _MEAN,) * 3, swapRB=True
        )
        self._net.setInput(blob)
        out = self._net.forward()
        return out[0, 0].astype(np.float32, copy=False), small


def _box_score(prob: np.ndarray, pts: np.ndarray) -> float:
    """Mean probability inside the rotated rectangle ``pts`` (rapidocr's "fast" score)."""
    h, w = prob.shape
    x1 = int(np.clip(np.floor(pts[:, 0].min()), 0, w - 1))
    x2 = int(np.clip(np.ceil(pts[:, 0].max()), 0, w - 1))
    y1 = int(np.clip(np.floor(pts[:, 1].min()), 0, h - 1))
    y2 = int(np.clip(np.ceil(pts[:, 1].max()), 0, h - 1))
    mask = np.zeros((y2 - y1 + 1, x2 - x1 + 1), np.uint8)
    cv2.fillPoly(mask, [np.round(pts - (x1, y1)).astype(np.int32)], 1)
    return float(cv2.mean(prob[y1 : y2 + 1, x1 : x2 + 1], mask)[0])


def db_boxes(prob: np.ndarray, tuning: TextTuning) -> list[tuple[np.ndarray, float, float]]:
    """DB post-processing: (4 corner points in map pixels, score, angle) per text box."""
    mask = cv2.dilate((prob > tuning.thresh).astype(np.uint8), _K2)
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    out = []
    for contour in contours[:1000]:
        (cx, cy), (rw, rh), angle = cv2.minAreaRect(contour)
        if min(rw, rh) < tuning.min_side:
            continue
        score = _box_score(prob, cv2.boxPoints(((cx, cy), (rw, rh), angle)))
        if score < tuning.box_thresh:
            continue
        # Unclip: the network marks a shrunken kernel of each text line; grow it back by
        # area * ratio / perimeter on every side (rapidocr offsets the polygon by that distance).
        grow = rw * rh * tuning.unclip / (2.0 * (rw + rh))
        rect = ((cx, cy), (rw + 2 * grow, rh + 2 * grow), angle)
        if min(rect[1]) < tuning.min_side + 2:
            continue
        out.append((cv2.boxPoints(rect), score, float(angle)))
    return out


def skin_like(lab: LabImage) -> np.ndarray:
    """Warm, moderately saturated pixels: skin of any type, pink or red under a dermatoscope,
    brown lesions and moles (bool). Wider than ``skin.prior_mask`` on purpose: only text whose
    background passes this must also look like lettering. A white, grey, black or blue card,
    band or screen does not pass (chroma below 6, or not red-yellow)."""
    a, b = lab.a, lab.b
    c2 = a * a + b * b
    return (a >= 3.0) & (b >= -0.3 * a) & (c2 >= 36.0) & (c2 <= 75.0**2) & (lab.L >= 8.0)


def _features(
    gray: np.ndarray, skin: np.ndarray, pts: np.ndarray
) -> tuple[float, float, int, float, float]:
    """(skin share of the background, contrast, stroke pieces, the largest piece's share of the
    strokes, edge sharpness) of one candidate.

    Only pixels inside the candidate's rotated rectangle ``pts`` count (an axis-aligned crop of
    a tilted wristband is mostly the skin around it). Their two Otsu classes are the strokes (the
    smaller) and the background (the larger). The background is also read in a ring just outside
    the rectangle: a tattoo filled with colour can fill its own box, but the skin around it is
    skin, while around a line of print lies its card, band or screen.
    """
    h, w = gray.shape
    short = min(cv2.minAreaRect(pts.astype(np.float32))[1])
    ring = max(4, round(0.3 * short))
    x1, y1 = (max(0, int(v) - ring) for v in np.floor(pts.min(axis=0)))
    x2, y2 = (int(v) + ring for v in np.ceil(pts.max(axis=0)))
    x2, y2 = min(w, x2), min(h, y2)
    g, sk = gray[y1:y2, x1:x2], skin[y1:y2, x1:x2]
    inside_u8 = np.zeros(g.shape, np.uint8)
    cv2.fillPoly(inside_u8, [np.round(pts - (x1, y1)).astype(np.int32)], 1)
    inside = inside_u8 > 0
    around = (cv2.dilate(inside_u8, np.ones((2 * ring + 1, 2 * ring + 1), np.uint8)) > 0) & ~inside
    values = g[inside]
    if values.size < 16:
        return 0.0, 0.0, 0, 1.0, 0.0
    t, _ = cv2.threshold(values.reshape(1, -1), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    light = (g > t) & inside
    dark = (g <= t) & inside
    strokes, back = (light, dark) if light.sum() <= dark.sum() else (dark, light)
    ring_skin = float(sk[around].mean()) if around.any() else 0.0
    if not strokes.any() or not back.any():
        return max(float(sk[inside].mean()), ring_skin), 0.0, 0, 1.0, 0.0
    contrast = abs(float(g[strokes].mean()) - float(g[back].mean()))
    skin_share = max(float(sk[back].mean()), ring_skin)
    _, _, stats, _ = cv2.connectedComponentsWithStats(strokes.astype(np.uint8), connectivity=8)
    # A piece is a stroke of some size: specks of noise do not make lettering.
    min_px = max(4, int(0.002 * values.size))
    areas = stats[1:, cv2.CC_STAT_AREA]
    pieces = int((areas >= min_px).sum())
    largest = float(areas.max()) / float(areas.sum()) if areas.size else 1.0
    # Print changes from ink to paper within a pixel or two, a lesion's border over many: the
    # steepest gradients against the contrast (1.0-1.5 for print, 0.65 blurred; 0.15-0.4 for
    # lesions under a dermatoscope).
    gf = g.astype(np.float32)
    mag = np.hypot(cv2.Sobel(gf, cv2.CV_32F, 1, 0), cv2.Sobel(gf, cv2.CV_32F, 0, 1)) / 4.0
    sharpness = float(np.percentile(mag[inside], 95)) / max(contrast, 1.0)
    return skin_share, contrast, pieces, largest, sharpness


def scale_marking(gray: np.ndarray, pts: np.ndarray) -> bool:
    """Is this candidate the printed scale of a ruler (a row of tick marks), not lettering?

    A dermoscope's or a photo ruler's scale is a straight baseline with thin ticks standing on
    it at one regular spacing (a millimetre; longer ticks every 5 and 10); the model takes the
    row of ticks for a line of text (measured: ISIC_0025769, a box over the long ticks alone).
    Lettering has no stroke running the whole length beside it, and its strokes are neither
    all thin nor evenly spaced (a label card, a name, a date); a barcode's bars are thin but of
    several widths and spacings. So, in the box widened across its length by its own height on
    both sides (the baseline lies beside the ticks the model boxed), in the stroke pixels (the
    darker or lighter Otsu class, whichever is smaller):

    - one band of at most a quarter of the height (2 rows if that is less) covered over >= 70% of
      the length: the baseline (a filled block or several ruled lines are not one);
    - the rest, column by column, is >= 6 marks, none wider than 1.5x the median mark (and 2 px
      at least); >= 80% of them touch the baseline (ticks stand on it; print above a rule does
      not);
    - >= 80% of the spacings are within a pixel (or a fifth, when larger) of the median one.

    Only axis-aligned scales (within 10 degrees) are recognised; the printed unit beside a
    scale ("MM", "cm") is lettering to this test and is judged like any text. Measured on
    generated rulers (1 mm = 3 to 10 px, resampled x0.6 to x1.7): 30 of 30 recognised; on
    random barcodes, alone, above or standing on a rule: 0 of 900 taken for a scale.
    """
    _, _, angle = cv2.minAreaRect(pts.astype(np.float32))
    if min(angle % 90.0, 90.0 - angle % 90.0) > 10.0:
        return False
    h, w = gray.shape
    x1, y1 = (int(v) for v in np.floor(pts.min(axis=0)))
    x2, y2 = (int(v) for v in np.ceil(pts.max(axis=0)))
    horizontal = x2 - x1 >= y2 - y1
    grow = (y2 - y1) if horizontal else (x2 - x1)
    if horizontal:
        y1, y2 = y1 - grow, y2 + grow
    else:
        x1, x2 = x1 - grow, x2 + grow
    crop = gray[max(0, y1) : min(h, y2), max(0, x1) : min(w, x2)]
    if crop.size < 64 or min(crop.shape) < 4:
        return False
    t, _ = cv2.threshold(crop, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    dark = crop <= t
    strokes = dark if dark.sum() <= (~dark).sum() else ~dark
    return _ticks_on_a_baseline(strokes if horizontal else strokes.T)


def _ticks_on_a_baseline(strokes: np.ndarray) -> bool:
    """``scale_marking`` for a scale lying along the rows of ``strokes`` (bool, rows x cols)."""
    h, w = strokes.shape
    if w < 3 * h // 2:
        return False  # a scale runs along its length
    base = np.flatnonzero(strokes.mean(axis=1) >= 0.7)
    if base.size == 0 or base.size > max(2, h // 4) or base.max() - base.min() >= base.size + 2:
        return False  # no baseline, a filled block, or several lines (an underlined text block)
    top, bottom = int(base.min()), int(base.max())
    rest = strokes.copy()
    rest[top : bottom + 1, :] = False
    cols = rest.any(axis=0)
    # Runs of columns holding stroke pixels: the ticks.
    edges = np.diff(np.concatenate([[0], cols.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    widths = ends - starts
    if len(starts) < 6 or int(widths.max()) > max(2, 1.5 * float(np.median(widths))):
        return False  # too few marks, or marks of several widths (a barcode, lettering)
    # Ticks stand on the baseline: the row next to it holds stroke pixels under each of them
    # (a barcode or a line of print above a rule stands apart from it).
    beside = np.zeros(w, bool)
    if top > 0:
        beside |= rest[top - 1]
    if bottom + 1 < h:
        beside |= rest[bottom + 1]
    touching = [bool(beside[s0:e0].any()) for s0, e0 in zip(starts, ends, strict=True)]
    if float(np.mean(touching)) < 0.8:
        return False
    # One spacing, up to a pixel of resampling (a millimetre is 2-3 pixels at the model's input
    # for a ruler beside a lesion), or a fifth of it when larger.
    gaps = np.diff((starts + ends - 1) / 2.0)
    spacing = float(np.median(gaps))
    regular = np.abs(gaps - spacing) <= max(1.0, 0.2 * spacing)
    return float(regular.mean()) >= 0.8


class TextDetector:
    """Detector of text regions (RegionKind.TEXT) for the engine; see the module docstring.

    ``keep`` boxes (frame pixels): a candidate wholly inside one is not proposed (a ruler's scale
    beside the lesion stays readable; the redactor never touches keep pixels anyway).
    """

    kind = RegionKind.TEXT

    def __init__(
        self,
        keep: Sequence[Box] = (),
        *,
        tuning: TextTuning | None = None,
        model: TextModel | None = None,
    ) -> None:
        self.tuning = tuning or TextTuning()
        if self.tuning.every < 1:
            raise UsageError(
                f"the text detector must run at least every frame, got {self.tuning.every}"
            )
        self.keep = tuple(keep)
        self.model = model or TextModel(self.tuning.side)
        self._last_run: int | None = None
        self._prev_thumb: np.ndarray | None = None
        self.runs = 0  # model runs so far (for the benchmark)
        self.last_candidates: list[TextCandidate] = []  # for the benchmark and tests

    def close(self) -> None:
        self._prev_thumb = None

    def reset(self) -> None:
        """Forget the schedule: the next frame is a new picture (one photo after another)."""
        self._last_run = None
        self._prev_thumb = None

    def due(self, index: int, thumb: np.ndarray) -> bool:
        """Whether the model runs on this frame: the first, every ``every``-th after the last
        run, and the first after a cut (the tracker cannot carry boxes across one)."""
        prev, self._prev_thumb = self._prev_thumb, thumb
        if self._last_run is None or prev is None:
            return True
        if index - self._last_run >= self.tuning.every:
            return True
        diff = float(np.abs(thumb.astype(np.int16) - prev.astype(np.int16)).mean())
        return diff > self.tuning.scene_change

    def process_frame(
        self, index: int, frame: np.ndarray, found: Sequence[Region] = ()
    ) -> list[Region]:
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise UsageError("text detector needs an HxWx3 uint8 BGR frame")
        thumb = cv2.cvtColor(
            cv2.resize(frame, (32, 18), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY
        )
        if not self.due(index, thumb):
            return []
        self._last_run = index
        self.runs += 1
        self.last_candidates = self.candidates(frame)
        return [
            Region(c.box, RegionKind.TEXT, score=c.score, source="text")
            for c in self.last_candidates
            if not c.reason
        ]

    def candidates(self, frame: np.ndarray) -> list[TextCandidate]:
        """Every box the model proposes in ``frame``, judged (``reason`` "" when kept)."""
        t = self.tuning
        h, w = frame.shape[:2]
        prob, small = self.model.probability(frame)
        sh, sw = prob.shape
        sx, sy = w / sw, h / sh
        boxes = db_boxes(prob, t)
        if not boxes:
            return []
        gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        skin = skin_like(LabImage.from_bgr(small))
        out = []
        for pts, score, angle in boxes:
            x1, y1 = np.floor(pts.min(axis=0)).astype(int)
            x2, y2 = np.ceil(pts.max(axis=0)).astype(int)
            x1, y1, x2, y2 = max(0, x1), max(0, y1), min(sw, x2), min(sh, y2)
            if x2 - x1 < 2 or y2 - y1 < 2:
                continue
            skin_share, contrast, pieces, largest, sharpness = _features(gray, skin, pts)
            # In frame pixels, padded: the box must cover the ink, ascenders and descenders.
            (_, _), (rw, rh), _ = cv2.minAreaRect(pts.astype(np.float32))
            line_h = min(rw, rh) * sy
            pad = t.pad * line_h + t.pad_px + t.pad_long * max(rw, rh) * sx
            box = Box.from_corners(x1 * sx - pad, y1 * sy - pad, x2 * sx + pad, y2 * sy + pad)
            box = box.clipped(w, h)
            reason = ""
            aspect = max(rw, rh) / max(1.0, min(rw, rh))
            if contrast < t.min_contrast:
                reason = "faint"
            elif skin_share >= t.skin_background and (
                contrast < t.skin_contrast or pieces < t.skin_pieces
            ):
                reason = "skin"
            elif (
                pieces <= t.blob_pieces
                and largest >= t.blob_share
                and aspect < t.blob_aspect
                and (sharpness < t.blob_sharpness or contrast < t.blob_contrast)
            ):
                reason = "blob"
            elif scale_marking(gray, pts):
                reason = "scale"  # a ruler's ticks beside the lesion: a measure, not a name
            elif any(k.intersection_area(box) >= box.area * 0.999 for k in self.keep):
                reason = "keep"
            out.append(
                TextCandidate(
                    box, score, angle, skin_share, contrast, pieces, largest, sharpness, reason
                )
            )
        return out


def text_tuning_for(lookahead: int) -> TextTuning:
    """The schedule for a tracker look-ahead: two runs must fit inside it, so that the tracker
    always interpolates between two detections instead of guessing (1080p: every 10 of 24)."""
    base = TextTuning()
    return TextTuning(every=max(1, min(base.every, lookahead // 2)))


def text_tracker(lookahead: int) -> Tracker:
    """The engine's tracker, told the text cadence: two runs ``every`` frames apart confirm a
    track (the face default of 8 frames would leave text seen once per cadence unconfirmed, with
    a 2-frame hold), and a label is covered for a second after its last detection."""
    every = text_tuning_for(lookahead).every
    # Boxes grow twice as fast as a face's away from a run: the frames after the last run of a
    # clip are only extrapolated (measured: the 7th frame after it left 3% of a moving band out).
    config = TrackerConfig(confirm_window=every + 1, grow_per_frame=0.03)
    return Tracker(lookahead=lookahead, config=config)


def text_checks() -> list[Check]:
    """For ``consentclip doctor``: the bundled model is intact, loads and finds rendered text."""
    problem = check_model_file()
    if problem is not None:
        return [Check("model: text detection (PP-OCRv4 det)", False, problem)]
    try:
        detector = TextDetector(tuning=TextTuning(side=320))
        card = np.full((120, 320, 3), 235, np.uint8)
        cv2.putText(card, "JANE DOE 0421", (12, 70), cv2.FONT_HERSHEY_SIMPLEX, 1.1, (20, 20, 20), 2)
        found = detector.process_frame(0, card)
    except Exception as exc:  # doctor reports every failure as a line, never a traceback
        return [Check("model: text detection (PP-OCRv4 det)", False, f"does not run: {exc!r}")]
    ok = bool(found)
    detail = f"{MODEL_PATH.name} in OpenCV {cv2.__version__} DNN" + (
        "" if ok else " loads but found no text on a test card"
    )
    return [Check("model: text detection (PP-OCRv4 det)", ok, detail)]
