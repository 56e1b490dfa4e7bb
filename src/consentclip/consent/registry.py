"""The consent registry: SQLite in the consent home (or a shared PostgreSQL database, see
consent.backend), every record version signed, every change an audit entry.

Concurrency: on SQLite, WAL journal, a busy timeout, and every write in one ``BEGIN IMMEDIATE``
transaction that also appends its audit entry; on PostgreSQL, every write transaction first
takes one advisory lock. Either way two processes writing at once serialise and neither loses a
write nor forks the audit chain.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from datetime import date, datetime
from types import TracebackType
from typing import Any

from consentclip.consent import (
    anchor,
    audit,
    backend,
    documents,
    ids,
    people,
    privacy,
    rows,
    schema,
)
from consentclip.consent import state as consent_state
from consentclip.consent.audit import AuditEntry, now_utc
from consentclip.consent.clinic import write_default
from consentclip.consent.home_health import home_checks
from consentclip.consent.integrity import changed_fields
from consentclip.consent.newconsent import NewConsent, validate_new
from consentclip.consent.records import (
    ConsentRecord,
    IntegrityReport,
    Purpose,
    Signature,
    State,
    Status,
)
from consentclip.consent.signing import ClinicKey
from consentclip.errors import (
    HomeError,
    IntegrityError,
    NotFoundError,
    RegistryBusy,
    RegistryError,
    UsageError,
)
from consentclip.home import Home

# SQLite's own wait for a lock, per attempt; the registry retries attempts up to
# lock_wait_limit(), saying on stderr that it is waiting, instead of one silent 30 s wait.
BUSY_TIMEOUT_S = 2.0
LOCK_WAIT_ENV = "CONSENTCLIP_LOCK_WAIT_S"
DEFAULT_LOCK_WAIT_S = 120.0
# Audit events written with a new record version (they carry its version and sha256).
RECORD_EVENTS = ("create", "sign", "revoke", "void", "supersede")
# Re-exported: other packages import these names from the registry.
__all__ = ["ClipLink", "NewConsent", "Registry", "Revocation", "home_checks"]


@dataclass(frozen=True)
class ClipLink:
    consent_id: str
    sha256: str
    original_name: str
    media_kind: str
    linked_at: datetime
    clip_number: int


@dataclass(frozen=True)
class Reanchored:
    problems: list[str]  # what the anchors said before they were moved
    entry: AuditEntry  # the anchor.reset entry
    reapplied: list[str]  # withdrawals from the ledger applied again
    missing: list[str]  # consents in the ledger that the accepted copy does not hold


@dataclass(frozen=True)
class Revocation:
    record: ConsentRecord
    withdrawn: tuple[Purpose, ...]
    exports: tuple[AuditEntry, ...]


class Registry:
    def __init__(self, home: Home, conn: Any, key: ClinicKey) -> None:
        self.home = home
        self._conn = conn  # sqlite3.Connection or backend.PgConnection: the same SQL on both
        self.key = key

    @property
    def backend(self) -> backend.Backend:
        if isinstance(self._conn, backend.PgConnection):
            return self._conn.backend
        return backend.sqlite_backend(self.home)

    # --- lifecycle ----------------------------------------------------------------------
    @classmethod
    def initialise(
        cls, home: Home, *, key_passphrase: bytes | None = None, database: str | None = None
    ) -> bool:
        """Create the home, the clinic key (encrypted with ``key_passphrase`` when given), the
        database and clinic.toml. True if created.

        ``database``: a PostgreSQL URL to create (or join) the registry in; recorded in the
        home's clinic.toml once the registry there is ready."""

        try:
            # Owner-only: the registry holds patient names (consent/privacy.py).
            privacy.make_private_dir(home.root)
            privacy.make_private_dir(home.documents_dir)
        except OSError as exc:
            raise HomeError(f"cannot create the consent home at {home.root}: {exc}") from None
        if not os.access(home.root, os.W_OK):
            raise HomeError(f"the consent home {home.root} is not writable")
        where = backend.for_home(home)
        if database is not None:
            backend.check_url(database)
            if where.is_postgres and where.url != backend.sqlalchemy_url(database):
                raise UsageError(
                    f"--database names {backend.redact(database)} but this home already uses "
                    f"{where.where}",
                    hint=f"unset {backend.URL_ENV} or edit 'database' in {home.settings_path}",
                )
            target = backend.postgres_backend(database)
            if not where.is_postgres and home.db_path.exists() and not _copied(home, target):
                raise UsageError(
                    f"this home already has a SQLite registry at {home.db_path}",
                    hint="move it with 'consentclip registry copy --to URL' first",
                )
            where = target
        created_db = not home.db_path.exists()
        key, new_key = ClinicKey.create(home, passphrase=key_passphrase)
        if where.is_postgres:
            start = _db_call(home, lambda: schema.migrate(where), where)
            conn = _connect(home, where)
            created_db = start == 0
        else:
            privacy.create_private_file(home.db_path)
            conn = _connect(home, where)
        try:
            registry = cls(home, conn, key)
            if not where.is_postgres:
                start = _db_call(home, lambda: schema.migrate(where), where)
            if start != 0 and where.is_postgres:
                _require_clinic_key(conn, key, where, new_key=new_key)
            if start == 0:
                with registry.transaction() as tx:
                    audit.append(
                        tx,
                        key,
                        "init",
                        consent_id=None,
                        detail={
                            "schema_version": schema.CURRENT_VERSION,
                            "anchors": [anchor.place(conn, p) for p in anchor.locations(home)],
                        },
                    )
            else:
                anchor.check(home, conn, key)
        finally:
            conn.close()
        write_default(home)
        if database is not None:
            backend.store_url(home, database)
        return created_db

    @classmethod
    def open(cls, home: Home, *, check_anchor: bool = True) -> Registry:
        """Open the registry. Refuses (RollbackError) one that is behind its audit anchor,
        unless ``check_anchor`` is False (only ``audit reanchor`` and ``audit anchor`` do)."""
        where = backend.for_home(home)
        if not where.is_postgres and not home.db_path.exists():
            raise HomeError(
                f"no consent registry at {home.root}", hint="run 'consentclip init' first"
            )
        if where.is_postgres and not home.private_key_path.exists():
            raise HomeError(
                f"the consent home {home.root} has not joined the registry at {where.where}",
                hint="run 'consentclip init' first (with the clinic's keys/ folder copied in; "
                "see docs/deploy.md)",
            )
        key = ClinicKey.load(home)
        conn = _connect(home, where)
        try:
            version = schema.read_version(conn)
            if version == 0 and where.is_postgres:
                raise HomeError(
                    f"no consent registry in the database {where.where}",
                    hint="run 'consentclip init --database URL' first",
                )
            if version > schema.CURRENT_VERSION:
                raise HomeError(
                    f"the registry database is schema version {version}, newer than this "
                    f"consentclip supports ({schema.CURRENT_VERSION})",
                    hint="upgrade consentclip; the database was left untouched",
                )
            if version < schema.CURRENT_VERSION:
                _db_call(home, lambda: schema.migrate(where), where)
            if check_anchor:
                anchor.check(home, conn, key)
        except BaseException:
            conn.close()
            raise
        return cls(home, conn, key)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One serialised write; everything in it, audit entries included, lands or nothing does.

        Before the commit, anchor locations not yet recorded in the log are recorded (so that
        removing one later is noticed); after it, the anchors move forward to the new head.
        """
        with self._write_as_person() as conn:
            yield conn
            new_head = self._record_new_anchors(conn)
        if new_head is not None:
            for warning in anchor.advance(self.home, self.key, new_head):
                print(f"warning: {warning}", file=sys.stderr)

    def check_writable(self) -> None:
        """Fail now (one line) if a write would fail later: a read-only home, a lock held
        past the limit, no person where the clinic requires one. Export calls this before
        spending minutes on a clip."""
        with self._write_as_person():
            pass

    @contextmanager
    def _write_as_person(self) -> Iterator[sqlite3.Connection]:
        """The write transaction, entered as the person acting: refused before the lock (and
        so before anything is written) when the clinic requires a person and none is named."""
        acting = people.resolve(self.home)
        acting.require()
        with people.acting_as(acting.person), _transaction(self._conn, self.home) as conn:
            yield conn

    def _record_new_anchors(self, conn: sqlite3.Connection) -> anchor.Head | None:
        """Record in the log the anchor locations it does not name yet (so that removing one
        later is noticed), inside the caller's transaction; return the head to anchor."""
        for path in anchor.unestablished(self.home, conn):
            audit.append(
                conn,
                self.key,
                anchor.EVENT,
                consent_id=None,
                detail={"path": anchor.place(conn, path)},
            )
        return anchor.head(conn)

    def reanchor(self, *, reason: str) -> Reanchored:
        """Accept the registry as it is now: record what the anchors said, move them to the
        current head (backwards too), then apply again every withdrawal and voiding in the
        ledger that the accepted copy lacks. Refused when the log itself does not verify."""
        if not reason.strip():
            raise UsageError("accepting a rollback needs a reason", option="reason")
        report = self.verify_audit()
        if not report.ok:
            raise IntegrityError(
                f"the audit log does not verify ({report.problems[0]}); it cannot be anchored",
                hint="restore a copy whose log verifies, then reanchor",
            )
        found = anchor.problems(self.home, self._conn, self.key)
        with self._write_as_person() as conn:
            entry = audit.append(
                conn,
                self.key,
                "anchor.reset",
                consent_id=None,
                detail={"reason": reason.strip(), "problems": found},
            )
            new_head = self._record_new_anchors(conn)
        assert new_head is not None
        warnings = anchor.advance(self.home, self.key, new_head, force=True)
        if warnings:
            raise HomeError(warnings[0])
        reapplied, missing = self._reapply_withdrawals(new_head.genesis)
        return Reanchored(found, entry, reapplied, missing)

    def _reapply_withdrawals(self, genesis: str) -> tuple[list[str], list[str]]:
        reapplied: list[str] = []
        missing: list[str] = []
        for item in anchor.recorded_withdrawals(self.home, self.key, genesis):
            try:
                record = self._load(self._conn, item.consent_id)
            except NotFoundError:
                missing.append(item.consent_id)
                continue
            again = f"{item.reason} (withdrawn {item.at}; applied again after a rollback)"
            if item.kind == "void":
                if record.status is not Status.VOIDED:
                    self.void(item.consent_id, reason=again)
                    reapplied.append(f"{item.consent_id}: voided")
                continue
            if record.status in (Status.VOIDED, Status.SUPERSEDED, Status.DRAFT):
                continue
            for purpose in item.purposes:
                grant = record.grant_for(Purpose(purpose))
                if grant is not None and not grant.withdrawn:
                    self.revoke(item.consent_id, purpose=Purpose(purpose), reason=again)
                    reapplied.append(f"{item.consent_id}: {purpose} withdrawn")
                    record = self._load(self._conn, item.consent_id)
        return reapplied, missing

    def anchor_problems(self) -> list[str]:
        return anchor.problems(self.home, self._conn, self.key)

    # --- records --------------------------------------------------------------------------
    def create(self, new: NewConsent, *, today: date | None = None) -> ConsentRecord:
        today = today or consent_state.today()
        if new.supersedes is not None:
            new = replace(new, supersedes=ids.normalise(new.supersedes))
        validate_new(new, today)
        with self.transaction() as conn:
            if new.supersedes is not None:
                consent_state.require_supersedable(
                    self._load(conn, new.supersedes), new.patient_ref
                )
            consent_id = self._fresh_id(conn)
            record = ConsentRecord(
                id=consent_id,
                version=1,
                status=Status.DRAFT,
                patient_ref=new.patient_ref,
                signer=new.signer,
                clinician=new.clinician,
                template=new.template,
                recording=new.recording,
                grants=tuple(sorted(new.grants, key=lambda g: list(Purpose).index(g.purpose))),
                created_at=now_utc(),
                patient_name=new.patient_name,
                birth_date=new.birth_date,
                witness=new.witness,
                interpreter=new.interpreter,
                supersedes=new.supersedes,
            )
            self._write(conn, record, event="create", detail={"grants": _grant_summary(record)})
        return record

    def get(self, consent_id: str) -> ConsentRecord:
        cid = ids.normalise(consent_id)
        return self._load(self._conn, cid)

    def list(
        self, *, state: State | None = None, patient_ref: str | None = None
    ) -> list[ConsentRecord]:
        sql, args = "SELECT id FROM consents", []
        if patient_ref is not None:
            sql += " WHERE patient_ref = ?"
            args.append(patient_ref)
        records = [
            self._load(self._conn, row[0])
            for row in self._conn.execute(sql + " ORDER BY created_at, id", args)
        ]
        if state is not None:
            today = consent_state.today()
            records = [r for r in records if consent_state.state_of(r, today) is state]
        return records

    def sign(
        self, consent_id: str, signature: Signature, *, expected_sha256: str | None = None
    ) -> ConsentRecord:
        """File the signature of a draft. Signing a consent that supersedes another retires it.

        ``expected_sha256`` is the draft the signed document was made from; if the record
        changed since, the signature is refused rather than bound to a different record.
        """
        cid = ids.normalise(consent_id)
        with self.transaction() as conn:
            record = self._load(conn, cid)
            consent_state.require_signable(record, consent_state.today())
            if expected_sha256 is not None and record.sha256() != expected_sha256:
                raise UsageError(f"consent {cid} changed while it was being signed; sign again")
            signed = replace(record, status=Status.SIGNED, signature=signature)
            signed = self._bump(signed)
            self._write(
                conn,
                signed,
                event="sign",
                detail={
                    "method": signature.method,
                    "document_sha256": signature.document_sha256,
                    "signed_by": signature.signed_by,
                },
            )
            if record.supersedes:
                old = self._load(conn, record.supersedes)
                if old.status not in (Status.SUPERSEDED, Status.VOIDED):
                    retired = self._bump(replace(old, status=Status.SUPERSEDED, superseded_by=cid))
                    self._write(conn, retired, event="supersede", detail={"superseded_by": cid})
        return signed

    def revoke(self, consent_id: str, *, purpose: Purpose | None, reason: str) -> Revocation:
        """Withdraw one grant or all remaining ones: a new signed version, the old one kept."""
        cid = ids.normalise(consent_id)
        if not reason.strip():
            raise UsageError("a withdrawal needs a reason", option="reason")
        with self.transaction() as conn:
            record = self._load(conn, cid)
            targets = consent_state.withdrawal_targets(record, purpose)
            when = now_utc()
            grants = tuple(
                replace(g, withdrawn_at=when, withdrawal_reason=reason.strip())
                if g.purpose in targets
                else g
                for g in record.grants
            )
            updated = self._bump(record.with_grants(grants))
            self._write(
                conn,
                updated,
                event="revoke",
                detail={"purposes": [p.value for p in targets], "reason": reason.strip()},
            )
            exports = tuple(self._exports(conn, cid))
            head = anchor.head(conn)
        self._ledger(
            head,
            anchor.Withdrawal(
                cid, "revoke", tuple(p.value for p in targets), reason.strip(), when.isoformat()
            ),
        )
        return Revocation(updated, targets, exports)

    def void(self, consent_id: str, *, reason: str) -> ConsentRecord:
        """Mark a record as never valid (made in error). Exports under it are refused."""
        cid = ids.normalise(consent_id)
        if not reason.strip():
            raise UsageError("voiding needs a reason", option="reason")
        with self.transaction() as conn:
            record = self._load(conn, cid)
            consent_state.require_voidable(record)
            voided = self._bump(replace(record, status=Status.VOIDED, void_reason=reason.strip()))
            self._write(conn, voided, event="void", detail={"reason": reason.strip()})
            head = anchor.head(conn)
        self._ledger(
            head, anchor.Withdrawal(cid, "void", (), reason.strip(), now_utc().isoformat())
        )
        return voided

    def _ledger(self, head: anchor.Head | None, item: anchor.Withdrawal) -> None:
        """Keep a committed withdrawal outside the database too (see anchor: the ledger)."""
        if head is None:
            return
        for warning in anchor.record_withdrawal(self.home, self.key, head.genesis, item):
            print(f"warning: {warning}", file=sys.stderr)

    # --- integrity ------------------------------------------------------------------------
    def verify(self, consent_id: str | None = None, *, documents: bool = False) -> IntegrityReport:
        """Check record signatures, version history, and that each record is the one the audit
        log last saw. Names every field that no longer matches what the clinic key signed.

        ``documents=True`` also re-hashes each signed form kept in the home (``consent verify``
        does; it reads every stored PDF, so it is opt-in for per-export checks).
        """
        conn = self._conn
        if consent_id is not None:
            targets = [ids.normalise(consent_id)]
            if not conn.execute("SELECT 1 FROM consents WHERE id = ?", targets).fetchone():
                raise NotFoundError(f"no consent with id {targets[0]}")
        else:
            targets = [row[0] for row in conn.execute("SELECT id FROM consents ORDER BY id")]
            created = {
                row[0]
                for row in conn.execute("SELECT consent_id FROM audit WHERE event = 'create'")
            }
            for missing in sorted(created - set(targets)):
                # A deleted record still left its creation in the chained log.
                targets.append(missing)
        problems: list[str] = []
        for cid in targets:
            problems += self._verify_one(cid, documents=documents)
        return IntegrityReport(ok=not problems, problems=problems, checked=len(targets))

    def verify_audit(self) -> IntegrityReport:
        problems = audit.verify(self._conn, self.key)
        count = self._conn.execute("SELECT COUNT(*) FROM audit").fetchone()[0]
        return IntegrityReport(ok=not problems, problems=problems, checked=count)

    def _verify_one(self, cid: str, *, documents: bool) -> list[str]:
        conn = self._conn
        problems: list[str] = []
        row = conn.execute("SELECT record_signature FROM consents WHERE id = ?", (cid,)).fetchone()
        versions = conn.execute(
            "SELECT version, body, sha256, signature FROM record_versions WHERE consent_id = ?"
            " ORDER BY version",
            (cid,),
        ).fetchall()
        if row is None:
            return [f"{cid}: the record was deleted from the registry (the audit log still has it)"]
        try:
            record = self._load(conn, cid)
        except (ValueError, KeyError, TypeError) as exc:
            return [f"{cid}: the record cannot be read back ({exc})"]
        signed_body: dict[str, Any] | None = None
        for expected, (version, body, digest, sig) in enumerate(versions, start=1):
            if version != expected:
                problems.append(f"{cid}: record version {expected} is missing from the history")
                break
            if not self.key.verify(body.encode(), sig) or audit_sha(body) != digest:
                problems.append(
                    f"{cid}: stored version {version} does not verify with the clinic key"
                )
            else:
                signed_body = json.loads(body)
        if not versions:
            problems.append(f"{cid}: the signed version history is missing")
        elif versions[-1][0] != record.version:
            problems.append(
                f"{cid}: the record says version {record.version} but the signed history ends at "
                f"version {versions[-1][0]}"
            )
        if not self.key.verify(record.canonical_bytes(), row[0]):
            changed = changed_fields(signed_body, record.to_dict()) if signed_body else []
            what = "; ".join(changed) if changed else "contents differ from what was signed"
            problems.append(f"{cid}: the record signature does not verify: {what}")
        # The audit log names the sha256 of every version it saw; the newest must be this one.
        last = conn.execute(
            "SELECT detail FROM audit WHERE consent_id = ? AND event IN"
            f" ({', '.join('?' for _ in RECORD_EVENTS)}) ORDER BY seq DESC LIMIT 1",
            (cid, *RECORD_EVENTS),
        ).fetchone()
        if last is None:
            problems.append(f"{cid}: no audit entry records this consent")
        else:
            seen = json.loads(last[0])
            if seen.get("version") != record.version:
                problems.append(
                    f"{cid}: the registry holds version {record.version} but the audit log last "
                    f"recorded version {seen.get('version')}; a change was rolled back or deleted"
                )
            elif seen.get("record_sha256") != record.sha256():
                problems.append(
                    f"{cid}: version {record.version} differs from the one the audit log recorded"
                )
        if documents:
            problems += self._verify_document(record)
        for link_row in conn.execute(
            "SELECT sha256 FROM clip_links WHERE consent_id = ?", (cid,)
        ).fetchall():
            if not conn.execute(
                "SELECT 1 FROM audit WHERE event = 'link' AND consent_id = ? AND detail LIKE ?",
                (cid, f'%"{link_row[0]}"%'),
            ).fetchone():
                problems.append(f"{cid}: clip {link_row[0][:12]} is linked without an audit entry")
        return problems

    def _verify_document(self, record: ConsentRecord) -> list[str]:
        """The signed form must still be in the home, byte for byte what was signed."""
        if record.signature is None:
            return []
        digest = record.signature.document_sha256
        path = documents.find(self.home, digest)
        if path is None:
            return [f"{record.id}: the signed document {digest[:12]} is missing from the home"]
        if documents.sha256_bytes(path.read_bytes()) != digest:
            return [f"{record.id}: the signed document {path.name} was altered"]
        return []

    # --- audit ----------------------------------------------------------------------------
    def append_audit(
        self, event: str, *, consent_id: str | None = None, detail: dict[str, Any] | None = None
    ) -> AuditEntry:
        """Append an arbitrary event (export, link, ...) to the chained log in its own write."""
        with self.transaction() as conn:
            return audit.append(conn, self.key, event, consent_id=consent_id, detail=detail or {})

    def audit_entries(self, consent_id: str | None = None) -> list[AuditEntry]:
        cid = ids.normalise(consent_id) if consent_id is not None else None
        return audit.entries(self._conn, cid)

    def record_export_decision(
        self,
        *,
        consent_id: str | None,
        sha256: str,
        purpose: str,
        allowed: bool,
        rule: str | None,
        detail: dict[str, Any],
        conn: sqlite3.Connection | None = None,
    ) -> AuditEntry:
        """Log an export decision; inside the caller's transaction when ``conn`` is given
        (export's final re-check), else in its own."""
        body = {**detail, "sha256": sha256, "purpose": purpose, "rule": rule}
        event = "export.allowed" if allowed else "export.refused"
        if conn is not None:
            return audit.append(conn, self.key, event, consent_id=consent_id, detail=body)
        return self.append_audit(event, consent_id=consent_id, detail=body)

    def require_clock_forward(self) -> None:
        """ClockError when the clock is earlier than the newest audit entry (see audit)."""
        audit.require_forward(self._conn, now_utc())

    def exports_for(self, consent_id: str) -> list[AuditEntry]:
        return self._exports(self._conn, ids.normalise(consent_id))

    # --- clip links -----------------------------------------------------------------------
    def link_clip(
        self, consent_id: str, sha256: str, original_name: str, media_kind: str
    ) -> ClipLink:
        return self.link_many([(consent_id, sha256, original_name, media_kind)])[0]

    def link_many(self, rows_: Sequence[tuple[str, str, str, str]]) -> list[ClipLink]:
        """Link (consent id, sha256, original name, media kind) rows in ONE transaction: a CSV
        whose row 40 is refused leaves rows 1-39 unlinked too."""
        with self.transaction() as conn:
            return [self._link_one(conn, *row) for row in rows_]

    def _link_one(
        self,
        conn: sqlite3.Connection,
        consent_id: str,
        sha256: str,
        original_name: str,
        media_kind: str,
    ) -> ClipLink:
        cid = ids.normalise(consent_id)
        consent_state.require_linkable(self._load(conn, cid), consent_state.today())
        existing = conn.execute(
            "SELECT consent_id, original_name, media_kind, linked_at, clip_number"
            " FROM clip_links WHERE sha256 = ?",
            (sha256,),
        ).fetchone()
        if existing is not None:
            if existing[0] == cid:
                return ClipLink(
                    cid,
                    sha256,
                    existing[1],
                    existing[2],
                    datetime.fromisoformat(existing[3]),
                    existing[4],
                )
            if not consent_state.relinkable(self._load(conn, existing[0])):
                raise UsageError(
                    f"this clip is already linked to consent {existing[0]}; a clip belongs to "
                    "one consent (void or supersede that one first)"
                )
            conn.execute("DELETE FROM clip_links WHERE sha256 = ?", (sha256,))
        number = conn.execute(
            "SELECT COALESCE(MAX(clip_number), 0) + 1 FROM clip_links WHERE consent_id = ?",
            (cid,),
        ).fetchone()[0]
        link = ClipLink(cid, sha256, original_name, media_kind, now_utc(), number)
        conn.execute(
            "INSERT INTO clip_links (sha256, consent_id, original_name, media_kind, linked_at,"
            " clip_number) VALUES (?, ?, ?, ?, ?, ?)",
            (sha256, cid, original_name, media_kind, link.linked_at.isoformat(), number),
        )
        audit.append(
            conn,
            self.key,
            "link",
            consent_id=cid,
            detail={
                "sha256": sha256,
                "media_kind": media_kind,
                "clip_number": number,
                "previous_consent": existing[0] if existing else None,
            },
        )
        return link

    def find_link(self, sha256: str) -> ClipLink | None:
        row = self._conn.execute(
            "SELECT consent_id, sha256, original_name, media_kind, linked_at, clip_number"
            " FROM clip_links WHERE sha256 = ?",
            (sha256,),
        ).fetchone()
        return _link(row) if row else None

    def list_links(self, consent_id: str | None = None) -> list[ClipLink]:
        sql = (
            "SELECT consent_id, sha256, original_name, media_kind, linked_at, clip_number"
            " FROM clip_links"
        )
        if consent_id is None:
            rows = self._conn.execute(sql + " ORDER BY consent_id, clip_number").fetchall()
        else:
            cid = ids.normalise(consent_id)
            rows = self._conn.execute(
                sql + " WHERE consent_id = ? ORDER BY clip_number", (cid,)
            ).fetchall()
        return [_link(r) for r in rows]

    # --- internals ------------------------------------------------------------------------
    def _fresh_id(self, conn: sqlite3.Connection) -> str:
        length = ids.DEFAULT_LENGTH
        while True:
            for _ in range(20):
                candidate = ids.new_id(length)
                if not conn.execute("SELECT 1 FROM consents WHERE id = ?", (candidate,)).fetchone():
                    return candidate
            length += 1  # this length is crowded: longer ids rather than endless retries

    @staticmethod
    def _bump(record: ConsentRecord) -> ConsentRecord:
        return replace(record, version=record.version + 1)

    def _write(
        self, conn: sqlite3.Connection, record: ConsentRecord, *, event: str, detail: dict[str, Any]
    ) -> None:
        """Store a record version: the current row, its grants, the signed history, the audit."""
        body = record.canonical_bytes()
        signature = self.key.sign(body)
        conn.execute("DELETE FROM grants WHERE consent_id = ?", (record.id,))
        # An upsert, not delete + insert: clip links reference the row.
        updates = ", ".join(f"{c} = excluded.{c}" for c in rows.CONSENT_COLUMNS[1:])
        conn.execute(
            f"INSERT INTO consents ({', '.join(rows.CONSENT_COLUMNS)}) VALUES"
            f" ({', '.join('?' for _ in rows.CONSENT_COLUMNS)})"
            f" ON CONFLICT(id) DO UPDATE SET {updates}",
            (*rows.consent_row(record), signature),
        )
        conn.executemany(
            "INSERT INTO grants (consent_id, purpose, identifiable, voice, expires, withdrawn_at,"
            " withdrawal_reason) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    record.id,
                    g.purpose.value,
                    int(g.identifiable),
                    int(g.voice),
                    g.expires.isoformat(),
                    rows.iso(g.withdrawn_at),
                    g.withdrawal_reason,
                )
                for g in record.grants
            ],
        )
        conn.execute(
            "INSERT INTO record_versions (consent_id, version, body, sha256, signature)"
            " VALUES (?, ?, ?, ?, ?)",
            (record.id, record.version, body.decode(), record.sha256(), signature),
        )
        audit.append(
            conn,
            self.key,
            event,
            consent_id=record.id,
            detail={**detail, "version": record.version, "record_sha256": record.sha256()},
        )

    def _load(self, conn: sqlite3.Connection, cid: str) -> ConsentRecord:
        row = conn.execute(
            f"SELECT {', '.join(rows.CONSENT_COLUMNS[:-1])} FROM consents WHERE id = ?", (cid,)
        ).fetchone()
        if row is None:
            raise NotFoundError(f"no consent with id {cid}", hint="see 'consentclip consent list'")
        grants = conn.execute(
            "SELECT purpose, identifiable, voice, expires, withdrawn_at, withdrawal_reason"
            " FROM grants WHERE consent_id = ?",
            (cid,),
        ).fetchall()
        return rows.record_from_row(dict(zip(rows.CONSENT_COLUMNS[:-1], row, strict=True)), grants)

    def _exports(self, conn: sqlite3.Connection, cid: str) -> list[AuditEntry]:
        return [e for e in audit.entries(conn, cid) if e.event == "export.allowed"]


