"""Cluster scaling: batch on a Dask LocalCluster of 1 and 2 workers, side by side with the local
process-pool batch, in one run on one folder.

Each configuration runs the whole real path (discovery, consent gate on a real registry, engine
with detectors, manifests, QA sheets, report) into its own empty output folder. "cold" includes
what a user waits for with ``--cluster local:N`` (starting the cluster, each worker importing the
engine); "warm" is a cluster already running (as a hospital's would be) whose workers have done
one file each before the clock starts, which is the steady state that scales to N machines.

    .venv/bin/python bench/cluster_scaling.py                      # 8 clips of 2 s, 320x240
    .venv/bin/python bench/cluster_scaling.py --out bench/results/cluster.md
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from pathlib import Path

import distributed  # noqa: F401  (imported before any dask.config.set; see start_local_cluster)
import psutil
from distributed import Client

from batch_speedup import make_clips
from consentclip import scanread
from consentclip.batch import BatchReport, BatchRequest, run_batch
from consentclip.cluster import start_local_cluster
from consentclip.consent import templates
from consentclip.consent.records import Grant, Purpose, Signer, SignerRole
from consentclip.consent.registry import NewConsent, Registry
from consentclip.home import Home

SIGNATURE = Path(__file__).resolve().parents[1] / "sample_media/signatures/sample-signature.png"


def signed_consent(home: Home) -> str:
    """A consent signed the way a clinic signs one (a real signed PDF kept in the home), so the
    gate's integrity check passes as in production."""
    Registry.initialise(home)
    with Registry.open(home) as registry:
        record = registry.create(
            NewConsent(
                patient_ref="BENCH-1",
                signer=Signer(SignerRole.PATIENT, "Bench Patient"),
                grants=(Grant(Purpose.TEACHING, False, False, date.today() + timedelta(days=30)),),
                template=templates.load("derm-video-photo", "en", home).ref,
                patient_name="Bench Patient",
            )
        )
    scanread.sign_electronically(
        home=home, consent_id=record.id, signature_image=SIGNATURE, signed_by="Bench Patient"
    )
    return record.id


def link_all(home: Home, consent_id: str, clips: list[Path]) -> None:
    with Registry.open(home) as registry:
        for clip in clips:
            sha = hashlib.sha256(clip.read_bytes()).hexdigest()
            registry.link_clip(consent_id, sha, clip.name, "video")


