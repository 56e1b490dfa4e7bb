"""Reading a scanned or photographed consent form: the consent id from its QR code, which page is
which from its ArUco corner marks, and whether the hand-filled fields hold ink; and the two ways
of filing a signed form that need pixels (a scan, an electronic signature image).

This is pixel work, so it sits outside ``consent/`` (which knows no pixels) and above it, as
``export`` does for clips: it imports the form's geometry from ``consent/markers`` and
``consent/pdf``, decodes pages through ``media/raster``, and hands ``consent/actions`` what it
needs to file the form (docs/architecture.md). Only codes in consentclip's namespace count.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from consentclip.consent import actions, markers
from consentclip.consent.ids import parse_qr_payload
from consentclip.consent.pdf import FormLayout
from consentclip.consent.records import Purpose
from consentclip.home import Home
from consentclip.media import raster


def read_consent_ids(path: Path) -> list[str]:
    """The consent ids in every consentclip QR code of the scan, in page order, deduplicated."""
    found: list[str] = []
    for page in raster.gray_pages(path):
        if _later_page(page):
            continue  # the QR code is on page 1; a page without one costs every reader's try
        for payload in _decode(page):
            cid = parse_qr_payload(payload)
            if cid and cid not in found:
                found.append(cid)
    return found


def _later_page(gray: np.ndarray) -> bool:
    """True when the page's corner marks say it is page 2 or later of a consentclip form."""
    _, ids = _detect_markers(_marker_detector(), gray)
    return bool(ids) and all(markers.page_and_corner(i)[0] > 1 for i in ids)


def _marker_detector() -> cv2.aruco.ArucoDetector:
    return cv2.aruco.ArucoDetector(
        cv2.aruco.getPredefinedDictionary(cv2.aruco.DICT_4X4_50), cv2.aruco.DetectorParameters()
    )


def _decode(gray: np.ndarray) -> list[str]:
    """The QR payloads on one page, trying readers and image variants until one reads.

    A phone photo of a form at 120 dpi gives only ~5 pixels per QR module, and each of OpenCV's
    readers misses a different few percent of such photos (grain, JPEG blocks, a slight turn).
    The classic reader alone missed 13 of 100 (a CI failure); the ladder below missed none of 200
    (``bench/scan_reading.py``, bench/results/scan.md).
    """
    for reader in _readers():
        for candidate in _variants(gray):
            texts = reader(candidate)
            if texts:
                return texts
    return []


