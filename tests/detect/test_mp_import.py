"""mediapipe is imported without matplotlib (detect/_mp.py), and nothing of either breaks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import consentclip

# A fresh interpreter: the test process may have imported mediapipe or matplotlib already.
CHECK = """
import sys
from consentclip.detect._mp import solutions as mp_solutions
solutions = mp_solutions()
assert solutions.face_detection.FaceDetection and solutions.pose.Pose
assert "matplotlib" not in sys.modules and "matplotlib.pyplot" not in sys.modules
assert "mediapipe.tasks" not in sys.modules and "mediapipe.tasks.python" not in sys.modules
import mediapipe
assert mediapipe.solutions is solutions and mediapipe.tasks
from mediapipe.python.solutions import drawing_utils
assert callable(drawing_utils.plt.figure)  # the real pyplot, imported on first use
import matplotlib.pyplot
assert drawing_utils.plt.figure is matplotlib.pyplot.figure
assert type(sys.modules["matplotlib"]).__name__ == "module" and matplotlib.__file__
print("ok")
"""


# The Tasks API is left out of the import the same way, and is there on first use.
CHECK_TASKS = """
import sys
from consentclip.detect._mp import solutions as mp_solutions
mp_solutions()
assert "mediapipe.tasks.python" not in sys.modules
import mediapipe
assert callable(mediapipe.tasks.vision.FaceDetector.create_from_options)
assert "mediapipe.tasks.python" in sys.modules
from mediapipe.tasks.python import vision
assert mediapipe.tasks.vision is vision and mediapipe.tasks is sys.modules["mediapipe.tasks.python"]
print("ok")
"""


def _fresh_python(code: str) -> subprocess.CompletedProcess[str]:
    src = str(Path(consentclip.__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH", "")) if p)
    env = dict(os.environ, PYTHONPATH=path, GLOG_minloglevel="2")
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
    )


def test_mediapipe_imports_without_matplotlib_and_pyplot_still_works() -> None:
    proc = _fresh_python(CHECK)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().endswith("ok")


def test_mediapipe_imports_without_the_tasks_api_and_it_still_works() -> None:
    proc = _fresh_python(CHECK_TASKS)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().endswith("ok")
