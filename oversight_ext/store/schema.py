"""Tables of the store, as SQLAlchemy Core metadata.

The Alembic migrations under ``migrations/versions`` create exactly these tables; a test
compares the migrated database with this metadata so the two cannot drift apart. Nested
record fields (comments, flags, dispositions, line lists, free-form dicts) are JSON columns.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

TS = sa.DateTime(timezone=True)

items = sa.Table(
    "items",
    metadata,
    sa.Column("id", sa.String(255), primary_key=True),
    sa.Column("source", sa.String(255), nullable=False),
    sa.Column("language", sa.String(64), nullable=False),
    sa.Column("task", sa.String(255), nullable=False),
    sa.Column("path", sa.String(1024), nullable=False),
    sa.Column("spec", sa.Text, nullable=False),
    sa.Column("diff", sa.Text, nullable=False),
    sa.Column("before", sa.Text),
    sa.Column("after", sa.Text),
    sa.Column("pair_id", sa.String(255), index=True),
    sa.Column("direction", sa.String(64)),
    sa.Column("label", sa.String(16)),
    sa.Column("bug_lines", sa.JSON, nullable=False),
    sa.Column("bug_lines_before", sa.JSON, nullable=False),
    sa.Column("bug_type", sa.String(255)),
    sa.Column("explanation", sa.Text),
    sa.Column("tests", sa.Text),
    sa.Column("licence", sa.String(255)),
    sa.Column("provenance", sa.JSON, nullable=False),
    sa.Column("meta", sa.JSON, nullable=False),
    sa.Column("created_at", TS, nullable=False),
)

critiques = sa.Table(
    "critiques",
    metadata,
    sa.Column("id", sa.String(255), primary_key=True),
    sa.Column("item_id", sa.String(255), sa.ForeignKey("items.id"), nullable=False),
    sa.Column("assistant", sa.String(255), nullable=False),
    sa.Column("spec_hash", sa.String(64), nullable=False),
    sa.Column("model", sa.String(255), nullable=False),
    sa.Column("verdict", sa.String(16)),
    sa.Column("confidence", sa.Float),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("planted", sa.Boolean, nullable=False),
    sa.Column("hallucinated", sa.Integer, nullable=False),
    sa.Column("latency_s", sa.Float, nullable=False),
    sa.Column("comments", sa.JSON, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("hunk_scores", sa.JSON, nullable=False, server_default="[]"),
    sa.Index("ix_critiques_item_spec", "item_id", "spec_hash"),
)

raters = sa.Table(
    "raters",
    metadata,
    sa.Column("id", sa.String(255), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),  # human | simulated
    sa.Column("role", sa.String(16), nullable=False),  # rater | owner
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("created_at", TS, nullable=False),
)

studies = sa.Table(
    "studies",
    metadata,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("config", sa.JSON, nullable=False),
    sa.Column("seed", sa.BigInteger, nullable=False),
    sa.Column("code_version", sa.String(64), nullable=False),
    sa.Column("owner", sa.String(255)),
    sa.Column("created_at", TS, nullable=False),
)

assignments = sa.Table(
    "assignments",
    metadata,
    sa.Column("id", sa.String(255), primary_key=True),
    sa.Column("study", sa.String(255), sa.ForeignKey("studies.name"), nullable=False),
    sa.Column("rater", sa.String(255), nullable=False),
    sa.Column("item_id", sa.String(255), sa.ForeignKey("items.id"), nullable=False),
    sa.Column("condition", sa.String(255), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("critique_id", sa.String(255), sa.ForeignKey("critiques.id")),
    sa.Column("time_limit_s", sa.Float),
    sa.Column("is_qc", sa.Boolean, nullable=False),
    sa.Column("display", sa.String(16), nullable=False),
    sa.UniqueConstraint("study", "rater", "item_id", name="uq_assignment_once"),
    sa.Index("ix_assignments_study_rater", "study", "rater", "position"),
)

judgments = sa.Table(
    "judgments",
    metadata,
    sa.Column("seq", sa.Integer, sa.Identity(), primary_key=True),
    sa.Column("submission_id", sa.String(128), nullable=False, unique=True),
    sa.Column("assignment_id", sa.String(255), sa.ForeignKey("assignments.id"), nullable=False),
    sa.Column("rater", sa.String(255), nullable=False),
    sa.Column("study", sa.String(255), nullable=False),
    sa.Column("item_id", sa.String(255), nullable=False),
    sa.Column("condition", sa.String(255), nullable=False),
    # Null in a "cannot judge" row (its reason is in cannot_judge), set in every other.
    sa.Column("verdict", sa.String(16)),
    sa.Column("confidence", sa.Float),
    sa.Column("time_on_task_s", sa.Float, nullable=False),
    sa.Column("likert", sa.Integer),
    sa.Column("comment", sa.Text, nullable=False),
    sa.Column("flags", sa.JSON, nullable=False),
    sa.Column("dispositions", sa.JSON, nullable=False),
    sa.Column("supersedes", sa.String(128)),
    sa.Column("simulated", sa.Boolean, nullable=False),
    sa.Column("started_at", TS),
    sa.Column("submitted_at", TS, nullable=False),
    sa.Column("received_at", TS, nullable=False),
    # What was on screen and when (see oversight_ext.attention); null for clients that send none.
    sa.Column("attention", sa.JSON),
    # The rater's reason for giving no verdict ({"reason", "note"}); null for a verdict.
    sa.Column("cannot_judge", sa.JSON),
    sa.Index("ix_judgments_study", "study", "rater"),
    sa.Index("ix_judgments_assignment", "assignment_id"),
)

study_state = sa.Table(
    "study_state",
    metadata,
    sa.Column("study", sa.String(255), sa.ForeignKey("studies.name"), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("value", sa.JSON, nullable=False),
    sa.Column("updated_by", sa.String(255)),
    sa.Column("updated_at", TS, nullable=False),
)

# When the server first sent each assignment's item view to its rater (server-side time on task).
assignment_sent = sa.Table(
    "assignment_sent",
    metadata,
    sa.Column("assignment_id", sa.String(255), sa.ForeignKey("assignments.id"), primary_key=True),
    sa.Column("first_sent_at", TS, nullable=False),
)
