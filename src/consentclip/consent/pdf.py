"""Consent forms as PDF, from a template, a record and the clinic's settings.

The only module that imports reportlab. Text is set in DejaVu Sans (shipped in ``fonts/``), not
the base-14 fonts, so Cyrillic and accented text render. Output is byte-for-byte reproducible
(reportlab's invariant mode), so the hash of a signed form means something.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    Image,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from consentclip.consent import markers
from consentclip.consent.clinic import Clinic
from consentclip.consent.ids import qr_payload
from consentclip.consent.records import ConsentRecord, Purpose, SignerRole
from consentclip.consent.templates import FormTemplate

FONT, FONT_BOLD = "DejaVuSans", "DejaVuSans-Bold"
PAPER = {"A4": A4, "letter": LETTER}
MARGIN = 15 * mm
INK = colors.HexColor("#1a2a3a")
RULE = colors.HexColor("#8a9aaa")
SHADE = colors.HexColor("#e8eef3")
MUTED = colors.HexColor("#5a6672")
SIGN_INK = colors.HexColor("#1a3a8a")  # a pen's blue, for what the patient filled in
TICK = "\u2713"


@dataclass(frozen=True)
class ElectronicSignature:
    """What an e-signed form shows: the signature in place and how it was captured."""

    image: bytes
    signed_by: str
    signed_at: datetime
    record_sha256: str  # the record as it stood when signed
    key_fingerprint: str
    # What the patient put in each granted purpose's box: their initials, or a tick.
    marks: tuple[tuple[Purpose, str], ...] = ()


@dataclass(frozen=True)
class FieldBox:
    """Where a field to be filled in by hand was printed: the signer's signature cell or a
    purpose's initials box. Points, from the page's top-left corner; pages count from 1."""

    kind: str  # "signature" | "initials"
    key: str  # signature: the row's label key (patient_signature, ...); initials: the purpose
    page: int
    box: tuple[float, float, float, float]  # x0, y0, x1, y1


@dataclass(frozen=True)
class FormLayout:
    """What a scan is checked against: page size, page count and where the fields are."""

    page_size: tuple[float, float]
    pages: int
    fields: tuple[FieldBox, ...]

    def field(self, kind: str, key: str) -> FieldBox | None:
        return next((f for f in self.fields if f.kind == kind and f.key == key), None)


@dataclass(frozen=True)
class FormInput:
    record: ConsentRecord
    template: FormTemplate
    clinic: Clinic
    esign: ElectronicSignature | None = None


def _register_fonts() -> None:
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    # Package data, so an installed wheel (even a zipped one) finds the fonts.
    fonts = resources.files("consentclip.consent").joinpath("fonts")
    for name, filename in ((FONT, "DejaVuSans.ttf"), (FONT_BOLD, "DejaVuSans-Bold.ttf")):
        with resources.as_file(fonts.joinpath(filename)) as path:
            pdfmetrics.registerFont(TTFont(name, str(path)))
    pdfmetrics.registerFontFamily(
        FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD
    )


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=FONT, fontSize=8.3, leading=10.4, textColor=INK)
    return {
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=7.2, leading=8.8),
        "muted": ParagraphStyle("muted", parent=base, fontSize=7.2, leading=8.8, textColor=MUTED),
        "cell": ParagraphStyle("cell", parent=base, fontSize=7.8, leading=9.4),
        "headb": ParagraphStyle("headb", parent=base, fontName=FONT_BOLD, fontSize=7, leading=8.4),
        "cellb": ParagraphStyle(
            "cellb", parent=base, fontName=FONT_BOLD, fontSize=7.8, leading=9.4
        ),
        "title": ParagraphStyle("title", parent=base, fontName=FONT_BOLD, fontSize=14, leading=17),
        "subtitle": ParagraphStyle(
            "subtitle", parent=base, fontSize=9, leading=11, textColor=MUTED
        ),
        "clinic": ParagraphStyle(
            "clinic", parent=base, fontName=FONT_BOLD, fontSize=11, leading=13
        ),
        "h": ParagraphStyle(
            "h",
            parent=base,
            fontName=FONT_BOLD,
            fontSize=9.4,
            leading=11.5,
            spaceBefore=5,
            spaceAfter=2,
            textColor=colors.HexColor("#0b3a5b"),
        ),
        "qr": ParagraphStyle("qr", parent=base, fontName=FONT_BOLD, fontSize=10, alignment=1),
        "right": ParagraphStyle("right", parent=base, alignment=TA_RIGHT),
    }


class _Fields:
    """Collects where fields land on the page while reportlab lays the form out."""

    def __init__(self) -> None:
        self.found: list[FieldBox] = []

    def record(self, flowable: Flowable, kind: str, key: str, w: float, h: float) -> None:
        canv = flowable.canv
        x, y = canv.absolutePosition(0, 0)
        page_h = canv._pagesize[1]
        box = (round(x, 2), round(page_h - y - h, 2), round(x + w, 2), round(page_h - y, 2))
        self.found.append(FieldBox(kind, key, canv.getPageNumber(), box))


class _Box(Flowable):
    """A square for the patient's initials; e-signed forms show the patient's mark in it."""

    def __init__(self, size: float, fields: _Fields, purpose: str, mark: str = "") -> None:
        super().__init__()
        self.size, self.fields, self.purpose, self.mark = size, fields, purpose, mark

    def wrap(self, avail_w: float, avail_h: float) -> tuple[float, float]:
        return self.size, self.size

    def draw(self) -> None:
        self.canv.setStrokeColor(INK)
        self.canv.setLineWidth(0.8)
        self.canv.rect(0, 0, self.size, self.size)
        self.fields.record(self, "initials", self.purpose, self.size, self.size)
        if self.mark:
            font_size = 11 if len(self.mark) <= 2 else 8
            self.canv.setFillColor(SIGN_INK)
            self.canv.setFont(FONT_BOLD, font_size)
            self.canv.drawCentredString(self.size / 2, self.size / 2 - font_size * 0.35, self.mark)


class _SignatureField(Flowable):
    """The space for a signature; records where it is, and holds the image when e-signed."""

    def __init__(self, w: float, h: float, fields: _Fields, key: str, image: bytes | None) -> None:
        super().__init__()
        self.w, self.h, self.fields, self.key, self.image = w, h, fields, key, image

    def wrap(self, avail_w: float, avail_h: float) -> tuple[float, float]:
        return self.w, self.h

    def draw(self) -> None:
        self.fields.record(self, "signature", self.key, self.w, self.h)
        if self.image is not None:
            self.canv.drawImage(
                ImageReader(io.BytesIO(self.image)),
                0,
                0,
                self.w,
                self.h,
                preserveAspectRatio=True,
                anchor="c",
                mask="auto",
            )


def _qr(consent_id: str, size: float) -> Drawing:
    widget = QrCodeWidget(qr_payload(consent_id), barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    return drawing


def _fill(text: str, values: dict[str, Any]) -> str:
    """Template placeholders ({clinic}, ...) filled; unknown ones left visible, never crash."""

    class _Keep(dict):  # type: ignore[type-arg]
        def __missing__(self, key: str) -> str:
            return "{" + key + "}"

    return escape(text).format_map(_Keep(values))


def render_form(form: FormInput) -> bytes:
    return render_form_layout(form)[0]


def render_form_layout(form: FormInput) -> tuple[bytes, FormLayout]:
    """The form's PDF and where its hand-filled fields are (what a scan is checked against)."""
    _register_fonts()
    # Every clinic text in the form's own language; refuses a form that would mix languages.
    clinic = form.clinic.for_language(form.template.language)
    form = FormInput(form.record, form.template, clinic, form.esign)
    record, t = form.record, form.template
    page_w, page_h = PAPER[clinic.paper]
    fields = _Fields()
    st = _styles()
    lab = t.labels
    values = {
        "clinic": escape(clinic.name),
        "retention_years": clinic.retention_years,
        "withdraw_contact": escape(clinic.withdraw_contact),
    }
    width = page_w - 2 * MARGIN
    story: list[Flowable] = []

    # --- header: clinic, title, consent id and QR -----------------------------------------
    clinic_lines = [Paragraph(escape(clinic.name), st["clinic"])]
    for line in [clinic.address, clinic.phone]:
        if line:
            clinic_lines.append(Paragraph(escape(line), st["small"]))
    logo: Flowable | str = ""
    logo_w = 0.1 * mm  # no logo: let the clinic name start at the margin
    if clinic.logo is not None:
        logo_w = 24 * mm
        logo = Image(str(clinic.logo), width=20 * mm, height=20 * mm, kind="proportional")
    qr_block = [_qr(record.id, 26 * mm), Paragraph(record.id, st["qr"])]
    header = Table(
        [[logo, clinic_lines, qr_block]],
        colWidths=[logo_w, width - logo_w - 32 * mm, 32 * mm],
        style=TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("ALIGN", (2, 0), (2, 0), "CENTER"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("LINEBELOW", (0, 0), (-1, 0), 1.2, INK),
            ]
        ),
    )
    story += [header, Spacer(1, 3 * mm)]
    story.append(Paragraph(escape(t.title), st["title"]))
    if t.subtitle:
        story.append(Paragraph(escape(t.subtitle), st["subtitle"]))
    meta = (
        f"<b>{escape(lab['consent_id'])}:</b> {record.id} &nbsp;&nbsp; "
        f"<b>{escape(lab['form'])}:</b> {escape(t.id)} v{escape(t.version)} &nbsp;&nbsp; "
        f"<b>{escape(lab['language'])}:</b> {escape(t.language_name)} ({escape(t.language)})"
    )
    story += [Spacer(1, 1.5 * mm), Paragraph(meta, st["small"])]

    def heading(key: str) -> Paragraph:
        return Paragraph(escape(t.headings[key]), st["h"])

    def kv_table(rows: list[tuple[str, str]]) -> Table:
        data = [
            [Paragraph(escape(k), st["cellb"]), Paragraph(escape(v) or "&nbsp;", st["cell"])]
            for k, v in rows
        ]
        return Table(data, colWidths=[52 * mm, width - 52 * mm], style=_grid())

    # --- 1. patient and signer --------------------------------------------------------------
    signer = record.signer
    rows = [
        (lab["patient_name"], record.patient_name or ""),
        (lab["patient_ref"], record.patient_ref),
        (lab["birth_date"], record.birth_date.isoformat() if record.birth_date else ""),
        (lab["signer"], signer.name),
        (lab["role"], t.roles.get(signer.role.value, signer.role.value)),
    ]
    if signer.role is not SignerRole.PATIENT:
        rows.append((lab["authority"], signer.authority or ""))
    story += [heading("patient"), kv_table(rows)]

    # --- 2. what is recorded ----------------------------------------------------------------
    rec = record.recording
    yes, no = lab["yes"], lab["no"]
    story += [
        heading("recorded"),
        Paragraph(_fill(t.texts["recorded"], values), st["body"]),
        Spacer(1, 1.5 * mm),
        kv_table(
            [
                (lab["body_sites"], ", ".join(rec.body_sites) or lab["not_stated"]),
                (lab["face_visible"], yes if rec.face_visible else no),
                (lab["tattoos_visible"], yes if rec.tattoos_visible else no),
            ]
        ),
    ]

    # --- 3. one initialled box per purpose -------------------------------------------------
    story += [heading("purposes"), Paragraph(_fill(t.texts["purposes"], values), st["body"])]
    story += [Spacer(1, 1.5 * mm), _purpose_table(form, st, width, values, fields)]

    # --- 4-8. audiences, storage, expiry, withdrawal, refusal ------------------------------
    for key in ("audiences", "storage", "expiry", "withdrawal", "refusal"):
        story += [heading(key), Paragraph(_fill(t.texts[key], values), st["body"])]

    # --- 9. signatures ----------------------------------------------------------------------
    signatures = [
        heading("signatures"),
        Paragraph(_fill(t.texts["declaration"], values), st["body"]),
        Spacer(1, 1.5 * mm),
        _signature_table(form, st, width, fields),
    ]
    story.append(KeepTogether(signatures))
    if form.esign is not None:
        story.append(KeepTogether(_verification(form, st, width)))

    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=(page_w, page_h),
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN + 8 * mm,
        invariant=1,
        title=f"{t.title} {record.id}",
        author=clinic.name,
        subject=f"{t.id} v{t.version} {t.language}",
        creator="consentclip",
    )
    footer = _footer(form)
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    layout = FormLayout((page_w, page_h), doc.page, tuple(fields.found))
    return buf.getvalue(), layout


