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
from .paper import phone_pdf, save_pdf, signed_pages


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
    scan = save_pdf(signed_pages(ready_home, rec), tmp_path / "scan.pdf")
    result = runner.invoke(app, ["consent", "sign", rec.id, "--scan", str(scan)])
    assert result.exit_code == 0, result.output
    with Registry.open(ready_home) as reg:
        signed = reg.get(rec.id)
    assert signed.state is State.SIGNED and signed.signature is not None
    assert signed.signature.method == "wet_ink_scan"
    digest = hashlib.sha256(scan.read_bytes()).hexdigest()
    assert signed.signature.document_sha256 == digest
    stored = ready_home.documents_dir / f"{digest}.pdf"
    assert stored.read_bytes() == scan.read_bytes()


def test_the_unsigned_printed_form_is_refused(
    ready_home: Home, new_consent: Callable[..., ConsentRecord], runner: CliRunner, tmp_path: Path
) -> None:
    """The PDF `consent pdf` just wrote, or a scan of it unsigned, is not a signed consent."""
    rec = new_consent("teaching", "journal")
    form = actions.write_form(home=ready_home, consent_id=rec.id, out=tmp_path / "form.pdf")
    blank_scan = save_pdf(signed_pages(ready_home, rec, fields=[]), tmp_path / "blank.pdf")
    before = db_dump(ready_home)
    for scan in (form, blank_scan):
        result = runner.invoke(app, ["consent", "sign", rec.id, "--scan", str(scan)])
        assert result.exit_code == 2, result.output
        line = result.output.strip()
        assert "\n" not in line and f"is not a signed consent {rec.id}" in line
        assert "empty: patient signature, teaching initials, journal initials" in line
    assert db_dump(ready_home) == before and not any(ready_home.documents_dir.iterdir())


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ([("signature", "clinician_signature")], "empty: patient signature, teaching initials"),
        ([("signature", "patient_signature")], "empty: teaching initials"),
        ([("initials", "teaching")], "empty: patient signature"),
    ],
)
def test_a_form_missing_the_signers_marks_is_refused(
    ready_home: Home,
    new_consent: Callable[..., ConsentRecord],
    runner: CliRunner,
    tmp_path: Path,
    fields: list[tuple[str, str]],
    expected: str,
) -> None:
    rec = new_consent("teaching")
    scan = save_pdf(signed_pages(ready_home, rec, fields=fields), tmp_path / "scan.pdf")
    result = runner.invoke(app, ["consent", "sign", rec.id, "--scan", str(scan)])
    assert result.exit_code == 2 and expected in result.output, result.output
    assert not any(ready_home.documents_dir.iterdir())


def test_a_scan_missing_a_page_is_refused(
    ready_home: Home, new_consent: Callable[..., ConsentRecord], runner: CliRunner, tmp_path: Path
) -> None:
    rec = new_consent()
    pages = signed_pages(ready_home, rec)
    assert len(pages) == 2
    scan = save_pdf(pages[:1], tmp_path / "page1.pdf")
    result = runner.invoke(app, ["consent", "sign", rec.id, "--scan", str(scan)])
    assert result.exit_code == 2, result.output
    assert "page 2 of 2 missing from the scan" in result.output


def test_a_representative_signs_in_their_own_row(
    ready_home: Home, new_consent: Callable[..., ConsentRecord], runner: CliRunner, tmp_path: Path
) -> None:
    rec = new_consent(
        signer_role="guardian",
        signer_name="Olga Example",
        signer_authority="mother",
        birth_date=date.today() - timedelta(days=10 * 365),  # a child, in any year
    )
    wrong_row = [("signature", "patient_signature"), ("initials", "teaching")]
    scan = save_pdf(signed_pages(ready_home, rec, fields=wrong_row), tmp_path / "a.pdf")
    result = runner.invoke(app, ["consent", "sign", rec.id, "--scan", str(scan)])
    assert result.exit_code == 2 and "empty: representative signature" in result.output
    scan = save_pdf(signed_pages(ready_home, rec), tmp_path / "b.pdf")
    result = runner.invoke(app, ["consent", "sign", rec.id, "--scan", str(scan)])
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
    argv = ["consent", "sign", rec.id, "--signature-image", str(signature_png), "--agree", "all"]
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
        (["--signed-by", "Someone Else", "--agree", "all"], "is not the signer recorded"),
        (["--signed-by", "Ann Example", "--agree", "all", "--bad-image"], "is not an image"),
        (["--agree", "all"], "needs --signed-by"),
        (["--signed-by", "Ann Example"], "which purposes did the patient agree to"),
        (["--signed-by", "Ann Example", "--agree", "journal"], "does not ask for journal"),
        (["--signed-by", "Ann Example", "--agree", "teaching", "--initials", "ABCDEFGH"], "1 to 6"),
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
    page = signed_pages(ready_home, rec, dpi=120)[0]
    h, w = page.shape
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), 3.0, 1.0)
    photo = cv2.warpAffine(page, turn, (w, h), borderValue=200).astype(np.float32)
    photo *= np.linspace(0.75, 1.0, w, dtype=np.float32)[None, :]  # shadow across the page
    photo += np.random.default_rng(1).normal(0, 8, photo.shape).astype(np.float32)
    shot = tmp_path / "photo.jpg"
    cv2.imwrite(str(shot), np.clip(photo, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 70])
    from consentclip.scanread import read_consent_ids

    assert read_consent_ids(shot) == [rec.id]


