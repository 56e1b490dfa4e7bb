"""The registry's SQLite schema and its migrations.

``schema_version`` holds one row. Migrations run in order inside one transaction, so a database
is always at exactly one version. A database from a newer consentclip is refused, never touched.
"""

from __future__ import annotations

import sqlite3

from consentclip.errors import HomeError

_V1 = """
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

CREATE TABLE audit (
    seq INTEGER PRIMARY KEY,
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
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    signature TEXT NOT NULL
);

-- Append-only by construction; the hash chain catches anyone who drops these.
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER versions_no_update BEFORE UPDATE ON record_versions
BEGIN SELECT RAISE(ABORT, 'record versions are append-only'); END;
CREATE TRIGGER versions_no_delete BEFORE DELETE ON record_versions
BEGIN SELECT RAISE(ABORT, 'record versions are append-only'); END;
"""

# Version 2 (issue 17): the audit log names the person acting besides the OS account. SQLite
# adds a column only at the end, so the table is rebuilt to keep the agreed column order
# (``person`` right after ``os_user``, as in the PostgreSQL schema); existing entries get
# person '' and keep their hashes (audit.entry_hash leaves an empty person out). DROP TABLE
# runs no DELETE trigger, and the triggers and index are made again on the new table.
_V2 = """
CREATE TABLE audit_v2 (
    seq INTEGER PRIMARY KEY,
    ts TEXT NOT NULL,
    os_user TEXT NOT NULL,
    person TEXT NOT NULL DEFAULT '',
    event TEXT NOT NULL,
    consent_id TEXT,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_v2 (seq, ts, os_user, person, event, consent_id, detail, prev_hash, hash)
    SELECT seq, ts, os_user, '', event, consent_id, detail, prev_hash, hash FROM audit ORDER BY seq;
DROP TABLE audit;
ALTER TABLE audit_v2 RENAME TO audit;
CREATE INDEX audit_consent ON audit (consent_id);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""

# Index i holds the script that takes the database from version i to version i + 1.
MIGRATIONS: tuple[str, ...] = (_V1, _V2)
CURRENT_VERSION = len(MIGRATIONS)


def read_version(conn: sqlite3.Connection) -> int:
    """0 for an empty database."""
    has_table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    if not has_table:
        return 0
    row = conn.execute("SELECT version FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database to CURRENT_VERSION; returns the version it started at.

    Runs under BEGIN IMMEDIATE so two processes opening an old database at once migrate it once.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        start = read_version(conn)
        if start > CURRENT_VERSION:
            raise HomeError(
                f"the registry database is schema version {start}, newer than this consentclip "
                f"supports ({CURRENT_VERSION})",
                hint="upgrade consentclip; the database was left untouched",
            )
        if start == 0:
            conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
            conn.execute("INSERT INTO schema_version (version) VALUES (0)")
        for version in range(start, CURRENT_VERSION):
            for statement in _statements(MIGRATIONS[version]):
                conn.execute(statement)
            conn.execute("UPDATE schema_version SET version = ?", (version + 1,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return start


def _statements(script: str) -> list[str]:
    """Split a script on ';' while keeping trigger bodies (BEGIN ... END;) whole."""
    out: list[str] = []
    buf = ""
    for line in script.splitlines():
        if line.strip().startswith("--"):
            continue
        buf += line + "\n"
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out
