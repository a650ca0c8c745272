"""mention look-up by platform id: the post a brand reply answers, found without a scan

Revision ID: 0011
Revises: 0010

A brand reply names the post it answers by the platform's id (``in_reply_to``, the thread's root), not
by our source name, so the unique (source, external_id) index cannot serve it: every page holding a
brand reply read the whole ``mentions`` table, and ingest slowed as the table grew.
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_mentions_external_platform", "mentions", ["external_id", "platform"])


def downgrade() -> None:
    op.drop_index("ix_mentions_external_platform", table_name="mentions")
