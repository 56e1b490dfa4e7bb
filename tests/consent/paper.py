"""Signed paper for the scan tests: the real printed form with pen strokes in its fields
(bench/scansynth.py draws them), saved as a scanner or a phone would hand it back."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

from consentclip.consent import actions, pdf, templates
from consentclip.consent.clinic import Clinic
from consentclip.consent.records import ConsentRecord
from consentclip.home import Home

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import scansynth


def signed_pages(
    home: Home,
    record: ConsentRecord,
    *,
    dpi: int = 150,
    fields: list[tuple[str, str]] | None = None,
    pen: scansynth.Pen = scansynth.BALLPOINT,
    seed: int = 0,
) -> list[np.ndarray]:
    """The form ``consent pdf`` printed for ``record``, with ``fields`` filled in (default:
    everything the signer must fill in: the signature and each granted purpose's initials)."""
    template = templates.load_for(record.template, home)
    reference, layout = pdf.render_form_layout(pdf.FormInput(record, template, Clinic.load(home)))
    pages = scansynth.render(reference, dpi)
    chosen = actions.required_fields(record) if fields is None else fields
    scansynth.sign(pages, layout, chosen, dpi, np.random.default_rng(seed), pen)
    return pages


def save_pdf(pages: list[np.ndarray], path: Path, dpi: int = 150) -> Path:
    """A scanner's PDF: one greyscale image per page."""
    images = [Image.fromarray(p) for p in pages]
    images[0].save(path, save_all=True, append_images=images[1:], resolution=dpi)
    return path


def phone_pdf(pages: list[np.ndarray], path: Path, seed: int = 0) -> Path:
    """A phone scanner app's PDF: each page photographed (perspective, shadow, JPEG)."""
    rng = np.random.default_rng(seed)
    return save_pdf([scansynth.phone(p, rng) for p in pages], path)
