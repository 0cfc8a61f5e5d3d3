"""Bulk import: many lots and steps in one transaction, each through the same rules as a single request."""
