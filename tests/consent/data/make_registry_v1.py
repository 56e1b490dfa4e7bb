"""Made with consentclip at main ae5121c (schema_version 1, before Alembic)."""
import os, sys
from datetime import date
from pathlib import Path
import cv2, numpy as np
root = Path("/tmp/v1home/home"); os.environ["CONSENTCLIP_HOME"] = str(root)
from consentclip.home import Home
from consentclip.consent.registry import Registry
from consentclip.consent.actions import ConsentRequest, create_consent, sign_electronically, revoke
home = Home(root); Registry.initialise(home)
img = np.full((60, 200, 3), 255, np.uint8)
cv2.putText(img, "A. Example", (8, 40), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 1.0, (90, 30, 10), 2)
cv2.imwrite("/tmp/v1home/sig.png", img)
ids = []
for i, grants in enumerate((("teaching:identifiable", "journal:voice"), ("teaching",))):
    rec = create_consent(home=home, request=ConsentRequest(patient_ref=f"P-{i}", grants=grants, expires=date(2099, 1, 1), patient_name="Ann Example"))
    sign_electronically(home=home, consent_id=rec.id, signature_image=Path("/tmp/v1home/sig.png"), signed_by="Ann Example")
    ids.append(rec.id)
revoke(home=home, consent_id=ids[0], purpose="journal", reason="changed mind")
with Registry.open(home) as reg:
    reg.link_clip(ids[1], "ab" * 32, "clip.mp4", "video")
    reg._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    print(ids, reg.verify().ok, reg.verify_audit().ok)
