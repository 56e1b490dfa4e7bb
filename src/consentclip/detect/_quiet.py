"""Keep MediaPipe's native start-up chatter off a clinician's terminal.

MediaPipe's C++ side (TFLite, absl) writes INFO/WARNING lines straight to file descriptor 2 while
its graphs start; no environment variable silences them in 0.10.21. We capture fd 2 while a graph
is built and runs its first frame, drop the lines we know to be noise, and pass every other line
through unchanged, so a real native error is never hidden.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator

_NOISE = re.compile(
    r"^(INFO: Created TensorFlow Lite XNNPACK delegate"
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|W0000 .*(inference_feedback_manager|landmark_projection_calculator)\.cc)"
)

# fd 2 is process-wide: two threads must not swap it at once.
_LOCK = threading.Lock()


def filter_noise(text: str) -> str:
    """The lines of ``text`` that are not known MediaPipe start-up noise."""
    kept = [line for line in text.splitlines(keepends=True) if not _NOISE.match(line)]
    return "".join(kept)


@contextlib.contextmanager
def native_stderr_filtered() -> Iterator[None]:
    """Run the body with fd 2 captured; re-emit whatever is not known noise afterwards."""
    if os.environ.get("CONSENTCLIP_NATIVE_LOGS"):  # escape hatch for debugging
        yield
        return
    with _LOCK:
        sys.stderr.flush()
        saved = os.dup(2)
        with tempfile.TemporaryFile(mode="w+b") as capture:
            os.dup2(capture.fileno(), 2)
            try:
                yield
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
                os.close(saved)
                capture.seek(0)
                rest = filter_noise(capture.read().decode("utf-8", "replace"))
                if rest:
                    sys.stderr.write(rest)
                    sys.stderr.flush()