def _grid() -> TableStyle:
    return TableStyle(
        [
            ("GRID", (0, 0), (-1, -1), 0.5, RULE),
            ("BACKGROUND", (0, 0), (0, -1), SHADE),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ]
    )


def _purpose_table(
    form: FormInput,
    st: dict[str, ParagraphStyle],
    width: float,
    values: dict[str, Any],
    fields: _Fields,
) -> Table:
    t, record, lab = form.template, form.record, form.template.labels
    marks = dict(form.esign.marks) if form.esign is not None else {}
    head = [
        lab["initials"],
        lab["purpose"],
        lab["identifiable"] + " / " + lab["anonymised"],
        lab["voice"],
        lab["expires"],
    ]
    data: list[list[Any]] = [[Paragraph(escape(h), st["headb"]) for h in head]]
    style = [
        ("GRID", (0, 0), (-1, -1), 0.5, RULE),
        ("BACKGROUND", (0, 0), (-1, 0), SHADE),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ALIGN", (0, 1), (0, -1), "CENTER"),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
    ]
    for row, purpose in enumerate(Purpose, start=1):
        info = t.purposes[purpose.value]
        what = Paragraph(
            f"<b>{escape(info['label'])}</b><br/>{_fill(info['audience'], values)}", st["cell"]
        )
        grant = record.grant_for(purpose)
        if grant is None:
            data.append(["", what, Paragraph(escape(lab["not_requested"]), st["muted"]), "", ""])
            style += [
                ("SPAN", (2, row), (4, row)),
                ("BACKGROUND", (0, row), (-1, row), colors.HexColor("#f4f4f4")),
                ("TEXTCOLOR", (0, row), (-1, row), MUTED),
            ]
            continue
        ident = lab["identifiable"] if grant.identifiable else lab["anonymised"]
        voice = lab["voice_yes"] if grant.voice else lab["voice_no"]
        data.append(
            [
                _Box(8 * mm, fields, purpose.value, marks.get(purpose, "")),
                what,
                Paragraph(escape(ident), st["cellb"]),
                Paragraph(escape(voice), st["cell"]),
                Paragraph(grant.expires.isoformat(), st["cell"]),
            ]
        )
    cols = [20 * mm, width - 20 * mm - 32 * mm - 24 * mm - 22 * mm, 32 * mm, 24 * mm, 22 * mm]
    return Table(data, colWidths=cols, style=TableStyle(style), repeatRows=1)


