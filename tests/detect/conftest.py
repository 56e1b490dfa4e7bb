"""Fixtures of the detector tests."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    """skimage's astronaut portrait as BGR, the way frames reach the detectors."""
    return np.ascontiguousarray(data.astronaut()[:, :, ::-1])
