"""cases worked from Slack: priority parts, SLA clocks, acknowledgement and closing times

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("priority_parts", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("acknowledged_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("sla", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("next_check_at", sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f("ix_cases_next_check_at"), ["next_check_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_next_check_at"))
        batch_op.drop_column("next_check_at")
        batch_op.drop_column("sla")
        batch_op.drop_column("closed_at")
        batch_op.drop_column("acknowledged_at")
        batch_op.drop_column("priority_parts")
