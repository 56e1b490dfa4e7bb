"""The person acting, beside the OS account, in every audit entry (issue 17). Existing entries
get '' (their hashes were computed without it, and stay valid)."""

from alembic import op

revision = "r0002"
down_revision = "r0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE audit ADD COLUMN person TEXT NOT NULL DEFAULT ''")
    op.execute("UPDATE schema_version SET version = 2")


def downgrade() -> None:  # pragma: no cover
    raise NotImplementedError("the registry is never migrated backwards")
