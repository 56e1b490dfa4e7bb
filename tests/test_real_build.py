"""bench/real/build.py: real-material sets rebuilt from mirrored repositories, including files kept
inside an archive that a repository commits (the clinical close-up set lives in a RAR)."""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

BUILD = Path(__file__).resolve().parents[1] / "bench" / "real" / "build.py"


def _build_module() -> ModuleType:
    name = "real_build"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BUILD)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _git(repo: Path, *args: str) -> str:
    out = subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        capture_output=True,
        check=True,
        text=True,
    )
    return out.stdout.strip()


@pytest.fixture()
def mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[ModuleType, Path, str]:
    """A mirrored repository owner/pics holding one plain image and one zip of two images."""
    build = _build_module()
    repo = tmp_path / "mirrors" / "owner+pics" / "repo"
    repo.mkdir(parents=True)
    _git(repo, "init", "-q")
    (repo / "plain.jpg").write_bytes(b"plain image bytes")
    with zipfile.ZipFile(repo / "set.zip", "w") as zf:
        zf.writestr("Original Images/a.jpg", b"first member")
        zf.writestr("Original Images/b.jpg", b"second member")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "images")
    commit = _git(repo, "rev-parse", "HEAD")
    monkeypatch.setenv("CONSENTCLIP_MIRRORS", str(tmp_path / "mirrors"))
    monkeypatch.setattr(build, "DATA", tmp_path / "data")
    return build, tmp_path, commit


def _manifest(set_dir: Path, items: list[dict[str, str]]) -> None:
    set_dir.mkdir(parents=True)
    lines = ['[set]\nname = "demo"\n']
    for item in items:
        lines.append("[[item]]\n" + "".join(f'{k} = "{v}"\n' for k, v in item.items()))
    (set_dir / "manifest.toml").write_text("\n".join(lines))


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.skipif(shutil.which("bsdtar") is None, reason="needs bsdtar (libarchive-tools)")
def test_members_of_an_archive_are_copied_and_checked(mirror) -> None:
    build, tmp, commit = mirror
    base = {"repo": "owner/pics", "commit": commit, "licence": "CC0-1.0"}
    set_dir = tmp / "sets" / "demo"
    _manifest(
        set_dir,
        [
            {**base, "path": "plain.jpg", "file": "p.jpg", "sha256": _sha(b"plain image bytes")},
            {
                **base,
                "path": "set.zip",
                "member": "Original Images/b.jpg",
                "file": "b.jpg",
                "sha256": _sha(b"second member"),
            },
            {**base, "path": "set.zip", "member": "Original Images/a.jpg", "file": "a.jpg"},
            {**base, "path": "set.zip", "member": "Original Images/none.jpg", "file": "x.jpg"},
            {
                **base,
                "path": "set.zip",
                "member": "Original Images/a.jpg",
                "file": "bad.jpg",
                "sha256": _sha(b"not it"),
            },
        ],
    )
    present, problems = build.build_set(set_dir)
    out = tmp / "data" / "demo"
    assert present == 3
    assert (out / "p.jpg").read_bytes() == b"plain image bytes"
    assert (out / "b.jpg").read_bytes() == b"second member"
    assert (out / "a.jpg").read_bytes() == b"first member"
    assert not (out / "x.jpg").exists() and not (out / "bad.jpg").exists()
    assert len(problems) == 2
    assert problems[0].startswith("x.jpg: Original Images/none.jpg not read from set.zip")
    assert problems[1] == "bad.jpg: SHA-256 differs from the manifest"
    assert not list(out.glob(".*.part"))  # nothing half-written left


def test_an_archive_member_without_bsdtar_says_what_to_install(mirror, monkeypatch) -> None:
    build, tmp, commit = mirror
    monkeypatch.setattr(build.shutil, "which", lambda name: None)
    set_dir = tmp / "sets" / "demo"
    _manifest(
        set_dir,
        [
            {
                "repo": "owner/pics",
                "commit": commit,
                "path": "set.zip",
                "member": "Original Images/a.jpg",
                "licence": "CC0-1.0",
                "file": "a.jpg",
            }
        ],
    )
    present, problems = build.build_set(set_dir)
    assert present == 0
    assert problems == [
        "a.jpg: bsdtar is needed to read set.zip (Debian: apt-get install libarchive-tools)"
    ]


def test_an_unmirrored_repository_is_reported(mirror) -> None:
    build, tmp, commit = mirror
    set_dir = tmp / "sets" / "demo"
    _manifest(
        set_dir,
        [
            {
                "repo": "other/none",
                "commit": commit,
                "path": "a.jpg",
                "licence": "x",
                "file": "a.jpg",
            }
        ],
    )
    assert build.build_set(set_dir) == (0, ["a.jpg: other/none is not mirrored"])


def test_every_committed_manifest_names_its_provenance() -> None:
    """Each real set says where every file comes from and under which licence, once per file."""
    build = _build_module()
    sets = build.sets()
    assert {"closeups", "lesions", "tattoos"} <= {s.name for s in sets}
    for set_dir in sets:
        items = build.load_manifest(set_dir).get("item", [])
        assert items, set_dir.name
        for item in items:
            for key in ("repo", "commit", "path", "licence", "file"):
                assert item.get(key), (set_dir.name, item.get("file"), key)
            assert len(item["commit"]) == 40, (set_dir.name, item["file"])
        files = [item["file"] for item in items]
        assert len(files) == len(set(files)), set_dir.name
    closeups = build.load_manifest(build.HERE / "closeups")["item"]
    assert all(i["kind"] == "clinical close-up" and len(i["sha256"]) == 64 for i in closeups)
