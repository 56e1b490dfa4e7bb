"""consentclip preview, in-process through Typer's CliRunner, with the real engine."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consentclip.cli import app

SAMPLES = Path(__file__).resolve().parents[2] / "sample_media"
FAST = ["--no-tattoos", "--preset", "ultrafast", "--quiet"]


def test_preview_writes_a_marked_clip(
    runner: CliRunner, make_clip: Callable[..., Path], tmp_path: Path
) -> None:
    clip = make_clip("a.mp4", seconds=0.5)
    out = tmp_path / "p.mp4"
    result = runner.invoke(app, ["preview", str(clip), "-o", str(out), *FAST, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["media_kind"] == "video" and data["frames"] in (12, 13)
    assert data["verification"]["ok"] and not data["audio_kept"]
    assert out.is_file()


def test_refuses_to_overwrite_without_force(
    runner: CliRunner, make_clip: Callable[..., Path], tmp_path: Path
) -> None:
    clip = make_clip("a.mp4", seconds=0.2, audio=False)
    out = tmp_path / "p.mp4"
    out.write_bytes(b"precious")
    result = runner.invoke(app, ["preview", str(clip), "-o", str(out), *FAST])
    assert result.exit_code == 2 and "--force" in result.stderr
    assert out.read_bytes() == b"precious"
    result = runner.invoke(app, ["preview", str(clip), "-o", str(out), *FAST, "--force"])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() != b"precious"


@pytest.mark.parametrize(
    "content,needle", [(None, "not found"), (b"", "empty"), (b"hello", "not a readable")]
)
def test_bad_inputs_are_one_line_errors(
    runner: CliRunner, tmp_path: Path, content: bytes | None, needle: str
) -> None:
    src = tmp_path / "input.mp4"
    if content is not None:
        src.write_bytes(content)
    result = runner.invoke(app, ["preview", str(src), "-o", str(tmp_path / "o.mp4"), *FAST])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0]
    assert not (tmp_path / "o.mp4").exists()


def test_option_like_file_names(
    runner: CliRunner, make_clip: Callable[..., Path], tmp_path: Path
) -> None:
    shutil.move(make_clip("x.mp4", seconds=0.2, audio=False), tmp_path / "-ver.mp4")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = runner.invoke(app, ["preview", *FAST, "-o", "--output.mp4", "--", "-ver.mp4"])
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "--output.mp4").is_file()


def test_bad_region_is_a_usage_error(
    runner: CliRunner, make_clip: Callable[..., Path], tmp_path: Path
) -> None:
    clip = make_clip("a.mp4", seconds=0.2, audio=False)
    args = ["preview", str(clip), "-o", str(tmp_path / "o.mp4"), *FAST, "--region", "1,2,3"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "x,y,w,h" in result.stderr


def test_keep_over_a_face_warns_loudly(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "p.png"
    frame = tmp_path / "head.png"
    import subprocess

    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-i", str(SAMPLES / "talking_head.mp4"),
         "-frames:v", "1", str(frame)],
        check=True,
    )  # fmt: skip
    result = runner.invoke(
        app, ["preview", str(frame), "-o", str(out), *FAST, "--keep", "0,0,640,360"]
    )
    assert result.exit_code == 0, result.output
    assert "WARNING" in result.stderr and "NOT redacted" in result.stderr


def test_tattoo_sensitivity_reaches_the_engine_settings(
    runner: CliRunner,
    make_clip: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import consentclip.cli.preview as preview_module

    seen = {}
    real = preview_module.preview

    def spy(clip, out, settings, **kwargs):
        seen["settings"] = settings
        return real(clip, out, settings, **kwargs)

    monkeypatch.setattr(preview_module, "preview", spy)
    clip = make_clip("a.mp4", seconds=0.2, audio=False)
    argv = ["preview", str(clip), "-o", str(tmp_path / "p.mp4"), "--quiet"]
    result = runner.invoke(app, [*argv, "--tattoo-sensitivity", "0.8", "--preset", "ultrafast"])
    assert result.exit_code == 0, result.output
    assert seen["settings"].tattoo_sensitivity == 0.8 and seen["settings"].tattoos
    bad = runner.invoke(app, [*argv, "--tattoo-sensitivity", "1.5"])
    assert bad.exit_code == 2
