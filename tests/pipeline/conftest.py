"""Fixtures for the engine tests."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def astronaut_bgr() -> np.ndarray:
    """A public-domain real face (NASA portrait shipped with scikit-image), as BGR."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[:, :, ::-1])
