"""Files: a content-addressed store of uploaded blobs, deduplicated by SHA-256."""
