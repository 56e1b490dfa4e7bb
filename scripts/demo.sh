#!/usr/bin/env bash
# The main job, end to end, on sample_media/: a consent is created, printed and signed; the clips
# are linked; one clip is exported for teaching, a social-media export is refused; then the whole
# folder goes through batch. Everything is written under demo-out/ (a fresh consent home each run).
set -euo pipefail
cd "$(dirname "$0")/.."
C=".venv/bin/consentclip"
OUT="demo-out"
rm -rf "$OUT"
mkdir -p "$OUT"
export CONSENTCLIP_HOME="$PWD/$OUT/home"
# MediaPipe's C++ logging is noise for a clinician.
export GLOG_minloglevel=2 TF_CPP_MIN_LOG_LEVEL=3

step() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "${*:2}"; }
run() { step "$1" "${*:2}"; "${@:2}"; }

run "Set up the consent home (registry, clinic signing key)" $C init
run "Check the machine" $C doctor

step "Create a consent: teaching, conference (with voice) and journal; anonymised only" \
  "$C consent new --patient MRN-004211 ..."
ID=$($C consent new --patient MRN-004211 --patient-name "Jane Doe" --signer-name "Jane Doe" \
  --grant teaching --grant conference:voice --grant journal@2027-06-30 --expires 2028-12-31 \
  --clinician "Dr A. Patel" --clinician-registration GMC-7654321 \
  --body-site "left forearm" --face-visible --tattoos-visible --json |
  .venv/bin/python -c 'import json, sys; print(json.load(sys.stdin)["id"])')
echo "consent id: $ID"
run "Print the form to sign" $C consent pdf "$ID" -o "$OUT/consent-$ID.pdf"
run "File an electronic signature" \
  $C consent sign "$ID" --signature-image sample_media/signatures/sample-signature.png --signed-by "Jane Doe" \
  --agree teaching --agree conference --agree journal --initials JD
run "Show the signed record" $C consent show "$ID"

run "Link the recordings to the consent by content hash" \
  $C link sample_media/talking_head.mp4 sample_media/arm_tattoo_mole.mp4 \
  sample_media/lesion_photo.jpg sample_media/phone_clip.mov sample_media/label_card_lesion.jpg \
  --consent "$ID"

run "Preview (for review only: watermarked, detections drawn)" \
  $C preview sample_media/talking_head.mp4 -o "$OUT/preview-talking-head.mp4" --show-detections --quiet

run "Export the arm clip for teaching, keeping the mole visible" \
  $C export sample_media/arm_tattoo_mole.mp4 --purpose teaching --out "$OUT/teaching" \
  --keep 450,180,40,40 --qa "$OUT/qa" --quiet

run "Export the label-card photo for teaching: the name on the card and the wristband is hidden, the lesion kept" \
  $C export sample_media/label_card_lesion.jpg --purpose teaching --out "$OUT/teaching" \
  --keep 206,370,68,82 --qa "$OUT/qa" --quiet

step "Ask to export for social media, which the patient did not grant (expect exit 3)" \
  "$C export sample_media/talking_head.mp4 --purpose social_media --out $OUT/social"
set +e
$C export sample_media/talking_head.mp4 --purpose social_media --out "$OUT/social" --quiet
code=$?
set -e
echo "exit code: $code"
[ "$code" -eq 3 ] || { echo "demo: expected a refusal (exit 3)" >&2; exit 1; }
[ ! -e "$OUT/social" ] || [ -z "$(ls -A "$OUT/social")" ] || { echo "demo: refusal wrote files" >&2; exit 1; }

run "Stage the whole folder for a conference review (the clinic requires one; nothing is exported yet)" \
  $C batch sample_media --purpose conference --out "$OUT/conference" --review
step "A clinician checks each on the review page ('$C review open CLIP --purpose conference');" \
  "here they approve from the terminal: $C review approve CLIP --purpose conference --reviewer ..."
for clip in talking_head.mp4 arm_tattoo_mole.mp4 lesion_photo.jpg phone_clip.mov label_card_lesion.jpg; do
  $C review approve "sample_media/$clip" --purpose conference --reviewer "Dr A. Patel" --quiet
done
run "What awaits review and what is approved" $C review list
run "Export the whole folder for a conference: exactly the approved files (report, QA sheets)" \
  $C batch sample_media --purpose conference --out "$OUT/conference"

run "Verify the audit chain" $C audit verify
run "Withdraw the journal grant (lists what already went out under this consent)" \
  $C consent revoke "$ID" --grant journal --reason "patient changed her mind"
run "The audit trail for this consent" $C audit log --consent "$ID"

printf '\nDone. Everything is under %s/: the signed form in home/documents, exports, QA sheets, reports.\n' "$OUT"
