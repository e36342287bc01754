"""Index every list order and the name filter.

Revision ID: 0002
Revises: 0001
Create Date: 2026-02-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    # Trusted since PostgreSQL 13: the database owner may create it, no superuser needed.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    # (created_at, id) replaces (created_at): keyset pages seek both, ties included.
    op.create_index(op.f("ix_items_created_at_id"), "items", ["created_at", "id"], unique=False)
    op.drop_index(op.f("ix_items_created_at"), table_name="items")
    op.create_index(
        op.f("ix_items_name_trgm"),
        "items",
        ["name"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"name": "gin_trgm_ops"},
    )


def downgrade() -> None:
    """Revert this revision; every migration must be reversible (DATA-1)."""
    op.drop_index(op.f("ix_items_name_trgm"), table_name="items")
    op.create_index(op.f("ix_items_created_at"), "items", ["created_at"], unique=False)
    op.drop_index(op.f("ix_items_created_at_id"), table_name="items")
    # pg_trgm stays: it may have been there before this revision, and other tables may
    # use it; leaving an unused extension installed changes nothing for the service.
