"""E-signatures bound to the SHA-256 of the exact record version signed."""
