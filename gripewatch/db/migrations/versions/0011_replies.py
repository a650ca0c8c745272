"""replies: answers written in Slack (or the CLI) and posted on the platform

Revision ID: 0011
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "replies",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(128), nullable=False, unique=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("mention_id", sa.Integer(), sa.ForeignKey("mentions.id"), nullable=True),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("writer", sa.String(64), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("sent_anyway", sa.Boolean(), nullable=False),
        sa.Column("approved_by", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("posted_at", sa.DateTime(), nullable=True),
        sa.Column("external_id", sa.String(255), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
    )
    op.create_index("ix_replies_case_id", "replies", ["case_id"])
    op.create_index("ix_replies_platform_external", "replies", ["platform", "external_id"])


def downgrade() -> None:
    op.drop_index("ix_replies_platform_external", table_name="replies")
    op.drop_index("ix_replies_case_id", table_name="replies")
    op.drop_table("replies")
