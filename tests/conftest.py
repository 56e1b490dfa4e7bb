"""Shared fixtures. Media is generated on the fly (ffmpeg lavfi, numpy drawings) in tmp_path, or
read from the small files in sample_media/; nothing is ever written into sample_media/."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consentclip import scanread
from consentclip.consent import templates
from consentclip.consent.backend import URL_ENV
from consentclip.consent.records import Grant, Purpose, Signer, SignerRole
from consentclip.consent.registry import NewConsent, Registry
from consentclip.home import ENV_VAR, Home
from pgserver import PgServer, PgUnavailable
from shared import PATIENT_NAME, PATIENT_REF, SIGNATURE_PNG

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


# --- a real consent home and real signed consents (export, batch, review, hardening) --------
# Consents are made through the registry's own API (create + sign), the same calls the
# ``consent`` commands make; nothing here bypasses signing or the audit chain.
def _grants(specs: tuple[str, ...], expires: date) -> tuple[Grant, ...]:
    return tuple(Grant.parse(spec, expires) for spec in specs)


@pytest.fixture
def registry_home(home: Home) -> Home:
    Registry.initialise(home)
    return home


@pytest.fixture
def make_consent(registry_home: Home) -> Callable[..., str]:
    """``make_consent("teaching", "conference:identifiable:voice", signed=True)`` -> consent id.

    ``created`` backdates creation (the registry validates against that day), so expired grants
    and minors who have since come of age are real records, not clock tricks. Signing is the
    real electronic signature: a signed PDF is rendered and kept in the home by its hash.
    """

    def _make(
        *specs: str,
        signed: bool = True,
        expires: date | None = None,
        created: date | None = None,
        signer: Signer | None = None,
        birth_date: date | None = None,
        supersedes: str | None = None,
    ) -> str:
        created = created or date.today()
        expires = expires or created + timedelta(days=365)
        signer = signer or Signer(SignerRole.PATIENT, PATIENT_NAME)
        with Registry.open(registry_home) as registry:
            new = NewConsent(
                patient_ref=PATIENT_REF,
                signer=signer,
                grants=_grants(specs or ("teaching",), expires),
                template=templates.load("derm-video-photo", "en", registry_home).ref,
                patient_name=PATIENT_NAME,
                birth_date=birth_date,
                supersedes=supersedes,
            )
            record = registry.create(new, today=created)
        if signed:
            scanread.sign_electronically(
                home=registry_home,
                consent_id=record.id,
                signature_image=SIGNATURE_PNG,
                signed_by=signer.name,
            )
        return record.id

    return _make


@pytest.fixture
def purpose() -> Purpose:
    return Purpose.TEACHING


@pytest.fixture
def no_review_required(registry_home: Home) -> Home:
    """A clinic that lets every purpose export without an approved review (clinic.toml), for
    tests about the consent gate and the engine rather than the review step."""
    registry_home.settings_path.write_text("[review]\nrequired_for = []\n", encoding="utf-8")
    return registry_home
