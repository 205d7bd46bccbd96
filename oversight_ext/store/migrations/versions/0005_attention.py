"""A judgment's attention record: which hunk lines were on screen and when, what was expanded or searched.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("judgments") as batch:
        batch.add_column(sa.Column("attention", sa.JSON))


def downgrade() -> None:
    with op.batch_alter_table("judgments") as batch:
        batch.drop_column("attention")
