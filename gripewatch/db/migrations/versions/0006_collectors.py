"""collectors: rate-limit state per source, edited mentions

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("source_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rate_limited_until", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("budget_window_start", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("budget_used", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("edited_at", sa.DateTime(), nullable=True))
        batch_op.create_index("ix_mentions_source_created_at", ["source", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.drop_index("ix_mentions_source_created_at")
        batch_op.drop_column("edited_at")
    with op.batch_alter_table("source_state", schema=None) as batch_op:
        batch_op.drop_column("budget_used")
        batch_op.drop_column("budget_window_start")
        batch_op.drop_column("rate_limited_until")
