"""People, not accounts: who is acting, for the audit log.

Several people share one workstation account (``clinic``) and one person uses several
workstations, so the operating-system login does not say who revoked a consent or approved an
export. Every audit entry therefore also records the *person*, taken from (first found):

1. ``--user NAME`` on the command line (the CLI puts it into the environment variable below
   for the command's duration, so batch workers started by it inherit it);
2. ``$CONSENTCLIP_USER`` (a service, or a terminal session's login script);
3. ``user = "..."`` in the ``[audit]`` table of the home's ``clinic.toml`` (a workstation that
   one person uses).

With ``require_person = true`` in the same table, every change to the registry is refused
(``PersonRequired``, exit 2) until a person is named; reading is never refused. The default is
not to require one, and an entry without a person records ``""``.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from consentclip.consent.clinic import read_settings
from consentclip.consent.signing import PASSPHRASE_ENV
from consentclip.errors import HomeError, PersonRequired, UsageError
from consentclip.home import Home

USER_ENV = "CONSENTCLIP_USER"
MAX_NAME = 120

# The person the registry's current write transaction acts for; audit.append reads it. Set
# only by ``acting_as`` (Registry.transaction), so an entry can never carry a stale name.
_ACTING: ContextVar[str] = ContextVar("consentclip_acting_person", default="")


@dataclass(frozen=True)
class AuditPolicy:
    """The ``[audit]`` table of clinic.toml."""

    user: str = ""  # this workstation's default person
    require_person: bool = False

    @classmethod
    def load(cls, home: Home) -> AuditPolicy:
        """Only the [audit] table: a change must not fail over, say, a missing logo."""
        data = read_settings(home)
        return cls() if data is None else cls.from_dict(data.get("audit", {}), home.settings_path)

    @classmethod
    def from_dict(cls, data: object, where: Path) -> AuditPolicy:
        if not isinstance(data, dict):
            raise HomeError(f"[audit] in {where} must be a table")
        user = data.get("user", "")
        if not isinstance(user, str):
            raise HomeError(f"audit.user in {where} must be a name in quotes")
        required = data.get("require_person", False)
        if not isinstance(required, bool):
            raise HomeError(f"audit.require_person in {where} must be true or false")
        try:
            name = check_name(user, source=f"audit.user in {where}") if user.strip() else ""
        except UsageError as exc:
            raise HomeError(exc.message) from None
        return cls(name, required)


def check_name(name: str, *, source: str = "--user") -> str:
    """A person's name as recorded: stripped, printable, at most MAX_NAME characters.

    Control characters are refused because the audit hash joins fields with one (and a name
    with a newline would forge a line in ``audit log``)."""
    cleaned = name.strip()
    if not cleaned:
        raise UsageError(f"{source} is empty: give the person's name")
    if any(unicodedata.category(ch).startswith("C") for ch in cleaned):
        raise UsageError(f"{source} contains a control character; give a plain name")
    if len(cleaned) > MAX_NAME:
        raise UsageError(f"{source} is longer than {MAX_NAME} characters")
    return cleaned


def from_environment() -> str:
    """``$CONSENTCLIP_USER`` checked, or "" when unset or blank."""
    value = os.environ.get(USER_ENV, "")
    return check_name(value, source=f"${USER_ENV}") if value.strip() else ""


@dataclass(frozen=True)
class Acting:
    """Who acts on this home, and whether the clinic insists on knowing."""

    person: str
    required: bool
    source: str  # "--user / $CONSENTCLIP_USER", "clinic.toml" or "" (nobody named)

    def require(self) -> None:
        """PersonRequired when the clinic requires a person and none is named."""
        if self.required and not self.person:
            raise PersonRequired(
                "this clinic records who changes the registry and no person was named",
                hint=f"add --user NAME, set ${USER_ENV}, or set [audit] user in clinic.toml",
            )


def resolve(home: Home) -> Acting:
    """The acting person for ``home`` (see the module docstring for the order)."""
    policy = AuditPolicy.load(home)
    named = from_environment()
    if named:
        return Acting(named, policy.require_person, f"--user / ${USER_ENV}")
    if policy.user:
        return Acting(policy.user, policy.require_person, "clinic.toml")
    return Acting("", policy.require_person, "")


@contextmanager
def acting_as(person: str) -> Iterator[None]:
    """Record ``person`` on every audit entry appended inside the block."""
    token = _ACTING.set(person)
    try:
        yield
    finally:
        _ACTING.reset(token)


def acting() -> str:
    """The person the current write acts for ("" outside ``acting_as`` or when nobody is)."""
    return _ACTING.get()


@contextmanager
def named_user(name: str | None) -> Iterator[None]:
    """``--user NAME`` for one command: ``$CONSENTCLIP_USER`` holds it while the command runs
    (worker processes inherit it), and its old value is put back afterwards."""
    if name is None:
        yield
        return
    cleaned = check_name(name)
    old = os.environ.get(USER_ENV)
    os.environ[USER_ENV] = cleaned
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(USER_ENV, None)
        else:
            os.environ[USER_ENV] = old


def worker_environment() -> dict[str, str | None]:
    """The variables a worker process needs to act for the same person with the same key:
    ``$CONSENTCLIP_USER`` and ``$CONSENTCLIP_KEY_PASSPHRASE`` as they are now (None: unset)."""
    return {name: os.environ.get(name) for name in (USER_ENV, PASSPHRASE_ENV)}


def apply_environment(values: dict[str, str | None]) -> None:
    """In a worker: take over ``worker_environment()`` from the process that started it."""
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
