"""How registry-v1-home.tar.gz was made: with consentclip at main ae5121c (schema_version 1,
before Alembic), ``PYTHONPATH=<that checkout>/src python make_registry_v1.py``; then the signed
PDFs and lock files were removed and ``home`` was packed with tar. Kept for the record; the test
reads the packed home, never runs this."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import cv2
import numpy as np

ROOT = Path("/tmp/v1home")


def main() -> None:
    os.environ["CONSENTCLIP_HOME"] = str(ROOT / "home")
    from consentclip.consent import actions
    from consentclip.consent.registry import Registry
    from consentclip.home import Home

    home = Home(ROOT / "home")
    Registry.initialise(home)
    img = np.full((60, 200, 3), 255, np.uint8)
    cv2.putText(img, "A. Example", (8, 40), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 1.0, (90, 30, 10), 2)
    png = ROOT / "sig.png"
    cv2.imwrite(str(png), img)
    ids = []
    for i, grants in enumerate((("teaching:identifiable", "journal:voice"), ("teaching",))):
        request = actions.ConsentRequest(
            patient_ref=f"P-{i}", grants=grants, expires=date(2099, 1, 1), patient_name="Ann"
        )
        rec = actions.create_consent(home=home, request=request)
        actions.sign_electronically(
            home=home, consent_id=rec.id, signature_image=png, signed_by="Ann Example"
        )
        ids.append(rec.id)
    actions.revoke(home=home, consent_id=ids[0], purpose="journal", reason="changed mind")
    with Registry.open(home) as reg:
        reg.link_clip(ids[1], "ab" * 32, "clip.mp4", "video")
        reg._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


if __name__ == "__main__":
    main()
