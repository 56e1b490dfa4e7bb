"""The ground every capability stands on: the CLI surface, exit codes, doctor, sample media."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from consentclip.cli import app
from consentclip.cli._util import cli_command
from consentclip.detect.models import model_checks
from consentclip.errors import ConsentRefused, ExitCode, MediaError, UsageError
from consentclip.media.ffmpeg import ffmpeg_checks, safe_path

SAMPLE_MEDIA = Path(__file__).resolve().parents[1] / "sample_media"

GROUPS = ["consent", "link", "preview", "export", "batch", "audit", "doctor", "init"]


def test_help_lists_every_command_group(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for name in GROUPS:
        assert f" {name} " in result.output or f" {name}\n" in result.output, name


@pytest.mark.parametrize("name", GROUPS)
def test_every_group_has_real_help(runner: CliRunner, name: str) -> None:
    result = runner.invoke(app, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.startswith("consentclip ")


def test_module_entry_point_runs() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "consentclip", "--help"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0
    assert "export" in proc.stdout


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (UsageError("bad purpose"), ExitCode.USAGE),
        (MediaError("corrupt"), ExitCode.ERROR),
        (ConsentRefused("no grant", rule="not_granted"), ExitCode.REFUSED),
    ],
)
def test_typed_errors_map_to_stable_exit_codes(error: Exception, code: ExitCode) -> None:
    probe = typer.Typer()

    @probe.command()
    @cli_command
    def fail() -> None:
        raise error

    result = CliRunner().invoke(probe, [])
    assert result.exit_code == int(code)
    assert result.output.startswith("error: ")
    assert len(result.output.strip().splitlines()) == 1


def test_unknown_option_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(app, ["doctor", "--no-such-flag"])
    assert result.exit_code == ExitCode.USAGE


def test_ffmpeg_and_models_are_present() -> None:
    failed = [c for c in (*ffmpeg_checks(), *model_checks()) if not c.ok]
    assert not failed, failed


def test_doctor_without_a_home_is_not_green(runner: CliRunner, home) -> None:
    result = runner.invoke(app, ["doctor", "--json"])
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["ok"] is False
    names = {c["name"]: c["ok"] for c in report["checks"]}
    assert names["ffmpeg"] and names["ffprobe"] and names["libx264 encoder"]
    assert any(not ok for ok in names.values())


def test_doctor_is_green_after_init(runner: CliRunner, home) -> None:
    first = runner.invoke(app, ["init"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(app, ["init"])
    assert second.exit_code == 0, second.output
    assert "already" in second.output.lower()
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 0, result.output
    assert "verdict: ready" in result.output


@pytest.mark.parametrize("name", ["-ver.mp4", "--output.mp4", "plain.mp4"])
def test_option_like_paths_are_defused(name: str) -> None:
    assert not safe_path(name).startswith("-")


def test_sample_media_is_small_and_dirty() -> None:
    """The samples must stay small, and keep the identifying metadata the demo strips."""
    files = {p.name: p for p in SAMPLE_MEDIA.iterdir() if p.suffix in {".mp4", ".mov", ".jpg"}}
    assert {"talking_head.mp4", "arm_tattoo_mole.mp4", "lesion_photo.jpg", "phone_clip.mov"} <= set(
        files
    )
    for path in files.values():
        assert path.stat().st_size < 2_000_000, path
    probe = json.loads(
        subprocess.run(
            [
                "ffprobe",
                "-v",
                "error",
                "-show_format",
                "-show_streams",
                "-of",
                "json",
                str(files["phone_clip.mov"]),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    tags = probe["format"]["tags"]
    assert tags["make"] == "Apple" and "location" in tags
    video = next(s for s in probe["streams"] if s["codec_type"] == "video")
    assert any(sd.get("rotation") in (90, -90) for sd in video.get("side_data_list", []))

    from PIL import Image

    exif = Image.open(files["lesion_photo.jpg"]).getexif()
    assert exif[0x010F] == "Apple" and exif[0x0112] == 6
    assert exif.get_ifd(0x8825)[2] == (51.0, 31.0, 12.5)
