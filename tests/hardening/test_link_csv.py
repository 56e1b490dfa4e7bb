"""Issue 14.8: a CSV link run is one transaction, and a quoted newline in a path survives."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consent.dbtools import db_dump
from consentclip.cli import app
from consentclip.consent import actions
from consentclip.consent.registry import Registry
from consentclip.home import Home
from consentclip.link import read_link_csv
from shared import SMALL


def test_a_refused_row_leaves_no_row_linked(
    registry_home: Home,
    make_consent: Callable[..., str],
    make_clip: Callable[..., Path],
    tmp_path: Path,
    runner: CliRunner,
) -> None:
    good, withdrawn = make_consent("teaching"), make_consent("teaching")
    actions.revoke(home=registry_home, consent_id=withdrawn, purpose=None, reason="no")
    a = make_clip("a.mp4", **SMALL)
    b = make_clip("b.mp4", **{**SMALL, "seconds": 0.4})
    sheet = tmp_path / "shoot.csv"
    sheet.write_text(f"path,consent_id\n{a.name},{good}\n{b.name},{withdrawn}\n")
    before = db_dump(registry_home)

    result = runner.invoke(app, ["link", "--from-csv", str(sheet)])

    assert result.exit_code == 3 and "withdrawn" in result.output, result.output
    assert db_dump(registry_home) == before
    with Registry.open(registry_home) as registry:
        assert registry.list_links() == []


def test_a_quoted_newline_in_a_path_is_kept(tmp_path: Path) -> None:
    sheet = tmp_path / "shoot.csv"
    sheet.write_text('path,consent_id\n"odd\nname.mp4",C-AAAA\nplain.mp4,C-BBBB\n')
    assert read_link_csv(sheet) == [
        (tmp_path / "odd\nname.mp4", "C-AAAA"),
        (tmp_path / "plain.mp4", "C-BBBB"),
    ]


def test_a_bad_row_names_its_line(tmp_path: Path) -> None:
    from consentclip.errors import UsageError

    sheet = tmp_path / "shoot.csv"
    sheet.write_text('path,consent_id\n"two\nlines.mp4",C-AAAA\nonly-one-cell\n')
    with pytest.raises(UsageError, match="line 4"):
        read_link_csv(sheet)
