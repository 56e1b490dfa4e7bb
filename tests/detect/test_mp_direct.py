"""FaceModel.detect calls its graph directly (detect/_mp.py ``_detections``): the same answers
as MediaPipe's public ``process``, call after call on one graph."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from consentclip.detect._mp import FaceModel, _detections


@pytest.mark.parametrize("full_range", [False, True])
def test_direct_call_matches_public_process(full_range: bool, astronaut: np.ndarray) -> None:
    rgb = cv2.cvtColor(astronaut, cv2.COLOR_BGR2RGB)
    pictures = [rgb, cv2.resize(rgb, (200, 120)), np.zeros((64, 96, 3), np.uint8)]
    model = FaceModel(full_range=full_range, threshold=0.3)
    public = FaceModel(full_range=full_range, threshold=0.3)
    try:
        found = 0
        for picture in pictures * 2:  # other sizes between: the timestamps advance alike
            got = [d.SerializeToString() for d in _detections(model._graph, picture)]
            want = [d.SerializeToString() for d in public._graph.process(picture).detections or ()]
            assert got == want
            found += len(got)
        assert found >= 2  # the astronaut's face, both times
    finally:
        model.close()
        public.close()
