"""``--keep auto``: find the lesion of interest in a close-up, to protect it like a --keep box.

In a dermoscopy image or a skin close-up (``scene.classify_scene``) the clinician centres the
lesion being taught. It is the dominant pigmented blob near the centre: darker than the skin
around it, compact, and a sizeable part of the frame. Outside close-ups (a limb on a drape, a
person) nothing is proposed: there the lesion is not the picture's subject by construction, and a
``--keep`` box drawn by the clinician is the way.

The result is one padded box in frame pixels, or nothing when no blob qualifies. It is a
proposal shown in the preview (``--show-detections``) and on the QA sheet, and recorded in the
manifest, so the reviewer sees what was protected.
"""

from __future__ import annotations

import cv2
import numpy as np

from consentclip.detect.regions import Box
from consentclip.detect.scene import SceneKind, classify_scene, darker_than_skin
from consentclip.detect.skin import LabImage

_WORK_W = 256
# A blob must cover at least this share of the frame, and at most this share (a "lesion" that
# fills the frame is the whole picture: protecting it would switch redaction off).
MIN_SHARE = 0.002
MAX_SHARE = 0.6
PAD_FRAC = 0.15  # of the blob's side, added on every side: the lesion's halo is part of it
MIN_DELTA_E = 8.0  # colour difference from the surrounding skin a pigmented pixel needs


def find_lesion(frame: np.ndarray, scene: SceneKind | None = None) -> tuple[Box, ...]:
    """The lesion of interest in a close-up as one padded box (frame pixels), or ()."""
    kind = scene if scene is not None else classify_scene(frame)
    if kind is SceneKind.SCENE:
        return ()
    h, w = frame.shape[:2]
    s = min(1.0, _WORK_W / w)
    small = cv2.resize(frame, (max(8, round(w * s)), max(8, round(h * s))), cv2.INTER_AREA)
    lab = LabImage.from_bgr(small)
    sh, sw = lab.shape
    lit = lab.L >= 12.0  # a dermoscope's black vignette left out
    pig = darker_than_skin(lab, lit)
    # Blur over ~3% of the width: a lesion's network and globules become one blob, hairs fade.
    k = max(3, (sw // 32) | 1)
    pig = cv2.GaussianBlur(pig, (k, k), 0)
    vals = pig[lit]
    if vals.size == 0 or float(vals.max()) < MIN_DELTA_E:
        return ()
    scaled = np.clip(pig * (255.0 / max(float(vals.max()), 1.0)), 0, 255).astype(np.uint8)
    otsu, _ = cv2.threshold(scaled[lit], 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    thr = max(MIN_DELTA_E, float(otsu) * float(vals.max()) / 255.0)
    mask = ((pig >= thr) & lit).astype(np.uint8)
    mask = cv2.morphologyEx(
        mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    )
    n, labels, stats, cents = cv2.connectedComponentsWithStats(mask, connectivity=8)
    best, best_score = None, 0.0
    half_diag = float(np.hypot(sw / 2, sh / 2))
    for i in range(1, n):
        area = float(stats[i, cv2.CC_STAT_AREA])
        share = area / (sw * sh)
        if not MIN_SHARE <= share <= MAX_SHARE:
            continue
        x, y, bw, bh = (int(v) for v in stats[i, :4])
        comp = (labels[y : y + bh, x : x + bw] == i).astype(np.uint8)
        contours, _ = cv2.findContours(comp, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        hull = cv2.contourArea(cv2.convexHull(max(contours, key=cv2.contourArea))) or 1.0
        solidity = area / hull
        if solidity < 0.5:
            continue  # a scattered or line-like mark (hair, pen, ruler): not a lesion
        cx, cy = cents[i]
        centrality = 1.0 - float(np.hypot(cx - sw / 2, cy - sh / 2)) / half_diag
        score = np.sqrt(area) * centrality**2
        if score > best_score:
            best, best_score = (x, y, bw, bh), score
    if best is None:
        return ()
    x, y, bw, bh = best
    px, py = PAD_FRAC * bw + 2, PAD_FRAC * bh + 2
    box = Box((x - px) / s, (y - py) / s, (bw + 2 * px) / s, (bh + 2 * py) / s).clipped(w, h)
    return (box,) if box.w >= 1 and box.h >= 1 else ()
