"""Fixtures for the consent registry tests: an initialised home and a quick way to make consents."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest

from consentclip.consent.actions import create_consent
from consentclip.consent.records import ConsentRecord
from consentclip.home import Home

FUTURE = date.today() + timedelta(days=365)


@pytest.fixture
def home(home: Home, registry_backend: str) -> Home:
    """Every registry test runs on both backends (see tests/conftest.py)."""
    return home


@pytest.fixture
def ready_home(registry_home: Home) -> Home:
    """The consent tests' name for the initialised home of tests/conftest.py."""
    return registry_home


@pytest.fixture
def new_consent(ready_home: Home) -> Callable[..., ConsentRecord]:
    """``new_consent("teaching:identifiable", "journal", signer_role=..., ...)`` -> draft record."""

    def _make(*grants: str, **fields: object) -> ConsentRecord:
        params: dict[str, object] = {
            "patient_ref": "P-0042",
            "grants": grants or ("teaching:identifiable",),
            "expires": FUTURE,
            "patient_name": "Ann Example",
        }
        params.update(fields)
        return create_consent(home=ready_home, **params)  # type: ignore[arg-type]

    return _make


@pytest.fixture
def signature_png(tmp_path: Path) -> Path:
    img = np.full((60, 200, 3), 255, np.uint8)
    cv2.putText(img, "A. Example", (8, 40), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 1.0, (90, 30, 10), 2)
    path = tmp_path / "sig.png"
    cv2.imwrite(str(path), img)
    return path
