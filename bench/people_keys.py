"""Issue 17 costs, side by side in one run: opening an encrypted clinic key against a plain one,
one audited write with a person against one without, and the schema 1 -> 2 migration (the
audit table rebuilt with its person column) of a registry with 10,000 and 100,000 entries,
with `audit verify` of the migrated log.

    .venv/bin/python bench/people_keys.py [--entries 10000 100000] [--repeat 200]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from consentclip.consent import audit, people, schema, signing
from consentclip.consent.registry import Registry
from consentclip.consent.signing import ClinicKey
from consentclip.home import Home

PASS = "correct horse battery staple"


def paired_ms(a: Callable[[], object], b: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Medians of ``a`` and ``b`` in ms, run alternately so that load on a shared machine falls
    on both alike."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for fn, out in ((a, times[0]), (b, times[1])):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
    return statistics.median(times[0]) * 1000, statistics.median(times[1]) * 1000


def key_open(tmp: Path, repeat: int) -> tuple[float, float]:
    plain, encrypted = Home(tmp / "plain"), Home(tmp / "encrypted")
    ClinicKey.create(plain)
    ClinicKey.create(encrypted, passphrase=PASS.encode())
    os.environ[signing.PASSPHRASE_ENV] = PASS
    try:
        return paired_ms(lambda: ClinicKey.load(plain), lambda: ClinicKey.load(encrypted), repeat)
    finally:
        del os.environ[signing.PASSPHRASE_ENV]


def audited_write(tmp: Path, repeat: int) -> tuple[float, float]:
    """One append_audit (its own BEGIN IMMEDIATE ... COMMIT, synchronous=FULL) with the person
    looked up as every write does it (clinic.toml's [audit] table read, the environment
    checked), against the same write with the lookup replaced by a constant: the lookup's cost."""
    home = Home(tmp / "writes")
    Registry.initialise(home)
    with home.settings_path.open("a", encoding="utf-8") as fh:
        fh.write('\n[audit]\nuser = "Photography room"\n')
    real_resolve = people.resolve
    fixed = people.Acting("Photography room", False, "bench")

    def write(lookup: bool) -> None:
        people.resolve = real_resolve if lookup else (lambda home: fixed)  # type: ignore[assignment]
        try:
            reg.append_audit("bench", detail={"n": 1})
        finally:
            people.resolve = real_resolve  # type: ignore[assignment]

    os.environ.pop(people.USER_ENV, None)
    with Registry.open(home) as reg:
        base, looked_up = paired_ms(lambda: write(False), lambda: write(True), repeat)
        persons = {e.person for e in reg.audit_entries() if e.event == "bench"}
        assert persons == {"Photography room"}, persons
        assert reg.verify_audit().ok
    return base, looked_up


def v1_registry(root: Path, entries: int) -> Home:
    """A schema-1 registry with ``entries`` valid, chained, signed audit entries (no people)."""
    home = Home(root)
    root.mkdir(parents=True)
    key, _ = ClinicKey.create(home)
    conn = sqlite3.connect(home.db_path, isolation_level=None)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    conn.execute("INSERT INTO schema_version (version) VALUES (1)")
    for statement in schema._statements(schema.MIGRATIONS[0]):
        conn.execute(statement)
    prev = audit.GENESIS
    rows = []
    for seq in range(1, entries + 1):
        day, hour, minute, second = 1 + seq // 86400, seq // 3600 % 24, seq // 60 % 60, seq % 60
        ts = f"2026-01-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}+00:00"
        detail = json.dumps({"n": seq}, separators=(",", ":"))
        digest = audit.entry_hash((seq, ts, "clinic", "", "link", None, detail, prev))
        rows.append((seq, ts, "clinic", "link", None, detail, prev, digest))
        prev = digest
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO audit (seq, ts, os_user, event, consent_id, detail, prev_hash, hash)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    conn.execute(
        "INSERT INTO audit_head (id, seq, hash, signature) VALUES (1, ?, ?, ?)",
        (entries, prev, key.sign(audit.head_message(entries, prev))),
    )
    conn.execute("COMMIT")
    conn.close()
    return home


def migration(tmp: Path, entries: int) -> tuple[float, float, float]:
    """(open of the migrated registry, open that migrates, audit verify), in seconds."""
    home = v1_registry(tmp / f"v1-{entries}", entries)
    t0 = time.perf_counter()
    with Registry.open(home, check_anchor=False) as reg:
        migrate_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        report = reg.verify_audit()
        verify_s = time.perf_counter() - t0
        assert report.ok and report.checked == entries, report.problems[:3]
    t0 = time.perf_counter()
    with Registry.open(home, check_anchor=False):
        reopen_s = time.perf_counter() - t0
    return reopen_s, migrate_s, verify_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        plain, encrypted = key_open(tmp, args.repeat)
        print(f"issue 17 costs; nproc={os.cpu_count()}; medians of {args.repeat}")
        print()
        print("clinic key open            |   ms | ratio")
        print("---------------------------+------+------")
        print(f"plain PKCS#8               | {plain:4.2f} | 1.00x")
        print(f"encrypted (PBKDF2 2048)    | {encrypted:4.2f} | {encrypted / plain:4.0f}x")
        print()
        base, named = audited_write(tmp, args.repeat)
        print("one audited write          |   ms | ratio")
        print("---------------------------+------+------")
        print(f"person fixed in memory     | {base:4.2f} | 1.00x")
        print(f"person looked up           | {named:4.2f} | {named / base:4.2f}x")
        print()
        print("audit entries | open (current) s | open + migrate 1->2 s | audit verify s")
        print("--------------+------------------+-----------------------+---------------")
        for n in args.entries:
            reopen_s, migrate_s, verify_s = migration(tmp, n)
            print(f"{n:>13,} | {reopen_s:16.3f} | {migrate_s:21.3f} | {verify_s:14.3f}")


if __name__ == "__main__":
    main()