def _signature_table(
    form: FormInput, st: dict[str, ParagraphStyle], width: float, fields: _Fields
) -> Table:
    record, lab = form.record, form.template.labels
    signer = record.signer
    clinician = ""
    if record.clinician is not None:
        reg = f", {record.clinician.registration}" if record.clinician.registration else ""
        clinician = record.clinician.name + reg
    interpreter = ""
    if record.interpreter is not None:
        interpreter = f"{record.interpreter.name} ({record.interpreter.language})"
    is_patient = signer.role is SignerRole.PATIENT
    rows = [
        ("patient_signature", record.patient_name or (signer.name if is_patient else "")),
        ("representative_signature", "" if is_patient else signer.name),
        ("clinician_signature", clinician),
        ("witness_signature", record.witness or ""),
        ("interpreter_signature", interpreter),
    ]
    head = ["", lab["name"], lab["signature"], lab["date"]]
    data: list[list[Any]] = [[Paragraph(escape(h), st["cellb"]) for h in head]]
    signer_row = 1 if is_patient else 2
    for i, (key, name) in enumerate(rows, start=1):
        image, when = None, ""
        if form.esign is not None and i == signer_row:
            image = form.esign.image
            when = form.esign.signed_at.date().isoformat()
        sig = _SignatureField(44 * mm, 10.5 * mm, fields, key, image)
        data.append(
            [
                Paragraph(escape(lab[key]), st["cellb"]),
                Paragraph(escape(name), st["cell"]),
                sig,
                Paragraph(when, st["cell"]),
            ]
        )
    cols = [46 * mm, width - 46 * mm - 50 * mm - 24 * mm, 50 * mm, 24 * mm]
    return Table(
        data,
        colWidths=cols,
        rowHeights=[None] + [13 * mm] * len(rows),
        style=TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, RULE),
                ("BACKGROUND", (0, 0), (-1, 0), SHADE),
                ("BACKGROUND", (0, 1), (0, -1), SHADE),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("ALIGN", (2, 1), (2, -1), "CENTER"),
            ]
        ),
    )


