"""Health of the consent home for ``consentclip doctor``: reads only, never creates anything."""

from __future__ import annotations

import os
import sqlite3

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from consentclip.consent import backend, privacy, schema, signing
from consentclip.consent.signing import ClinicKey
from consentclip.errors import ConsentClipError, HomeError
from consentclip.health import Check
from consentclip.home import Home


def home_checks(home: Home) -> list[Check]:
    """For ``consentclip doctor``: reads only; creates nothing."""
    if not home.root.exists():
        return [Check("consent home", False, f"{home.root} does not exist; run 'consentclip init'")]
    checks = [
        Check(
            "consent home",
            os.access(home.root, os.W_OK),
            f"{home.root} writable"
            if os.access(home.root, os.W_OK)
            else f"{home.root} is not writable",
        )
    ]
    where = backend.for_home(home)
    if where.is_postgres:
        checks.append(_postgres_check(where))
    elif not home.db_path.exists():
        checks.append(
            Check(
                "registry schema", False, f"no database at {home.db_path}; run 'consentclip init'"
            )
        )
    else:
        try:
            # Read-only URI: doctor must never create or migrate anything.
            conn = sqlite3.connect(f"file:{home.db_path}?mode=ro", uri=True, timeout=5)
            try:
                version = schema.read_version(conn)
            finally:
                conn.close()
        except sqlite3.Error as exc:
            checks.append(Check("registry schema", False, f"cannot read {home.db_path}: {exc}"))
        else:
            checks.append(_schema_check(version))
    checks.append(_key_check(home))
    checks.append(_privacy_check(home))
    return checks


def _key_check(home: Home) -> Check:
    """Whether the key opens, and whether it is encrypted. Doctor never asks for a passphrase:
    an encrypted key is opened only when $CONSENTCLIP_KEY_PASSPHRASE gives one."""
    path = home.private_key_path
    try:
        encrypted = path.exists() and signing.is_encrypted(path)
    except OSError as exc:
        return Check("signing key", False, f"cannot read {path}: {exc.strerror}")
    if encrypted and not os.environ.get(signing.PASSPHRASE_ENV):
        return Check(
            "signing key",
            True,
            f"Ed25519{_public_fingerprint(home)}, encrypted with a passphrase (set "
            f"${signing.PASSPHRASE_ENV} to check that it opens)",
        )
    try:
        key = ClinicKey.load(home)
    except HomeError as exc:
        return Check("signing key", False, exc.one_line())
    if encrypted:
        return Check("signing key", True, f"Ed25519 {key.fingerprint()}, encrypted, opens")
    return Check(
        "signing key",
        True,
        f"Ed25519 {key.fingerprint()}, not encrypted (a copy of the home can sign; "
        "'consentclip key encrypt' adds a passphrase)",
    )


def _public_fingerprint(home: Home) -> str:
    """ " <fingerprint> (public key file)" for display, or "" when that file is unreadable. Only
    shown: nothing is verified with the file (see signing.py)."""
    try:
        public = serialization.load_pem_public_key(home.public_key_path.read_bytes())
    except (OSError, ValueError):
        return ""
    if not isinstance(public, Ed25519PublicKey):
        return ""
    return f" {signing.public_fingerprint(public)} (public key file)"


def _privacy_check(home: Home) -> Check:
    loose = privacy.loose_paths(home)
    if not loose:
        return Check("home privacy", True, "readable by its owner only")
    more = f" and {len(loose) - 1} more" if len(loose) > 1 else ""
    return Check(
        "home privacy",
        True,
        f"{loose[0]}{more}: other local accounts can read patient data "
        f"(chmod -R go-rwx {home.root})",
        warning=True,
    )


def _schema_check(version: int) -> Check:
    current = schema.CURRENT_VERSION
    if version == current:
        return Check("registry schema", True, f"version {version} (current)")
    if version > current:
        detail = f"version {version} is newer than supported ({current}); upgrade consentclip"
        return Check("registry schema", False, detail)
    detail = f"version {version} is older than {current}; any consentclip command migrates it"
    return Check("registry schema", False, detail)


def _postgres_check(where: backend.Backend) -> Check:
    """Reads the version only (no migration, no write)."""
    try:
        conn = backend.PgConnection(where)
        try:
            version = schema.read_version(conn)
        finally:
            conn.close()
    except ConsentClipError as exc:
        return Check("registry schema", False, exc.one_line())
    if version == 0:
        return Check(
            "registry schema", False, f"no registry in {where.where}; run 'consentclip init'"
        )
    check = _schema_check(version)
    return Check(check.name, check.ok, f"{check.detail}, PostgreSQL {where.where}")
