"""What every command shares: the error-to-exit-code mapping, JSON output, the consent home."""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from consentclip.errors import ConsentClipError, ExitCode, NotBuiltError, from_os_error
from consentclip.home import Home

F = TypeVar("F", bound=Callable[..., Any])

JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON, for scripts.")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")]
HomeOption = Annotated[
    Path | None,
    typer.Option(
        "--home",
        help="Consent home directory (default: $CONSENTCLIP_HOME, else the user data directory).",
        file_okay=False,
    ),
]


def cli_command(fn: F) -> F:
    """Map typed errors to one line on stderr and a stable exit code. Never a bare except."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ConsentClipError as exc:
            typer.echo(f"error: {exc.one_line()}", err=True)
            raise typer.Exit(int(exc.exit_code)) from None
        except OSError as exc:  # a full disk or a read-only folder, surfacing outside media/
            failure = from_os_error(exc)
            typer.echo(f"error: {failure.one_line()}", err=True)
            raise typer.Exit(int(failure.exit_code)) from None
        except sqlite3.Error as exc:  # the registry wraps its own; this is the last resort
            typer.echo(f"error: the consent registry cannot be used: {exc}", err=True)
            raise typer.Exit(int(ExitCode.ERROR)) from None
        except KeyboardInterrupt:
            typer.echo("interrupted: nothing half-written was left behind", err=True)
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None

    return wrapper  # type: ignore[return-value]


def emit_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "value"):
        return value.value
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def home_from(ctx: typer.Context, explicit: Path | None = None) -> Home:
    """The consent home: a command's own --home, else the root --home, else env/default."""
    if explicit is not None:
        return Home.resolve(explicit)
    root = ctx.find_root()
    root_home = (root.obj or {}).get("home") if isinstance(root.obj, dict) else None
    return Home.resolve(root_home)


def not_built(what: str, issue: str) -> None:
    raise NotBuiltError(f"'{what}' is not built yet", hint=f"tracked in {issue}")
