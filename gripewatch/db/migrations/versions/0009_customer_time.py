"""customer time: cases.customer_since and backfill; incidents

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("brand", sa.String(length=128), nullable=True),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("title", sa.Text(), nullable=False, server_default=""),
        sa.Column("status", sa.String(length=24), nullable=False, server_default="open"),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("customer_since", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("slack_channel", sa.String(length=64), nullable=True),
        sa.Column("slack_ts", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
    )
    op.create_index("ix_incidents_brand_key_status", "incidents", ["brand", "key", "status"])
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_since", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("backfill", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("incident_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_cases_customer_since", ["customer_since"], unique=False)
        batch_op.create_index("ix_cases_incident_id", ["incident_id"], unique=False)
        batch_op.create_foreign_key("fk_cases_incident_id", "incidents", ["incident_id"], ["id"])
    # existing cases: the customer's first post of the case, else when it was opened
    op.execute(
        "UPDATE cases SET customer_since = COALESCE("
        "(SELECT MIN(m.created_at) FROM mentions m WHERE m.case_id = cases.id AND m.is_own = false), opened_at)"
    )


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_constraint("fk_cases_incident_id", type_="foreignkey")
        batch_op.drop_index("ix_cases_incident_id")
        batch_op.drop_index("ix_cases_customer_since")
        batch_op.drop_column("incident_id")
        batch_op.drop_column("backfill")
        batch_op.drop_column("customer_since")
    op.drop_index("ix_incidents_brand_key_status", table_name="incidents")
    op.drop_table("incidents")
