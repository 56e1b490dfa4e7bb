"""The review page in a real headless browser (Debian's chromium, driven by Playwright).

The clinician's path end to end: open the page while the clip renders, play, show the original
beside the result, switch a track off, draw a box to hide, draw the keep box around the mole,
re-render, approve with a name, press Done; then export, and the exported file is byte for byte
the file that was approved.

Screenshots land in tmp_path; with ``CONSENTCLIP_REVIEW_SCREENSHOTS=DIR`` (scripts/
review_screenshots.sh sets docs/images) they are also copied there for the documentation.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consentclip.cli import app
from consentclip.hashing import sha256_file
from consentclip.home import Home
from consentclip.review.server import ReviewServer
from consentclip.review.staging import Session

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT_ENV = "CONSENTCLIP_REVIEW_SCREENSHOTS"

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")


@pytest.fixture
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail("Debian chromium is required for the review page tests; run 'make test'")
    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def serving(registry_home: Home, journal_session: Session) -> Iterator[ReviewServer]:
    server = ReviewServer.create(registry_home, journal_session)
    server.state.start_render()  # as 'review open' does: the page shows the progress
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop()
        thread.join(timeout=60)


def _shoot(page: object, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    target = os.environ.get(SCREENSHOT_ENV)
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, Path(target) / path.name)


def _until(page: object, script: str, timeout_s: float = 30.0) -> None:
    """Poll a JavaScript expression until true. (wait_for_function evaluates a string in the
    page, which the page's Content-Security-Policy rightly forbids; evaluate() does not.)"""
    import time

    deadline = time.monotonic() + timeout_s
    while not page.evaluate(script):  # type: ignore[attr-defined]
        if time.monotonic() > deadline:
            status = page.evaluate("document.getElementById('status').textContent")  # type: ignore[attr-defined]
            raise AssertionError(f"timed out waiting for {script!r}; status: {status!r}")
        page.wait_for_timeout(100)  # type: ignore[attr-defined]


def _drag(page: object, canvas: str, box: tuple[float, float, float, float], size: tuple[int, int]):
    """Drag on a canvas from picture pixels (x, y) to (x + w, y + h)."""
    bounds = page.locator(canvas).bounding_box()  # type: ignore[attr-defined]
    sx, sy = bounds["width"] / size[0], bounds["height"] / size[1]
    x, y, w, h = box
    mouse = page.mouse  # type: ignore[attr-defined]
    mouse.move(bounds["x"] + x * sx, bounds["y"] + y * sy)
    mouse.down()
    mouse.move(bounds["x"] + (x + w / 2) * sx, bounds["y"] + (y + h / 2) * sy, steps=4)
    mouse.move(bounds["x"] + (x + w) * sx, bounds["y"] + (y + h) * sy, steps=4)
    mouse.up()


def test_review_page_end_to_end(
    browser: object,
    serving: ReviewServer,
    registry_home: Home,
    runner: CliRunner,
    tmp_path: Path,
) -> None:
    session = serving.state.session
    page = browser.new_page(viewport={"width": 1400, "height": 900})  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(serving.url)
    # The first render runs while the page is open; its progress is on the page.
    _until(
        page, "document.getElementById('status').textContent.startsWith('Check every track')", 180
    )
    assert page.locator("#tracks input[type=checkbox]").count() >= 2

    # Play: the video really advances in the browser (H.264 decodes in Debian's chromium).
    page.click("#play")
    _until(page, "document.getElementById('result').currentTime > 0.4", 20)
    page.click("#play")
    assert page.evaluate("document.getElementById('result').videoWidth") == 640

    # The original beside the result, every detection outlined; jump to a risk frame.
    page.check("#show-original")
    faces = page.locator("#risk button", has_text="face")
    (faces.first if faces.count() else page.locator("#risk button").first).click()
    page.wait_for_timeout(300)
    _shoot(page, tmp_path, "review-page")

    # Switch the red ink mark's track off (a false hit: say it is a lesion), hide a box,
    # and keep the mole.
    state = page.evaluate("state")
    tattoos = [t for t in state["tracks"] if t["kind"] == "tattoo"]
    assert len(tattoos) >= 2, state["tracks"]
    mark = min(tattoos, key=lambda t: t["min_score"])  # the small red mark scores lowest
    page.uncheck(f"#tracks input[data-track='{mark['key']}']")
    _until(page, "state && !state.current")
    _drag(page, "#result-canvas", (40, 40, 80, 60), (640, 360))
    page.check("input[name=tool][value=keep]")
    _drag(page, "#original-canvas", (450, 180, 40, 40), (640, 360))
    _until(page, "decisions.keep.length === 1 && decisions.hide.length === 1")
    # Undo takes the keep box away; draw it again.
    page.click("#undo")
    _until(page, "decisions.keep.length === 0")
    _drag(page, "#original-canvas", (450, 180, 40, 40), (640, 360))
    _until(page, "decisions.keep.length === 1")
    assert page.locator("#approve").is_disabled()  # what is on screen is not what was decided

    page.click("#render")
    _until(
        page, "document.getElementById('status').textContent.startsWith('Check every track')", 180
    )
    saved = json.loads(session.decisions_path.read_text())
    assert [t["track"] for t in saved["tracks_off"]] == [mark["key"]]
    assert len(saved["hide"]) == 1 and len(saved["keep"]) == 1
    keep = saved["keep"][0]
    assert abs(keep["x"] - 450) <= 3 and abs(keep["w"] - 40) <= 3
    _shoot(page, tmp_path, "review-fixed")

    page.click("#approve")
    page.fill("#reviewer", "Dr Ada Lovelace")
    page.click("#confirm-approve")
    _until(
        page,
        "document.getElementById('status').textContent.startsWith('Approved by Dr Ada Lovelace')",
    )
    _shoot(page, tmp_path, "review-approved")
    page.click("#done")
    _until(page, "document.getElementById('status').textContent.startsWith('Review')")
    assert errors == []

    out = tmp_path / "out"
    result = runner.invoke(
        app,
        ["export", str(session.clip), "--purpose", "journal", "--out", str(out), "--json"],
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads(result.output)
    exported = Path(manifest["paths"]["output"])
    assert sha256_file(exported) == sha256_file(session.staged_path)
    assert manifest["review"]["reviewer"] == "Dr Ada Lovelace"
    assert manifest["output"]["sha256"] == manifest["review"]["staged_sha256"]


def test_photo_review_in_the_browser(
    browser: object,
    registry_home: Home,
    make_consent: Callable[..., str],
    runner: CliRunner,
    tmp_path: Path,
) -> None:
    """A photo: no timeline; draw a box to hide, re-render, approve; the export is the file."""
    from consentclip.consent.records import Purpose
    from consentclip.review.staging import BaseOptions, open_session

    from .conftest import SAMPLE, link

    photo = tmp_path / "lesion.jpg"
    shutil.copyfile(SAMPLE / "lesion_photo.jpg", photo)
    link(runner, photo, make_consent("public_web"))
    session = open_session(registry_home, photo, Purpose.PUBLIC_WEB, BaseOptions())
    server = ReviewServer.create(registry_home, session)
    server.state.start_render()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
        page.goto(server.url)
        _until(page, "document.getElementById('status').textContent.startsWith('Check')", 120)
        assert page.locator("#controls").is_hidden()
        # The status line can change before the browser has decoded the staged image.
        _until(page, "document.getElementById('result-img').naturalWidth > 0")
        assert page.evaluate("document.getElementById('result-img').naturalWidth") == 800
        _drag(page, "#result-canvas", (600, 40, 120, 90), (800, 600))
        _until(page, "decisions.hide.length === 1 && state && !state.current")
        page.click("#render")
        _until(page, "document.getElementById('status').textContent.startsWith('Check')", 120)
        page.click("#approve")
        page.fill("#reviewer", "Dr Photo")
        page.click("#confirm-approve")
        _until(page, "document.getElementById('status').textContent.startsWith('Approved')")
        _shoot(page, tmp_path, "review-photo")
    finally:
        server.stop()
        thread.join(timeout=60)
    saved = json.loads(session.decisions_path.read_text())
    assert saved["hide"][0]["start"] is None  # a photo has no time
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["export", str(photo), "--purpose", "public_web", "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    exported = Path(json.loads(result.output)["paths"]["output"])
    assert sha256_file(exported) == sha256_file(session.staged_path)
