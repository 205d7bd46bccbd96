"""When the server first sent each assignment to its rater: the start of server-side time on task.

A judgment's own ``time_on_task_s`` is what the rater's browser says; ``received_at`` minus
this time is what the server saw, and what the analysis trusts.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assignment_sent",
        sa.Column("assignment_id", sa.String(255), sa.ForeignKey("assignments.id"), primary_key=True),
        sa.Column("first_sent_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("assignment_sent")
