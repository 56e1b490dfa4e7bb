"""The registry's schema on both backends, and its migrations (Alembic, run programmatically).

The revisions live in ``consent/migrations/versions`` (package data). ``schema_version`` still
holds one row, the number of the newest revision applied, so a database from a newer consentclip
is refused, never touched, and ``doctor`` reads the version without Alembic. All revisions run in
one transaction under the backend's write lock (SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory
lock), so two processes opening an old database at once migrate it once, and a database is
always at exactly one version.

A SQLite registry made before Alembic (``schema_version`` 1, no ``alembic_version``) is stamped
at revision r0001 and migrated forward from there: nothing is re-created or copied.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from consentclip.errors import HomeError

# The tables both backends share, word for word; the audit log and the append-only rules differ.
_TABLES = """
CREATE TABLE consents (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    patient_ref TEXT NOT NULL,
    patient_name TEXT,
    birth_date TEXT,
    signer_role TEXT NOT NULL,
    signer_name TEXT NOT NULL,
    signer_authority TEXT,
    clinician_name TEXT,
    clinician_registration TEXT,
    witness TEXT,
    interpreter_name TEXT,
    interpreter_language TEXT,
    template_id TEXT NOT NULL,
    template_version TEXT NOT NULL,
    language TEXT NOT NULL,
    template_sha256 TEXT NOT NULL,
    body_sites TEXT NOT NULL,
    face_visible INTEGER NOT NULL,
    tattoos_visible INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    signature_method TEXT,
    signed_at TEXT,
    signed_by TEXT,
    document_sha256 TEXT,
    supersedes TEXT,
    superseded_by TEXT,
    void_reason TEXT,
    record_signature TEXT NOT NULL
);
CREATE INDEX consents_patient ON consents (patient_ref);

CREATE TABLE grants (
    consent_id TEXT NOT NULL REFERENCES consents (id),
    purpose TEXT NOT NULL,
    identifiable INTEGER NOT NULL,
    voice INTEGER NOT NULL,
    expires TEXT NOT NULL,
    withdrawn_at TEXT,
    withdrawal_reason TEXT,
    PRIMARY KEY (consent_id, purpose)
);

-- Every version of every record, each signed: the history a withdrawal appends to.
CREATE TABLE record_versions (
    consent_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (consent_id, version)
);

CREATE TABLE clip_links (
    sha256 TEXT PRIMARY KEY,
    consent_id TEXT NOT NULL REFERENCES consents (id),
    original_name TEXT NOT NULL,
    media_kind TEXT NOT NULL,
    linked_at TEXT NOT NULL,
    clip_number INTEGER NOT NULL
);
CREATE INDEX clip_links_consent ON clip_links (consent_id);

"""

# The audit log and its signed head: sequence numbers are BIGINT on PostgreSQL.
_AUDIT = """CREATE TABLE audit (
    seq {seq} PRIMARY KEY,
    ts TEXT NOT NULL,
    os_user TEXT NOT NULL,
    event TEXT NOT NULL,
    consent_id TEXT,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_consent ON audit (consent_id);

CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq {seq} NOT NULL,
    hash TEXT NOT NULL,
    signature TEXT NOT NULL
);

"""

V1 = (
    _TABLES
    + _AUDIT.format(seq="INTEGER")
    + """-- Append-only by construction; the hash chain catches anyone who drops these.
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER versions_no_update BEFORE UPDATE ON record_versions
BEGIN SELECT RAISE(ABORT, 'record versions are append-only'); END;
CREATE TRIGGER versions_no_delete BEFORE DELETE ON record_versions
BEGIN SELECT RAISE(ABORT, 'record versions are append-only'); END;
"""
)


# The same tables on PostgreSQL: BIGINT sequence numbers, and the append-only rule as a trigger
# function (a role with UPDATE/DELETE grants still cannot rewrite the log; see docs/deploy.md).
V1_POSTGRES = (
    _TABLES
    + _AUDIT.format(seq="BIGINT")
    + """-- Append-only by construction; the hash chain catches anyone who drops these.
