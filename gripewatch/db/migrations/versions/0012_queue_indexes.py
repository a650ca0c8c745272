"""queue indexes: the case queue's filters, counts and sorts read indexes instead of whole rows

Revision ID: 0012
Revises: 0011

* ``ix_cases_queue``: every plain column the queue filters, counts and sorts by, so each count (and the
  sorted ids of a page) is read from the index alone; ``ix_cases_priority_status`` for the status counts
  of a priority filter. (No index on an expression: alembic's batch mode on SQLite cannot reflect one, so
  a later ``batch_alter_table("cases")`` would drop it.)
* ``ix_mentions_case_facets``: the posts of cases (partial: posts without a case are most of the table),
  by case, with source and (on SQLite) the analysis, so topic, language and source filters and counts read
  this index rather than every post row. PostgreSQL has no B-tree operator class for ``json``; there the
  index holds case and source only.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_cases_queue",
        "cases",
        ["status", "priority", "assignee", "brand", "incident_id", "first_response_at", "backfill",
         "customer_since", "opened_at"],
    )  # fmt: skip
    op.create_index("ix_cases_priority_status", "cases", ["priority", "status"])
    columns = ["case_id", "source"] + (["analysis"] if op.get_bind().dialect.name == "sqlite" else [])
    op.create_index(
        "ix_mentions_case_facets",
        "mentions",
        columns,
        sqlite_where=sa.text("case_id IS NOT NULL"),
        postgresql_where=sa.text("case_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_mentions_case_facets", table_name="mentions")
    op.drop_index("ix_cases_priority_status", table_name="cases")
    op.drop_index("ix_cases_queue", table_name="cases")
