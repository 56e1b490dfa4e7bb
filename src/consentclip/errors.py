"""Typed errors. Each carries a message a clinician can act on and a stable exit code.

The CLI turns any of these into one line on stderr and the exit code below; nothing else in the
package decides exit codes.
"""

from __future__ import annotations

import errno
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    REFUSED = 3
    BATCH_PARTIAL = 4
    INTERRUPTED = 130


class ConsentClipError(Exception):
    """Base class: an expected failure with a one-line, actionable message."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str, *, hint: str | None = None, option: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        # The input at fault, by its library name ("signer_name"): the library does not know
        # how a front end spells it; the CLI turns it into its flag (cli/options.OPTION_HINTS).
        self.option = option

    def one_line(self) -> str:
        text = self.message if not self.hint else f"{self.message} ({self.hint})"
        return " ".join(text.split())


class UsageError(ConsentClipError):
    """Bad arguments: an unknown purpose, a malformed date or region."""

    exit_code = ExitCode.USAGE


class NotFoundError(ConsentClipError):
    """A consent id, clip or file that does not exist."""


class HomeError(ConsentClipError):
    """The consent home is missing, unwritable, or from a newer schema."""


class IntegrityError(ConsentClipError):
    """A signature or the audit chain does not verify: the registry was edited behind our back."""


class MediaError(ConsentClipError):
    """A file cannot be decoded, processed or encoded."""


class DiskFullError(MediaError):
    """No space left while writing an output; what was half-written has been removed."""

    def __init__(self) -> None:
        super().__init__(
            "the disk is full: the output could not be written", hint="free space and retry"
        )


class VerificationError(MediaError):
    """The written output still carries something identifying; it has been removed."""


class ConsentRefused(ConsentClipError):
    """The consent gate refused: the rule that failed is in `rule`."""

    exit_code = ExitCode.REFUSED

    def __init__(self, message: str, *, rule: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.rule = rule


def from_os_error(exc: OSError) -> ConsentClipError:
    """An operating-system failure (a full disk, a read-only folder) as a one-line error."""
    where = f": {exc.filename}" if exc.filename else ""
    if exc.errno == errno.ENOSPC:
        return DiskFullError()
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return ConsentClipError(
            f"not allowed to write{where}", hint="check the folder's permissions"
        )
    return ConsentClipError(f"{exc.strerror or exc}{where}")


# --- hardening (issue 14): each still one line and exit 1 -------------------------------------
class RegistryError(HomeError):
    """The registry database cannot be used: read-only, locked too long, damaged or full."""


class RegistryBusy(RegistryError):
    """Another process held the registry's write lock for longer than the wait limit."""


class RollbackError(IntegrityError):
    """The registry is older than its audit anchor: a backup copy was put back, which could
    undo withdrawals. Refused until a person accepts it (``consentclip audit reanchor``)."""


class ClockError(IntegrityError):
    """The system clock is earlier than the newest audit entry: time would go backwards."""


class TooLargeError(MediaError):
    """An image, page or video frame is over the pixel/memory budget; refused before decoding."""


# --- people and the signing key (issue 17): one line each ------------------------------------
class PersonRequired(UsageError):
    """The clinic requires a named person for every change (clinic.toml ``[audit]
    require_person``) and none was given: exit 2, nothing was changed."""


class KeyPassphraseError(HomeError):
    """The clinic key is encrypted and the passphrase is missing or wrong: exit 1, nothing was
    changed or written."""