CREATE FUNCTION consentclip_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END;
$$;
CREATE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON audit
FOR EACH ROW EXECUTE FUNCTION consentclip_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
FOR EACH STATEMENT EXECUTE FUNCTION consentclip_append_only();
CREATE TRIGGER versions_no_update BEFORE UPDATE OR DELETE ON record_versions
FOR EACH ROW EXECUTE FUNCTION consentclip_append_only();
"""
)

# Revision id for each schema_version; CURRENT_VERSION is the newest.
REVISIONS: tuple[str, ...] = ("r0001", "r0002")
CURRENT_VERSION = len(REVISIONS)
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# PostgreSQL: migrations of one database serialise on this advisory lock.
MIGRATE_LOCK_KEY = 0x6D696772  # "migr"


def read_version(conn: Any) -> int:
    """0 for an empty database. ``conn``: an sqlite3 connection or a backend.PgConnection."""
    if getattr(conn, "kind", "sqlite") == "postgresql":
        has_table = conn.execute("SELECT to_regclass('schema_version')").fetchone()[0]
    else:
        has_table = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
        ).fetchone()
    if not has_table:
        return 0
    row = conn.execute("SELECT version FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def migrate(backend: Any, *, sqlite_timeout_s: float = 2.0) -> int:
    """Bring the database to CURRENT_VERSION; returns the version it started at.

    Raises the driver's errors (wrapped by SQLAlchemy; the registry names them in one line).
    """
    # Lazy: SQLAlchemy costs ~0.2 s to import; only a migration or a PostgreSQL home needs it.
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    postgres = backend.kind == "postgresql"
    if postgres:
        engine = create_engine(backend.url, poolclass=NullPool)
    else:
        # isolation_level None: SQLAlchemy leaves the transaction to the BEGIN IMMEDIATE below.
        engine = create_engine(
            backend.url,
            poolclass=NullPool,
            connect_args={"isolation_level": None, "timeout": sqlite_timeout_s},
        )
    try:
        with engine.connect() as sa:
            if postgres:
                sa.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (MIGRATE_LOCK_KEY,))
            else:
                sa.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                start = _migrate_locked(sa)
            except BaseException:
                if not postgres:
                    sa.exec_driver_sql("ROLLBACK")
                sa.rollback()
                raise
            if not postgres:
                sa.exec_driver_sql("COMMIT")
            sa.commit()
    finally:
        engine.dispose()
    return start


def _migrate_locked(sa: Any) -> int:
    # Lazy: Alembic (and Mako) load only when a database is created or migrated.
    from alembic import command
    from alembic.config import Config

    start = _version_sa(sa)
    if start > CURRENT_VERSION:
        raise HomeError(
            f"the registry database is schema version {start}, newer than this consentclip "
            f"supports ({CURRENT_VERSION})",
            hint="upgrade consentclip; the database was left untouched",
        )
    if start == CURRENT_VERSION:
        return start
    if start > 0 and not _has_table(sa, "alembic_version"):
        # Made before Alembic: stamp the revision its schema_version stands for.
        sa.exec_driver_sql(
            "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"
        )
        sa.exec_driver_sql(
            f"INSERT INTO alembic_version (version_num) VALUES ('{REVISIONS[start - 1]}')"
        )
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = sa
    command.upgrade(config, "head")
    return start


def _has_table(sa: Any, name: str) -> bool:
    if sa.dialect.name == "postgresql":
        return sa.exec_driver_sql("SELECT to_regclass(%s)", (name,)).scalar() is not None
    return (
        sa.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
        ).first()
        is not None
    )


def _version_sa(sa: Any) -> int:
    if not _has_table(sa, "schema_version"):
        return 0
    row = sa.exec_driver_sql("SELECT version FROM schema_version").first()
    return int(row[0]) if row else 0


def statements(script: str) -> list[str]:
    """Split a script on ';' while keeping trigger bodies (BEGIN ... END; or $$ ... $$) whole."""
    out: list[str] = []
    buf = ""
    in_dollar = False
    for line in script.splitlines():
        if line.strip().startswith("--"):
            continue
        buf += line + "\n"
        if line.count("$$") % 2:
            in_dollar = not in_dollar
        if not in_dollar and sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out
