"""Privacy of the consent home on a shared machine.

The registry holds patient names, birth dates and hospital numbers, and the home keeps the
signed forms and the clinic key: no other local account may read them. consentclip creates the
home and its ``documents``/``keys`` folders readable by their owner only (0700), and the
SQLite file and the key 0600; SQLite gives its ``-wal`` and ``-shm`` files the database file's
mode, so they follow. A home made before this (or by hand) is not changed behind the owner's
back; ``doctor`` names each path that others can read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from consentclip.home import Home

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def make_private_dir(path: Path) -> bool:
    """Create ``path`` (and missing parents) with the last folder 0700. True when created.

    An existing folder is left as it is: it may be one the clinic made and shares on purpose;
    doctor reports it when others can read it."""
    if path.is_dir():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir(mode=PRIVATE_DIR)
    except FileExistsError:
        if not path.is_dir():  # a file in the way: the caller reports it as it always did
            raise
        return False  # another process made it first
    # mkdir's mode is filtered by the umask only to remove bits; chmod makes it exact.
    os.chmod(path, PRIVATE_DIR)
    return True


def create_private_file(path: Path) -> None:
    """Create an empty file readable and writable by its owner only, unless it exists.

    Used for the SQLite file before SQLite first opens it: an empty file is an empty database,
    and SQLite creates its -wal and -shm files with the database file's permissions."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return
    os.close(fd)


def loose_paths(home: Home) -> list[str]:
    """Each part of the home that another local account can read or write, as a sentence."""
    found: list[str] = []
    candidates: list[tuple[Path, int]] = [
        (home.root, PRIVATE_DIR),
        (home.documents_dir, PRIVATE_DIR),
        (home.keys_dir, PRIVATE_DIR),
        (home.db_path, PRIVATE_FILE),
        (home.db_path.with_name(home.db_path.name + "-wal"), PRIVATE_FILE),
        (home.db_path.with_name(home.db_path.name + "-shm"), PRIVATE_FILE),
        (home.private_key_path, PRIVATE_FILE),
    ]
    for path, wanted in candidates:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError:
            continue
        if mode & 0o077:
            found.append(f"{path} is {mode:04o} (others can read it; want {wanted:04o})")
    return found
