#!/usr/bin/env bash
# Installs the OS packages consentclip needs when they are missing: ffmpeg/ffprobe, the libraries
# the OpenCV wheel that mediapipe brings links against, Python's venv module, and chromium (the
# review page's browser test drives Debian's chromium through Playwright; no browser download),
# and PostgreSQL for the registry tests.
# Debian/Ubuntu only; elsewhere it says what to install and stops.
set -euo pipefail

need=()
command -v ffmpeg >/dev/null 2>&1 || need+=(ffmpeg)
command -v ffprobe >/dev/null 2>&1 || need+=(ffmpeg)
# opencv-contrib-python (pulled in by mediapipe) is the GUI build: it needs libGL and GLib.
ldconfig -p 2>/dev/null | grep -q 'libGL.so.1' || need+=(libgl1)
ldconfig -p 2>/dev/null | grep -q 'libglib-2.0.so.0' || need+=(libglib2.0-0)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# Tesseract is the independent reader the text tests and bench/text_bench.py judge redaction by
# (can any word still be read?); consentclip itself never reads text.
command -v tesseract >/dev/null 2>&1 || need+=(tesseract-ocr)
# PostgreSQL: the registry tests run every registry test on a throwaway server as well
# (tests/pgserver.py runs Debian's initdb/pg_ctl as the 'postgres' account the package creates).
command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
  || need+=(postgresql)
# libfaketime: `make test-future` runs the suite years ahead, so no test depends on today's date.
command -v faketime >/dev/null 2>&1 || need+=(faketime)
# bsdtar (libarchive): bench/real/build.py reads set images kept inside a RAR archive in a repository.
command -v bsdtar >/dev/null 2>&1 || need+=(libarchive-tools)
PY=${PYTHON:-python3}
"$PY" -c 'import ensurepip, venv' >/dev/null 2>&1 || need+=(python3-venv)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
echo "consentclip set-up: installing OS packages: ${need[*]}"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: apt-get not found; install these with your OS package manager and re-run: ${need[*]}" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "error: not root and no sudo; ask IT to run: apt-get install ${need[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
