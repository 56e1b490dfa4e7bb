"""What issue 14's hardening costs, side by side in one run.

1. A registry write (open, append one audit entry, close) with the audit anchor and without it
   (anchor check and update switched off in this process only): the anchor's price per write.
2. Refusing decompression bombs from their headers: wall time and the child process's peak
   memory for ``consent sign --scan`` on a 30000x30000 PNG and a 14400x14400 pt PDF page, and for
   ``link`` on a 12000x12000 Y4M clip header, next to the memory a decode would have needed.

    .venv/bin/python bench/hardening.py [--writes 200]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from consentclip.consent import anchor  # noqa: E402
from consentclip.consent.registry import Registry  # noqa: E402
from consentclip.home import Home  # noqa: E402
from hardening.test_bombs import pdf_bomb, png_bomb, y4m_bomb  # noqa: E402


def writes_per_second(home: Home, n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        with Registry.open(home) as registry:
            registry.append_audit("bench")
    return n / (time.perf_counter() - t0)


def anchor_cost(n: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        home = Home(Path(tmp) / "h")
        Registry.initialise(home)
        with_anchor = writes_per_second(home, n)
        saved = anchor.check, anchor.advance
        anchor.check = lambda *a, **k: None  # type: ignore[assignment]
        anchor.advance = lambda *a, **k: []  # type: ignore[assignment]
        try:
            without = writes_per_second(home, n)
        finally:
            anchor.check, anchor.advance = saved
    return with_anchor, without


def refusal(argv: list[str], env: dict[str, str]) -> tuple[float, float, int, str]:
    """Wall seconds, peak RSS (MiB) of the child, exit code, last line."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    last = (done.stderr.strip().splitlines() or [""])[-1]
    return wall, max(peak, before) / 1024, done.returncode, last


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--writes", type=int, default=200)
    args = parser.parse_args()

    with_anchor, without = anchor_cost(args.writes)
    print(f"nproc={os.cpu_count()}")
    print("| registry write (open, one audit entry, close) | writes/s | ratio |")
    print("|---|---|---|")
    print(f"| without the anchor | {without:.0f} | 1.00 |")
    print(f"| with the anchor | {with_anchor:.0f} | {with_anchor / without:.2f} |")

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = {**os.environ, "CONSENTCLIP_HOME": str(root / "home")}
        env["PYTHONPATH"] = str(REPO / "src")
        cli = [sys.executable, "-m", "consentclip"]
        subprocess.run([*cli, "init"], env=env, check=True, capture_output=True)
        new = [*cli, "consent", "new", "--patient", "P", "--grant", "teaching",
               "--patient-name", "Ann", "--expires", "2099-01-01"]  # fmt: skip
        draft = subprocess.run(new, env=env, check=True, capture_output=True, text=True)
        cid = draft.stdout.strip().splitlines()[-1]
        cases = [
            ("PNG 30000x30000 scan", [*cli, "consent", "sign", cid, "--scan",
             str(png_bomb(root / "scan.png", 30000, 30000))], 30000 * 30000 * 3),
            ("PDF page 14400 pt (40000x40000 at 200 dpi)", [*cli, "consent", "sign", cid,
             "--scan", str(pdf_bomb(root / "scan.pdf"))], 40000 * 40000),
            ("Y4M clip 12000x12000", [*cli, "link", str(y4m_bomb(root / "c.y4m")), "--consent",
             cid], 12000 * 12000 * 3),
        ]  # fmt: skip
        print()
        print("| bomb | file bytes | decode would need | refused in s | peak RSS MiB | exit |")
        print("|---|---|---|---|---|---|")
        for name, argv, need in cases:
            size = Path(argv[-1] if "--scan" in argv else argv[-3]).stat().st_size
            wall, peak, code, last = refusal(argv, env)
            need_gib = need / 2**30
            print(f"| {name} | {size} | {need_gib:.1f} GiB | {wall:.2f} | {peak:.0f} | {code} |")
            print(f"|  | `{last[:90]}` | | | | |")


if __name__ == "__main__":
    main()