# --- module helpers -------------------------------------------------------------------------
def _link(row: tuple[Any, ...]) -> ClipLink:
    return ClipLink(row[0], row[1], row[2], row[3], datetime.fromisoformat(row[4]), row[5])


def audit_sha(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


def _grant_summary(record: ConsentRecord) -> list[str]:
    return [g.describe() for g in record.grants]


def lock_wait_limit() -> float:
    """Seconds a write waits for another process's lock before giving up (one line, exit 1)."""
    try:
        return max(0.0, float(os.environ.get(LOCK_WAIT_ENV, DEFAULT_LOCK_WAIT_S)))
    except ValueError:
        raise UsageError(f"{LOCK_WAIT_ENV} must be a number of seconds") from None


def _report_wait(waited: float, limit: float) -> None:
    """Said on stderr while waiting: the library has no terminal, but a silent wait of minutes
    reads as a hang. Replaceable (tests, a GUI)."""
    print(
        f"waiting for the consent registry: another consentclip process is writing "
        f"({waited:.0f} s of at most {limit:.0f} s)",
        file=sys.stderr,
        flush=True,
    )


wait_reporter: Callable[[float, float], None] = _report_wait


class _Connection(sqlite3.Connection):
    """Every SQLite failure leaves the registry as a one-line RegistryError with a reason."""

    home: Home

    def execute(self, *args: Any, **kwargs: Any) -> sqlite3.Cursor:  # type: ignore[override]
        try:
            return super().execute(*args, **kwargs)
        except sqlite3.Error as exc:
            raise db_error(exc, self.home) from None

    def executemany(self, *args: Any, **kwargs: Any) -> sqlite3.Cursor:  # type: ignore[override]
        try:
            return super().executemany(*args, **kwargs)
        except sqlite3.Error as exc:
            raise db_error(exc, self.home) from None


def db_error(exc: sqlite3.Error, home: Home) -> RegistryError:
    """Name the reason: locked, read-only, full, damaged, or SQLite's own words."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)
    where = home.db_path
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text:
        return RegistryBusy(
            f"the consent registry {where} is locked by another process",
            hint="wait for it to finish, or find it with 'fuser' and stop it",
        )
    if name.startswith("SQLITE_READONLY") or "readonly" in text or not _writable(home):
        return RegistryError(
            f"the consent home {home.root} is read-only ({text}); consentclip records every "
            "decision there",
            hint="make the folder writable, or use --home with a writable copy",
        )
    if name.startswith("SQLITE_FULL"):
        return RegistryError(
            f"the disk holding the consent registry {where} is full", hint="free space and retry"
        )
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
        return RegistryError(
            f"the consent registry {where} is damaged ({text})",
            hint="restore it from a backup, then run 'consentclip audit reanchor'",
        )
    return RegistryError(f"the consent registry {where} cannot be used: {text}")


def _writable(home: Home) -> bool:
    return os.access(home.root, os.W_OK) and (
        not home.db_path.exists() or os.access(home.db_path, os.W_OK)
    )


def _db_call(home: Home, fn: Callable[[], Any], where: backend.Backend | None = None) -> Any:
    """Run ``fn`` (a migration: through SQLAlchemy) and name any database failure in one line."""
    # Lazy: SQLAlchemy costs ~0.2 s to import; a command that migrates nothing never needs it.
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError

    try:
        return fn()
    except sqlite3.Error as exc:
        raise db_error(exc, home) from None
    except DBAPIError as exc:
        if isinstance(exc.orig, sqlite3.Error):
            raise db_error(exc.orig, home) from None
        raise backend.pg_error(exc, where or backend.for_home(home)) from None
    except SQLAlchemyError as exc:
        raise backend.pg_error(exc, where or backend.for_home(home)) from None


def _copied(home: Home, target: backend.Backend) -> bool:
    """Whether ``target`` holds a copy of this home's SQLite registry (``registry copy``):
    the same first audit entry. Only then may the home switch to it."""
    conn = _connect(home, backend.sqlite_backend(home))
    try:
        first = conn.execute("SELECT hash FROM audit WHERE seq = 1").fetchone()
    finally:
        conn.close()
    pg = backend.PgConnection(target)
    try:
        if schema.read_version(pg) == 0:
            return False
        theirs = pg.execute("SELECT hash FROM audit WHERE seq = 1").fetchone()
    finally:
        pg.close()
    return first is not None and theirs is not None and first[0] == theirs[0]


def _require_clinic_key(
    conn: Any, key: ClinicKey, where: backend.Backend, *, new_key: bool
) -> None:
    """A workstation joining a shared registry must sign with the clinic's key: a key of its
    own would make every record it writes fail verification on every other workstation."""
    row = conn.execute("SELECT seq, hash, signature FROM audit_head WHERE id = 1").fetchone()
    if row is None or key.verify(audit.head_message(int(row[0]), row[1]), row[2]):
        return
    made = "a new key was just made in this home; " if new_key else ""
    raise HomeError(
        f"the registry at {where.where} is signed with another clinic key than this home's "
        f"({made}every record written from here would fail verification)",
        hint="copy the clinic's keys/ folder into this home (see docs/deploy.md), then re-run",
    )


def _connect(home: Home, where: backend.Backend | None = None) -> Any:
    """PostgreSQL when the home or the environment names it (see consent.backend), else the
    SQLite file, in WAL mode. A home this process cannot write to (a read-only mount, an
    archive copy) is opened immutable, so reading commands still work and every write fails
    with one line saying why."""
    where = where or backend.for_home(home)
    if where.is_postgres:
        return backend.PgConnection(where)
    try:
        if not _writable(home):
            uri = f"{home.db_path.absolute().as_uri()}?mode=ro&immutable=1"
            conn = sqlite3.connect(
                uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None, factory=_Connection
            )
            conn.home = home  # type: ignore[attr-defined]
            conn.execute("PRAGMA query_only=ON")
            return conn
        conn = sqlite3.connect(
            home.db_path, timeout=BUSY_TIMEOUT_S, isolation_level=None, factory=_Connection
        )
    except sqlite3.Error as exc:
        raise db_error(exc, home) from None
    conn.home = home  # type: ignore[attr-defined]
    try:
        _with_lock_wait(home, lambda: conn.execute("PRAGMA journal_mode=WAL"))
        conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        conn.execute("PRAGMA foreign_keys=ON")
        # FULL: a commit (a withdrawal) is on disk before it returns, and so before the audit
        # anchor outside the database moves past it; with NORMAL a power cut could lose the
        # last commits while the anchor kept them, and the next open would cry rollback.
        conn.execute("PRAGMA synchronous=FULL")
    except BaseException:
        conn.close()
        raise
    return conn


def _with_lock_wait(home: Home, attempt: Callable[[], Any]) -> Any:
    """Run ``attempt``, retrying while the registry is locked, up to lock_wait_limit()."""
    limit = lock_wait_limit()
    started = time.monotonic()
    reported = 0.0
    while True:
        try:
            return attempt()
        except RegistryBusy:
            waited = time.monotonic() - started
            if waited >= limit:
                raise RegistryBusy(
                    f"the consent registry {backend.for_home(home).where} stayed locked by "
                    "another process for "
                    f"{waited:.0f} s",
                    hint=f"nothing was changed; retry when it is done ({LOCK_WAIT_ENV} sets "
                    "the wait)",
                ) from None
            if waited - reported >= 5.0 or reported == 0.0:
                wait_reporter(waited, limit)
                reported = max(waited, 0.001)


@contextmanager
def _transaction(conn: Any, home: Home) -> Iterator[Any]:
    if isinstance(conn, backend.PgConnection):
        with _pg_transaction(conn, home) as pg:
            yield pg
        return
    # IMMEDIATE takes the write lock up front, so a read-then-write never hits SQLITE_BUSY
    # half-way; while another process holds it we wait (with progress, up to a limit).
    if not _writable(home):
        raise RegistryError(
            f"the consent home {home.root} is read-only; consentclip records every decision there",
            hint="make the folder writable, or use --home with a writable copy",
        )
    _with_lock_wait(home, lambda: conn.execute("BEGIN IMMEDIATE"))
    try:
        yield conn
    except BaseException:
        # A failed ROLLBACK (the connection already lost its transaction) must not hide why.
        with suppress(RegistryError, sqlite3.Error):
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


@contextmanager
def _pg_transaction(conn: backend.PgConnection, home: Home) -> Iterator[backend.PgConnection]:
    """One PostgreSQL write: BEGIN, then the registry's advisory lock (waited for per attempt up
    to backend.LOCK_TIMEOUT_MS, retried with progress up to lock_wait_limit()). Statements after
    the lock see every commit made before it (READ COMMITTED), as after BEGIN IMMEDIATE."""

    def begin() -> None:
        conn.execute("BEGIN")
        try:
            conn.execute(f"SET LOCAL lock_timeout = {backend.LOCK_TIMEOUT_MS}")
            conn.execute("SELECT pg_advisory_xact_lock(?)", (backend.WRITE_LOCK_KEY,))
        except BaseException:
            with suppress(RegistryError):
                conn.execute("ROLLBACK")
            raise

    _with_lock_wait(home, begin)
    try:
        yield conn
    except BaseException:
        with suppress(RegistryError):
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
