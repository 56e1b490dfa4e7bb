"""Shared fixtures. Media is generated on the fly (ffmpeg lavfi, numpy drawings) in tmp_path, or
read from the small files in sample_media/; nothing is ever written into sample_media/."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consentclip.consent.backend import URL_ENV
from consentclip.home import ENV_VAR, Home
from pgserver import PgServer, PgUnavailable

REPO = Path(__file__).resolve().parents[1]
SAMPLE_MEDIA = REPO / "sample_media"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Home:
    """An empty consent home in tmp_path, selected through the environment for every command."""
    root = tmp_path / "home"
    monkeypatch.setenv(ENV_VAR, str(root))
    return Home(root)


# --- the registry on both backends ----------------------------------------------------------
# A test that asks for ``registry_backend`` (tests/consent does for every test, through its
# ``home``) runs once on SQLite and once on a throwaway PostgreSQL (tests/pgserver.py), each
# PostgreSQL run in its own empty schema. ``@pytest.mark.sqlite_only("why")`` keeps a test about
# the SQLite file itself to that backend; ``postgres_only`` one about sharing to PostgreSQL.


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only(reason): about the SQLite file itself")
    config.addinivalue_line("markers", "postgres_only(reason): needs the shared registry")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "registry_backend" in metafunc.fixturenames:
        only_sqlite = metafunc.definition.get_closest_marker("sqlite_only") is not None
        only_pg = metafunc.definition.get_closest_marker("postgres_only") is not None
        kinds = (
            ["sqlite"] if only_sqlite else ["postgresql"] if only_pg else ["sqlite", "postgresql"]
        )
        metafunc.parametrize("registry_backend", kinds, indirect=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """Started once, on first use; a server that cannot start FAILS the tests with the reason."""
    server = PgServer()
    try:
        server.start()
    except PgUnavailable as exc:
        server.stop()
        pytest.fail(f"PostgreSQL could not start for the registry tests: {exc}")
    yield server
    server.stop()


@pytest.fixture
def registry_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    kind = getattr(request, "param", "sqlite")
    if kind == "postgresql":
        server: PgServer = request.getfixturevalue("pg_server")
        monkeypatch.setenv(URL_ENV, server.fresh_url())
    else:
        monkeypatch.delenv(URL_ENV, raising=False)
    return kind


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="session")
def ffmpeg_bin() -> str:
    path = shutil.which("ffmpeg")
    if not path:
        pytest.fail("ffmpeg is required for the tests; run 'make test' to install it")
    return path


@pytest.fixture
def make_clip(tmp_path: Path, ffmpeg_bin: str) -> Callable[..., Path]:
    """Generate a small clip with ffmpeg lavfi: ``make_clip("a.mp4", seconds=1, size="320x240")``.

    ``extra`` is appended to the ffmpeg argv before the output (codecs, metadata, ...).
    """

    def _make(
        name: str = "clip.mp4",
        *,
        seconds: float = 1.0,
        size: str = "320x240",
        rate: int = 25,
        audio: bool = True,
        extra: tuple[str, ...] = (),
    ) -> Path:
        out = tmp_path / name
        argv = [ffmpeg_bin, "-hide_banner", "-loglevel", "error", "-y"]
        argv += ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}"]
        if audio:
            argv += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]
        argv += ["-pix_fmt", "yuv420p", *extra, str(out)]
        subprocess.run(argv, check=True)
        return out

    return _make
