"""Consent PDFs in each language, the QR round trip through a scan, and electronic signing."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image
from typer.testing import CliRunner

from consentclip.cli import app
from consentclip.consent import actions, templates
from consentclip.consent.records import ConsentRecord, State
from consentclip.consent.registry import Registry
from consentclip.errors import HomeError, IntegrityError
from consentclip.home import Home

from .dbtools import db_dump


def pdf_pages(path: Path) -> list[str]:
    pdf = pdfium.PdfDocument(str(path))
    try:
        return [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]
    finally:
        pdf.close()


def rasterise(pdf_path: Path, out: Path, dpi: int = 150) -> Path:
    """What a flatbed scanner would hand back: page 1 as a greyscale image."""
    pdf = pdfium.PdfDocument(str(pdf_path))
    try:
        pdf[0].render(scale=dpi / 72, grayscale=True).to_pil().save(out)
    finally:
        pdf.close()
    return out


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "en",
            [
                "Consent to clinical photographs",
                "Teaching",
                "Social media",
                "Anonymised only",
                "anonymity cannot be fully guaranteed",
                "will not affect your treatment",
            ],
        ),
        (
            "es",
            [
                "Consentimiento para fotografías",
                "Docencia",
                "Redes sociales",
                "Solo anonimizado",
                "el anonimato no puede garantizarse",
                "no afectará en absoluto",
            ],
        ),
        (
            "ru",
            [
                "Согласие на клиническую фото- и видеосъёмку",
                "Обучение",
                "Социальные сети",
                "Только анонимно",
                "полная анонимность не может быть гарантирована",
                "никак не повлияет на ваше лечение",
            ],
        ),
    ],
)
def test_form_text_in_each_language(
    ready_home: Home,
    new_consent: Callable[..., ConsentRecord],
    tmp_path: Path,
    language: str,
    expected: list[str],
) -> None:
    rec = new_consent(
        "teaching:identifiable",
        "social_media",
        language=language,
        patient_name="Lucía Peña",
        signer_role="guardian",
        signer_name="Ольга Иванова",
        signer_authority="mother",
        birth_date=date.today() - timedelta(days=11 * 365),  # a child, in any year
        clinician="Dr José Núñez",
    )
    out = actions.write_form(home=ready_home, consent_id=rec.id, out=tmp_path / "form.pdf")
    pages = pdf_pages(out)
    assert 1 <= len(pages) <= 2
    text = " ".join(" ".join(p.split()) for p in pages)
    for fragment in [rec.id, "Lucía Peña", "Ольга Иванова", "Dr José Núñez", *expected]:
        assert fragment in text, fragment
    template = templates.load("derm-video-photo", language, ready_home)
    assert template.sha256 in text  # the footer carries the template hash
    assert b"DejaVuSans" in out.read_bytes()  # a Unicode TTF, not the base-14 fonts


def test_form_is_reproducible(
    ready_home: Home, new_consent: Callable[..., ConsentRecord], tmp_path: Path
) -> None:
    rec = new_consent()
    a = actions.write_form(home=ready_home, consent_id=rec.id, out=tmp_path / "a.pdf")
    b = actions.write_form(home=ready_home, consent_id=rec.id, out=tmp_path / "b.pdf")
    assert a.read_bytes() == b.read_bytes()


def test_template_edited_after_creation_is_refused(
    ready_home: Home,
    new_consent: Callable[..., ConsentRecord],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    own = tmp_path / "own"
    own.mkdir()
    source = templates.load("derm-video-photo", "en", None).path.read_text(encoding="utf-8")
    (own / "derm-video-photo.en.toml").write_text(source, encoding="utf-8")
    monkeypatch.setenv(templates.TEMPLATES_ENV, str(own))
    rec = new_consent()
    (own / "derm-video-photo.en.toml").write_text(source.replace("Teaching", "Training"), "utf-8")
    with pytest.raises(IntegrityError, match="changed since this consent was created"):
        actions.write_form(home=ready_home, consent_id=rec.id, out=tmp_path / "f.pdf")
    assert not (tmp_path / "f.pdf").exists()


def test_qr_round_trip_sign_scan_image(
    ready_home: Home, new_consent: Callable[..., ConsentRecord], runner: CliRunner, tmp_path: Path
) -> None:
    rec = new_consent("teaching", "journal:identifiable")
    form = actions.write_form(home=ready_home, consent_id=rec.id, out=tmp_path / "form.pdf")
    scan = rasterise(form, tmp_path / "scan.png")
    result = runner.invoke(app, ["consent", "sign", rec.id, "--scan", str(scan)])
    assert result.exit_code == 0, result.output
    with Registry.open(ready_home) as reg:
        signed = reg.get(rec.id)
    assert signed.state is State.SIGNED and signed.signature is not None
    assert signed.signature.method == "wet_ink_scan"
    digest = hashlib.sha256(scan.read_bytes()).hexdigest()
    assert signed.signature.document_sha256 == digest
    stored = ready_home.documents_dir / f"{digest}.png"
    assert stored.read_bytes() == scan.read_bytes()


def test_sign_scan_accepts_the_pdf_itself(
    ready_home: Home, new_consent: Callable[..., ConsentRecord], runner: CliRunner, tmp_path: Path
) -> None:
    rec = new_consent()
    form = actions.write_form(home=ready_home, consent_id=rec.id, out=tmp_path / "form.pdf")
    result = runner.invoke(app, ["consent", "sign", rec.id, "--scan", str(form)])
    assert result.exit_code == 0, result.output


def test_scan_of_another_consent_is_refused(
    ready_home: Home, new_consent: Callable[..., ConsentRecord], runner: CliRunner, tmp_path: Path
) -> None:
    a, b = new_consent(), new_consent()
    form_a = actions.write_form(home=ready_home, consent_id=a.id, out=tmp_path / "a.pdf")
    scan = rasterise(form_a, tmp_path / "scan.png")
    before = db_dump(ready_home)
    result = runner.invoke(app, ["consent", "sign", b.id, "--scan", str(scan)])
    assert result.exit_code == 2
    assert f"QR code of consent {a.id}, not {b.id}" in result.output
    assert db_dump(ready_home) == before and not any(ready_home.documents_dir.iterdir())


def test_scan_without_a_qr_code_is_refused(
    ready_home: Home, new_consent: Callable[..., ConsentRecord], runner: CliRunner, tmp_path: Path
) -> None:
    rec = new_consent()
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((800, 600), 250, np.uint8)).save(blank)
    before = db_dump(ready_home)
    result = runner.invoke(app, ["consent", "sign", rec.id, "--scan", str(blank)])
    assert result.exit_code == 2 and "no readable consentclip QR code" in result.output
    not_an_image = tmp_path / "notes.txt"
    not_an_image.write_text("hello")
    result = runner.invoke(app, ["consent", "sign", rec.id, "--scan", str(not_an_image)])
    assert result.exit_code == 2 and "neither a PDF nor an image" in result.output
    assert db_dump(ready_home) == before


def test_electronic_signature_makes_the_final_pdf(
    ready_home: Home,
    new_consent: Callable[..., ConsentRecord],
    runner: CliRunner,
    signature_png: Path,
) -> None:
    rec = new_consent()
    argv = ["consent", "sign", rec.id, "--signature-image", str(signature_png)]
    result = runner.invoke(app, [*argv, "--signed-by", "ann  example", "--json"])
    assert result.exit_code == 0, result.output
    with Registry.open(ready_home) as reg:
        signed = reg.get(rec.id)
        key = reg.key
    assert signed.signature is not None and signed.signature.method == "electronic"
    doc = ready_home.documents_dir / f"{signed.signature.document_sha256}.pdf"
    assert hashlib.sha256(doc.read_bytes()).hexdigest() == signed.signature.document_sha256
    assert not doc.stat().st_mode & 0o222  # kept read-only
    text = " ".join(" ".join(p.split()) for p in pdf_pages(doc))
    assert "Electronic signature verification" in text
    assert rec.sha256() in text and key.fingerprint() in text  # bound to the record as signed
    pdf = pdfium.PdfDocument(str(doc))
    try:
        images = [
            obj
            for page in pdf
            for obj in page.get_objects()
            if obj.type == pdfium.raw.FPDF_PAGEOBJ_IMAGE
        ]
    finally:
        pdf.close()
    assert images, "the signature image is placed on the form"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--signed-by", "Someone Else"], "is not the signer recorded"),
        (["--signed-by", "Ann Example", "--bad-image"], "is not an image"),
        ([], "needs --signed-by"),
    ],
)
def test_bad_electronic_signatures_change_nothing(
    ready_home: Home,
    new_consent: Callable[..., ConsentRecord],
    runner: CliRunner,
    signature_png: Path,
    tmp_path: Path,
    args: list[str],
    message: str,
) -> None:
    rec = new_consent()
    image = signature_png
    if "--bad-image" in args:
        args = [a for a in args if a != "--bad-image"]
        image = tmp_path / "fake.png"
        image.write_bytes(b"%PDF-1.4 not a png")
    before = db_dump(ready_home)
    result = runner.invoke(app, ["consent", "sign", rec.id, "--signature-image", str(image), *args])
    assert result.exit_code == 2 and message in result.output
    assert db_dump(ready_home) == before and not any(ready_home.documents_dir.iterdir())


def test_scan_that_is_skewed_noisy_and_jpeg_still_reads(
    ready_home: Home, new_consent: Callable[..., ConsentRecord], runner: CliRunner, tmp_path: Path
) -> None:
    """A phone photo of the signed form: rotated a little, uneven light, grain, JPEG."""
    import cv2

    rec = new_consent()
    form = actions.write_form(home=ready_home, consent_id=rec.id, out=tmp_path / "form.pdf")
    page = cv2.imread(str(rasterise(form, tmp_path / "page.png", dpi=120)), cv2.IMREAD_GRAYSCALE)
    h, w = page.shape
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), 3.0, 1.0)
    photo = cv2.warpAffine(page, turn, (w, h), borderValue=200).astype(np.float32)
    photo *= np.linspace(0.75, 1.0, w, dtype=np.float32)[None, :]  # shadow across the page
    photo += np.random.default_rng(1).normal(0, 8, photo.shape).astype(np.float32)
    shot = tmp_path / "photo.jpg"
    cv2.imwrite(str(shot), np.clip(photo, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 70])
    result = runner.invoke(app, ["consent", "sign", rec.id, "--scan", str(shot)])
    assert result.exit_code == 0, result.output


def test_clinic_name_address_and_logo_come_from_clinic_toml(
    ready_home: Home, new_consent: Callable[..., ConsentRecord], tmp_path: Path
) -> None:
    import cv2

    logo = np.full((80, 80, 3), 255, np.uint8)
    cv2.circle(logo, (40, 40), 30, (160, 90, 20), -1)
    cv2.imwrite(str(ready_home.root / "logo.png"), logo)
    ready_home.settings_path.write_text(
        'name = "Clínica Dermatológica San José"\naddress = "Calle Mayor 5, 28013 Madrid"\n'
        'withdraw_contact = "privacidad@sanjose.example"\nretention_years = 10\n'
        'logo = "logo.png"\n',
        encoding="utf-8",
    )
    rec = new_consent(language="es")
    out = actions.write_form(home=ready_home, consent_id=rec.id, out=tmp_path / "f.pdf")
    text = " ".join(" ".join(p.split()) for p in pdf_pages(out))
    for fragment in [
        "Clínica Dermatológica San José",
        "Calle Mayor 5",
        "privacidad@sanjose.example",
        "durante 10 años",
    ]:
        assert fragment in text, fragment
    pdf = pdfium.PdfDocument(str(out))
    try:
        kinds = [obj.type for obj in pdf[0].get_objects()]
    finally:
        pdf.close()
    assert pdfium.raw.FPDF_PAGEOBJ_IMAGE in kinds

    (ready_home.root / "logo.png").unlink()
    with pytest.raises(HomeError, match="logo"):
        actions.write_form(home=ready_home, consent_id=rec.id, out=tmp_path / "g.pdf")
    assert not (tmp_path / "g.pdf").exists()


def test_phone_photo_in_heic_is_read(
    ready_home: Home, new_consent: Callable[..., ConsentRecord], runner: CliRunner, tmp_path: Path
) -> None:
    import pillow_heif

    pillow_heif.register_heif_opener()
    rec = new_consent()
    form = actions.write_form(home=ready_home, consent_id=rec.id, out=tmp_path / "form.pdf")
    page = Image.open(rasterise(form, tmp_path / "page.png", dpi=120)).convert("RGB")
    page.save(tmp_path / "IMG_0001.HEIC", quality=80)
    result = runner.invoke(
        app, ["consent", "sign", rec.id, "--scan", str(tmp_path / "IMG_0001.HEIC")]
    )
    assert result.exit_code == 0, result.output
    with Registry.open(ready_home) as reg:
        signature = reg.get(rec.id).signature
    assert signature is not None
    assert (ready_home.documents_dir / f"{signature.document_sha256}.heic").exists()
