"""Alembic migrations of the registry (both backends); run by consent.schema.migrate, never by
the ``alembic`` command line."""
