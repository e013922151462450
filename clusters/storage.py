"""The object-storage adapter: the only code that talks to a cluster's S3-compatible storage.

AWS S3, DigitalOcean Spaces, Ceph RGW and MinIO speak the same API; they differ in how a
bucket is addressed (virtual-hosted ``bucket.endpoint`` or path-style ``endpoint/bucket``,
a per-cluster setting). Retries (botocore's standard mode: connection errors, timeouts,
throttling, 5xx) and timeouts are set here, and every failure becomes a `StorageError`
whose message a person can act on.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from django.conf import settings

if TYPE_CHECKING:
    from clusters.models import Cluster

MIN_PART_SIZE = 5 * 1024 * 1024  # S3's floor for every part but the last
DEFAULT_PART_SIZE = 16 * 1024 * 1024
MAX_PRESIGN_SECONDS = 3600
_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}
_RETRYABLE = {"SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable", "503", "500"}
_NO_ANSWER = (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError)
_CREDENTIALS = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "403"}


class StorageError(Exception):
    """An object-storage call failed; `retryable` says whether repeating it may help."""

    retryable = False

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class StorageUnreachable(StorageError):
    retryable = True


class StorageNotFound(StorageError):
    pass


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    etag: str = ""
    last_modified: datetime | None = None


class ObjectStorage:
    def __init__(
        self,
        *,
        endpoint: str,
        bucket: str,
        access_key: str,
        secret_key: str,
        region: str = "",
        addressing_style: str = "virtual",
        max_attempts: int | None = None,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.bucket = bucket
        self.region = region or "us-east-1"
        self.addressing_style = addressing_style or "virtual"
        self.max_attempts = max_attempts or settings.HANGAR_STORAGE_MAX_ATTEMPTS
        config = Config(
            region_name=self.region,
            signature_version="s3v4",
            s3={"addressing_style": self.addressing_style},
            retries={"mode": "standard", "total_max_attempts": self.max_attempts},
            connect_timeout=connect_timeout or settings.HANGAR_STORAGE_CONNECT_TIMEOUT,
            read_timeout=read_timeout or settings.HANGAR_STORAGE_READ_TIMEOUT,
            # Only compute and check checksums where S3 requires them: Spaces, Ceph and
            # older MinIO releases reject the newer default trailing checksums.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        self.client = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint or None,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=config,
        )

    @classmethod
    def for_cluster(cls, cluster: Cluster, **kwargs: Any) -> ObjectStorage:
        if not cluster.storage_bucket or not cluster.storage_access_key:
            raise StorageError(
                f"Cluster {cluster.slug} has no object storage configured (bucket, keys)."
            )
        return cls(
            endpoint=cluster.storage_endpoint,
            bucket=cluster.storage_bucket,
            access_key=cluster.storage_access_key,
            secret_key=cluster.storage_secret_key,
            region=cluster.storage_region,
            addressing_style=cluster.storage_addressing_style or "virtual",
            **kwargs,
        )

    @property
    def where(self) -> str:
        return f"{self.endpoint or 'AWS S3'} (bucket {self.bucket})"

    # --- errors --------------------------------------------------------------------------

    def _translate(self, exc: Exception, what: str) -> StorageError:
        if isinstance(exc, _NO_ANSWER):
            return StorageUnreachable(
                f"Object storage {self.where} is unreachable ({what}, "
                f"{self.max_attempts} attempts): {exc}"
            )
        if isinstance(exc, ClientError):
            error = exc.response.get("Error") or {}
            code = str(
                error.get("Code")
                or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "")
            )
            message = error.get("Message") or code
            if code in _NOT_FOUND:
                return StorageNotFound(f"{what}: not found in {self.where}.", code=code)
            if code == "NoSuchBucket":
                return StorageError(
                    f"The bucket {self.bucket} does not exist at {self.endpoint}.", code=code
                )
            if code in _CREDENTIALS:
                return StorageError(
                    f"Object storage {self.where} refused the credentials ({code}: {message}) "
                    f"for {what}. Check the cluster's access key, secret key and region.",
                    code=code,
                )
            if code in _RETRYABLE:
                return StorageUnreachable(
                    f"Object storage {self.where} kept failing ({code}: {message}) for {what} "
                    f"after {self.max_attempts} attempts.",
                    code=code,
                )
            return StorageError(
                f"Object storage {self.where}: {code}: {message} ({what}).", code=code
            )
        if isinstance(exc, BotoCoreError):
            return StorageError(f"Object storage {self.where}: {exc} ({what}).")
        return StorageError(f"Object storage {self.where}: {exc.__class__.__name__}: {exc}")

    def _call(self, what: str, method: str, **kwargs: Any) -> Any:
        try:
            return getattr(self.client, method)(Bucket=self.bucket, **kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise self._translate(exc, what) from exc

    # --- reading -------------------------------------------------------------------------

    def check(self) -> None:
        """Can Hangar reach the bucket with these credentials? Raises StorageError if not."""
        try:
            self._call("checking the bucket", "head_bucket")
        except StorageNotFound as exc:
            # HEAD answers a bare 404, without the NoSuchBucket code a GET would carry.
            raise StorageError(
                f"The bucket {self.bucket} does not exist at {self.endpoint or 'AWS S3'}.",
                code="NoSuchBucket",
            ) from exc

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Every object under `prefix`, in key order."""
        token = None
        while True:
            kwargs: dict[str, Any] = {"Prefix": prefix}
            if token:
                kwargs["ContinuationToken"] = token
            page = self._call(f"listing {prefix}", "list_objects_v2", **kwargs)
            for item in page.get("Contents") or []:
                yield ObjectInfo(
                    key=item["Key"],
                    size=int(item["Size"]),
                    etag=str(item.get("ETag", "")).strip('"'),
                    last_modified=item.get("LastModified"),
                )
            if not page.get("IsTruncated"):
                return
            token = page.get("NextContinuationToken")

    def folders(self, prefix: str) -> list[str]:
        """The "subfolders" directly under `prefix` (common prefixes with delimiter /)."""
        found: list[str] = []
        token = None
        while True:
            kwargs: dict[str, Any] = {"Prefix": prefix, "Delimiter": "/"}
            if token:
                kwargs["ContinuationToken"] = token
            page = self._call(f"listing {prefix}", "list_objects_v2", **kwargs)
            found += [p["Prefix"] for p in page.get("CommonPrefixes") or []]
            if not page.get("IsTruncated"):
                return found
            token = page.get("NextContinuationToken")

    def head(self, key: str) -> ObjectInfo | None:
        try:
            answer = self._call(f"reading {key}", "head_object", Key=key)
        except StorageNotFound:
            return None
        return ObjectInfo(
            key=key,
            size=int(answer["ContentLength"]),
            etag=str(answer.get("ETag", "")).strip('"'),
            last_modified=answer.get("LastModified"),
        )

    def get_bytes(self, key: str, *, max_bytes: int = 16 * 1024 * 1024) -> bytes:
        """A small object's content (a manifest); refuses objects above `max_bytes`."""
        answer = self._call(f"reading {key}", "get_object", Key=key)
        body = answer["Body"]
        try:
            data = body.read(max_bytes + 1)
        except (BotoCoreError, OSError) as exc:
            raise self._translate(exc, f"reading {key}") from exc
        finally:
            body.close()
        if len(data) > max_bytes:
            raise StorageError(f"{key} is larger than {max_bytes} bytes.")
        return data

    def iter_chunks(self, key: str, *, chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
        """Stream an object's content."""
        answer = self._call(f"reading {key}", "get_object", Key=key)
        body = answer["Body"]
        try:
            while True:
                chunk = body.read(chunk_size)
                if not chunk:
                    return
                yield chunk
        except (BotoCoreError, OSError) as exc:
            raise self._translate(exc, f"reading {key}") from exc
        finally:
            body.close()

    def sha256(self, key: str) -> tuple[str, int]:
        """(hex SHA-256, size) of an object, computed by streaming it."""
        digest = hashlib.sha256()
        size = 0
        for chunk in self.iter_chunks(key):
            digest.update(chunk)
            size += len(chunk)
        return digest.hexdigest(), size

    def presigned_get(
        self, key: str, *, expires: int | None = None, filename: str | None = None
    ) -> str:
        """A URL anyone holding it can GET the object with until it expires (short)."""
        seconds = int(expires or settings.HANGAR_BACKUP_DOWNLOAD_SECONDS)
        seconds = max(1, min(seconds, MAX_PRESIGN_SECONDS))
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if filename:
            params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
        try:
            return self.client.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=seconds
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._translate(exc, f"signing {key}") from exc

    # --- writing -------------------------------------------------------------------------

    def put_bytes(self, key: str, data: bytes, *, content_type: str = "") -> ObjectInfo:
        extra = {"ContentType": content_type} if content_type else {}
        answer = self._call(f"writing {key}", "put_object", Key=key, Body=data, **extra)
        return ObjectInfo(key=key, size=len(data), etag=str(answer.get("ETag", "")).strip('"'))

    def upload_stream(
        self, key: str, stream: IO[bytes], *, part_size: int = DEFAULT_PART_SIZE
    ) -> ObjectInfo:
        """Upload a stream of unknown length as a multipart upload, aborted on any failure
        so no half-written parts linger (and cost money). The result is checked on the
        object itself, never on CompleteMultipartUpload's answer (Ceph RGW 16.2 answers it
        with an empty ETag): a HEAD must show the bytes sent and, where the storage gives
        the usual multipart ETag, the MD5 of the parts' MD5s computed here."""
        part_size = max(part_size, MIN_PART_SIZE)
        upload = self._call(f"starting the upload of {key}", "create_multipart_upload", Key=key)
        upload_id = upload["UploadId"]
        parts: list[dict[str, Any]] = []
        digests: list[bytes] = []
        size = 0
        try:
            while True:
                chunk = stream.read(part_size)
                if not chunk and parts:
                    break
                number = len(parts) + 1
                answer = self._call(
                    f"uploading part {number} of {key}",
                    "upload_part",
                    Key=key,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=chunk,
                )
                parts.append({"ETag": answer["ETag"], "PartNumber": number})
                digests.append(hashlib.md5(chunk, usedforsecurity=False).digest())
                size += len(chunk)
                if len(chunk) < part_size:
                    break
            self._call(
                f"completing the upload of {key}",
                "complete_multipart_upload",
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            # If even this fails, the bucket's rule for incomplete uploads cleans up.
            with contextlib.suppress(ClientError, BotoCoreError):
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            raise
        expected = hashlib.md5(b"".join(digests), usedforsecurity=False).hexdigest()
        return self._check_upload(key, size, f"{expected}-{len(digests)}")

    def _check_upload(self, key: str, size: int, etag: str) -> ObjectInfo:
        found = self.head(key)
        if found is None:
            raise StorageError(f"{key} is not in {self.where} after its upload completed.")
        if found.size != size:
            raise StorageError(
                f"{key} is {found.size} bytes in {self.where} after its upload; "
                f"{size} bytes were sent."
            )
        # An ETag of the form md5-N is the parts' checksum; other forms (encryption with
        # customer keys, some gateways) carry none, so the size is all there is to check.
        if "-" in found.etag and found.etag != etag:
            raise StorageError(
                f"{key} has ETag {found.etag} in {self.where} after its upload; the parts "
                f"sent make {etag}."
            )
        return found

    def copy(self, source_key: str, target_key: str) -> None:
        """Server-side copy inside the bucket: the data never passes through Hangar.
        Objects above 5 GB are copied in parts (boto3's managed copy)."""
        try:
            self.client.copy({"Bucket": self.bucket, "Key": source_key}, self.bucket, target_key)
        except (ClientError, BotoCoreError) as exc:
            raise self._translate(exc, f"copying {source_key} to {target_key}") from exc

    def copy_prefix(self, source_prefix: str, target_prefix: str) -> int:
        """Copy every object under one prefix to the same relative keys under another."""
        count = 0
        for item in self.list(source_prefix):
            self.copy(item.key, target_prefix + item.key[len(source_prefix) :])
            count += 1
        return count

    def delete(self, key: str) -> None:
        self._call(f"deleting {key}", "delete_object", Key=key)

    def delete_keys(self, keys: Iterable[str]) -> int:
        """Delete keys in batches of 1000; raises if the storage refused any of them."""
        batch: list[str] = []
        deleted = 0

        def flush() -> None:
            nonlocal deleted
            if not batch:
                return
            answer = self._call(
                f"deleting {len(batch)} objects",
                "delete_objects",
                Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True},
            )
            errors = answer.get("Errors") or []
            if errors:
                first = errors[0]
                raise StorageError(
                    f"Object storage {self.where} refused to delete {len(errors)} object(s), "
                    f"e.g. {first.get('Key')}: {first.get('Code')} {first.get('Message', '')}"
                )
            deleted += len(batch)
            batch.clear()

        for key in keys:
            batch.append(key)
            if len(batch) == 1000:
                flush()
        flush()
        return deleted

    def delete_prefix(self, prefix: str) -> int:
        """Delete everything under `prefix` (which must not be empty)."""
        if not prefix or not prefix.strip("/"):
            raise StorageError("Refusing to delete a whole bucket: the prefix is empty.")
        return self.delete_keys([item.key for item in self.list(prefix)])
