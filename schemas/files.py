"""Stored files: blobs addressed by their SHA-256."""

from datetime import datetime

from pydantic import BaseModel


class FileOut(BaseModel):
    sha256: str
    size: int
    media_type: str
    name: str
    created_at: datetime
    created_by: str
    url: str
    """Where to GET the content, relative to the API root."""
