"""digest and dashboard: spike alert memory; indexes for the digest and the case queue

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_INDEXES = [
    ("cases", "ix_cases_status_opened", ["status", "opened_at"]),
    ("cases", "ix_cases_opened_at", ["opened_at"]),
    ("cases", "ix_cases_resolved_at", ["resolved_at"]),
    ("case_events", "ix_case_events_at", ["at"]),
    ("mentions", "ix_mentions_complaint_created", ["is_complaint", "created_at"]),
]


def upgrade() -> None:
    op.create_table(
        "spike_alerts",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("alerted_at", sa.DateTime(), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("expected", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    for table, name, cols in _INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, cols, unique=False)


def downgrade() -> None:
    for table, name, _cols in reversed(_INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
    op.drop_table("spike_alerts")
