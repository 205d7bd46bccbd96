"""Mutable per-study settings (e.g. a workshop's "reveal results" switch).

A study's design stays frozen in ``studies``; what an owner may switch while it runs lives
here, one JSON value per key.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "study_state",
        sa.Column("study", sa.String(255), sa.ForeignKey("studies.name"), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("value", sa.JSON, nullable=False),
        sa.Column("updated_by", sa.String(255)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("study_state")
