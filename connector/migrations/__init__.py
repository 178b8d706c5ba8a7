"""Alembic migration scripts (``render_as_batch=True`` so SQLite runs them too)."""
