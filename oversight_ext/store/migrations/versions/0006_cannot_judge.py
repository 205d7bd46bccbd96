"""A "cannot judge" record: a judgment row with the rater's reason and no verdict or confidence.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch mode: SQLite cannot change a column's nullability in place (it copies the table).
    with op.batch_alter_table("judgments") as batch:
        batch.add_column(sa.Column("cannot_judge", sa.JSON))
        batch.alter_column("verdict", existing_type=sa.String(16), nullable=True)
        batch.alter_column("confidence", existing_type=sa.Float, nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("judgments") as batch:
        # A verdict column cannot hold the cannot-judge rows again: drop them before narrowing it.
        batch.execute(sa.text("DELETE FROM judgments WHERE verdict IS NULL"))
        batch.alter_column("confidence", existing_type=sa.Float, nullable=False)
        batch.alter_column("verdict", existing_type=sa.String(16), nullable=False)
        batch.drop_column("cannot_judge")
