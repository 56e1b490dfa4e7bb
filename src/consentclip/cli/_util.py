"""What every command shares: the error-to-exit-code mapping, JSON output, the consent home."""

from __future__ import annotations

import functools
import json
import sqlite3
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from typer.core import TyperArgument, TyperGroup

from consentclip import errors
from consentclip.cli.options import OPTION_HINTS
from consentclip.errors import ConsentClipError, ExitCode, from_os_error
from consentclip.home import Home
from consentclip.jsonable import jsonable

F = TypeVar("F", bound=Callable[..., Any])


def _plain_argument_help() -> None:
    """Typer 0.2x prints an argument's Python type after its name ("CLIP... <list[Path]>");
    an argument given a metavar shows the metavar alone, as options already do."""
    original = getattr(TyperArgument, "display_type_rich", None)
    if original is None or getattr(original, "_consentclip", False):
        return

    def display_type_rich(self: Any, ctx: Any) -> Any:
        return "" if self.metavar else original(self, ctx)

    display_type_rich._consentclip = True  # type: ignore[attr-defined]
    TyperArgument.display_type_rich = display_type_rich  # type: ignore[method-assign]


_plain_argument_help()

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
    """Map typed errors to one line on stderr and a stable exit code. Never a bare except.

    With ``--json`` the error is a JSON object on stdout instead (``report_error``)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        as_json = bool(kwargs.get("json_out"))
        from consentclip.cli.options import command_context  # here: options imports _util

        user = kwargs.pop("user", None)  # --user (cli/options.py): applied here, for every command
        try:
            with command_context(user):
                return fn(*args, **kwargs)
        except ConsentClipError as exc:
            if exc.option and not exc.hint:
                exc.hint = OPTION_HINTS.get(exc.option)
            report_error(exc.one_line(), exc.exit_code, as_json, kind=_kind(exc))
        except OSError as exc:  # a full disk or a read-only folder, surfacing outside media/
            failure = from_os_error(exc)
            report_error(failure.one_line(), failure.exit_code, as_json, kind=_kind(failure))
        except EOFError:  # a truncated file deep inside a decoder; Click would say "Aborted!"
            report_error(
                "unexpected end of data (a truncated or damaged file?)", ExitCode.ERROR, as_json
            )
        except sqlite3.Error as exc:  # the registry wraps its own; this is the last resort
            report_error(f"the consent registry cannot be used: {exc}", ExitCode.ERROR, as_json)
        except KeyboardInterrupt:
            report_error(
                "nothing half-written was left behind",
                ExitCode.INTERRUPTED,
                as_json,
                kind="interrupted",
            )

    return wrapper  # type: ignore[return-value]


def report_error(message: str, code: int, as_json: bool, *, kind: str = "error") -> NoReturn:
    """One line on stderr (``error: ...``), or ``{"error": {...}}`` on stdout for --json."""
    if as_json:
        typer.echo(
            json.dumps(
                {"error": {"code": int(code), "kind": kind, "message": message}},
                ensure_ascii=False,
            )
        )
    else:
        prefix = "interrupted" if kind == "interrupted" else "error"
        typer.echo(f"{prefix}: {message}", err=True)
    raise typer.Exit(int(code))


def _kind(exc: ConsentClipError) -> str:
    """A stable name for scripts: usage, refused, not_found, integrity, media, home, error."""
    for cls, name in (
        (errors.PersonRequired, "person_required"),
        (errors.KeyPassphraseError, "passphrase"),
        (errors.UsageError, "usage"),
        (errors.ConsentRefused, "refused"),
        (errors.NotFoundError, "not_found"),
        (errors.IntegrityError, "integrity"),
        (errors.MediaError, "media"),
        (errors.HomeError, "home"),
    ):
        if isinstance(exc, cls):
            return name
    return "error"


def emit_json(data: Any) -> None:
    typer.echo(json.dumps(jsonable(data), indent=2, ensure_ascii=False))


def home_from(ctx: typer.Context, explicit: Path | None = None) -> Home:
    """The consent home: a command's own --home, else the root --home, else env/default."""
    if explicit is not None:
        return Home.resolve(explicit)
    root = ctx.find_root()
    root_home = (root.obj or {}).get("home") if isinstance(root.obj, dict) else None
    return Home.resolve(root_home)


class ConsentClipGroup(TyperGroup):
    """The root command: Click's usage errors become one line (or a JSON object under
    ``--json``) with exit code 2, like every other failure, and "Aborted!" never appears."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        if not standalone_mode:
            return super().main(argv, prog_name, complete_var, standalone_mode, **extra)
        as_json = "--json" in argv
        try:
            code = super().main(argv, prog_name, complete_var, False, **extra)
        except typer.Abort as exc:
            reason = "unexpected end of input" if isinstance(exc.__cause__, EOFError) else "aborted"
            _exit_one_line(reason, ExitCode.ERROR, as_json)
        except typer.Exit as exc:
            sys.exit(exc.exit_code)
        except Exception as exc:  # Click's own errors; their classes differ between Typer versions
            if not (hasattr(exc, "format_message") and hasattr(exc, "exit_code")):
                raise
            message = " ".join(str(exc.format_message()).split())
            command = getattr(getattr(exc, "ctx", None), "command_path", "") or "consentclip"
            hint = f" (see '{command} --help')" if exc.exit_code == ExitCode.USAGE else ""
            _exit_one_line(message + hint, exc.exit_code, as_json, kind="usage")
        sys.exit(code if isinstance(code, int) else 0)


def _exit_one_line(message: str, code: int, as_json: bool, *, kind: str = "error") -> NoReturn:
    try:
        report_error(message, code, as_json, kind=kind)
    except typer.Exit as done:
        sys.exit(done.exit_code)
