"""Two processes writing to the registry at the same moment lose nothing."""

from __future__ import annotations

import multiprocessing as mp
from datetime import date, timedelta
from pathlib import Path

from consentclip.consent.records import Grant, Purpose, Signer, SignerRole, Template
from consentclip.consent.registry import NewConsent, Registry
from consentclip.home import Home

PER_PROCESS = 12


def _writer(root: str, tag: str, barrier: mp.synchronize.Barrier) -> None:
    home = Home(Path(root))
    expires = date.today() + timedelta(days=30)
    barrier.wait()  # start together, so the writes really interleave
    for i in range(PER_PROCESS):
        with Registry.open(home) as reg:
            rec = reg.create(
                NewConsent(
                    patient_ref=f"{tag}-{i}",
                    signer=Signer(SignerRole.PATIENT, "Ann"),
                    grants=(Grant(Purpose.TEACHING, False, False, expires),),
                    template=Template("derm-video-photo", "1.0", "en", "0" * 64),
                )
            )
            reg.append_audit("note", consent_id=rec.id, detail={"writer": tag, "i": i})


def test_two_processes_writing_at_once(ready_home: Home) -> None:
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_writer, args=(str(ready_home.root), t, barrier)) for t in "AB"]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0, 0]
    with Registry.open(ready_home) as reg:
        records = reg.list()
        assert sorted(r.patient_ref for r in records) == sorted(
            f"{t}-{i}" for t in "AB" for i in range(PER_PROCESS)
        )
        assert len({r.id for r in records}) == 2 * PER_PROCESS
        notes = [e for e in reg.audit_entries() if e.event == "note"]
        assert len(notes) == 2 * PER_PROCESS
        writers = [e.detail["writer"] for e in notes]
        assert set(writers) == {"A", "B"}
        assert reg.verify_audit().ok and reg.verify().ok  # one unbroken chain, no fork
