"""The audit anchor: the signed head of the audit log, kept again OUTSIDE the database.

Why: the chain and its signed head live inside ``registry.sqlite3``, so putting back an older
copy of that one file (a backup, a synced folder, a snapshot) brings back an older, perfectly
valid chain, and with it every grant withdrawn since. The anchor remembers how far the log had
got: on every open the log must still contain the anchored entry with the anchored hash. A
shorter log (rolled back) or a different one (swapped) is refused with RollbackError, and
nothing can be read or exported until a person accepts it (``consentclip audit reanchor``).

Where: ``audit-anchor.json`` beside the database by default (catches a restored database
file), plus any locations the clinic names in ``clinic.toml`` (``audit_anchor = [...]``) or in
``CONSENTCLIP_AUDIT_ANCHOR`` (paths separated by the OS path separator): a place that is not
restored together with the home (another volume, a write-once share) also catches a restore of
the whole home folder. docs/threat-model.md says what this does not cover.

The anchor only moves forward: it is rewritten after each committed write, under a file lock,
and never to an older entry (two processes committing at once cannot move it back). A missing
anchor is refused when the log records that it was made, and made afresh otherwise (a home from
before anchors, or a newly configured location).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from consentclip.atomic import write_json_atomic
from consentclip.consent import backend
from consentclip.consent.clinic import read_settings
from consentclip.consent.signing import ClinicKey
from consentclip.errors import HomeError, IntegrityError, RollbackError
from consentclip.home import Home

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows has no fcntl (see _locked)
    fcntl = None  # type: ignore[assignment]

ANCHOR_NAME = "audit-anchor.json"
ENV_VAR = "CONSENTCLIP_AUDIT_ANCHOR"
SETTING = "audit_anchor"  # in clinic.toml: one path or a list of paths
FORMAT = "consentclip-audit-anchor/1"
EVENT = "anchor"  # audit event recording that an anchor location was established
RECOVER = "consentclip audit reanchor --accept-rollback --reason TEXT"


@dataclass(frozen=True)
class Anchor:
    seq: int
    hash: str
    genesis: str  # hash of audit entry 1: which registry this anchor belongs to
    signature: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "seq": self.seq,
            "hash": self.hash,
            "genesis": self.genesis,
            "signature": self.signature,
        }


@dataclass(frozen=True)
class Head:
    seq: int
    hash: str
    genesis: str


def message(seq: int, digest: str, genesis: str) -> bytes:
    return f"consentclip-audit-anchor:{genesis}:{seq}:{digest}".encode()


def sign(key: ClinicKey, head: Head) -> Anchor:
    return Anchor(head.seq, head.hash, head.genesis, key.sign(message(*_fields(head))))


def _fields(head: Head | Anchor) -> tuple[int, str, str]:
    return head.seq, head.hash, head.genesis


# --- where ---------------------------------------------------------------------------------


def locations(home: Home) -> list[Path]:
    """Every anchor file for this home: the default beside the database, then the clinic's."""
    found = [home.root / ANCHOR_NAME]
    for raw in _configured(home):
        path = Path(raw).expanduser()
        if not path.is_absolute():
            path = home.root / path
        if path.is_dir():
            path = path / f"consentclip-{ANCHOR_NAME}"
        path = path.absolute()
        if path not in found:
            found.append(path)
    return found


def _configured(home: Home) -> list[str]:
    env = os.environ.get(ENV_VAR)
    if env:
        return [p for p in env.split(os.pathsep) if p.strip()]
    data = read_settings(home)
    if data is None:
        return []
    path = home.settings_path
    value = data.get(SETTING)
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v for v in value if v.strip()]
    raise HomeError(f"'{SETTING}' in {path} must be a path or a list of paths")


# --- reading and checking ------------------------------------------------------------------


