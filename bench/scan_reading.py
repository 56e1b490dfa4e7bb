"""How often a phone photo of a signed form still yields its consent id.

Each trial makes a real consent and its real PDF form, rasterises page 1 at a phone-photo
resolution (default 120 dpi), turns it by a few degrees, shades it across the page, adds grain and
saves it as JPEG quality 70: the case ``consent sign --scan`` must not miss. Each consent id (and
so each QR code) differs, which is why one trial proves little and a test once failed on CI.

    .venv/bin/python bench/scan_reading.py [--trials 200] [--dpi 120] [--out bench/results/scan.md]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import cv2
import numpy as np
import pypdfium2 as pdfium

from consentclip.consent import actions
from consentclip.consent.actions import create_consent
from consentclip.consent.registry import Registry
from consentclip.home import Home
from consentclip.scanread import read_consent_ids


def _photograph(form: Path, dpi: int, seed: int, out: Path) -> Path:
    pdf = pdfium.PdfDocument(str(form))
    try:
        page = np.array(pdf[0].render(scale=dpi / 72, grayscale=True).to_pil().convert("L"))
    finally:
        pdf.close()
    rng = np.random.default_rng(seed)
    h, w = page.shape
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), float(rng.uniform(-4, 4)), 1.0)
    photo = cv2.warpAffine(page, turn, (w, h), borderValue=200).astype(np.float32)
    photo *= np.linspace(0.75, 1.0, w, dtype=np.float32)[None, :]
    photo += rng.normal(0, 8, photo.shape).astype(np.float32)
    cv2.imwrite(str(out), np.clip(photo, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 70])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--dpi", type=int, default=120)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="consentclip-scan-"))
    home = Home(tmp / "home")
    Registry.initialise(home)
    missed: list[str] = []
    seconds: list[float] = []
    for trial in range(args.trials):
        rec = create_consent(
            home=home,
            patient_ref=f"P-{trial}",
            grants=("teaching",),
            expires=date.today() + timedelta(days=365),
            patient_name="Ann Example",
        )
        form = actions.write_form(home=home, consent_id=rec.id, out=tmp / "form.pdf")
        shot = _photograph(form, args.dpi, trial, tmp / "photo.jpg")
        start = time.perf_counter()
        ids = read_consent_ids(shot)
        seconds.append(time.perf_counter() - start)
        if ids != [rec.id]:
            missed.append(f"{rec.id} read as {ids}")
    lines = [
        "## Reading the QR code back from a photographed form",
        "",
        f"`.venv/bin/python bench/scan_reading.py --trials {args.trials} --dpi {args.dpi}`",
        "",
        "| trials | missed | median read time | slowest read |",
        "|---:|---:|---:|---:|",
        f"| {args.trials} | {len(missed)} | {np.median(seconds) * 1000:.0f} ms "
        f"| {max(seconds) * 1000:.0f} ms |",
        "",
        *(f"- missed: {m}" for m in missed),
    ]
    text = "\n".join(lines).rstrip() + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
