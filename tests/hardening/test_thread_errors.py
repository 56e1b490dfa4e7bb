"""Issue 15 (in media/): a failure inside the decoder's or encoder's worker thread reaches the
consumer as a clear error; it never leaves the pipeline waiting for ever.

cv2.error is injected where each thread converts colours; the call runs on a helper thread with
a time limit so that a regression fails the test instead of hanging the suite.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from consentclip.errors import MediaError
from consentclip.media.decode import FrameReader
from consentclip.media.encode import EncodeSpec, FrameWriter
from consentclip.media.probe import probe_video


def run_with_limit(fn: Callable[[], None], limit_s: float = 60) -> BaseException | None:
    caught: list[BaseException] = []

    def target() -> None:
        try:
            fn()
        except BaseException as exc:  # handed to the test thread
            caught.append(exc)

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(limit_s)
    assert not worker.is_alive(), "hung: the worker thread's failure never reached the consumer"
    return caught[0] if caught else None


def broken_cvtcolor(*args, **kwargs):
    raise cv2.error("injected colour conversion failure")


def test_a_decoder_thread_failure_is_raised(
    make_clip: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    info = probe_video(make_clip("a.mp4", seconds=0.4, size="160x120", rate=10))
    monkeypatch.setattr(cv2, "cvtColor", broken_cvtcolor)

    def consume() -> None:
        with FrameReader(info) as reader:
            for _ in reader:
                pass

    error = run_with_limit(consume)
    assert isinstance(error, MediaError), error
    assert "decoding a.mp4 failed" in str(error) and "injected" in str(error)


def test_an_encoder_thread_failure_is_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cv2, "cvtColor", broken_cvtcolor)
    spec = EncodeSpec(width=64, height=48, fps=Fraction(10))
    writer = FrameWriter(spec, tmp_path / "out.mp4", queue_budget_bytes=1)

    def produce() -> None:
        writer.start()
        try:
            for _ in range(200):  # far more than the queue holds: a dead thread would block
                writer.write(np.zeros((48, 64, 3), np.uint8))
            writer.finish()
        finally:
            writer.close()

    error = run_with_limit(produce)
    assert isinstance(error, MediaError), error
    assert "encoding failed" in str(error) and "injected" in str(error)
