"""The append-only, hash-chained audit log.

Each entry's hash covers its own fields and the previous entry's hash, so editing, removing or
reordering any entry breaks the chain from that point on. The newest hash (the head) is signed
with the clinic key, so cutting entries off the end is caught too. SQLite triggers refuse
UPDATE and DELETE on the table, which stops accidents; the chain and the signed head catch
anyone who drops the triggers.

Each entry names the operating-system account and, since schema version 2, the person acting
(``consent/people.py``; "" when nobody was named). The person is hashed only when there is one,
so every entry written before people were recorded keeps its hash and still verifies.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from consentclip.consent import people
from consentclip.consent.signing import ClinicKey
from consentclip.errors import ClockError

GENESIS = "0" * 64
_SEP = "\x1f"  # unit separator: cannot occur in any field we write


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    ts: datetime
    os_user: str
    person: str
    event: str
    consent_id: str | None
    detail: dict[str, Any]
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "ts": self.ts.isoformat(),
            "os_user": self.os_user,
            "person": self.person,
            "event": self.event,
            "consent_id": self.consent_id,
            "detail": self.detail,
            "hash": self.hash,
        }


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        # No passwd entry (containers): the uid still identifies who acted.
        return f"uid:{os.getuid()}"


def system_clock() -> datetime:
    return datetime.now(timezone.utc)


# The one clock every consent decision and audit entry reads. Tests replace it (monkeypatch
# ``audit.clock``) to set time back or forward without touching the machine's clock.
clock: Callable[[], datetime] = system_clock


def now_utc() -> datetime:
    return clock().astimezone(timezone.utc).replace(microsecond=0)


def newest_time(conn: sqlite3.Connection) -> datetime | None:
    row = conn.execute("SELECT ts FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    return datetime.fromisoformat(row[0]) if row else None


def require_forward(conn: sqlite3.Connection, now: datetime) -> None:
    """Time never goes backwards: ClockError when ``now`` is before the newest entry.

    With the clock set back, an expired grant would look valid again and new entries would sit
    before older ones; both are refused until the clock is right.
    """
    newest = newest_time(conn)
    if newest is not None and now < newest:
        raise ClockError(
            f"the system clock ({now.isoformat()}) is earlier than the newest audit entry "
            f"({newest.isoformat()}); time cannot go backwards in the audit log",
            hint="set the clock right (NTP) and retry; nothing was recorded",
        )


def entry_hash(row: tuple[int, str, str, str, str, str | None, str, str]) -> str:
    seq, ts, user, person, event, consent_id, detail_text, prev_hash = row
    # Without a person the payload is exactly the one schema version 1 hashed (old entries keep
    # their hashes); with one it has a field more, so the two can never be confused.
    who = [user, person] if person else [user]
    payload = _SEP.join([str(seq), ts, *who, event, consent_id or "", detail_text, prev_hash])
    return hashlib.sha256(payload.encode()).hexdigest()


def head_message(seq: int, head_hash: str) -> bytes:
    return f"consentclip-audit-head:{seq}:{head_hash}".encode()


def append(
    conn: sqlite3.Connection,
    key: ClinicKey,
    event: str,
    *,
    consent_id: str | None,
    detail: dict[str, Any],
) -> AuditEntry:
    """Append one entry and re-sign the head. The caller holds a write transaction."""
    last = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    ts = now_utc()
    require_forward(conn, ts)
    user = os_user()
    person = people.acting()
    detail_text = json.dumps(detail, sort_keys=True, separators=(",", ":"), default=str)
    digest = entry_hash((seq, ts.isoformat(), user, person, event, consent_id, detail_text, prev))
    conn.execute(
        "INSERT INTO audit (seq, ts, os_user, person, event, consent_id, detail, prev_hash, hash)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (seq, ts.isoformat(), user, person, event, consent_id, detail_text, prev, digest),
    )
    conn.execute(
        "INSERT INTO audit_head (id, seq, hash, signature) VALUES (1, ?, ?, ?)"
        " ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash,"
        " signature = excluded.signature",
        (seq, digest, key.sign(head_message(seq, digest))),
    )
    return AuditEntry(seq, ts, user, person, event, consent_id, detail, prev, digest)


def entries(conn: sqlite3.Connection, consent_id: str | None = None) -> list[AuditEntry]:
    sql = "SELECT seq, ts, os_user, person, event, consent_id, detail, prev_hash, hash FROM audit"
    args: tuple[Any, ...] = ()
    if consent_id is not None:
        sql += " WHERE consent_id = ?"
        args = (consent_id,)
    return [_entry(row) for row in conn.execute(sql + " ORDER BY seq", args)]


def _entry(row: tuple[Any, ...]) -> AuditEntry:
    seq, ts, user, person, event, consent_id, detail_text, prev, digest = row
    try:
        detail = json.loads(detail_text)
    except json.JSONDecodeError:
        detail = {"unreadable": detail_text}
    return AuditEntry(
        seq, datetime.fromisoformat(ts), user, person, event, consent_id, detail, prev, digest
    )


def verify(conn: sqlite3.Connection, key: ClinicKey) -> list[str]:
    """Every problem found in the chain, oldest first; empty when the log is intact."""
    problems: list[str] = []
    rows = conn.execute(
        "SELECT seq, ts, os_user, person, event, consent_id, detail, prev_hash, hash FROM audit"
        " ORDER BY seq"  # on SQLite the rowid itself (INTEGER PRIMARY KEY)
    ).fetchall()
    prev = GENESIS
    expected_seq = 1
    newest: datetime | None = None
    for row in rows:
        seq, stored_hash, stored_prev = row[0], row[8], row[7]
        when = _parse_ts(row[1])
        if when is not None and newest is not None and when < newest:
            problems.append(f"audit entry {seq} is dated {row[1]}, before the entry before it")
        if when is not None and (newest is None or when > newest):
            newest = when
        if seq != expected_seq:
            problems.append(
                f"audit entry {expected_seq} is missing or out of order (found entry {seq})"
            )
        if stored_prev != prev:
            problems.append(f"audit entry {seq} does not chain to the entry before it")
        recomputed = entry_hash((seq, row[1], row[2], row[3], row[4], row[5], row[6], stored_prev))
        if recomputed != stored_hash:
            problems.append(f"audit entry {seq} ({row[4]}) was edited: its hash does not match")
        prev = stored_hash
        expected_seq = seq + 1
    head = conn.execute("SELECT seq, hash, signature FROM audit_head WHERE id = 1").fetchone()
    if head is None:
        if rows:
            problems.append("the signed audit head is missing")
        return problems
    head_seq, head_hash, signature = head
    if not key.verify(head_message(head_seq, head_hash), signature):
        problems.append("the audit head signature does not verify with the clinic key")
    last_seq = rows[-1][0] if rows else 0
    if head_seq != last_seq or head_hash != prev:
        problems.append(
            f"the signed audit head names entry {head_seq} but the log ends at entry {last_seq}:"
            " entries were removed or added behind the tool's back"
        )
    return problems


def _parse_ts(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
