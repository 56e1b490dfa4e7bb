"""Issue 14.7: time never goes backwards.

The clock is injected (``audit.clock``): no real dates, no sleeping. With the clock set back an
expired grant looked valid again, and the audit log took an entry older than the one before it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consent.dbtools import db_dump
from consentclip.cli import app
from consentclip.consent import audit
from consentclip.consent.records import Purpose
from consentclip.consent.registry import Registry
from consentclip.errors import ClockError
from consentclip.export import ExportRequest, export_clip
from consentclip.home import Home
from consentclip.link import link_clips
from shared import SMALL, snapshot


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock(datetime.now(timezone.utc))
    monkeypatch.setattr(audit, "clock", fake)
    return fake


def test_an_entry_older_than_the_last_is_refused(registry_home: Home, clock: Clock) -> None:
    with Registry.open(registry_home) as registry:
        registry.append_audit("note")
    before = db_dump(registry_home)
    clock.now -= timedelta(hours=1)
    with (
        Registry.open(registry_home) as registry,
        pytest.raises(ClockError, match="earlier than the newest audit entry"),
    ):
        registry.append_audit("note")
    assert db_dump(registry_home) == before
    clock.now += timedelta(hours=1)  # the clock put right: work goes on
    with Registry.open(registry_home) as registry:
        registry.append_audit("note")
        assert registry.verify_audit().ok


def test_an_expired_grant_does_not_come_back_with_the_clock(
    registry_home: Home,
    make_consent: Callable[..., str],
    make_clip: Callable[..., Path],
    tmp_path: Path,
    clock: Clock,
    runner: CliRunner,
) -> None:
    clip = make_clip("a.mp4", **SMALL)
    start = clock.now  # any day: only differences matter
    cid = make_consent("teaching", created=start.date(), expires=start.date() + timedelta(days=30))
    link_clips(registry_home, [(clip, cid)])
    out = tmp_path / "out"

    clock.now = start + timedelta(days=40)  # the grant has expired: refused and logged
    result = runner.invoke(app, ["export", str(clip), "-p", "teaching", "-o", str(out), "-q"])
    assert result.exit_code == 3 and "expired" in result.output, result.output

    clock.now = start + timedelta(days=10)  # set back: the grant would look valid again
    result = runner.invoke(app, ["export", str(clip), "-p", "teaching", "-o", str(out), "-q"])
    assert result.exit_code == 1, result.output
    assert "earlier than the newest audit entry" in result.output
    assert "Traceback" not in result.output
    assert snapshot(out) == {}
    with Registry.open(registry_home) as registry:
        events = [e.event for e in registry.audit_entries()]
    assert events.count("export.allowed") == 0 and events.count("export.refused") == 1


def test_clock_going_back_during_an_export_refuses_it(
    registry_home: Home,
    make_consent: Callable[..., str],
    make_clip: Callable[..., Path],
    tmp_path: Path,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import consentclip.export as export_module

    clip = make_clip("a.mp4", **SMALL)
    cid = make_consent("teaching")
    link_clips(registry_home, [(clip, cid)])
    real = export_module._run_engine

    def engine_then_clock_back(*args, **kwargs):
        result = real(*args, **kwargs)
        with Registry.open(registry_home) as registry:
            registry.append_audit("note")  # someone else's write, at the right time
        clock.now -= timedelta(minutes=5)
        return result

    monkeypatch.setattr(export_module, "_run_engine", engine_then_clock_back)
    out = tmp_path / "out"
    with pytest.raises(ClockError):
        export_clip(registry_home, ExportRequest(clip, Purpose.TEACHING, out))
    assert snapshot(out) == {}


def test_verify_names_a_back_dated_entry(registry_home: Home, clock: Clock) -> None:
    from consent.dbtools import tamper

    with Registry.open(registry_home) as registry:
        registry.append_audit("note")
    tamper(
        registry_home,
        "DROP TRIGGER audit_no_update",
        f"UPDATE audit SET ts = '{(clock.now - timedelta(days=3)).isoformat()}'"
        " WHERE seq = (SELECT MAX(seq) FROM audit)",
    )
    with Registry.open(registry_home) as registry:
        problems = registry.verify_audit().problems
    assert any("before the entry before it" in p for p in problems), problems
