"""The registry as consentclip 0.x created it (schema_version 1): consents, grants, signed
versions, clip links, the chained audit log and its signed head; append-only triggers.

An existing SQLite registry at schema_version 1 is stamped at this revision, not re-created.
"""

from alembic import op

from consentclip.consent import schema

revision = "r0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    script = schema.V1_POSTGRES if op.get_bind().dialect.name == "postgresql" else schema.V1
    for statement in schema.statements(script):
        op.execute(statement)
    op.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    op.execute("INSERT INTO schema_version (version) VALUES (1)")


def downgrade() -> None:  # pragma: no cover - a registry is never migrated backwards
    raise NotImplementedError("the registry is never migrated backwards")
