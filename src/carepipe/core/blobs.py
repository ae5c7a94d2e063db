"""Content-addressed blob store (raw messages, audio, images, bundles, reports).

Keys are ``sha256/<hex>`` of the plaintext, so the same bytes are stored once.
Content is encrypted at rest; the store never sees plaintext on disk.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlparse

from carepipe.core.crypto import Cipher, load_or_create_key, sha256_hex


class BlobNotFound(KeyError):
    pass


class BlobStore(Protocol):
    def put(self, data: bytes) -> str: ...
    def get(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...


def blob_key(data: bytes) -> str:
    return f"sha256/{sha256_hex(data)}"


def _check_key(key: str) -> str:
    prefix, _, digest = key.partition("/")
    if prefix != "sha256" or len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
        raise BlobNotFound(key)
    return digest


class LocalBlobStore:
    """Blobs in a local directory: ``<root>/ab/cd/<sha256>``, written atomically (rename)."""

    def __init__(self, root: Path, cipher: Cipher) -> None:
        self.root = root
        self.cipher = cipher
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, digest: str) -> Path:
        return self.root / digest[:2] / digest[2:4] / digest

    def put(self, data: bytes) -> str:
        key = blob_key(data)
        path = self._path(key[7:])
        if path.exists():
            return key
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(self.cipher.encrypt(data, aad=key.encode()))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return key

    def get(self, key: str) -> bytes:
        path = self._path(_check_key(key))
        try:
            raw = path.read_bytes()
        except FileNotFoundError as exc:
            raise BlobNotFound(key) from exc
        return self.cipher.decrypt(raw, aad=key.encode())

    def exists(self, key: str) -> bool:
        return self._path(_check_key(key)).exists()


class S3BlobStore:
    """Blobs in an S3-compatible bucket (AWS S3, MinIO, Ceph), encrypted client-side."""

    def __init__(self, bucket: str, prefix: str, cipher: Cipher, endpoint_url: str | None) -> None:
        import boto3

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.cipher = cipher
        self.client = boto3.client("s3", endpoint_url=endpoint_url)

    def _name(self, key: str) -> str:
        digest = _check_key(key)
        return f"{self.prefix}/{digest}" if self.prefix else digest

    def put(self, data: bytes) -> str:
        key = blob_key(data)
        if not self.exists(key):
            self.client.put_object(
                Bucket=self.bucket,
                Key=self._name(key),
                Body=self.cipher.encrypt(data, aad=key.encode()),
            )
        return key

    def get(self, key: str) -> bytes:
        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=self._name(key))
        except self.client.exceptions.NoSuchKey as exc:
            raise BlobNotFound(key) from exc
        return self.cipher.decrypt(obj["Body"].read(), aad=key.encode())

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._name(key))
        except ClientError:
            return False
        return True


def open_blob_store(url: str, *, key: bytes, endpoint_url: str | None = None) -> BlobStore:
    """``file:///path`` or ``s3://bucket/prefix``."""
    parsed = urlparse(url)
    cipher = Cipher(key)
    if parsed.scheme == "file":
        return LocalBlobStore(Path(unquote(parsed.path)), cipher)
    if parsed.scheme == "s3":
        return S3BlobStore(parsed.netloc, parsed.path, cipher, endpoint_url)
    raise ValueError(f"unsupported blob store URL scheme: {parsed.scheme!r}")


def blob_store_from_settings(settings: object) -> BlobStore:
    from carepipe.core.config import Settings

    assert isinstance(settings, Settings)
    enc = settings.blob_encryption_key.get_secret_value() if settings.blob_encryption_key else None
    key = load_or_create_key(enc, settings.data_dir / "secrets" / "blob.key")
    return open_blob_store(
        settings.resolved_blob_url, key=key, endpoint_url=settings.s3_endpoint_url
    )