def test_phone_photos_of_a_signed_form_are_accepted(
    ready_home: Home, new_consent: Callable[..., ConsentRecord], runner: CliRunner, tmp_path: Path
) -> None:
    """Perspective, a shadow across the page, uneven light, blur, grain and JPEG, every page
    (a phone scanner app's PDF); the same photos of the blank form are refused."""
    rec = new_consent("teaching", "journal")
    blank = phone_pdf(signed_pages(ready_home, rec, fields=[], dpi=110), tmp_path / "b.pdf", 3)
    result = runner.invoke(app, ["consent", "sign", rec.id, "--scan", str(blank)])
    assert result.exit_code == 2 and "empty: patient signature" in result.output, result.output
    signed = phone_pdf(signed_pages(ready_home, rec, dpi=110), tmp_path / "s.pdf", 3)
    result = runner.invoke(app, ["consent", "sign", rec.id, "--scan", str(signed)])
    assert result.exit_code == 0, result.output


def test_clinic_name_address_and_logo_come_from_clinic_toml(
    ready_home: Home, new_consent: Callable[..., ConsentRecord], tmp_path: Path
) -> None:
    import cv2

    logo = np.full((80, 80, 3), 255, np.uint8)
    cv2.circle(logo, (40, 40), 30, (160, 90, 20), -1)
    cv2.imwrite(str(ready_home.root / "logo.png"), logo)
    ready_home.settings_path.write_text(
        'language = "es"\n'
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
    page = Image.fromarray(signed_pages(ready_home, rec, dpi=120)[0]).convert("RGB")
    page.save(tmp_path / "IMG_0001.HEIC", quality=80)
    from consentclip.scanread import read_consent_ids

    assert read_consent_ids(tmp_path / "IMG_0001.HEIC") == [rec.id]
    # One photo holds one page; the signature block is on page 2, so it is refused, saying so.
    result = runner.invoke(
        app, ["consent", "sign", rec.id, "--scan", str(tmp_path / "IMG_0001.HEIC")]
    )
    assert result.exit_code == 2 and "page 2 of 2 missing" in result.output, result.output
    broken = tmp_path / "IMG_0002.HEIC"
    data = (tmp_path / "IMG_0001.HEIC").read_bytes()
    broken.write_bytes(data[: len(data) * 6 // 10])  # cut off mid-picture, as a failed copy is
    result = runner.invoke(app, ["consent", "sign", rec.id, "--scan", str(broken)])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: IMG_0002.HEIC is truncated or damaged")
    assert "Aborted" not in result.output and result.output.count("\n") == 1


def test_spanish_and_russian_forms_carry_no_english_clinic_text(
    ready_home: Home, new_consent: Callable[..., ConsentRecord], tmp_path: Path
) -> None:
    """The starter clinic.toml has a table per shipped language; a clinic.toml without one
    refuses to print that language rather than put English contact details in it."""
    english = ["Example Street", "the clinic reception", "Example Dermatology Clinic"]
    for language, local in (("es", "la recepción de la clínica"), ("ru", "регистратуру клиники")):
        rec = new_consent(language=language)
        out = actions.write_form(home=ready_home, consent_id=rec.id, out=tmp_path / "f.pdf")
        text = " ".join(" ".join(p.split()) for p in pdf_pages(out))
        assert local in text
        assert not [e for e in english if e in text]
        out.unlink()
    ready_home.settings_path.write_text(
        'name = "Derm Clinic"\naddress = "1 High Street"\nwithdraw_contact = "reception"\n',
        encoding="utf-8",
    )
    rec = new_consent(language="ru")
    with pytest.raises(HomeError, match=r"no address, withdraw_contact in language 'ru'"):
        actions.write_form(home=ready_home, consent_id=rec.id, out=tmp_path / "g.pdf")
    assert not (tmp_path / "g.pdf").exists()


def test_letter_paper_from_clinic_toml(
    ready_home: Home, new_consent: Callable[..., ConsentRecord], tmp_path: Path
) -> None:
    text = ready_home.settings_path.read_text(encoding="utf-8")
    ready_home.settings_path.write_text(text.replace('paper = "A4"', 'paper = "letter"'), "utf-8")
    rec = new_consent()
    out = actions.write_form(home=ready_home, consent_id=rec.id, out=tmp_path / "f.pdf")
    pdf = pdfium.PdfDocument(str(out))
    try:
        assert [round(v) for v in pdf[0].get_size()] == [612, 792]  # 8.5 x 11 in
    finally:
        pdf.close()
    ready_home.settings_path.write_text(text.replace('paper = "A4"', 'paper = "B5"'), "utf-8")
    with pytest.raises(HomeError, match="A4 or letter"):
        actions.write_form(home=ready_home, consent_id=rec.id, out=tmp_path / "g.pdf")


def test_electronic_signature_shows_the_patients_mark_per_purpose(
    ready_home: Home,
    new_consent: Callable[..., ConsentRecord],
    runner: CliRunner,
    signature_png: Path,
) -> None:
    """The e-signed PDF has the patient's initials (or a tick) in each box they agreed to, and
    a declined purpose is refused rather than granted."""
    rec = new_consent("teaching", "journal:identifiable")
    base = ["consent", "sign", rec.id, "--signature-image", str(signature_png)]
    base += ["--signed-by", "Ann Example"]
    result = runner.invoke(app, [*base, "--agree", "teaching"])
    assert result.exit_code == 2 and "did not agree to journal" in result.output
    result = runner.invoke(
        app, [*base, "--agree", "teaching", "--agree", "journal", "--initials", "A.E.", "--json"]
    )
    assert result.exit_code == 0, result.output
    with Registry.open(ready_home) as reg:
        signed = reg.get(rec.id)
    assert signed.signature is not None
    doc = ready_home.documents_dir / f"{signed.signature.document_sha256}.pdf"
    pages = pdf_pages(doc)
    assert sum(p.count("A.E.") for p in pages) == 2  # teaching and journal boxes
    other = new_consent("teaching")
    argv = ["consent", "sign", other.id, "--signature-image", str(signature_png)]
    result = runner.invoke(app, [*argv, "--signed-by", "Ann Example", "--agree", "all"])
    assert result.exit_code == 0, result.output
    with Registry.open(ready_home) as reg:
        sig = reg.get(other.id).signature
    assert sig is not None
    ticked = pdf_pages(ready_home.documents_dir / f"{sig.document_sha256}.pdf")
    assert sum(p.count("\u2713") for p in ticked) == 1


def test_one_photo_per_page_is_filed_as_a_bundle(
    ready_home: Home, new_consent: Callable[..., ConsentRecord], runner: CliRunner, tmp_path: Path
) -> None:
    """A phone user photographs each page: --scan once per page. The photos are kept as they
    are, bound by a JSON list of their hashes, which is what the signature binds."""
    import json

    import cv2

    from .paper import scansynth

    rec = new_consent("teaching")
    rng = np.random.default_rng(5)
    shots = []
    for number, page in enumerate(signed_pages(ready_home, rec, dpi=110), start=1):
        shot = tmp_path / f"IMG_{number}.jpg"
        cv2.imwrite(str(shot), scansynth.phone(page, rng), [cv2.IMWRITE_JPEG_QUALITY, 80])
        shots.append(shot)
    argv = ["consent", "sign", rec.id, "--json"]
    result = runner.invoke(app, [*argv, "--scan", str(shots[1]), "--scan", str(shots[0])])
    assert result.exit_code == 0, result.output
    bundle_path = Path(json.loads(result.stdout)["document"])
    bundle = json.loads(bundle_path.read_text())
    assert [p["name"] for p in bundle["pages"]] == ["IMG_2.jpg", "IMG_1.jpg"]
    for page, shot in zip(bundle["pages"], shots[::-1], strict=True):
        stored = ready_home.documents_dir / f"{page['sha256']}{page['suffix']}"
        assert stored.read_bytes() == shot.read_bytes()
    with Registry.open(ready_home) as reg:
        signature = reg.get(rec.id).signature
        assert reg.verify(rec.id, documents=True).ok
    assert signature is not None
    assert signature.document_sha256 == hashlib.sha256(bundle_path.read_bytes()).hexdigest()


def test_pages_upside_down_and_out_of_order_are_accepted(
    ready_home: Home, new_consent: Callable[..., ConsentRecord], runner: CliRunner, tmp_path: Path
) -> None:
    """The corner marks say which page is which and which way up it is."""
    rec = new_consent()
    pages = [np.rot90(p, 2).copy() for p in signed_pages(ready_home, rec)][::-1]
    scan = save_pdf(pages, tmp_path / "fed-in-backwards.pdf")
    result = runner.invoke(app, ["consent", "sign", rec.id, "--scan", str(scan)])
    assert result.exit_code == 0, result.output
