"""The clinic's Ed25519 signing key: made once by ``init``, signs every record version and the
audit head. Verification uses the public half derived from the private key, so replacing the
``.pub.pem`` file on disk cannot make a forged record verify.

The private key may be stored encrypted with a passphrase (PKCS#8 with the ``cryptography``
package's BestAvailableEncryption), so that a copy of the home, a backup or a workstation's disk
does not give away the power to sign. The passphrase comes from ``$CONSENTCLIP_KEY_PASSPHRASE``
(services) or, in a command run by a person, from a prompt the CLI installs
(``passphrase_source``); the library itself never prompts. A missing or wrong passphrase is one
line (KeyPassphraseError, exit 1) and nothing is written.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from consentclip.atomic import write_bytes_atomic
from consentclip.errors import HomeError, KeyPassphraseError, UsageError
from consentclip.home import Home

PASSPHRASE_ENV = "CONSENTCLIP_KEY_PASSPHRASE"
# PKCS#8 as the cryptography package writes it is PBES2: PBKDF2-HMAC-SHA256 with 2048
# iterations and AES-256-CBC; a guess costs about 0.3 ms on one core, so the passphrase itself
# must carry the strength (docs/threat-model.md): four or more random words.
MIN_PASSPHRASE = 12
_ENCRYPTED_PEM = b"-----BEGIN ENCRYPTED PRIVATE KEY-----"

# Asks a person for the passphrase of the key at the given path; "" or None when there is no one
# to ask. Installed by the CLI for one command (``passphrase_source``), never by the library.
PassphraseSource = Callable[[Path], "str | None"]
_source: PassphraseSource | None = None


@contextmanager
def passphrase_source(source: PassphraseSource) -> Iterator[None]:
    """Let ``source`` supply the passphrase while the block runs (one command)."""
    global _source
    previous, _source = _source, source
    try:
        yield
    finally:
        _source = previous


def is_encrypted(path: Path) -> bool:
    """True when the PEM file at ``path`` holds an encrypted private key."""
    with path.open("rb") as fh:
        return fh.read(len(_ENCRYPTED_PEM) + 64).lstrip().startswith(_ENCRYPTED_PEM)


def check_passphrase(passphrase: str) -> bytes:
    """A new passphrase as bytes; a short one is refused (UsageError, exit 2)."""
    if len(passphrase) < MIN_PASSPHRASE:
        raise UsageError(f"the key passphrase must have at least {MIN_PASSPHRASE} characters")
    return passphrase.encode("utf-8")


def _passphrase_for(path: Path) -> bytes:
    """``$CONSENTCLIP_KEY_PASSPHRASE``, else the installed source, else KeyPassphraseError."""
    given = os.environ.get(PASSPHRASE_ENV, "")
    if not given and _source is not None:
        given = _source(path) or ""
    if not given:
        raise KeyPassphraseError(
            f"the clinic signing key {path} is encrypted and no passphrase was given",
            hint=f"set ${PASSPHRASE_ENV}, or run the command in a terminal to be asked",
        )
    return given.encode("utf-8")


def _encrypted_pem(private: Ed25519PrivateKey, passphrase: bytes | None) -> bytes:
    algorithm: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    return private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, algorithm
    )


@dataclass(frozen=True)
class ClinicKey:
    private: Ed25519PrivateKey

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    def sign(self, data: bytes) -> str:
        return self.private.sign(data).hex()

    def verify(self, data: bytes, signature_hex: str) -> bool:
        try:
            self.public.verify(bytes.fromhex(signature_hex), data)
        except (InvalidSignature, ValueError):
            return False
        return True

    def fingerprint(self) -> str:
        """Short SHA-256 of the raw public key, printed on signed documents."""
        return public_fingerprint(self.public)

    @classmethod
    def load(cls, home: Home) -> ClinicKey:
        path = home.private_key_path
        if not path.exists():
            raise HomeError(
                f"clinic signing key missing at {path}", hint="run 'consentclip init' to create it"
            )
        data = path.read_bytes()
        password = _passphrase_for(path) if data.lstrip().startswith(_ENCRYPTED_PEM) else None
        try:
            key = serialization.load_pem_private_key(data, password=password)
        except (ValueError, TypeError) as exc:
            if password is not None:
                # OpenSSL cannot tell a wrong passphrase from a damaged file; the first is usual.
                raise KeyPassphraseError(
                    f"the passphrase does not open the clinic signing key {path}",
                    hint="check the passphrase; nothing was changed",
                ) from None
            raise HomeError(f"clinic signing key at {path} cannot be read: {exc}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise HomeError(f"clinic signing key at {path} is not an Ed25519 key")
        return cls(key)

    @classmethod
    def create(cls, home: Home, *, passphrase: bytes | None = None) -> tuple[ClinicKey, bool]:
        """Load the key, or make one when there is none (encrypted with ``passphrase`` when
        given). Returns (key, created)."""
        if home.private_key_path.exists():
            return cls.load(home), False
        key = cls(Ed25519PrivateKey.generate())
        home.keys_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(home.keys_dir, 0o700)
        pem = _encrypted_pem(key.private, passphrase)
        pub = key.public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        _write_new(home.private_key_path, pem, mode=0o600)
        _write_new(home.public_key_path, pub, mode=0o644)
        return key, True

    def store_encrypted(self, home: Home, passphrase: bytes) -> None:
        """Replace the key file with this key encrypted under ``passphrase`` (atomically: the
        old file stays whole until the new one is on disk). The caller loaded ``self`` from
        ``home``, so a wrong old passphrase has already stopped it."""
        pem = _encrypted_pem(self.private, passphrase)
        # Read it back before it replaces the only copy: a file that does not open with this
        # passphrase to this very key would lock the clinic out of its own registry.
        back = serialization.load_pem_private_key(pem, password=passphrase)
        raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
        if back.public_key().public_bytes(*raw) != self.public.public_bytes(*raw):
            raise HomeError("the encrypted key did not read back as the clinic key; not written")
        _write_new(home.private_key_path, pem, mode=0o600)


def public_fingerprint(public: Ed25519PublicKey) -> str:
    """Short SHA-256 of a raw public key, as ``ClinicKey.fingerprint`` prints it."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    digest = hashlib.sha256(raw).hexdigest()
    return ":".join(digest[i : i + 4] for i in range(0, 16, 4))


def _write_new(path: Path, data: bytes, *, mode: int) -> None:
    """Write beside the target and rename, so a crash never leaves half a key."""
    write_bytes_atomic(path, data, mode=mode)
