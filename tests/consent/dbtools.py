"""Reading and editing the registry's database directly, as someone with file (or database)
access would: the SQLite file, or the PostgreSQL schema the test's URL names."""

from __future__ import annotations

import re
import sqlite3

from consentclip.consent import backend
from consentclip.home import Home


class DatabaseRefused(Exception):
    """The database itself refused a statement (a trigger, a constraint)."""


def _pg_url(home: Home) -> str | None:
    where = backend.for_home(home)
    if not where.is_postgres:
        return None
    return where.url.replace("postgresql+psycopg://", "postgresql://", 1)


def db_dump(home: Home) -> str:
    """Everything in the registry, to prove a refused command changed nothing."""
    url = _pg_url(home)
    if url is not None:
        return _pg_dump(url)
    conn = sqlite3.connect(home.db_path)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


def tamper(home: Home, *statements: str) -> None:
    """Edit the database behind the tool's back. SQLite's ``DROP TRIGGER name`` becomes
    PostgreSQL's ``DROP TRIGGER IF EXISTS name ON table``."""
    url = _pg_url(home)
    if url is not None:
        _pg_tamper(url, statements)
        return
    conn = sqlite3.connect(home.db_path)
    try:
        for sql in statements:
            try:
                conn.execute(sql)
            except sqlite3.IntegrityError as exc:
                raise DatabaseRefused(str(exc)) from exc
        conn.commit()
    finally:
        conn.close()


def _pg_tamper(url: str, statements: tuple[str, ...]) -> None:
    import psycopg

    with psycopg.connect(url) as conn:
        for sql in statements:
            match = re.fullmatch(r"\s*DROP TRIGGER (?:IF EXISTS )?(\w+)\s*", sql)
            if match:
                # One PostgreSQL trigger refuses both UPDATE and DELETE: it is the *_no_update one.
                name = match.group(1).replace("_no_delete", "_no_update")
                table = "record_versions" if name.startswith("versions") else "audit"
                sql = f"DROP TRIGGER IF EXISTS {name} ON {table}"
            try:
                conn.execute(sql)  # type: ignore[arg-type]
            except psycopg.errors.RaiseException as exc:
                raise DatabaseRefused(str(exc)) from exc


def _pg_dump(url: str) -> str:
    import psycopg

    lines: list[str] = []
    with psycopg.connect(url) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = current_schema() ORDER BY table_name"
            )
        ]
        for table in tables:
            for row in conn.execute(f"SELECT * FROM {table} ORDER BY 1"):  # type: ignore[arg-type]
                lines.append(f"{table}: {row!r}")
        for row in conn.execute(
            "SELECT tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema() AND NOT t.tgisinternal ORDER BY tgname"
        ):
            lines.append(f"trigger: {row[0]}")
    return "\n".join(lines)
