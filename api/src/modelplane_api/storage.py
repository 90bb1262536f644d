"""The facade's door to S3: artifacts streamed in bounded chunks, hashed on the way.

`ArtifactStore` is the protocol services depend on; `S3ArtifactStore` talks to S3 or MinIO with
boto3 in a worker thread. `put` reads the source file in 8 MiB parts (S3 multipart upload), so
memory stays bounded whatever the file's size, and returns the sha256 and size of exactly the
bytes sent. Keys are always under the organization's prefix, built by `artifact_key`.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from dataclasses import dataclass
from typing import IO, Any, Protocol

from modelplane_api.errors import ServiceUnavailable

PART_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class StoredObject:
    """What was written: where, and the digest and size of the bytes."""

    uri: str
    sha256: str
    size_bytes: int


class ArtifactStore(Protocol):
    """Where uploads go."""

    async def put(self, key: str, source: IO[bytes], content_type: str) -> StoredObject:
        """Stream `source` from its start to `key`; its digest and size."""
        ...

    async def delete(self, key: str) -> None:
        """Remove `key` (an absent key is fine)."""
        ...


def artifact_key(namespace: str, model_id: uuid.UUID, upload_id: uuid.UUID, filename: str) -> str:
    """`<namespace>/models/<model id>/<upload id>/<filename>`: one prefix per organization, one
    folder per upload (two uploads never overwrite each other)."""
    return f"{namespace}/models/{model_id}/{upload_id}/{filename}"


class _HashingReader:
    """A file-like view that hashes and counts what boto3 reads from it."""

    def __init__(self, source: IO[bytes]) -> None:
        self._source = source
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._source.read(PART_BYTES if size is None or size < 0 else size)
        self.digest.update(chunk)
        self.size += len(chunk)
        return chunk


class S3ArtifactStore:
    """ArtifactStore over boto3 (S3 or MinIO, path-style addressing)."""

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None,
        access_key_id: str | None,
        secret_access_key: str | None,
        region: str,
    ) -> None:
        import boto3
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config

        self.bucket = bucket
        self._client: Any = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            region_name=region,
            config=Config(
                s3={"addressing_style": "path"},
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=5,
                read_timeout=60,
            ),
        )
        # One part in flight: the digest needs the bytes in order, and memory stays one part.
        self._transfer = TransferConfig(
            multipart_threshold=PART_BYTES, multipart_chunksize=PART_BYTES, use_threads=False
        )

    async def put(self, key: str, source: IO[bytes], content_type: str) -> StoredObject:
        """Stream `source` from its start to `key`; its digest and size."""
        return await asyncio.to_thread(self._put, key, source, content_type)

    async def delete(self, key: str) -> None:
        """Remove `key` (an absent key is fine)."""
        await asyncio.to_thread(self._delete, key)

    def _delete(self, key: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._client.delete_object(Bucket=self.bucket, Key=key)
        except (BotoCoreError, ClientError) as exc:
            raise ServiceUnavailable(
                f"the artifact store refused a delete: {type(exc).__name__}"
            ) from exc

    def _put(self, key: str, source: IO[bytes], content_type: str) -> StoredObject:
        from botocore.exceptions import BotoCoreError, ClientError

        source.seek(0)
        reader = _HashingReader(source)
        try:
            self._client.upload_fileobj(
                reader,
                self.bucket,
                key,
                ExtraArgs={"ContentType": content_type},
                Config=self._transfer,
            )
        except (BotoCoreError, ClientError) as exc:
            raise ServiceUnavailable(
                f"the artifact store refused the upload: {type(exc).__name__}"
            ) from exc
        return StoredObject(f"s3://{self.bucket}/{key}", reader.digest.hexdigest(), reader.size)
