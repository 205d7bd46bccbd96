"""A monitor's suspicion score for each hunk of a critique's item (empty for other critics).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("critiques") as batch:
        batch.add_column(sa.Column("hunk_scores", sa.JSON, nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("critiques") as batch:
        batch.drop_column("hunk_scores")
