"""The CLI a clinic's IT person meets: choices in --help, one output spelling, exit codes in
every --help, JSON errors, shell completion, one-line failures, and an import that works
without POSIX-only modules (Windows)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from consentclip.cli import app

REPO = Path(__file__).resolve().parents[2]


def _commands(command: object, path: list[str]) -> Iterator[list[str]]:
    yield path
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _commands(sub, [*path, name])


ALL_COMMANDS = list(_commands(typer.main.get_command(app), []))


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=lambda p: " ".join(p) or "root")
def test_every_help_lists_exit_codes_and_no_python_types(
    runner: CliRunner, path: list[str]
) -> None:
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert (
        "Exit codes:" in result.output and "3    refused for lack of valid consent" in result.output
    )
    assert "<list[" not in result.output


@pytest.mark.parametrize("command", [["export"], ["batch"], ["consent", "revoke"]])
def test_purposes_are_choices_in_help(runner: CliRunner, command: list[str]) -> None:
    text = " ".join(runner.invoke(app, [*command, "--help"]).output.split())
    assert "clinical_record|teaching|conference|journal|public_web|social_media" in text


def test_modes_roles_and_agreements_are_choices(runner: CliRunner) -> None:
    assert "blur|" in " ".join(runner.invoke(app, ["export", "--help"]).output.split())
    new = " ".join(runner.invoke(app, ["consent", "new", "--help"]).output.split())
    assert "patient|parent|guardian|legal_representative" in new
    sign = " ".join(runner.invoke(app, ["consent", "sign", "--help"]).output.split())
    assert "social_media|all" in sign
    result = runner.invoke(app, ["export", "x.mp4", "--purpose", "tiktok", "--out", "o"])
    assert result.exit_code == 2
    assert "tiktok" in result.output and len(result.output.strip().splitlines()) == 1


def test_one_spelling_for_the_output_folder(runner: CliRunner, tmp_path: Path) -> None:
    for command in (["export"], ["batch"], ["preview"], ["consent", "pdf"]):
        text = runner.invoke(app, [*command, "--help"]).output
        assert "-o, --out" in text and "--output" not in text, command
    clip = tmp_path / "missing.mp4"
    # The old spelling still works (hidden): it reaches the engine, which names the real problem.
    result = runner.invoke(app, ["preview", str(clip), "--output", str(tmp_path / "p.mp4")])
    assert result.exit_code == 1 and "missing.mp4" in result.output, result.output
    both = ["preview", str(clip), "-o", "a.mp4", "--output", "b.mp4"]
    result = runner.invoke(app, both)
    assert result.exit_code == 2 and "give --out once" in result.output
    result = runner.invoke(app, ["preview", str(clip)])
    assert result.exit_code == 2 and "missing option --out" in result.output


def test_errors_under_json_are_json(runner: CliRunner, tmp_path: Path) -> None:
    os.environ.pop("CONSENTCLIP_HOME", None)
    home = ["--home", str(tmp_path / "nowhere")]
    result = runner.invoke(app, [*home, "consent", "show", "C-7K2M", "--json"])
    assert result.exit_code == 1
    error = json.loads(result.stdout)["error"]
    assert error["code"] == 1 and error["kind"] == "home" and "consentclip init" in error["message"]
    result = runner.invoke(app, ["export", "x.mp4", "--json", "--no-such-option"])
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert (
        error
        == {
            "code": 2,
            "kind": "usage",
            "message": error["message"],
        }
        and "--no-such-option" in error["message"]
    )


def test_usage_errors_are_one_line(runner: CliRunner) -> None:
    result = runner.invoke(app, ["consent", "new", "--patient", "P1"])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and result.output.startswith("error: Missing option")


def test_shell_completion(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO / "src"),
        "_CONSENTCLIP_COMPLETE": "complete_bash",
        "COMP_WORDS": "consentclip con",
        "COMP_CWORD": "1",
    }
    code = "from consentclip.cli import main; main()"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "consent" in done.stdout.split()
    env["COMP_WORDS"], env["COMP_CWORD"] = "consentclip export x --purpose te", "4"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert "teaching" in done.stdout.split(), done.stdout
    result = CliRunner().invoke(app, ["--help"])
    assert "--install-completion" in result.output


def test_help_works_without_posix_only_modules() -> None:
    """What Windows lacks (fcntl, termios, resource): --version and --help still work."""
    code = (
        "import sys\n"
        "for name in ('fcntl', 'termios', 'resource'):\n"
        "    sys.modules[name] = None  # import fails as on Windows\n"
        "sys.argv = ['consentclip', '--help']\n"
        "from consentclip.cli import main\n"
        "import consentclip.media.ffmpeg, consentclip.batch, consentclip.export\n"
        "main()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "Exit codes:" in done.stdout


def test_a_broken_heic_gives_a_reason(runner: CliRunner, tmp_path: Path, home: object) -> None:
    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()
    good = tmp_path / "IMG_0001.HEIC"
    Image.new("RGB", (64, 48), "gray").save(good, quality=80)
    broken = tmp_path / "IMG_0002.HEIC"
    broken.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    for argv in (
        ["link", str(broken), "--consent", "C-7K2M"],
        ["export", str(broken), "--purpose", "teaching", "--out", str(tmp_path / "o")],
        ["preview", str(broken), "--out", str(tmp_path / "p.png")],
    ):
        result = runner.invoke(app, argv)
        assert result.exit_code in (1, 2), (argv, result.output)
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (argv, result.output)
        assert "Aborted" not in result.output
