#!/usr/bin/env bash
# A clinic's first day, from the wheel alone: build the wheel, install it into a fresh virtual
# environment outside this checkout, and run the whole flow from another folder: init, doctor,
# consent new + pdf in en/es/ru, a blank scan refused, an electronic signature, link, export, and
# batch over camcorder .mts and .mpg files. Fails on the first step that does not do its job.
#
#   scripts/wheel-smoke.sh            (make test runs it after pytest; make wheel-smoke alone)
#   KEEP=1 scripts/wheel-smoke.sh     keep the temporary folder to look at
#
# pip's cache is reused (no download, no wheel build) and nothing is byte-compiled; the install
# still unpacks mediapipe and OpenCV (~56 s of CPU here, all steps together).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
T0=$SECONDS
WORK="$(mktemp -d "${TMPDIR:-/tmp}/consentclip-wheel-smoke.XXXXXX")"
case "$WORK" in "$REPO"/*) echo "wheel-smoke: temp folder inside the checkout" >&2; exit 1 ;; esac
cleanup() { if [ -z "${KEEP:-}" ]; then rm -rf "$WORK"; else echo "kept $WORK"; fi; }
trap cleanup EXIT
step() { printf 'wheel-smoke [%3ds] %s\n' "$((SECONDS - T0))" "$*"; }
fail() { echo "wheel-smoke FAILED: $*" >&2; exit 1; }

step "build the wheel"
"$PYTHON" -m pip wheel -q --no-deps -w "$WORK/dist" "$REPO" >"$WORK/build.log" 2>&1 ||
  { cat "$WORK/build.log" >&2; fail "the wheel did not build"; }
WHEEL="$(ls "$WORK"/dist/consentclip-*.whl)"
"$PYTHON" - "$WHEEL" <<'PY' || fail "the wheel lacks package data"
import sys, zipfile
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
need = [f"consentclip/consent/form_templates/derm-video-photo.{l}.toml" for l in ("en", "es", "ru")]
need += ["consentclip/consent/fonts/DejaVuSans.ttf", "consentclip/consent/fonts/DejaVuSans-Bold.ttf"]
missing = [n for n in need if n not in names]
sys.exit(f"missing from the wheel: {missing}" if missing else 0)
PY

step "install it into a fresh virtual environment in $WORK/venv"
"$PYTHON" -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install -q --no-compile "$WHEEL" >"$WORK/install.log" 2>&1 ||
  { tail -20 "$WORK/install.log" >&2; fail "pip install of the wheel failed"; }
C="$WORK/venv/bin/consentclip"
PY="$WORK/venv/bin/python"

# From another folder, with nothing of the checkout on the path.
mkdir -p "$WORK/clinic"
cd "$WORK/clinic"
unset PYTHONPATH
export CONSENTCLIP_HOME="$WORK/clinic/home" GLOG_minloglevel=2 TF_CPP_MIN_LOG_LEVEL=3
"$PY" -c 'import consentclip, sys; f = consentclip.__file__; sys.exit(0 if "/venv/" in f else f"imported from {f}")' ||
  fail "consentclip was not imported from the wheel"

step "init and doctor"
"$C" init >/dev/null
"$C" doctor >"$WORK/doctor.txt" || { cat "$WORK/doctor.txt" >&2; fail "doctor is not ready"; }
grep -q "consent templates: 3 template(s)" "$WORK/doctor.txt" || fail "doctor did not see the templates"

step "consent new and pdf in en, es and ru"
for lang in en es ru; do
  id=$("$C" consent new --patient "MRN-$lang" --patient-name "Ann Example" --language "$lang" \
    --grant teaching --grant conference:voice --expires 2099-12-31 --clinician "Dr A. Patel")
  "$C" consent pdf "$id" --out "form-$lang.pdf" >/dev/null
  head -c 5 "form-$lang.pdf" | grep -q '%PDF-' || fail "form-$lang.pdf is not a PDF"
  echo "$id" >"id-$lang"
done
ID=$(cat id-en)

step "the unsigned printed form is refused as a scan"
set +e
"$C" consent sign "$ID" --scan form-en.pdf 2>refusal.txt
code=$?
set -e
[ "$code" -eq 2 ] || fail "a blank form was accepted as a signed scan (exit $code)"
grep -q "empty: patient signature" refusal.txt || fail "refusal without its reason: $(cat refusal.txt)"

step "electronic signature with the patient's marks"
"$PY" - <<'PY'
from PIL import Image, ImageDraw
img = Image.new("RGB", (300, 80), "white")
ImageDraw.Draw(img).line([(10, 60), (80, 15), (150, 65), (220, 20), (290, 55)], fill=(20, 30, 120), width=4)
img.save("signature.png")
PY
"$C" consent sign "$ID" --signature-image signature.png --signed-by "Ann Example" \
  --agree teaching --agree conference --initials AE >/dev/null

step "link and export a clip"
ffmpeg -v error -f lavfi -i testsrc=size=320x240:rate=10 -t 1 -pix_fmt yuv420p clip.mp4
mkdir -p day
ffmpeg -v error -f lavfi -i testsrc2=size=320x240:rate=25 -t 1 -c:v mpeg2video -f mpegts day/00001.mts
ffmpeg -v error -f lavfi -i testsrc=size=320x240:rate=25 -t 1 -c:v mpeg1video day/old.mpg
"$C" link clip.mp4 day/00001.mts day/old.mpg --consent "$ID" >/dev/null
"$C" export clip.mp4 --purpose teaching --out exported --quiet >/dev/null
ls exported/*.mp4 >/dev/null 2>&1 || fail "export wrote no clip"

step "batch over camcorder .mts and .mpg"
echo "notes" >day/notes.txt
"$C" batch day --purpose teaching --out batch-out --workers 1 --quiet >/dev/null ||
  fail "batch did not export the .mts and .mpg (see $WORK/clinic/batch-out)"
"$PY" - <<'PY' || fail "batch report is not as expected"
import glob, json, os, sys
public = open("batch-out/batch-report.json").read()
# The export folder's report names no input file; the home keeps the full one.
(kept,) = glob.glob(os.path.join(os.environ["CONSENTCLIP_HOME"], "batch-reports", "*.json"))
r = json.load(open(kept))
got = {f["source"]: f["outcome"] for f in r["files"]}
skipped = {s["source"]: s["reason"] for s in r["skipped"]}
ok = got == {"00001.mts": "exported", "old.mpg": "exported"} and "notes.txt" in skipped
ok = ok and "notes.txt" not in public and "old.mpg" not in public
sys.exit(0 if ok else f"files {got}, skipped {skipped}")
PY
"$C" audit verify >/dev/null || fail "the audit chain does not verify"

step "done: the wheel alone does a clinic's first day ($((SECONDS - T0)) s)"
