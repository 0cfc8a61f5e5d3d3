"""Notebook entries: what people saw and did, in Markdown, linked to records, with attachments."""
