#!/usr/bin/env bash
# Re-takes the review page screenshots in docs/images/ by running the real-browser test
# (tests/review/test_review_browser.py), which drives Debian's chromium through the whole review.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
CONSENTCLIP_REVIEW_SCREENSHOTS="$PWD/docs/images" GLOG_minloglevel=2 \
  "$PY" -m pytest -q tests/review/test_review_browser.py
ls -l docs/images/review-*.png
