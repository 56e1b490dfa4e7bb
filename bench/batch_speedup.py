"""Batch speed-up: N workers against 1 on the same folder of small clips, side by side in one run.

Each configuration runs the whole real path (content discovery, consent gate against a real
registry, the engine with its detectors, manifests, QA sheets, the report) into its own empty
output folder, so no run can reuse another's work. Worker start-up (spawned processes importing
MediaPipe) is part of the measured time, as a user would see it.

    .venv/bin/python bench/batch_speedup.py                      # 8 clips, workers 1 and 2
    .venv/bin/python bench/batch_speedup.py --clips 12 --workers 1 2 4 --seconds 3
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from consentclip.batch import BatchRequest, default_workers, run_batch
from consentclip.consent.records import Grant, Purpose, Signature, Signer, SignerRole, Template
from consentclip.consent.registry import NewConsent, Registry
from consentclip.home import Home


def make_clips(folder: Path, count: int, seconds: float, size: str) -> list[Path]:
    """Distinct clips (different test patterns/offsets), so no two share a hash."""
    folder.mkdir(parents=True)
    clips = []
    patterns = ("testsrc2", "testsrc", "smptebars", "rgbtestsrc")
    for i in range(count):
        clip = folder / f"clip{i:02d}.mp4"
        pattern = patterns[i % len(patterns)]
        source = f"{pattern}=size={size}:rate=25:duration={seconds + i * 0.04:.2f}"
        subprocess.run(
            ["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", source,
             "-pix_fmt", "yuv420p", str(clip)],
            check=True,
        )  # fmt: skip
        clips.append(clip)
    return clips


def signed_consent(home: Home) -> str:
    Registry.initialise(home)
    new = NewConsent(
        patient_ref="BENCH-1",
        signer=Signer(SignerRole.PATIENT, "Bench Patient"),
        grants=(Grant(Purpose.TEACHING, False, False, date.today() + timedelta(days=30)),),
        template=Template("bench", "1", "en", hashlib.sha256(b"bench").hexdigest()),
    )
    with Registry.open(home) as registry:
        record = registry.create(new)
        registry.sign(
            record.id,
            Signature("electronic", datetime.now(timezone.utc), "Bench Patient", "0" * 64),
        )
    return record.id


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--size", default="320x240")
    parser.add_argument("--workers", type=int, nargs="+", default=None)
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    workers = args.workers or sorted({1, max(2, cores)})

    with tempfile.TemporaryDirectory(prefix="cc-batch-bench-") as tmp:
        root = Path(tmp)
        home = Home(root / "home")
        os.environ["CONSENTCLIP_HOME"] = str(home.root)
        clips = make_clips(root / "day", args.clips, args.seconds, args.size)
        consent_id = signed_consent(home)
        with Registry.open(home) as registry:
            for clip in clips:
                sha = hashlib.sha256(clip.read_bytes()).hexdigest()
                registry.link_clip(consent_id, sha, clip.name, "video")

        rows = []
        for n in workers:
            out = root / f"out-w{n}"
            request = BatchRequest(
                root=root / "day", purpose=Purpose.TEACHING, out_dir=out, workers=n
            )
            t0 = time.perf_counter()
            report = run_batch(home, request)
            wall = time.perf_counter() - t0
            if report.count("exported") != len(clips):
                print(f"workers={n}: {report.summary()}", file=sys.stderr)
                return 1
            rows.append((n, wall, report.frames))

    base = rows[0][1]
    print(f"batch speed-up: {args.clips} clips of {args.seconds:g} s at {args.size}, 25 fps; "
          f"nproc={cores}; default workers={default_workers()}")  # fmt: skip
    print(f"{'workers':>7} | {'wall s':>7} | {'frames':>6} | {'frames/s':>8} | {'speed-up':>8}")
    print(f"{'-' * 7}-+-{'-' * 7}-+-{'-' * 6}-+-{'-' * 8}-+-{'-' * 8}")
    for n, wall, frames in rows:
        print(f"{n:>7} | {wall:>7.1f} | {frames:>6} | {frames / wall:>8.1f} | {base / wall:>7.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
