"""Rebuild the real-material benchmark sets from public repositories mirrored on this machine.

Each set is a folder ``bench/real/<set>/`` with a ``manifest.toml``: where every file comes from
(repository, commit, path), under which licence, and the labels the benchmark scores against.
No image is committed: most of this material may be used but not redistributed by us. This
script copies each file out of the mirror (a bare git directory) into ``bench/real/data/<set>/``,
which git ignores, and checks its SHA-256 when the manifest records one.

    .venv/bin/python bench/real/build.py            # every set
    .venv/bin/python bench/real/build.py people     # one set

Mirrors are looked for under ``$CONSENTCLIP_MIRRORS`` (default ``/work/.mirror``), as
``<owner>+<name>/`` holding a bare git directory anywhere below it. A missing mirror or file is
reported and the set is marked incomplete; benchmarks must then say that their data is absent.

Manifest format::

    [set]
    name = "people"
    description = "real photos and clips of people: dim, backlit, crowds, profiles"

    [[item]]
    repo = "owner/name"          # GitHub repository
    commit = "40 hex digits"     # the commit the file was read at
    path = "path/in/repo.jpg"
    licence = "CC-BY-4.0"        # as the repository states it (SPDX id where there is one)
    member = "dir/x.jpg"         # optional: the file inside ``path`` when that is an archive
                                 # (zip, RAR, tar: read with bsdtar, Debian libarchive-tools)
    file = "crowd-01.jpg"        # name under bench/real/data/<set>/
    sha256 = "..."               # optional: checked after the copy
    # any further keys are labels for the benchmark (boxes, skin type, kind, ...)
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import tomllib

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"


def mirror_root() -> Path:
    return Path(os.environ.get("CONSENTCLIP_MIRRORS", "/work/.mirror"))


def find_git_dir(repo: str) -> Path | None:
    """The bare git directory of a mirrored ``owner/name``, or None when it is not mirrored."""
    top = mirror_root() / repo.replace("/", "+")
    if not top.is_dir():
        return None
    for head in sorted(top.rglob("HEAD")):
        cand = head.parent
        if (cand / "objects").is_dir():
            return cand
    return None


def load_manifest(set_dir: Path) -> dict:
    with (set_dir / "manifest.toml").open("rb") as fh:
        return tomllib.load(fh)


def sets() -> list[Path]:
    return sorted(p.parent for p in HERE.glob("*/manifest.toml"))


def data_dir(set_name: str) -> Path:
    return DATA / set_name


def read_item(git_dir: Path, item: dict, blobs: dict[tuple[str, str], bytes]) -> bytes | str:
    """The bytes of one item, or why they cannot be read.

    An item with a ``member`` lives inside an archive that the repository holds (some datasets
    are committed as one RAR or zip); the archive blob is read once per set (``blobs``) and the
    member taken out of it with bsdtar, which reads zip, RAR and tar from a pipe.
    """
    key = (item["commit"], item["path"])
    if key not in blobs:
        blob = subprocess.run(
            ["git", f"--git-dir={git_dir}", "show", f"{item['commit']}:{item['path']}"],
            capture_output=True,
            check=False,
        )
        if blob.returncode != 0:
            return blob.stderr.decode(errors="replace").strip()
        blobs[key] = blob.stdout
    data = blobs[key]
    member = item.get("member")
    if member is None:
        return data
    bsdtar = shutil.which("bsdtar")
    if bsdtar is None:
        return f"bsdtar is needed to read {item['path']} (Debian: apt-get install libarchive-tools)"
    got = subprocess.run(
        [bsdtar, "-xOf", "-", member], input=data, capture_output=True, check=False
    )
    if got.returncode != 0 or not got.stdout:
        why = got.stderr.decode(errors="replace").strip()
        return f"{member} not read from {item['path']}: {why}"
    return got.stdout


def build_set(set_dir: Path) -> tuple[int, list[str]]:
    """Copy every item of one set; returns (files present, problems)."""
    manifest = load_manifest(set_dir)
    out = data_dir(set_dir.name)
    out.mkdir(parents=True, exist_ok=True)
    present, problems = 0, []
    blobs: dict[tuple[str, str], bytes] = {}
    for item in manifest.get("item", []):
        target = out / item["file"]
        git_dir = find_git_dir(item["repo"])
        if git_dir is None:
            problems.append(f"{item['file']}: {item['repo']} is not mirrored")
            continue
        data = read_item(git_dir, item, blobs)
        if isinstance(data, str):
            problems.append(f"{item['file']}: {data}")
            continue
        want = item.get("sha256")
        if want and hashlib.sha256(data).hexdigest() != want:
            problems.append(f"{item['file']}: SHA-256 differs from the manifest")
            continue
        tmp = target.with_name(f".{target.name}.part")
        tmp.write_bytes(data)
        tmp.replace(target)
        present += 1
    return present, problems


def main(argv: list[str]) -> int:
    chosen = [s for s in sets() if not argv or s.name in argv]
    if not chosen:
        print(f"no such set: {' '.join(argv)}; sets: {' '.join(s.name for s in sets())}")
        return 2
    status = 0
    for set_dir in chosen:
        total = len(load_manifest(set_dir).get("item", []))
        present, problems = build_set(set_dir)
        print(f"{set_dir.name}: {present} of {total} files in {data_dir(set_dir.name)}")
        for problem in problems:
            print(f"  missing {problem}")
        status = status or (1 if problems else 0)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
