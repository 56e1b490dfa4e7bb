"""The clinic's Ed25519 signing key: made once by ``init``, signs every record version and the
audit head. Verification uses the public half derived from the private key, so replacing the
``.pub.pem`` file on disk cannot make a forged record verify.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from consentclip.errors import HomeError
from consentclip.home import Home


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
        raw = self.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        digest = hashlib.sha256(raw).hexdigest()
        return ":".join(digest[i : i + 4] for i in range(0, 16, 4))

    @classmethod
    def load(cls, home: Home) -> ClinicKey:
        path = home.private_key_path
        if not path.exists():
            raise HomeError(
                f"clinic signing key missing at {path}", hint="run 'consentclip init' to create it"
            )
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (ValueError, TypeError) as exc:
            raise HomeError(f"clinic signing key at {path} cannot be read: {exc}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise HomeError(f"clinic signing key at {path} is not an Ed25519 key")
        return cls(key)

    @classmethod
    def create(cls, home: Home) -> tuple[ClinicKey, bool]:
        """Load the key, or make one when there is none. Returns (key, created)."""
        if home.private_key_path.exists():
            return cls.load(home), False
        key = cls(Ed25519PrivateKey.generate())
        home.keys_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(home.keys_dir, 0o700)
        pem = key.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        pub = key.public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        _write_new(home.private_key_path, pem, mode=0o600)
        _write_new(home.public_key_path, pub, mode=0o644)
        return key, True


def _write_new(path: Path, data: bytes, *, mode: int) -> None:
    """Write beside the target and rename, so a crash never leaves half a key."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