def read(path: Path) -> Anchor | None:
    """The anchor at ``path``; None when there is none. A file that is not one is an error."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise IntegrityError(
            f"the audit anchor {path} cannot be read ({exc})", hint=f"run '{RECOVER}'"
        ) from None
    try:
        if data["format"] != FORMAT:
            raise ValueError(data["format"])
        return Anchor(int(data["seq"]), str(data["hash"]), str(data["genesis"]), data["signature"])
    except (KeyError, TypeError, ValueError):
        raise IntegrityError(
            f"the audit anchor {path} is not a consentclip anchor", hint=f"run '{RECOVER}'"
        ) from None


def read_quietly(path: Path) -> Anchor | None:
    """The anchor at ``path``, or None for a missing or unreadable one (for display)."""
    try:
        return read(path)
    except IntegrityError:
        return None


def head(conn: sqlite3.Connection) -> Head | None:
    last = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    first = conn.execute("SELECT hash FROM audit WHERE seq = 1").fetchone()
    if last is None or first is None:
        return None
    return Head(int(last[0]), str(last[1]), str(first[0]))


def place(conn: Any, path: Path) -> str:
    """How the log names an anchor location. On a shared PostgreSQL registry each workstation
    keeps its own anchors, often at the same path (the default home), so the machine is part of
    the name: one workstation's anchor is not another's missing one."""
    if backend.is_pg(conn):
        return f"{socket.gethostname()}:{path}"
    return str(path)


def established(conn: sqlite3.Connection, path: Path) -> bool:
    """Whether the log records that an anchor was made at ``path`` (an ``anchor`` entry, or
    the ``init`` entry of a registry created with anchors)."""
    for event, detail in conn.execute(
        "SELECT event, detail FROM audit WHERE event IN (?, 'init')", (EVENT,)
    ):
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            data = json.loads(detail)
            name = place(conn, path)
            if (event == EVENT and data.get("path") == name) or (
                event == "init" and name in (data.get("anchors") or ())
            ):
                return True
    return False


def check(home: Home, conn: sqlite3.Connection, key: ClinicKey) -> None:
    """Refuse a registry that is behind (or beside) any of its anchors.

    Anchors are read BEFORE the database: an anchor is written only after its commit, so a
    writer that commits in between can only make the database further ahead, never behind.
    """
    anchors = [(path, read(path)) for path in locations(home)]
    current = head(conn)
    for path, anchor in anchors:
        problem = _compare(conn, key, path, anchor, current)
        if problem is not None:
            raise RollbackError(problem, hint=f"see docs/threat-model.md; to recover: '{RECOVER}'")


def problems(home: Home, conn: sqlite3.Connection, key: ClinicKey) -> list[str]:
    """Each anchor's problem, for ``audit anchor`` and ``audit reanchor`` (which must not stop
    at the first)."""
    found = []
    current = head(conn)
    for path in locations(home):
        try:
            problem = _compare(conn, key, path, read(path), current)
        except IntegrityError as exc:
            problem = exc.message
        if problem is not None:
            found.append(problem)
    return found


def _compare(
    conn: sqlite3.Connection,
    key: ClinicKey,
    path: Path,
    anchor: Anchor | None,
    current: Head | None,
) -> str | None:
    if anchor is None:
        if established(conn, path):
            return (
                f"the audit anchor {path} is missing: it was made for this registry and has been "
                "removed, so a rollback of the registry could not be ruled out"
            )
        return None
    if not key.verify(message(*_fields(anchor)), anchor.signature):
        return f"the audit anchor {path} is not signed by this clinic's key"
    if current is None:
        return (
            f"the registry's audit log is empty but the anchor {path} saw entry {anchor.seq}: "
            "the database was replaced"
        )
    if anchor.genesis != current.genesis:
        return (
            f"the audit anchor {path} belongs to another registry (a different database was put "
            "in place, or two homes share one anchor file)"
        )
    row = conn.execute("SELECT hash FROM audit WHERE seq = ?", (anchor.seq,)).fetchone()
    if row is None:
        return (
            f"the registry was rolled back: its audit log ends at entry {current.seq}, but the "
            f"anchor {path} recorded entry {anchor.seq}; an older copy of the database was put "
            "back, which can undo withdrawals of consent"
        )
    if row[0] != anchor.hash:
        return (
            f"the registry's audit entry {anchor.seq} is not the one anchored at {path}: the "
            "database was replaced by another copy"
        )
    return None


# --- writing -------------------------------------------------------------------------------


def advance(home: Home, key: ClinicKey, current: Head, *, force: bool = False) -> list[str]:
    """Move every anchor to ``current``; never backwards unless ``force`` (reanchor).

    Returns warnings for locations that could not be written (the write to the database has
    already been committed; a stale anchor is still safe, only less strict).
    """
    warnings = []
    signed = sign(key, current)
    for path in locations(home):
        try:
            _advance_one(path, signed, force=force)
        except OSError as exc:
            warnings.append(f"the audit anchor {path} could not be updated: {exc.strerror or exc}")
    return warnings


def _advance_one(path: Path, signed: Anchor, *, force: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path):
        if not force:
            with contextlib.suppress(IntegrityError):
                existing = read(path)
                if (
                    existing is not None
                    and existing.genesis == signed.genesis
                    and existing.seq >= signed.seq
                ):
                    return  # another process already moved it as far or further
        write_json_atomic(path, signed.to_dict())


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive advisory lock beside the anchor, so read-compare-write is one step."""
    if fcntl is None:  # pragma: no cover - Windows: no lock, the forward-only check remains
        yield
        return
    lock_path = path.with_name(f".{path.name}.lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def unestablished(home: Home, conn: sqlite3.Connection) -> list[Path]:
    """Locations whose establishment the log does not record yet (recorded on the next write).

    An existing anchor file was written after a commit that recorded it, so only missing files
    are looked up (a scan of the log's anchor entries, rare after the first write).
    """
    return [path for path in locations(home) if not path.exists() and not established(conn, path)]


# --- the withdrawal ledger -------------------------------------------------------------------
# Detecting a rollback is half the job: the clinic that accepts a restored copy (a real disk
# failure) must not lose the withdrawals made since the backup. Each withdrawal and voiding is
# therefore also appended, signed, to a ledger beside every anchor; ``reanchor`` applies again
# every one the restored registry lacks.

LEDGER_SUFFIX = ".withdrawals.jsonl"
LEDGER_FORMAT = "consentclip-withdrawal/1"


@dataclass(frozen=True)
class Withdrawal:
    consent_id: str
    kind: str  # "revoke" (the purposes listed) or "void"
    purposes: tuple[str, ...]
    reason: str
    at: str  # ISO time of the original withdrawal

    def body(self, genesis: str) -> dict[str, Any]:
        return {
            "format": LEDGER_FORMAT,
            "genesis": genesis,
            "consent_id": self.consent_id,
            "kind": self.kind,
            "purposes": list(self.purposes),
            "reason": self.reason,
            "at": self.at,
        }


def ledger_path(anchor_path: Path) -> Path:
    return anchor_path.with_name(anchor_path.stem + LEDGER_SUFFIX)


def _canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def record_withdrawal(home: Home, key: ClinicKey, genesis: str, item: Withdrawal) -> list[str]:
    """Append ``item`` to every ledger (after the registry committed it). Returns warnings for
    ledgers that could not be written."""
    body = item.body(genesis)
    line = json.dumps({**body, "signature": key.sign(_canonical(body))}, ensure_ascii=False)
    warnings = []
    for path in locations(home):
        target = ledger_path(path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with _locked(target), open(target, "a", encoding="utf-8") as fh:
                fh.write(line + "\n")
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            warnings.append(f"the withdrawal ledger {target} could not be updated: {exc}")
    return warnings


def recorded_withdrawals(home: Home, key: ClinicKey, genesis: str) -> list[Withdrawal]:
    """Every signed withdrawal of this registry in any ledger, oldest first, without repeats.
    Lines that do not verify (edited, another registry's) are skipped: the ledger can only
    add withdrawals, so a forged line could at worst withdraw, never grant."""
    found: dict[tuple[str, str, tuple[str, ...], str], Withdrawal] = {}
    for path in locations(home):
        try:
            lines = ledger_path(path).read_text(encoding="utf-8").splitlines()
        except (FileNotFoundError, UnicodeDecodeError):
            continue
        for text in lines:
            with contextlib.suppress(ValueError, KeyError, TypeError, AttributeError):
                data = json.loads(text)
                signature = data.pop("signature")
                if data.get("genesis") != genesis or data.get("format") != LEDGER_FORMAT:
                    continue
                if not key.verify(_canonical(data), signature):
                    continue
                item = Withdrawal(
                    str(data["consent_id"]),
                    str(data["kind"]),
                    tuple(str(p) for p in data["purposes"]),
                    str(data["reason"]),
                    str(data["at"]),
                )
                found.setdefault((item.consent_id, item.kind, item.purposes, item.at), item)
    return sorted(found.values(), key=lambda w: w.at)
