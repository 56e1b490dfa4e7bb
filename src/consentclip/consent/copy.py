"""``consentclip registry copy --to URL``: move a clinic's SQLite registry into PostgreSQL.

The source must verify first (a damaged registry is not carried over). The target gets the
schema (Alembic), then every row in ONE transaction under the registry's write lock; before
that transaction commits, the copy is verified on the target itself (every record signature and
version history, the audit chain and its signed head, the same row counts and the same head as
the source) and a ``registry.copy`` entry records where it came from. Any failure rolls back:
nothing half-copied is ever visible. A target that already holds a registry is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from consentclip.consent import audit, backend, schema
from consentclip.consent.registry import Registry, _db_call, _pg_transaction
from consentclip.errors import IntegrityError, UsageError
from consentclip.home import Home

# Parents before children (foreign keys), the log last.
TABLES = ("consents", "grants", "record_versions", "clip_links", "audit", "audit_head")
BATCH = 2000


@dataclass(frozen=True)
class CopyResult:
    target: str  # the URL without its password
    rows: dict[str, int]
    records: int  # consents verified on the target
    audit_entries: int  # entries verified on the target (the copy entry included)


def copy_to_postgres(home: Home, url: str) -> CopyResult:
    backend.check_url(url, source="--to")
    source_backend = backend.for_home(home)
    if source_backend.is_postgres:
        raise UsageError(
            f"this home already uses the PostgreSQL registry at {source_backend.where}",
            hint="registry copy moves a SQLite registry; back PostgreSQL up with pg_dump",
        )
    target = backend.postgres_backend(url)
    with Registry.open(home) as source:
        for report in (source.verify(), source.verify_audit()):
            if not report.ok:
                raise IntegrityError(
                    f"the registry does not verify ({report.problems[0]}); it was not copied",
                    hint="run 'consentclip consent verify' and 'consentclip audit verify'",
                )
        _db_call(home, lambda: schema.migrate(target), target)
        conn = backend.PgConnection(target)
        try:
            return _copy(home, source, conn, target)
        finally:
            conn.close()


def _copy(
    home: Home, source: Registry, conn: backend.PgConnection, target: backend.Backend
) -> CopyResult:
    src = source._conn
    counts: dict[str, int] = {}
    with _pg_transaction(conn, home):
        for table in ("audit", "consents"):
            if conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone():
                raise UsageError(
                    f"the database at {target.where} already holds a consent registry; "
                    "nothing was copied",
                    hint="copy into an empty database (see docs/deploy.md)",
                )
        for table in TABLES:
            cursor = src.execute(f"SELECT * FROM {table}")
            columns = [d[0] for d in cursor.description]
            sql = (
                f"INSERT INTO {table} ({', '.join(columns)})"
                f" VALUES ({', '.join('?' for _ in columns)})"
            )
            counts[table] = 0
            while batch := cursor.fetchmany(BATCH):
                conn.executemany(sql, batch)
                counts[table] += len(batch)
        # Verified where it now lives, before anything is committed.
        copied = Registry(home, conn, source.key)
        records = copied.verify()
        chain = copied.verify_audit()
        problems = records.problems + chain.problems
        for table in TABLES:
            found = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            if found != counts[table]:
                problems.append(f"{table}: {found} rows on the target, {counts[table]} copied")
        src_head = src.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
        dst_head = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
        if tuple(src_head or ()) != tuple(dst_head or ()):
            problems.append("the copied audit head differs from the source's")
        if problems:
            raise IntegrityError(
                f"the copy did not verify ({problems[0]}); nothing was copied",
                hint="report this; the SQLite registry is untouched",
            )
        entry = audit.append(
            conn,
            source.key,
            "registry.copy",
            consent_id=None,
            detail={"from": str(home.db_path), "rows": counts},
        )
    return CopyResult(target.where, counts, records.checked, entry.seq)
