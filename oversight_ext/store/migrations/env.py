"""Alembic environment: run by :func:`oversight_ext.store.db.upgrade` with a live connection."""

from alembic import context

from oversight_ext.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
