"""How `consent sign --scan` judges the signature fields of a scanned or photographed form.

Each trial makes a real consent (en, es or ru; one to four grants) and its real printed form,
fills fields with simulated pen strokes (bench/scansynth.py), passes the pages through a flatbed
scanner or a phone camera (perspective, a shadow, uneven light, blur, grain, JPEG), and asks
``scanread.judge`` whether the form is signed. Blank forms, forms signed only by the clinician,
forms without initials and scans missing a page must be refused; signed ones, faint or not,
accepted.

    .venv/bin/python bench/scan_signatures.py [--trials 30] [--out bench/results/scan_signatures.md]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import scansynth
from consentclip import scanread
from consentclip.consent import actions, pdf, templates
from consentclip.consent.actions import create_consent
from consentclip.consent.clinic import Clinic
from consentclip.consent.registry import Registry
from consentclip.home import Home

FLATBED_DPI, PHONE_DPI = 200, 110
PURPOSES = ("clinical_record", "teaching", "conference", "journal", "public_web", "social_media")

# name -> (what is filled in, pen, camera, drop last page, should be accepted)
CASES = {
    "blank, scanner": ("none", scansynth.BALLPOINT, "flatbed", False, False),
    "blank, phone": ("none", scansynth.BALLPOINT, "phone", False, False),
    "clinician only, scanner": ("clinician", scansynth.BALLPOINT, "flatbed", False, False),
    "clinician only, phone": ("clinician", scansynth.BALLPOINT, "phone", False, False),
    "signed, no initials, scanner": ("signature", scansynth.BALLPOINT, "flatbed", False, False),
    "signed, page missing, scanner": ("all", scansynth.BALLPOINT, "flatbed", True, False),
    "signed, scanner": ("all", scansynth.BALLPOINT, "flatbed", False, True),
    "signed, phone": ("all", scansynth.BALLPOINT, "phone", False, True),
    "signed faintly, scanner": ("all", scansynth.FAINT, "flatbed", False, True),
    "signed faintly, phone": ("all", scansynth.FAINT, "phone", False, True),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="consentclip-sigbench-"))
    home = Home(tmp / "home")
    Registry.initialise(home)
    clinic = Clinic.load(home)
    results: dict[str, list[bool]] = {name: [] for name in CASES}
    inks: dict[str, dict[str, list[float]]] = {
        name: {"signature": [], "initials": []} for name in CASES
    }
    seconds: list[float] = []
    for trial in range(args.trials):
        rng = np.random.default_rng(trial)
        grants = tuple(rng.choice(PURPOSES, size=int(rng.integers(1, 5)), replace=False))
        rec = create_consent(
            home=home,
            patient_ref=f"P-{trial}",
            grants=tuple(str(g) for g in grants),
            expires=date.today() + timedelta(days=365),
            language=("en", "es", "ru")[trial % 3],
            patient_name="Ann Example",
            clinician="Dr Who",
        )
        template = templates.load_for(rec.template, home)
        reference, layout = pdf.render_form_layout(pdf.FormInput(rec, template, clinic))
        required = actions.required_fields(rec)
        for name, (filled, pen, camera, drop, _) in CASES.items():
            dpi = FLATBED_DPI if camera == "flatbed" else PHONE_DPI
            pages = scansynth.render(reference, dpi)
            fields = {
                "none": [],
                "clinician": [("signature", "clinician_signature")],
                "signature": required[:1],
                "all": [*required, ("signature", "clinician_signature")],
            }[filled]
            scansynth.sign(pages, layout, fields, dpi, rng, pen)
            if drop and len(pages) > 1:
                pages = pages[:-1]
            elif drop:
                continue  # a one-page form cannot lose a page and keep its signature
            shots = [
                (scansynth.flatbed if camera == "flatbed" else scansynth.phone)(p, rng)
                for p in pages
            ]
            start = time.perf_counter()
            check = scanread.judge(shots, layout, reference, required)
            seconds.append(time.perf_counter() - start)
            results[name].append(check.ok)
            for f in check.fields:
                inks[name][f.kind].append(f.ink)
        print(f"trial {trial + 1}/{args.trials} done", file=sys.stderr)

    lines = [
        "## Judging the signature fields of a scanned form",
        "",
        f"`.venv/bin/python bench/scan_signatures.py --trials {args.trials}`: real forms "
        f"(en/es/ru, 1-4 grants), simulated pen strokes, scanner at {FLATBED_DPI} dpi or phone "
        f"photo at ~{int(PHONE_DPI * 1.3)} px/inch of paper (perspective, shadow, uneven "
        "light, blur, grain, JPEG 75). Thresholds: signature ink >= "
        f"{scanread.MIN_INK_SIGNATURE:.1%} of the cell, initials >= "
        f"{scanread.MIN_INK_INITIALS:.1%} of the box.",
        "",
        "| case | forms | accepted | refused | should be | wrong "
        "| signature ink min / median / max | initials ink min / median / max |",
        "|---|---:|---:|---:|---|---:|---|---|",
    ]
    wrong_total = 0
    for name, (*_, accept) in CASES.items():
        got = results[name]
        accepted = sum(got)
        wrong = (len(got) - accepted) if accept else accepted
        wrong_total += wrong
        spread = " | ".join(_spread(inks[name][kind]) for kind in ("signature", "initials"))
        lines.append(
            f"| {name} | {len(got)} | {accepted} | {len(got) - accepted} | "
            f"{'accepted' if accept else 'refused'} | {wrong} | {spread} |"
        )
    lines += [
        "",
        f"Wrong decisions: {wrong_total}. Judging one form (registration of every page, "
        f"reference render, ink of each field): median {statistics.median(seconds):.2f} s, "
        f"slowest {max(seconds):.2f} s.",
        "",
        "Ink of a blank field is what registration error and noise leave after the printed form "
        "is subtracted; it must stay below the threshold with room to spare, and a faint "
        "signature's ink above it.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


def _spread(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{min(values):.2%} / {statistics.median(values):.2%} / {max(values):.2%}"


if __name__ == "__main__":
    main()
