"""The cellprov service: a FastAPI application over SQLite or PostgreSQL."""