def _verification(form: FormInput, st: dict[str, ParagraphStyle], width: float) -> list[Flowable]:
    esign, lab, t = form.esign, form.template.labels, form.template
    assert esign is not None
    rows = [
        (lab["signed_by"], esign.signed_by),
        (lab["signed_at"], esign.signed_at.strftime("%Y-%m-%d %H:%M:%S")),
        (lab["method"], lab["method_electronic"]),
        (lab["record_hash"], f"{esign.record_sha256} (v{form.record.version})"),
        (lab["template_hash"], t.sha256),
        (lab["clinic_key"], esign.key_fingerprint),
    ]
    data = [[Paragraph(escape(k), st["cellb"]), Paragraph(escape(v), st["small"])] for k, v in rows]
    table = Table(data, colWidths=[46 * mm, width - 46 * mm], style=_grid())
    return [Paragraph(escape(t.headings["verification"]), st["h"]), table]


def _footer(form: FormInput) -> Any:
    t, record, lab = form.template, form.record, form.template.labels

    def draw(canvas: Canvas, doc: Any) -> None:
        page_w, page_h = doc.pagesize
        canvas.saveState()
        _draw_markers(canvas, doc.page, page_w, page_h)
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.5)
        y = MARGIN + 2 * mm
        canvas.line(MARGIN, y + 6.5 * mm, page_w - MARGIN, y + 6.5 * mm)
        canvas.setFillColor(MUTED)
        canvas.setFont(FONT, 7)
        canvas.drawString(
            MARGIN,
            y + 3 * mm,
            f"{t.id} v{t.version} · {t.language} · {lab['consent_id']} {record.id}",
        )
        canvas.drawRightString(page_w - MARGIN, y + 3 * mm, f"{lab['page']} {doc.page}")
        canvas.setFont(FONT, 6.2)
        canvas.drawString(MARGIN, y, f"{lab['template_hash']}: {t.sha256}")
        canvas.restoreState()

    return draw


def _draw_markers(canvas: Canvas, page: int, page_w: float, page_h: float) -> None:
    """The corner registration marks (see ``markers``): a scan is mapped back through them."""
    if page > markers.MAX_PAGES:
        return
    cell = markers.SIZE / markers.CELLS
    canvas.setFillColor(colors.black)
    for corner, x, y in markers.squares(page_w, page_h):
        grid = markers.bits(markers.marker_id(page, corner))
        for r, row in enumerate(grid):
            top = page_h - y - (r + 1) * cell
            c = 0
            while c < len(row):  # one rectangle per run of black cells: no seams between cells
                if not row[c]:
                    c += 1
                    continue
                end = c
                while end < len(row) and row[end]:
                    end += 1
                canvas.rect(x + c * cell, top, (end - c) * cell, cell, stroke=0, fill=1)
                c = end
