"""The file store below the routes: the move from the old attachment layout, and the S3 backend's streaming
(a file larger than one multipart part, read back whole and in ranges) against a real SeaweedFS."""

import hashlib
import io
import os

import pytest

from service.bootstrap import prepare
from service.config import Settings
from service.files.logic import move_old_attachments, store_for
from service.files.store import TooLarge


def test_attachments_in_the_old_layout_are_moved_at_start(tmp_path):
    """Before one store, attachments lay at files_dir/ab/<sha256>; `prepare` moves them to ab/cd/<sha256>."""
    content = b"an attachment from an older install"
    sha = hashlib.sha256(content).hexdigest()
    files_dir = tmp_path / "files"
    (files_dir / sha[:2]).mkdir(parents=True)
    (files_dir / sha[:2] / sha).write_bytes(content)
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'old.db'}", files_dir=files_dir)
    prepare(settings)
    assert not (files_dir / sha[:2] / sha).exists()
    store = store_for(settings)
    with store.open(sha) as stored:
        assert stored.read() == content
    assert move_old_attachments(settings) == 0  # the second start finds nothing to move


def test_the_s3_store_streams_multipart_and_reads_ranges(object_store, tmp_path):
    settings = Settings(files_dir=tmp_path / "unused", files_url=object_store.url("store-test"))
    store = store_for(settings)
    content = os.urandom(9 * 1024 * 1024)  # more than boto3's 8 MiB part: a real multipart upload
    stored = store.stage(io.BytesIO(content), len(content))
    assert stored.sha256 == hashlib.sha256(content).hexdigest() and stored.size == len(content)
    assert not store.exists(stored.sha256)  # staged, not kept
    with store.local_copy(stored) as path:
        assert path.read_bytes() == content
    store.promote(stored)
    assert store.exists(stored.sha256) and store.size(stored.sha256) == len(content)
    with store.open(stored.sha256, 5, 10) as part:
        assert part.read() == content[5:15]
    with store.local_copy(stored.sha256) as path:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == stored.sha256
    assert not path.exists()  # the local copy is temporary
    with pytest.raises(TooLarge):
        store.stage(io.BytesIO(content), 1024)
    keys = object_store.client().list_objects_v2(Bucket=object_store.bucket, Prefix="store-test/")
    assert [o["Key"] for o in keys["Contents"]] == [
        f"store-test/{stored.sha256[:2]}/{stored.sha256[2:4]}/{stored.sha256}"
    ]
