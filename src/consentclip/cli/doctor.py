"""consentclip doctor: is this machine ready to anonymise and export?"""

from __future__ import annotations

import platform
import sys

import typer

from consentclip.cli._util import JsonOption, cli_command, emit_json, home_from
from consentclip.consent.registry import home_checks as registry_home_checks
from consentclip.consent.templates import check as template_check
from consentclip.detect.models import model_checks
from consentclip.health import Check
from consentclip.home import Home
from consentclip.media.ffmpeg import ffmpeg_checks

HELP = "Check Python, ffmpeg/ffprobe, the bundled MediaPipe models and the consent home."


def python_checks() -> list[Check]:
    v = sys.version_info
    ok = (3, 10) <= (v.major, v.minor) <= (3, 12)
    detail = f"{platform.python_version()}" + ("" if ok else " (needs 3.10 to 3.12)")
    return [Check("python", ok, detail)]


def home_checks(home: Home) -> list[Check]:
    return registry_home_checks(home)


def template_checks(home: Home) -> list[Check]:
    """The consent form templates (shipped package data, and the clinic's own) all parse."""
    ok, detail = template_check(home)
    return [Check("consent templates", ok, detail)]


def text_model_checks() -> list[Check]:
    try:
        # Imported here so that doctor still reports everything else if OpenCV or numpy is broken.
        from consentclip.detect.text import text_checks
    except ImportError as exc:
        return [Check("model: text detection", False, f"cannot import: {exc}")]
    return text_checks()


def doctor(*, home: Home) -> list[Check]:
    return [
        *python_checks(),
        *ffmpeg_checks(),
        *model_checks(),
        *text_model_checks(),
        *home_checks(home),
        *template_checks(home),
    ]


@cli_command
def doctor_cli(ctx: typer.Context, json_out: JsonOption = False) -> None:
    checks = doctor(home=home_from(ctx))
    healthy = all(c.ok for c in checks)
    if json_out:
        emit_json({"ok": healthy, "checks": [c.__dict__ for c in checks]})
    else:
        for c in checks:
            label = "FAIL" if not c.ok else ("WARN" if c.warning else "ok  ")
            typer.echo(f"{label}  {c.name}: {c.detail}")
        typer.echo("verdict: ready" if healthy else "verdict: NOT ready (fix the FAIL lines above)")
    if not healthy:
        raise typer.Exit(1)
