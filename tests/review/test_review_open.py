"""``consentclip review open`` as a real process: the first stdout line, the token, and the two
ways to stop it (the page's Done, Ctrl-C) leaving nothing half-written."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from consentclip.review.staging import Session

FIRST_LINE = re.compile(r"^review: http://127\.0\.0\.1:(\d+)/\?t=([A-Za-z0-9_-]+)$")


def _ctrl_c_as_on_a_terminal() -> None:
    """A suite started in the background (``pytest &``, some CI runners) hands its children
    SIGINT ignored, and Python then never turns Ctrl-C into KeyboardInterrupt: the server would
    stop on it (uvicorn catches it) but exit 0. The command is meant for a terminal; give it
    one's Ctrl-C whatever started the suite."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(session: Session, home: Path) -> tuple[subprocess.Popen[str], int, str]:
    env = {**os.environ, "CONSENTCLIP_HOME": str(home), "GLOG_minloglevel": "2"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "consentclip", "review", "open", str(session.clip),
         "--purpose", session.purpose.value, "--no-browser"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        preexec_fn=_ctrl_c_as_on_a_terminal,
    )  # fmt: skip
    assert proc.stdout is not None
    first = proc.stdout.readline().strip()
    match = FIRST_LINE.match(first)
    assert match, (
        f"first stdout line: {first!r}; stderr: {proc.stderr.read() if proc.stderr else ''}"
    )
    return proc, int(match.group(1)), match.group(2)


def _get(port: int, path: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, {}


def _until_running(port: int, token: str) -> None:
    deadline = time.monotonic() + 120
    while _get(port, f"/api/progress?t={token}")[1].get("phase") not in ("anonymising",):
        assert time.monotonic() < deadline, "the render never started"
        time.sleep(0.1)


def _partials(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_ctrl_c_stops_the_server_and_the_render_without_leftovers(
    journal_session: Session, registry_home
) -> None:
    proc, port, token = _start(journal_session, registry_home.root)
    try:
        assert _get(port, "/api/state")[0] == 403
        assert _get(port, f"/api/state?t={token}")[0] == 200
        _until_running(port, token)  # stop it in the middle of the engine's work
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert code == 130
    assert _partials(journal_session.dir) == []
    assert not journal_session.render_path.exists()  # a cut render is not a render
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/?t={token}", timeout=5)


def test_done_on_the_page_stops_the_server(journal_session: Session, registry_home) -> None:
    proc, port, token = _start(journal_session, registry_home.root)
    try:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/done?t={token}",
            method="POST",
            headers={"X-Review-Token": token},
            data=b"{}",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        code = proc.wait(timeout=180)  # waits for the first render to stop cleanly
        stderr = proc.stderr.read() if proc.stderr else ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert code == 0, stderr
    assert "review server stopped" in stderr
    assert _partials(journal_session.dir) == []
