"""Alembic's entry point: runs on the connection consent.schema.migrate opened and locked; the
transaction is the caller's (one for all revisions, so a database is at exactly one version)."""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, transactional_ddl=False)
context.run_migrations()