def cpu_seconds(worker_pids: Sequence[int] = ()) -> float:
    """CPU of this process, its reaped children (a local:N cluster's workers once it is closed,
    the ffmpeg processes of an inline batch) and the given live processes with their reaped
    children (a running cluster's workers and their ffmpeg processes). Unlike wall time on a
    shared machine, this hardly depends on what else runs."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
    for pid in worker_pids:
        t = psutil.Process(pid).cpu_times()
        total += t.user + t.system + t.children_user + t.children_system
    return total


def timed(
    run: Callable[[], BatchReport], files: int, worker_pids: Sequence[int] | None = None
) -> tuple[float, float | None, BatchReport]:
    """Wall seconds, CPU seconds (None where they cannot be counted) and the report."""
    pids = worker_pids or ()
    c0, t0 = cpu_seconds(pids), time.perf_counter()
    report = run()
    wall, cpu = time.perf_counter() - t0, cpu_seconds(pids) - c0
    if report.count("exported") != files:
        raise SystemExit(f"not every file was exported: {report.summary()}")
    return wall, (cpu if worker_pids is not None else None), report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--size", default="320x240")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--out", type=Path, help="also write the table as markdown here")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))

    rows: list[tuple[str, int, float, float | None, int]] = []
    idle: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="cc-cluster-bench-") as tmp:
        root = Path(tmp)
        home = Home(root / "home")
        os.environ["CONSENTCLIP_HOME"] = str(home.root)
        clips = make_clips(root / "day", args.clips, args.seconds, args.size)
        # Warm-up files: other clips, so the measured batch never finds an earlier export.
        warm = make_clips(root / "warm", max(args.workers), 0.4, args.size)
        consent_id = signed_consent(home)
        link_all(home, consent_id, [*clips, *warm])

        def request(name: str, **kw: object) -> BatchRequest:
            folder = kw.pop("folder", root / "day")
            return BatchRequest(
                root=folder,  # type: ignore[arg-type]
                purpose=Purpose.TEACHING,
                out_dir=root / f"out-{name}",
                **kw,  # type: ignore[arg-type]
            )

        load_before = os.getloadavg()[0]
        for n in args.workers:
            # Inline (n = 1) runs in this process, so its CPU is countable; a pool's workers are
            # forked by a forkserver and reaped there, out of sight.
            wall, cpu, report = timed(
                lambda n=n: run_batch(home, request(f"pool{n}", workers=n)),
                len(clips),
                worker_pids=[] if n == 1 else None,
            )
            rows.append((f"local pool (--workers {n})", n, wall, cpu, report.frames))
        for n in args.workers:
            wall, cpu, report = timed(
                lambda n=n: run_batch(home, request(f"cold{n}", cluster=f"local:{n}")),
                len(clips),
                worker_pids=[],  # closed inside the batch, so reaped: counted as children
            )
            rows.append((f"cluster local:{n}, cold", n, wall, cpu, report.frames))
        for n in args.workers:
            cluster = start_local_cluster(n)
            try:
                address = cluster.scheduler_address
                run_batch(home, request(f"warmup{n}", cluster=address, folder=root / "warm"))
                with Client(address) as client:
                    pids = list(client.run(os.getpid).values())
                # Dask's own background (heartbeats, the workers' system monitors, the
                # scheduler in this process) costs CPU whether files run or not.
                c0, t0 = cpu_seconds(pids), time.perf_counter()
                time.sleep(10)
                idle[n] = (cpu_seconds(pids) - c0) / (time.perf_counter() - t0)
                wall, cpu, report = timed(
                    lambda a=address, n=n: run_batch(home, request(f"warm{n}", cluster=a)),
                    len(clips),
                    worker_pids=pids,
                )
            finally:
                cluster.close()
            rows.append((f"cluster of {n}, warm", n, wall, cpu, report.frames))
        load_after = os.getloadavg()[0]

    base = rows[0][2]
    title = (
        f"cluster scaling: {args.clips} clips of {args.seconds:g} s at {args.size}, 25 fps; "
        f"nproc={cores}; load average {load_before:.1f} before, {load_after:.1f} after"
    )
    lines = [
        title,
        f"{'configuration':<26} | {'wall s':>6} | {'CPU s':>6} | {'frames':>6} | "
        f"{'files/min':>9} | {'frames/s':>8} | {'CPU ms/frame':>12} | {'wall vs pool 1':>14}",
        "-+-".join("-" * w for w in (26, 6, 6, 6, 9, 8, 12, 14)),
    ]
    for name, _n, wall, cpu, frames in rows:
        cpu_s = f"{cpu:>6.1f}" if cpu is not None else f"{'-':>6}"
        per_frame = f"{cpu * 1000 / frames:>12.1f}" if cpu is not None else f"{'-':>12}"
        lines.append(
            f"{name:<26} | {wall:>6.1f} | {cpu_s} | {frames:>6} | "
            f"{args.clips * 60 / wall:>9.1f} | {frames / wall:>8.1f} | {per_frame} | "
            f"{base / wall:>13.2f}x"
        )
    pool_cpu = rows[0][3]
    for name, n, wall, cpu, _frames in rows:
        if name.endswith("warm") and cpu is not None and pool_cpu is not None:
            beyond = (cpu - pool_cpu - idle[n] * wall) / args.clips
            lines.append(
                f"warm cluster of {n}: Dask's idle background {idle[n]:.3f} CPU s per s; "
                f"CPU per file against the inline batch {(cpu - pool_cpu) / args.clips:+.2f} s, "
                f"{beyond:+.2f} s beyond the background"
            )
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text("```\n" + text + "\n```\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
