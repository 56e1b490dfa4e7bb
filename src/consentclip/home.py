"""The consent home: where the registry, the clinic key, signed documents and settings live.

Resolution order: an explicit path (``--home``), then ``CONSENTCLIP_HOME``, then the platform's
user data directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

ENV_VAR = "CONSENTCLIP_HOME"


@dataclass(frozen=True)
class Home:
    root: Path

    @classmethod
    def resolve(cls, explicit: Path | None = None) -> Home:
        if explicit is not None:
            return cls(Path(explicit).expanduser().absolute())
        env = os.environ.get(ENV_VAR)
        if env:
            return cls(Path(env).expanduser().absolute())
        return cls(platformdirs.user_data_path("consentclip", appauthor=False))

    @property
    def db_path(self) -> Path:
        return self.root / "registry.sqlite3"

    @property
    def keys_dir(self) -> Path:
        return self.root / "keys"

    @property
    def private_key_path(self) -> Path:
        return self.keys_dir / "clinic-ed25519.pem"

    @property
    def public_key_path(self) -> Path:
        return self.keys_dir / "clinic-ed25519.pub.pem"

    @property
    def documents_dir(self) -> Path:
        """Signed consent documents, stored by SHA-256 and never overwritten."""
        return self.root / "documents"

    @property
    def settings_path(self) -> Path:
        """Clinic settings (name, address, logo) used on consent forms."""
        return self.root / "clinic.toml"

    def exists(self) -> bool:
        return self.db_path.exists()
