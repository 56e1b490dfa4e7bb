"""Where the registry lives: the embedded SQLite file in the home (the default), or a shared
PostgreSQL database that several workstations use at once.

PostgreSQL is chosen with ``CONSENTCLIP_DATABASE_URL=postgresql://...`` or with
``consentclip init --database URL``, which stores ``database = "URL"`` in the home's clinic.toml.

The registry's code speaks one small SQL dialect on a connection with ``execute`` and
``executemany`` (``?`` placeholders, rows as tuples), so both backends run the same statements:
SQLite through the standard library (its pragmas and ``BEGIN IMMEDIATE`` unchanged), PostgreSQL
through SQLAlchemy Core on psycopg 3 (``PgConnection`` below translates the placeholders and
turns every database failure into one line).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from consentclip.atomic import write_text_atomic
from consentclip.consent.clinic import read_settings
from consentclip.errors import HomeError, RegistryBusy, RegistryError, UsageError
from consentclip.home import Home

URL_ENV = "CONSENTCLIP_DATABASE_URL"
SETTING = "database"  # in clinic.toml: the PostgreSQL URL
# Every write transaction takes this transaction-level advisory lock first: writers serialise
# exactly as SQLite's BEGIN IMMEDIATE makes them, so the audit chain stays linear.
WRITE_LOCK_KEY = 0x636F6E73  # "cons"
# Waited per attempt for the write lock; the registry retries attempts up to its limit.
LOCK_TIMEOUT_MS = 2000
_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")


@dataclass(frozen=True)
class Backend:
    kind: str  # "sqlite" or "postgresql"
    url: str  # the SQLAlchemy URL
    where: str  # for messages: the file, or the URL without its password

    @property
    def is_postgres(self) -> bool:
        return self.kind == "postgresql"


def sqlite_backend(home: Home) -> Backend:
    return Backend("sqlite", f"sqlite:///{home.db_path.absolute()}", str(home.db_path))


def postgres_backend(url: str) -> Backend:
    return Backend("postgresql", sqlalchemy_url(url), redact(url))


def for_home(home: Home) -> Backend:
    """The environment's URL, else the home's clinic.toml ``database``, else the SQLite file."""
    url = os.environ.get(URL_ENV, "").strip() or configured_url(home)
    if not url:
        return sqlite_backend(home)
    check_url(url, source=URL_ENV if os.environ.get(URL_ENV, "").strip() else "clinic.toml")
    return postgres_backend(url)


def configured_url(home: Home) -> str | None:
    data = read_settings(home)
    if data is None:
        return None
    path = home.settings_path
    value = data.get(SETTING)
    if value is None:
        return None
    if not isinstance(value, str):
        raise HomeError(f"'{SETTING}' in {path} must be a postgresql:// URL")
    return value.strip() or None


def check_url(url: str, *, source: str = "--database") -> None:
    if not url.startswith(_SCHEMES):
        raise UsageError(
            f"{source}: '{redact(url)}' is not a PostgreSQL URL",
            hint="use postgresql://USER@HOST:PORT/DATABASE",
        )


def sqlalchemy_url(url: str) -> str:
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    return url


def redact(url: str) -> str:
    """The URL without a password, for messages and the audit log."""
    return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", url)


def store_url(home: Home, url: str) -> bool:
    """Record ``database = URL`` at the top of clinic.toml (atomically). True if written;
    refuses to replace a different URL (moving a clinic is ``registry copy``)."""
    check_url(url)
    current = configured_url(home)
    if current == url:
        return False
    if current is not None:
        raise UsageError(
            f"this home already uses the registry at {redact(current)}",
            hint=f"edit '{SETTING}' in {home.settings_path} by hand to move it",
        )
    path = home.settings_path
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    line = (
        "# The shared consent registry (PostgreSQL); see docs/deploy.md.\n"
        f"{SETTING} = {_toml_str(url)}\n\n"
    )
    # At the top: a key after a [table] header would belong to that table.
    write_text_atomic(path, line + text)
    return True


def _toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- PostgreSQL ----------------------------------------------------------------------------


def _qmarks_to_format(sql: str) -> str:
    """``?`` placeholders to psycopg's ``%s`` (a literal ``%`` doubled); none of the registry's
    statements has a ``?`` inside a string literal."""
    return sql.replace("%", "%%").replace("?", "%s")


class PgConnection:
    """A SQLAlchemy connection to PostgreSQL that the registry uses like its SQLite one:
    autocommit unless the registry says BEGIN, ``?`` placeholders, tuple rows, and every
    failure a one-line RegistryError."""

    kind = "postgresql"

    def __init__(self, backend: Backend) -> None:
        # Lazy: SQLAlchemy and psycopg cost ~0.2 s to import and only a PostgreSQL home needs them.
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        self.backend = backend
        self._engine = create_engine(backend.url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        try:
            self._sa = self._engine.connect()
        except Exception as exc:
            self._engine.dispose()
            raise pg_error(exc, backend, connecting=True) from None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        try:
            if not params:  # no parameters: psycopg reads the text as it is (no %-escapes)
                return self._sa.exec_driver_sql(sql)
            return self._sa.exec_driver_sql(_qmarks_to_format(sql), tuple(params))
        except Exception as exc:
            raise pg_error(exc, self.backend) from None

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Any:
        batch = [tuple(r) for r in rows]
        if not batch:
            return None
        try:
            return self._sa.exec_driver_sql(_qmarks_to_format(sql), batch)
        except Exception as exc:
            raise pg_error(exc, self.backend) from None

    @property
    def sa(self) -> Any:
        return self._sa

    def close(self) -> None:
        try:
            self._sa.close()
        finally:
            self._engine.dispose()


def pg_error(exc: BaseException, backend: Backend, *, connecting: bool = False) -> RegistryError:
    orig = getattr(exc, "orig", None) or exc
    state = getattr(orig, "sqlstate", None) or ""
    text = " ".join(str(orig).strip().splitlines()[:1]) or type(orig).__name__
    if state in ("55P03", "40P01"):  # lock_not_available, deadlock_detected
        return RegistryBusy(
            f"the consent registry {backend.where} is being written by another workstation",
            hint="wait for it to finish and retry",
        )
    # psycopg's OperationalError without a SQLSTATE: the server was never reached.
    unreached = type(orig).__name__ == "OperationalError" and not state
    if connecting or unreached or state.startswith("08"):
        return RegistryError(
            f"cannot reach the consent registry at {backend.where}: {text}",
            hint="check the server, the URL and the password (~/.pgpass or PGPASSWORD)",
        )
    if state == "42501":
        return RegistryError(
            f"the consent registry {backend.where} refused: {text}",
            hint="the database role lacks a grant; see docs/deploy.md",
        )
    return RegistryError(f"the consent registry {backend.where} cannot be used: {text}")


def is_pg(conn: object) -> bool:
    return isinstance(conn, PgConnection)


def path_of(home: Home) -> Path:
    return home.db_path
