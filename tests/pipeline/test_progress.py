"""Progress output is chosen at the edge: nothing when quiet, plain lines when not a terminal."""

from __future__ import annotations

import io

from consentclip.progress import progress_for


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_quiet_gives_no_sink() -> None:
    with progress_for("x", quiet=True, stream=io.StringIO()) as sink:
        assert sink is None


def test_plain_lines_when_not_a_terminal() -> None:
    out = io.StringIO()
    seconds = iter(range(100))  # a clock a second on per call: the test never waits on time
    with progress_for("preview", stream=out, clock=lambda: float(next(seconds))) as sink:
        assert sink is not None
        for i in range(1, 11):
            sink(i, 10)
    text = out.getvalue()
    assert "\r" not in text and "preview: 10/10 frames" in text
    assert len(text.splitlines()) <= 2  # throttled, plus the final line


def test_rich_bar_on_a_terminal() -> None:
    out = _Tty()
    with progress_for("preview", stream=out) as sink:
        assert sink is not None
        sink(5, 10)
        sink(10, 10)
    assert "frames/s" in out.getvalue()
