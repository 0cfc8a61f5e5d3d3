"""Full-text search over items, steps and entries: SQLite FTS5 or PostgreSQL tsvector, same answers."""
