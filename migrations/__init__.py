"""Alembic environment and revisions: the only way cellprov's schema changes."""
