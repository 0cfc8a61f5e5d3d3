"""The file store as an S3-compatible bucket (AWS S3, SeaweedFS, MinIO, Ceph): s3://BUCKET/PREFIX.

The endpoint, region and credentials come from the standard AWS variables (AWS_ENDPOINT_URL,
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION), which boto3 reads itself. Keys are
PREFIX/ab/cd/<sha256>; an upload streams (multipart, by boto3's transfer manager) into PREFIX/.staging/<uuid>
and is copied under its digest when promoted. Several servers share the bucket and nothing else.
"""

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, cast
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from service.files.store import Hashing, Missing, Stored, checked, digest_key

STAGING = ".staging/"


class S3Store:
    def __init__(self, bucket: str, prefix: str, client: Any):
        self.bucket, self.client = bucket, client
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""

    @classmethod
    def from_url(cls, url: str) -> "S3Store":
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError(f"not an s3://BUCKET/PREFIX address: {url}")
        # Path-style addressing: most self-hosted stores have no wildcard DNS for bucket subdomains.
        client = boto3.client(
            "s3", config=Config(s3={"addressing_style": "path"}, retries={"mode": "standard"})
        )
        return cls(parts.netloc, parts.path, client)

    def _key(self, sha256: str) -> str:
        return self.prefix + digest_key(sha256)

    def _staged(self, stored: Stored) -> str:
        name = stored.staged.rsplit("/", 1)[-1]
        if not name.startswith(".upload-"):
            raise ValueError("not a staged upload")
        return self.prefix + STAGING + name

    def stage(self, stream: BinaryIO, max_bytes: int) -> Stored:
        hashing = Hashing(stream, max_bytes)
        name = f".upload-{uuid.uuid4().hex}"
        key = self.prefix + STAGING + name
        try:
            # upload_fileobj reads the stream in parts and sends them as a multipart upload: memory stays at a
            # few parts, whatever the file's size; on failure it aborts the multipart upload.
            self.client.upload_fileobj(cast(BinaryIO, hashing), self.bucket, key)
        except Exception:
            self._delete(key)
            if hashing.too_large is not None:
                raise hashing.too_large from None
            raise
        return hashing.stored(name)

    def promote(self, stored: Stored) -> None:
        if not stored.staged:
            return
        staged = self._staged(stored)
        if not self.exists(stored.sha256):
            self.client.copy({"Bucket": self.bucket, "Key": staged}, self.bucket, self._key(stored.sha256))
        self._delete(staged)

    def discard(self, stored: Stored) -> None:
        if stored.staged:
            self._delete(self._staged(stored))

    def _delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def _head(self, key: str) -> dict[str, Any] | None:
        try:
            return cast(dict[str, Any], self.client.head_object(Bucket=self.bucket, Key=key))
        except ClientError as exc:
            if _status(exc) == 404:
                return None
            raise

    def exists(self, sha256: str) -> bool:
        return self._head(self._key(sha256)) is not None

    def size(self, sha256: str) -> int | None:
        head = self._head(self._key(sha256))
        return int(head["ContentLength"]) if head is not None else None

    def open(self, sha256: str, start: int = 0, length: int | None = None) -> BinaryIO:
        extra = {}
        if start or length is not None:
            end = "" if length is None else str(start + length - 1)
            extra["Range"] = f"bytes={start}-{end}"
        answer = self.client.get_object(Bucket=self.bucket, Key=self._key(sha256), **extra)
        return cast(BinaryIO, answer["Body"])

    @contextmanager
    def local_copy(self, stored: Stored | str) -> Iterator[Path]:
        sha256 = checked(stored if isinstance(stored, str) else stored.sha256)
        key = self._staged(stored) if isinstance(stored, Stored) and stored.staged else self._key(sha256)
        handle, name = tempfile.mkstemp(prefix="cellprov-")
        try:
            with os.fdopen(handle, "wb") as out:
                try:
                    self.client.download_fileobj(self.bucket, key, out)
                except ClientError as exc:
                    if _status(exc) == 404:
                        raise Missing(sha256) from None
                    raise
            yield Path(name)
        finally:
            os.unlink(name)


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
