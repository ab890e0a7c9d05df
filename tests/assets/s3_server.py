"""A real S3-compatible HTTP server on loopback for tests: moto's server (the S3 REST API
that boto3, the AWS CLI and MinIO clients speak), one per test. Moto keeps its buckets in
the process, so each server starts by resetting them: no test sees another's objects."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import boto3
import httpx
from moto.server import ThreadedMotoServer

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

KEY_ID, SECRET = "lab-key", "lab-secret-do-not-print"


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    client: S3Client

    def put(self, bucket: str, files: dict[str, bytes]) -> None:
        for key, data in files.items():
            self.client.put_object(Bucket=bucket, Key=key, Body=data)

    def storage_body(self, cluster_id: str, bucket: str, name: str = "lab-s3") -> dict[str, str]:
        return {"cluster_id": cluster_id, "name": name, "kind": "s3", "root": bucket,
                "endpoint_url": self.endpoint_url, "access_key_id": KEY_ID,
                "secret_access_key": SECRET}  # fmt: skip


@contextmanager
def s3_server(*buckets: str) -> Iterator[S3Server]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        port = server._server.server_port  # type: ignore[union-attr]  # port 0: the OS picked it
        url = f"http://127.0.0.1:{port}"
        httpx.post(f"{url}/moto-api/reset").raise_for_status()
        client = boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                              aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET)  # fmt: skip
        for bucket in buckets:
            client.create_bucket(Bucket=bucket)
        yield S3Server(url, client)
    finally:
        server.stop()
