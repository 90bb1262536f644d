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

from modelplane_api.errors import NotFound, ServiceUnavailable

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


def s3_client(
    endpoint_url: str | None,
    access_key_id: str | None,
    secret_access_key: str | None,
    region: str,
) -> Any:
    """A boto3 S3 client: path-style addressing (MinIO), three attempts, bounded timeouts."""
    import boto3
    from botocore.config import Config

    return boto3.client(
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
        from boto3.s3.transfer import TransferConfig

        self.bucket = bucket
        self._client = s3_client(endpoint_url, access_key_id, secret_access_key, region)
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


@dataclass(frozen=True)
class ListedObject:
    """One object of a listing."""

    key: str
    size_bytes: int


class PayloadStore(Protocol):
    """Where serving pods log payloads and the facade writes feedback (any bucket)."""

    async def put_bytes(self, bucket: str, key: str, body: bytes) -> None:
        """Write one object (an existing one is replaced)."""
        ...

    async def objects(
        self, bucket: str, prefix: str, limit: int, start_after: str | None = None
    ) -> list[ListedObject]:
        """Up to `limit` objects under `prefix` (after the key `start_after`), in key order."""
        ...

    async def folders(self, bucket: str, prefix: str) -> list[str]:
        """The names of the "folders" right under `prefix` (`<prefix><name>/…`)."""
        ...

    async def get_bytes(self, bucket: str, key: str) -> bytes:
        """Read one object."""
        ...


class S3PayloadStore:
    """PayloadStore over boto3 (S3 or MinIO, path-style addressing)."""

    def __init__(
        self,
        *,
        endpoint_url: str | None,
        access_key_id: str | None,
        secret_access_key: str | None,
        region: str,
    ) -> None:
        self._client = s3_client(endpoint_url, access_key_id, secret_access_key, region)

    async def put_bytes(self, bucket: str, key: str, body: bytes) -> None:
        """Write one object (an existing one is replaced)."""
        await asyncio.to_thread(
            self._call, "write", self._client.put_object, Bucket=bucket, Key=key, Body=body
        )

    async def objects(
        self, bucket: str, prefix: str, limit: int, start_after: str | None = None
    ) -> list[ListedObject]:
        """Up to `limit` objects under `prefix` (after the key `start_after`), in key order."""
        return await asyncio.to_thread(self._objects, bucket, prefix, limit, start_after)

    async def folders(self, bucket: str, prefix: str) -> list[str]:
        """The names of the "folders" right under `prefix` (`<prefix><name>/…`)."""
        return await asyncio.to_thread(self._folders, bucket, prefix)

    async def get_bytes(self, bucket: str, key: str) -> bytes:
        """Read one object."""
        found = await asyncio.to_thread(
            self._call, "read", self._client.get_object, Bucket=bucket, Key=key
        )
        return bytes(await asyncio.to_thread(found["Body"].read))

    def _objects(
        self, bucket: str, prefix: str, limit: int, start_after: str | None
    ) -> list[ListedObject]:
        after = {"StartAfter": start_after} if start_after else {}
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix, PaginationConfig={"MaxItems": limit}, **after
        )
        found = [
            ListedObject(item["Key"], int(item.get("Size", 0)))
            for page in self._call("list", lambda: list(pages))
            for item in page.get("Contents") or []
        ]
        return found[:limit]

    def _folders(self, bucket: str, prefix: str) -> list[str]:
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix, Delimiter="/"
        )
        return [
            str(common["Prefix"]).removeprefix(prefix).rstrip("/")
            for page in self._call("list", lambda: list(pages))
            for common in page.get("CommonPrefixes") or []
        ]

    @staticmethod
    def _call(what: str, call: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return call(**kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchBucket", "NoSuchKey", "404"):
                raise NotFound(f"the payload store answered {code}") from exc
            raise ServiceUnavailable(f"the payload store refused a {what}: {code}") from exc
        except BotoCoreError as exc:
            raise ServiceUnavailable(
                f"the payload store cannot be reached ({what}): {type(exc).__name__}"
            ) from exc
