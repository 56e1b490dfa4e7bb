"""Registry costs that an export pays: writes, per-record verify, and the audit-chain verify.

Every export runs ``Registry.verify(id)`` and ``Registry.verify_audit()`` before any pixel is
touched, and the chain check is linear in the log's length, so this measures how it grows.
Also: write throughput from one process against two processes writing at once (WAL, BEGIN
IMMEDIATE), all side by side in one run.

    .venv/bin/python bench/consent_registry.py [--entries 1000 5000] [--writes 100]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from consentclip.consent.records import Grant, Purpose, Signer, SignerRole, Template
from consentclip.consent.registry import NewConsent, Registry
from consentclip.home import Home

EXPIRES = date.today() + timedelta(days=365)


def _new(i: int) -> NewConsent:
    return NewConsent(
        patient_ref=f"P-{i}",
        signer=Signer(SignerRole.PATIENT, "Ann"),
        grants=(Grant(Purpose.TEACHING, False, False, EXPIRES),),
        template=Template("derm-video-photo", "1.0", "en", "0" * 64),
    )


def _writer(root: str, n: int, start: int) -> None:
    with Registry.open(Home(Path(root))) as reg:
        for i in range(n):
            reg.create(_new(start + i))


def writes(n: int, procs: int) -> float:
    """Consents created per second with `procs` processes writing at once."""
    with tempfile.TemporaryDirectory() as tmp:
        home = Home(Path(tmp) / "h")
        Registry.initialise(home)
        ctx = mp.get_context("fork")
        workers = [
            ctx.Process(target=_writer, args=(str(home.root), n // procs, k * n))
            for k in range(procs)
        ]
        t0 = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        elapsed = time.perf_counter() - t0
        with Registry.open(home) as reg:
            assert len(reg.list()) == (n // procs) * procs, "a write was lost"
    return (n // procs) * procs / elapsed


def verify_costs(entries: int) -> tuple[float, float]:
    """(ms for verify(one id), ms for verify_audit()) with about `entries` audit entries."""
    with tempfile.TemporaryDirectory() as tmp:
        home = Home(Path(tmp) / "h")
        Registry.initialise(home)
        with Registry.open(home) as reg:
            first = reg.create(_new(0))
            with reg.transaction() as conn:
                from consentclip.consent import audit

                for i in range(entries - 2):
                    audit.append(conn, reg.key, "note", consent_id=None, detail={"i": i})
            reps = 5
            t0 = time.perf_counter()
            for _ in range(reps):
                assert reg.verify(first.id).ok
            one = (time.perf_counter() - t0) / reps * 1000
            t0 = time.perf_counter()
            for _ in range(reps):
                assert reg.verify_audit().ok
            chain = (time.perf_counter() - t0) / reps * 1000
    return one, chain


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--writes", type=int, default=100)
    args = parser.parse_args()
    print(f"nproc={os.cpu_count()}")
    one, two = writes(args.writes, 1), writes(args.writes, 2)
    print("| writers | consents/s | ratio to 1 writer |")
    print("|---|---|---|")
    print(f"| 1 | {one:.0f} | 1.00 |")
    print(f"| 2 at once | {two:.0f} | {two / one:.2f} |")
    print()
    print("| audit entries | verify(one id) ms | verify_audit() ms | audit ms per 1k entries |")
    print("|---|---|---|---|")
    for n in args.entries:
        rec, chain = verify_costs(n)
        print(f"| {n} | {rec:.2f} | {chain:.1f} | {chain / n * 1000:.2f} |")


if __name__ == "__main__":
    main()
