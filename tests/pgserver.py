"""A throwaway PostgreSQL server for the tests and bench/registry_scale.py.

Debian's ``postgresql`` package (scripts/install-system-deps.sh installs it): ``initdb`` and
``pg_ctl`` refuse to run as root, so as root they run as the ``postgres`` account (``runuser``),
otherwise as the current user. The cluster lives in a temporary folder, listens on 127.0.0.1 on a
free port with trust authentication (nothing else can reach it), runs without fsync for the
tests (``durable=True``, for benchmarks, keeps PostgreSQL's defaults) and is stopped and removed
at the end. Any failure raises PgUnavailable with the reason:
the tests fail with it, they are never skipped.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import quote


class PgUnavailable(RuntimeError):
    pass


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True):
        return candidate
    raise PgUnavailable(
        f"PostgreSQL's {name} was not found; run scripts/install-system-deps.sh "
        "(Debian package 'postgresql')"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PgServer:
    def __init__(self, *, durable: bool = False) -> None:
        self.durable = durable  # fsync and synchronous commits on (benchmarks), off for tests
        self.root = Path(tempfile.mkdtemp(prefix="consentclip-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._as: list[str] = []
        self._started = False
        self._schemas = 0

    def _run(self, *argv: str, timeout: float = 120) -> None:
        try:
            done = subprocess.run(
                [*self._as, *argv], capture_output=True, text=True, timeout=timeout, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PgUnavailable(f"{argv[0]} failed: {exc}") from None
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise PgUnavailable(f"{Path(argv[0]).name} failed: {' | '.join(tail)}")

    def start(self) -> PgServer:
        initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
        if os.geteuid() == 0:
            runuser = shutil.which("runuser")
            if runuser is None:
                raise PgUnavailable("running as root and 'runuser' is missing")
            try:
                import pwd

                account = pwd.getpwnam("postgres")
            except KeyError:
                raise PgUnavailable(
                    "running as root and there is no 'postgres' account (install the Debian "
                    "package 'postgresql', which creates it)"
                ) from None
            os.chown(self.root, account.pw_uid, account.pw_gid)
            self._as = [runuser, "-u", "postgres", "--"]
        self.root.chmod(0o700)
        self._run(
            initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
            "--no-sync", "--locale=C",
        )  # fmt: skip
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root}"
        options += " -c max_connections=200"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run(
            pg_ctl, "-D", str(self.data), "-o", options, "-l", str(self.root / "log"),
            "-w", "-t", "60", "start",
        )  # fmt: skip
        self._started = True
        return self

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def fresh_url(self) -> str:
        """A URL whose tables land in a new, empty schema: one registry per test, cheaply."""
        import psycopg

        self._schemas += 1
        name = f"t{os.getpid()}_{self._schemas}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {name}")
        return f"{self.url}?options={quote(f'-csearch_path={name}')}"

    def stop(self) -> None:
        if self._started:
            with contextlib.suppress(PgUnavailable):
                self._run(_binary("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
            self._started = False
        shutil.rmtree(self.root, ignore_errors=True)
