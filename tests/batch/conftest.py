"""Batch tests use the same real consent home and signed consents as the export tests."""

from export.conftest import make_consent, purpose, registry_home

__all__ = ["make_consent", "purpose", "registry_home"]
