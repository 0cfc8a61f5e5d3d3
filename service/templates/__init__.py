"""Protocol templates: the versioned store, the validator and safe evaluator, and the built-in library."""
