"""Review step cost, side by side in one run on the same clip and consent home:

- plain export: the engine, as for a purpose that needs no review (teaching);
- review staging, first time: the engine plus the upright copy of the original and thumbnails;
- re-render after a decision (a keep box);
- approve (the staged file is current: signing and the audit entry only);
- export of the approved file (journal): gate, checks of every binding, copy, manifest, audit.

    .venv/bin/python bench/review_speed.py [--clip sample_media/arm_tattoo_mole.mp4] [--out F]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from consentclip import scanread
from consentclip.consent import templates
from consentclip.consent.records import Grant, Purpose, Signer, SignerRole
from consentclip.consent.registry import NewConsent, Registry
from consentclip.detect.regions import Box
from consentclip.export import ExportRequest, export_clip
from consentclip.home import Home
from consentclip.link import link_clips
from consentclip.review.approval import approve
from consentclip.review.decisions import Decisions
from consentclip.review.staging import BaseOptions, open_session, render

REPO = Path(__file__).resolve().parents[1]
SIGNATURE = REPO / "sample_media" / "signatures" / "sample-signature.png"


def consent(home: Home) -> str:
    Registry.initialise(home)
    expires = date.today() + timedelta(days=365)
    with Registry.open(home) as registry:
        record = registry.create(
            NewConsent(
                patient_ref="BENCH-1",
                signer=Signer(SignerRole.PATIENT, "Bench Patient"),
                grants=tuple(Grant.parse(p, expires) for p in ("teaching", "journal")),
                template=templates.load("derm-video-photo", "en", home).ref,
                patient_name="Bench Patient",
            )
        )
    scanread.sign_electronically(
        home=home, consent_id=record.id, signature_image=SIGNATURE, signed_by="Bench Patient"
    )
    return record.id


def timed(fn):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clip", type=Path, default=REPO / "sample_media" / "arm_tattoo_mole.mp4")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "review.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        home = Home(tmp / "home")
        clip = tmp / args.clip.name
        shutil.copyfile(args.clip, clip)
        consent_id = consent(home)
        link_clips(home, [(clip, consent_id)])
        _, plain = timed(
            lambda: export_clip(home, ExportRequest(clip, Purpose.TEACHING, tmp / "teaching"))
        )
        session = open_session(home, clip, Purpose.JOURNAL, BaseOptions())
        _, first = timed(lambda: render(home, session, session.decisions()))
        changed = Decisions(keep=(Box(450, 180, 40, 40),))
        session.save_decisions(changed)
        _, again = timed(lambda: render(home, session, changed))
        _, approving = timed(lambda: approve(home, session, "Dr Bench"))
        result, publish = timed(
            lambda: export_clip(home, ExportRequest(clip, Purpose.JOURNAL, tmp / "journal"))
        )
        assert result.manifest["review"]["reviewer"] == "Dr Bench"
    rows = [
        ("plain export (engine, teaching)", plain),
        ("review staging, first render", first),
        ("re-render after a decision", again),
        ("approve (staged file current)", approving),
        ("export of the approved file (journal)", publish),
    ]
    lines = [
        "# Review step",
        "",
        f"`bench/review_speed.py` on `{args.clip.name}`, one run, same machine, side by side.",
        "",
        "| step | seconds | vs plain export |",
        "|---|---:|---:|",
        *[f"| {name} | {sec:.2f} | {sec / plain:.2f}x |" for name, sec in rows],
        "",
    ]
    text = "\n".join(lines)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
