"""Reading and editing the registry's SQLite file directly, as someone with file access would."""

from __future__ import annotations

import sqlite3

from consentclip.home import Home


def db_dump(home: Home) -> str:
    """Everything in the registry, to prove a refused command changed nothing."""
    conn = sqlite3.connect(home.db_path)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


def tamper(home: Home, *statements: str) -> None:
    """Edit the SQLite file behind the tool's back."""
    conn = sqlite3.connect(home.db_path)
    try:
        for sql in statements:
            conn.execute(sql)
        conn.commit()
    finally:
        conn.close()
