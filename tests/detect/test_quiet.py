"""MediaPipe's start-up chatter is filtered from stderr; anything else gets through."""

from __future__ import annotations

import os

import pytest

from consentclip.detect._quiet import filter_noise, native_stderr_filtered

NOISE = (
    "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n"
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    "W0000 00:00:1795315349.969365   25929 inference_feedback_manager.cc:114] Feedback manager\n"
)


def test_known_noise_is_dropped_and_real_errors_kept() -> None:
    real = "E0000 00:00:1.0 calculator_graph.cc:12] Calculator::Open() failed\n"
    assert filter_noise(NOISE + real) == real


def test_native_writes_to_fd2_are_filtered(capfd: pytest.CaptureFixture[str]) -> None:
    with native_stderr_filtered():
        os.write(2, NOISE.encode())
        os.write(2, b"ffmpeg said something real\n")
    err = capfd.readouterr().err
    assert "XNNPACK" not in err and "inference_feedback_manager" not in err
    assert "ffmpeg said something real" in err
