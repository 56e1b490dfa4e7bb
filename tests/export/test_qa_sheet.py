"""The QA sheet's parts: which frames are sampled, that outlines land where the regions are,
and that the page is one A4 page naming the consent and the verification result."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pypdfium2

from consentclip.detect.regions import Box, Region, RegionKind
from consentclip.qa.frames import (
    KEEP_BGR,
    KIND_BGR,
    THUMB_WIDTH,
    QaInput,
    read_samples,
    sample_indices,
)
from consentclip.qa.sheet import write_qa_sheet
from consentclip.settings import EngineResult, VerificationReport


def test_sample_indices_cover_first_to_last() -> None:
    assert sample_indices(0, 9) == []
    assert sample_indices(4, 9) == [0, 1, 2, 3]
    picked = sample_indices(100, 9)
    assert picked[0] == 0 and picked[-1] == 99 and len(picked) == 9


def qa_input(clip: Path, frames: int) -> QaInput:
    face = Region(Box(40, 30, 60, 60), RegionKind.FACE)
    tattoo = Region(Box(200, 150, 50, 40), RegionKind.TATTOO)
    regions = {i: [face] if i < frames // 2 else [face, tattoo] for i in range(frames)}
    result = EngineResult(
        output=clip,
        media_kind="video",
        width=320,
        height=240,
        frames=frames,
        fps=10.0,
        duration=frames / 10,
        audio_kept=False,
        face_tracks=1,
        tattoo_tracks=1,
        frames_with_faces=frames,
        frames_with_tattoos=frames - frames // 2,
        face_counts=(1,) * frames,
        tattoo_counts=(0,) * (frames // 2) + (1,) * (frames - frames // 2),
        verification=VerificationReport(True, ("format tags", "streams"), ()),
    )
    manifest = {
        "consent_id": "C-7K2M",
        "clip_number": 1,
        "purpose": "teaching",
        "grant": {"identifiable": False, "voice": False, "expires": "2030-01-01"},
        "output": {"name": clip.name, "sha256": "0" * 64},
        "verification": {"ok": True, "checked": ["format tags"], "problems": []},
        "engine": {"settings": {"faces": True, "keep": [{"x": 250, "y": 20, "w": 40, "h": 40}]}},
    }
    return QaInput(clip, result, manifest, regions)


def test_outlines_are_drawn_where_the_regions_and_kept_boxes_are(
    make_clip: Callable[..., Path],
) -> None:
    clip = make_clip("out.mp4", seconds=2, size="320x240", rate=10, audio=False)
    samples = read_samples(qa_input(clip, 20))
    assert [s.index for s in samples] == sample_indices(20, 9)
    scale = THUMB_WIDTH / 320

    def pixel(sample_image: np.ndarray, x: float, y: float) -> tuple[int, ...]:
        return tuple(int(v) for v in sample_image[round(y * scale), round(x * scale)])

    first, last = samples[0].image, samples[-1].image
    assert pixel(first, 40, 60) == KIND_BGR[RegionKind.FACE]  # left edge of the face box
    assert pixel(first, 250, 40) == KEEP_BGR  # left edge of the kept box
    assert pixel(first, 200, 170) != KIND_BGR[RegionKind.TATTOO]  # no tattoo yet
    assert pixel(last, 200, 170) == KIND_BGR[RegionKind.TATTOO]


def test_sheet_is_one_a4_page(make_clip: Callable[..., Path], tmp_path: Path) -> None:
    clip = make_clip("C-7K2M_clip01_teaching.mp4", seconds=1, size="160x120", rate=10, audio=False)
    sheet = write_qa_sheet(tmp_path / "qa" / "x.qa.pdf", qa_input(clip, 10))
    pdf = pypdfium2.PdfDocument(sheet)
    try:
        assert len(pdf) == 1
        assert tuple(round(v) for v in pdf[0].get_size()) == (595, 842)
        text = pdf[0].get_textpage().get_text_range()
        for needle in ("C-7K2M", "teaching", "Anonymised only", "PASSED", "Detections over time"):
            assert needle in text
    finally:
        pdf.close()
    assert [p.name for p in sheet.parent.iterdir()] == ["x.qa.pdf"]  # no temp file left