def _variants(gray: np.ndarray) -> Iterator[np.ndarray]:
    # As is; enlarged (small codes); binarised (uneven light); smaller (huge scans).
    yield gray
    h, w = gray.shape[:2]
    if max(h, w) < 2400:
        yield cv2.resize(gray, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    gaussian = cv2.ADAPTIVE_THRESH_GAUSSIAN_C
    yield cv2.adaptiveThreshold(gray, 255, gaussian, cv2.THRESH_BINARY, 51, 10)
    scale = 1600 / max(h, w)
    if scale < 1:
        yield cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


def _readers() -> Iterator[Callable[[np.ndarray], list[str]]]:
    def classic(image: np.ndarray, detector: cv2.QRCodeDetector) -> list[str]:
        ok, payloads, _, _ = detector.detectAndDecodeMulti(image)
        texts = [p for p in payloads if p] if ok else []
        if not texts:
            text, _, _ = detector.detectAndDecode(image)
            texts = [text] if text else []
        return texts

    yield lambda image: classic(image, cv2.QRCodeDetector())
    yield lambda image: classic(image, cv2.QRCodeDetectorAruco())
    if hasattr(cv2, "wechat_qrcode"):  # opencv-contrib, which mediapipe brings
        wechat = cv2.wechat_qrcode.WeChatQRCode()
        yield lambda image: [t for t in wechat.detectAndDecode(image)[0] if t]


# --- is the form signed? -----------------------------------------------------------------

ANALYSIS_DPI = 150  # scan pages are mapped onto the printed layout at this resolution
# A pixel is ink when it is this much darker than the paper around it (0-255, after the paper
# is flattened to white). A pen running dry, blurred on a phone photo, is ~35-60 below paper;
# shadows are flattened away; grain and JPEG blocks leave specks the stroke-size filter drops.
INK_CONTRAST = 28
# A field counts as filled when this share of its area is ink in blobs of a pen stroke's size.
# A blank field on a phone photo measured up to ~1%; the faintest simulated signature ~10%
# (bench/scan_signatures.py, bench/results/scan_signatures.md).
MIN_INK_SIGNATURE = 0.03
MIN_INK_INITIALS = 0.05
FIELD_INSET_MM = 1.2  # keep clear of the printed box and cell lines
SEARCH_MM = 3.0  # how far a field may sit from where the corner marks put it


@dataclass(frozen=True)
class FieldInk:
    kind: str  # "signature" | "initials"
    key: str
    page: int
    ink: float  # share of the field's area covered by pen strokes
    filled: bool


@dataclass(frozen=True)
class SignatureCheck:
    """What a scan shows of the hand-filled fields; ``problems`` empty when it may be filed."""

    pages_expected: int
    pages_found: tuple[int, ...]
    fields: tuple[FieldInk, ...]
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def check_signatures(
    paths: Path | Sequence[Path],
    layout: FormLayout,
    reference_pdf: bytes,
    required: Sequence[tuple[str, str]],
) -> SignatureCheck:
    """Map every page of the scan onto the printed form through its corner marks, then judge
    the ink in each required field (the signer's signature cell, each granted purpose's
    initials box). The printed form itself (``reference_pdf``) is subtracted, so a box's own
    lines and nearby text never count as a signature."""
    files = [paths] if isinstance(paths, Path) else list(paths)
    pages = [page for path in files for page in raster.gray_pages(path, layout.pages + 2)]
    return judge(pages, layout, reference_pdf, required)


def judge(
    pages: Sequence[np.ndarray],
    layout: FormLayout,
    reference_pdf: bytes,
    required: Sequence[tuple[str, str]],
) -> SignatureCheck:
    scale = ANALYSIS_DPI / 72
    size = (round(layout.page_size[0] * scale), round(layout.page_size[1] * scale))
    registered: dict[int, tuple[int, np.ndarray]] = {}  # page -> (markers seen, page image)
    for image in pages:
        for page, (seen, warped) in _register(image, layout, size).items():
            if seen > registered.get(page, (0, None))[0]:
                registered[page] = (seen, warped)
    found = tuple(sorted(registered))
    problems: list[str] = []
    missing = [p for p in range(1, layout.pages + 1) if p not in registered]
    if missing:
        problems.append(
            f"page{'s' if len(missing) > 1 else ''} {', '.join(map(str, missing))} of "
            f"{layout.pages} missing from the scan (or its corner marks are not visible)"
        )
    references = raster.render_pdf_gray(reference_pdf, scale)
    results: list[FieldInk] = []
    empty: list[str] = []
    for kind, key in required:
        spot = layout.field(kind, key)
        if spot is None or spot.page not in registered:
            continue
        ink = field_ink(registered[spot.page][1], references[spot.page - 1], spot.box, scale)
        least = MIN_INK_SIGNATURE if kind == "signature" else MIN_INK_INITIALS
        results.append(FieldInk(kind, key, spot.page, round(ink, 5), ink >= least))
        if ink < least:
            empty.append(f"{key.replace('_', ' ')}" if kind == "signature" else f"{key} initials")
    if empty:
        problems.append(f"empty: {', '.join(empty)}")
    return SignatureCheck(layout.pages, found, tuple(results), tuple(problems))


def _register(
    gray: np.ndarray, layout: FormLayout, size: tuple[int, int]
) -> dict[int, tuple[int, np.ndarray]]:
    """Each form page visible in one scanned image, warped onto the printed page's frame."""
    scale = size[0] / layout.page_size[0]
    corners, ids = _detect_markers(_marker_detector(), gray)
    by_page: dict[int, list[tuple[int, np.ndarray]]] = {}
    for quad, marker in zip(corners, ids, strict=True):
        page, corner = markers.page_and_corner(int(marker))
        if 1 <= page <= layout.pages:
            by_page.setdefault(page, []).append((corner, quad.reshape(4, 2)))
    out: dict[int, tuple[int, np.ndarray]] = {}
    for page, quads in by_page.items():
        corners_seen = {c for c, _ in quads}
        if len(corners_seen) < 2:  # one marker fixes its own corner, not the page
            continue
        src = np.concatenate([q for _, q in quads]).astype(np.float32)
        dst = (
            np.array(
                [pt for c, _ in quads for pt in markers.corner_points(*layout.page_size, c)],
                dtype=np.float32,
            )
            * scale
        )
        matrix, _ = cv2.findHomography(src, dst, cv2.RANSAC, 4.0)
        if matrix is None:
            continue
        warped = cv2.warpPerspective(gray, matrix, size, flags=cv2.INTER_AREA, borderValue=255)
        out[page] = (len(corners_seen), warped)
    return out


def _detect_markers(
    detector: cv2.aruco.ArucoDetector, gray: np.ndarray
) -> tuple[list[np.ndarray], list[int]]:
    """Markers in the image as is, else in a smaller copy (huge photos), else enlarged."""
    h, w = gray.shape[:2]
    for factor in (1.0, 2000 / max(h, w), 2.0):
        if factor != 1.0 and (factor > 1.0) == (max(h, w) > 2000):
            continue
        image = gray if factor == 1.0 else cv2.resize(gray, None, fx=factor, fy=factor)
        corners, ids, _ = detector.detectMarkers(image)
        if ids is not None and len(ids) >= 2:
            return [c / factor for c in corners], [int(i) for i in ids.ravel()]
    return [], []


def _local_shift(
    page: np.ndarray, reference: np.ndarray, area: tuple[int, int, int, int], search: int
) -> tuple[int, int]:
    """The small shift that best lays the printed lines around a field over the scan's.

    The corner marks fix the page as a whole; paper that is not flat, a marker found a pixel
    off, or a camera lens leave a millimetre or two here and there, enough to put a box's own
    border inside the area judged for ink."""
    x0, y0, x1, y1 = area
    template = reference[y0:y1, x0:x1].astype(np.float32)
    if float(template.std()) < 1.0:  # nothing printed to align on
        return 0, 0
    padded = cv2.copyMakeBorder(page, search, search, search, search, cv2.BORDER_REPLICATE)
    window = padded[y0 : y1 + 2 * search, x0 : x1 + 2 * search].astype(np.float32)
    scores = cv2.matchTemplate(window, template, cv2.TM_CCOEFF_NORMED)
    _, best, _, (bx, by) = cv2.minMaxLoc(scores)
    if best < 0.3:  # no confident match: keep the page-level registration
        return 0, 0
    return bx - search, by - search


def field_ink(
    page: np.ndarray,
    reference: np.ndarray,
    box: tuple[float, float, float, float],
    scale: float,
) -> float:
    """The share of a field covered by pen strokes on a registered page.

    The paper is flattened first (divided by a wide blur of itself), so a shadow or a gradient
    across a phone photo is not ink; then what the printed form already has there (dilated, for
    registration error) is removed, and specks smaller than a pen stroke are dropped.
    """
    inset = FIELD_INSET_MM * 72 / 25.4
    x0, y0 = round((box[0] + inset) * scale), round((box[1] + inset) * scale)
    x1, y1 = round((box[2] - inset) * scale), round((box[3] - inset) * scale)
    pad = round(12 * scale)  # context for the paper estimate
    h, w = page.shape[:2]
    ax0, ay0, ax1, ay1 = max(0, x0 - pad), max(0, y0 - pad), min(w, x1 + pad), min(h, y1 + pad)
    if x1 <= x0 or y1 <= y0 or ax1 <= ax0 or ay1 <= ay0:
        return 0.0
    search = round(SEARCH_MM * 72 / 25.4 * scale)
    dx, dy = _local_shift(page, reference, (ax0, ay0, ax1, ay1), search)
    padded = cv2.copyMakeBorder(page, search, search, search, search, cv2.BORDER_REPLICATE)
    crop = padded[ay0 + dy + search : ay1 + dy + search, ax0 + dx + search : ax1 + dx + search]
    crop = crop.astype(np.float32)
    paper = cv2.dilate(crop, np.ones((15, 15), np.uint8))  # ink is thin: the max is the paper
    paper = cv2.GaussianBlur(paper, (0, 0), 6)
    flat = np.clip(crop / np.maximum(paper, 1) * 255, 0, 255)
    ink = (flat < 255 - INK_CONTRAST).astype(np.uint8)
    printed = (reference[ay0:ay1, ax0:ax1] < 200).astype(np.uint8)
    printed = cv2.dilate(printed, np.ones((7, 7), np.uint8))
    ink &= 1 - printed
    fy0, fy1, fx0, fx1 = y0 - ay0, y1 - ay0, x0 - ax0, x1 - ax0
    field = ink[fy0:fy1, fx0:fx1]
    count, _labels, stats, _ = cv2.connectedComponentsWithStats(field, connectivity=8)
    strokes = sum(
        int(stats[i, cv2.CC_STAT_AREA]) for i in range(1, count) if stats[i, cv2.CC_STAT_AREA] >= 6
    )
    return strokes / float(field.size)


# --- filing a signed form -----------------------------------------------------------------


def _problems(
    paths: Sequence[Path],
    layout: FormLayout,
    reference_pdf: bytes,
    required: Sequence[tuple[str, str]],
) -> tuple[str, ...]:
    return check_signatures(list(paths), layout, reference_pdf, required).problems


READER = actions.ScanReader(consent_ids=read_consent_ids, problems=_problems, is_pdf=raster.is_pdf)


def sign_with_scan(
    *, home: Home, consent_id: str, scan_path: Path | Sequence[Path]
) -> actions.SignResult:
    """File a wet-ink-signed form (``consent/actions.sign_with_scan``, read by this module)."""
    return actions.sign_with_scan(
        home=home, consent_id=consent_id, scan_path=scan_path, reader=READER
    )


def sign_electronically(
    *,
    home: Home,
    consent_id: str,
    signature_image: Path,
    signed_by: str,
    agreed: Sequence[Purpose] | None = None,
    initials: str | None = None,
) -> actions.SignResult:
    """Sign a draft with a signature image (``consent/actions.sign_electronically``), the image
    re-encoded as a plain PNG by ``media/raster``."""
    return actions.sign_electronically(
        home=home,
        consent_id=consent_id,
        signature_png=lambda: raster.signature_png(signature_image),
        signed_by=signed_by,
        agreed=agreed,
        initials=initials,
    )
