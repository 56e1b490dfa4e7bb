"""The QA sheet: one A4 page a clinician reviews before sharing an exported clip.

It shows frames sampled across the ANONYMISED OUTPUT (never the original) with the redaction
regions outlined, a timeline of where faces and tattoos were redacted, the grant the clip was
exported under and the metadata verification result. It is an internal document, written beside
the batch report, never inside the export files themselves.

Allowed exception to "only consent/pdf.py imports reportlab": this is the second PDF the tool
makes, and it has nothing to do with consent forms. It uses the base-14 fonts on purpose: the
sheet holds only ids, purposes and numbers (no patient name), so no Unicode font is needed.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from consentclip.atomic import write_bytes_atomic
from consentclip.detect.regions import RegionKind
from consentclip.qa.frames import (
    GRID_COLS,
    KEEP_BGR,
    KIND_BGR,
    QaInput,
    Sample,
    read_samples,
)
from consentclip.settings import EngineResult


def write_qa_sheet(path: Path, qa: QaInput) -> Path:
    """Draw the sheet and write it atomically (temp file beside ``path``, then rename)."""
    samples = read_samples(qa)
    buf = io.BytesIO()  # one page of thumbnails: well under a megabyte
    canvas = Canvas(buf, pagesize=A4)
    canvas.setTitle(f"QA sheet {qa.output.name}")
    canvas.setAuthor("consentclip")
    _draw(canvas, qa, samples)
    canvas.showPage()
    canvas.save()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, buf.getvalue())
    return path


# --- layout ------------------------------------------------------------------------------

PAGE_W, PAGE_H = A4
MARGIN = 14 * mm
INK = colors.HexColor("#1f2933")
MUTED = colors.HexColor("#616e7c")


def _rgb(kind: RegionKind | None) -> colors.Color:
    b, g, r = KIND_BGR[kind] if kind is not None else KEEP_BGR
    return colors.Color(r / 255, g / 255, b / 255)


def _draw(canvas: Canvas, qa: QaInput, samples: list[Sample]) -> None:
    m, result = qa.manifest, qa.result
    top = PAGE_H - MARGIN
    canvas.setFillColor(INK)
    canvas.setFont("Helvetica-Bold", 15)
    canvas.drawString(MARGIN, top - 12, "Export QA sheet")
    canvas.setFont("Helvetica-Bold", 8)
    canvas.setFillColor(colors.HexColor("#b42318"))
    canvas.drawRightString(
        PAGE_W - MARGIN, top - 10, "INTERNAL REVIEW DOCUMENT - NOT PART OF THE EXPORT"
    )
    canvas.setFillColor(INK)
    canvas.setFont("Helvetica", 9.5)
    canvas.drawString(
        MARGIN, top - 27, f"Output: {m.get('output', {}).get('name', qa.output.name)}"
    )
    canvas.setFont("Helvetica", 8)
    canvas.setFillColor(MUTED)
    sha = m.get("output", {}).get("sha256", "")
    canvas.drawString(MARGIN, top - 38, f"SHA-256 {sha}   exported {m.get('exported_at', '?')}")
    review = m.get("review")
    if review:
        canvas.setFillColor(colors.HexColor("#067647"))
        canvas.setFont("Helvetica-Bold", 8)
        canvas.drawRightString(
            PAGE_W - MARGIN,
            top - 27,
            _fit(
                canvas,
                f"Review approved by {review.get('reviewer', '?')} on "
                f"{review.get('approved_at', '?')} (audit entry {review.get('audit_seq', '?')})",
                PAGE_W / 2,
                "Helvetica-Bold",
                8,
            ),
        )
        canvas.setFillColor(MUTED)
    y = _draw_facts(canvas, qa, top - 52)
    y = _draw_grid(canvas, qa, samples, y - 6)
    y = _draw_timeline(canvas, result, samples, y - 8)
    _draw_footer(canvas, qa)


def _draw_facts(canvas: Canvas, qa: QaInput, y: float) -> float:
    """Three boxes side by side: the grant, the verification result, the processing."""
    m, result = qa.manifest, qa.result
    grant = m.get("grant", {})
    verification = m.get("verification", {})
    settings = m.get("engine", {}).get("settings", {})
    det = m.get("detections", {})
    ok = bool(verification.get("ok"))
    box_w = (PAGE_W - 2 * MARGIN - 2 * 4 * mm) / 3
    box_h = 34 * mm
    columns: list[tuple[str, list[str], colors.Color]] = [
        (
            "Consent grant",
            [
                f"Consent {m.get('consent_id', '?')}, clip {m.get('clip_number', '?')}",
                f"Purpose: {m.get('purpose', '?')}",
                "Identifiable" if grant.get("identifiable") else "Anonymised only",
                "Voice allowed" if grant.get("voice") else "No voice",
                f"Expires {grant.get('expires', '?')}",
            ],
            INK,
        ),
        (
            "Metadata verification",
            [
                "PASSED: nothing identifying found" if ok else "FAILED",
                *[f"checked: {c}" for c in list(verification.get("checked", []))[:3]],
                *[f"problem: {p}" for p in list(verification.get("problems", []))[:2]],
            ],
            colors.HexColor("#067647") if ok else colors.HexColor("#b42318"),
        ),
        (
            "Processing",
            [
                f"{result.media_kind}, {result.width}x{result.height}, {result.frames} frame(s)"
                + (f", {result.duration:.2f} s" if result.duration else ""),
                f"Faces: {'redacted' if settings.get('faces') else 'not redacted'}"
                f" ({det.get('face_tracks', 0)} track(s),"
                f" {det.get('frames_with_faces', 0)} frames)",
                f"Tattoos: {'redacted' if settings.get('tattoos') else 'not redacted'}"
                f" ({det.get('tattoo_tracks', 0)} track(s),"
                f" {det.get('frames_with_tattoos', 0)} frames)",
                f"Text: {'redacted' if settings.get('text') else 'not redacted'}"
                f" ({det.get('text_tracks', 0)} track(s),"
                f" {det.get('frames_with_text', 0)} frames)",
                f"Mode {settings.get('mode', '?')}, threshold {settings.get('threshold', '?')}",
                f"Audio {'kept' if result.audio_kept else 'removed'}",
            ],
            INK,
        ),
    ]
    for i, (title, lines, accent) in enumerate(columns):
        x = MARGIN + i * (box_w + 4 * mm)
        canvas.setStrokeColor(colors.HexColor("#cbd2d9"))
        canvas.setLineWidth(0.8)
        canvas.roundRect(x, y - box_h, box_w, box_h, 2 * mm, stroke=1, fill=0)
        canvas.setFillColor(accent)
        canvas.setFont("Helvetica-Bold", 9)
        canvas.drawString(x + 3 * mm, y - 5 * mm, title)
        canvas.setFillColor(INK)
        canvas.setFont("Helvetica", 7.5)
        for j, line in enumerate(lines[:6]):
            canvas.drawString(x + 3 * mm, y - 10 * mm - j * 9.5, _fit(canvas, line, box_w - 6 * mm))
    return y - box_h


def _fit(
    canvas: Canvas, text: str, width: float, font: str = "Helvetica", size: float = 7.5
) -> str:
    if canvas.stringWidth(text, font, size) <= width:
        return text
    while text and canvas.stringWidth(text + "...", font, size) > width:
        text = text[:-1]
    return text + "..."


def _draw_grid(canvas: Canvas, qa: QaInput, samples: list[Sample], y: float) -> float:
    result = qa.result
    canvas.setFillColor(INK)
    canvas.setFont("Helvetica-Bold", 10)
    title = "Frames from the anonymised output"
    if result.media_kind != "photo" and qa.manifest.get("review"):
        title = "Frames at risk (track ends, gaps, weak hits)"
    canvas.drawString(MARGIN, y - 10, title)
    _legend(canvas, PAGE_W - MARGIN, y - 10)
    y -= 16
    cols = 1 if len(samples) == 1 else GRID_COLS
    gap = 3 * mm
    cell_w = (PAGE_W - 2 * MARGIN - (cols - 1) * gap) / cols
    h0, w0 = samples[0].image.shape[:2]
    cell_h = cell_w * h0 / w0
    max_grid_h = 150 * mm  # leaves room for the timeline and footer
    rows = -(-len(samples) // cols)
    label_h = 10
    if rows * (cell_h + label_h + gap) > max_grid_h:
        cell_h = max_grid_h / rows - label_h - gap
        cell_w = cell_h * w0 / h0
    # Centred when the height limit made the cells narrower than the page.
    indent = (PAGE_W - 2 * MARGIN - cols * cell_w - (cols - 1) * gap) / 2
    for n, sample in enumerate(samples):
        r, c = divmod(n, cols)
        x = MARGIN + indent + c * (cell_w + gap)
        top = y - r * (cell_h + label_h + gap)
        png = sample.png()
        canvas.drawImage(ImageReader(io.BytesIO(png)), x, top - cell_h, cell_w, cell_h)
        canvas.setFillColor(MUTED)
        canvas.setFont("Helvetica", 7)
        when = f" at {sample.seconds:.2f} s" if sample.seconds is not None else ""
        label = "photo" if result.media_kind == "photo" else f"frame {sample.index}{when}"
        canvas.drawString(x, top - cell_h - 8, label)
    return y - rows * (cell_h + label_h + gap)


def _legend(canvas: Canvas, right: float, y: float) -> None:
    canvas.setFont("Helvetica", 7.5)
    x = right
    for kind, label in (
        (None, "kept (--keep)"),
        (RegionKind.MANUAL, "manual region"),
        (RegionKind.TEXT, "text"),
        (RegionKind.TATTOO, "tattoo"),
        (RegionKind.FACE, "face / head"),
    ):
        width = canvas.stringWidth(label, "Helvetica", 7.5)
        x -= width
        canvas.setFillColor(INK)
        canvas.drawString(x, y, label)
        x -= 10
        canvas.setStrokeColor(_rgb(kind))
        canvas.setLineWidth(1.5)
        canvas.rect(x, y - 1, 7, 7, stroke=1, fill=0)
        x -= 10


def _draw_timeline(canvas: Canvas, result: EngineResult, samples: list[Sample], y: float) -> float:
    """Where faces and tattoos were redacted, frame by frame, with the sampled frames marked."""
    canvas.setFillColor(INK)
    canvas.setFont("Helvetica-Bold", 10)
    canvas.drawString(MARGIN, y - 10, "Detections over time")
    y -= 18
    left = MARGIN + 18 * mm
    width = PAGE_W - MARGIN - left
    lane_h = 9 * mm
    frames = max(result.frames, 1)
    lanes = (
        ("faces", result.face_counts, RegionKind.FACE),
        ("tattoos", result.tattoo_counts, RegionKind.TATTOO),
        ("text", result.text_counts, RegionKind.TEXT),
    )
    for lane, (label, counts, kind) in enumerate(lanes):
        top = y - lane * (lane_h + 2 * mm)
        canvas.setFillColor(MUTED)
        canvas.setFont("Helvetica", 8)
        canvas.drawString(MARGIN, top - lane_h / 2 - 3, label)
        canvas.setFillColor(colors.HexColor("#f5f7fa"))
        canvas.setStrokeColor(colors.HexColor("#cbd2d9"))
        canvas.rect(left, top - lane_h, width, lane_h, stroke=1, fill=1)
        peak = max(counts, default=0)
        if peak:
            canvas.setFillColor(_rgb(kind))
            for start, end, value in _buckets(counts, frames, int(width)):
                bar_h = (lane_h - 2) * value / peak
                x = left + width * start / frames
                w = max(width * (end - start) / frames, 0.6)
                canvas.rect(x, top - lane_h + 1, w, bar_h, stroke=0, fill=1)
            canvas.setFillColor(MUTED)
            canvas.setFont("Helvetica", 6.5)
            canvas.drawString(MARGIN, top - lane_h / 2 - 10, f"up to {peak}/frame")
        else:
            canvas.setFillColor(MUTED)
            canvas.setFont("Helvetica", 7)
            canvas.drawString(left + 3, top - lane_h / 2 - 2.5, "none redacted")
    bottom = y - len(lanes) * lane_h - (len(lanes) - 1) * 2 * mm
    canvas.setStrokeColor(INK)
    canvas.setLineWidth(0.6)
    for sample in samples:
        x = left + width * (sample.index + 0.5) / frames
        canvas.line(x, bottom - 1, x, bottom - 4)
    canvas.setFillColor(MUTED)
    canvas.setFont("Helvetica", 7)
    end = f"{result.duration:.2f} s" if result.duration else f"frame {result.frames - 1}"
    canvas.drawString(left, bottom - 12, "0")
    canvas.drawRightString(left + width, bottom - 12, end)
    canvas.drawCentredString(left + width / 2, bottom - 12, "ticks mark the sampled frames")
    return bottom - 14


def _buckets(counts: Sequence[int], frames: int, max_buckets: int) -> list[tuple[int, int, int]]:
    """(start, end, peak) runs: one per frame for short clips, pooled by maximum for long ones,
    so that a single-frame detection is never averaged away."""
    size = max(1, -(-frames // max(max_buckets, 1)))
    out: list[tuple[int, int, int]] = []
    for start in range(0, min(len(counts), frames), size):
        peak = max(counts[start : start + size])
        if peak:
            out.append((start, min(start + size, frames), peak))
    return out


def _draw_footer(canvas: Canvas, qa: QaInput) -> None:
    canvas.setStrokeColor(colors.HexColor("#cbd2d9"))
    canvas.line(MARGIN, MARGIN + 12, PAGE_W - MARGIN, MARGIN + 12)
    canvas.setFillColor(MUTED)
    canvas.setFont("Helvetica", 7)
    engine = qa.manifest.get("engine", {})
    canvas.drawString(
        MARGIN,
        MARGIN + 3,
        f"consentclip {engine.get('consentclip', '?')}, ffmpeg {engine.get('ffmpeg', '?')}. "
        "Review every frame before sharing: automatic detection can miss faces and tattoos.",
    )
    warnings = list(qa.manifest.get("warnings", []))
    if warnings:
        canvas.setFillColor(colors.HexColor("#b42318"))
        canvas.drawString(
            MARGIN,
            MARGIN + 16,
            _fit(canvas, "Warning: " + warnings[0], PAGE_W - 2 * MARGIN, size=7),
        )
