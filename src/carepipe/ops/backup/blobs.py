"""The local blob store's backup: new files copied to ``<backup_url>/blobs/`` plus a manifest.

Blobs are content-addressed and never change, so a sync copies only names the
backup lacks. Files are stored encrypted; the manifest lists the sha256 of each
stored file's bytes, so ``verify`` checks the copy without the encryption key.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from carepipe.core.config import Settings
from carepipe.core.errors import BackupNotConfigured
from carepipe.ops.backup.litestream import backup_root

MANIFEST = "manifest.json"


@dataclass
class BlobSync:
    """What one sync did: files copied now, files in the manifest in all."""

    copied: int
    total: int


@dataclass
class BlobCheck:
    """The backed-up blobs against the manifest: ``bad`` lists missing or altered files."""

    checked: int
    bad: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.bad


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def source_dir(s: Settings) -> Path:
    """The local blob directory (backing up an S3 blob store is the bucket's own job)."""
    parsed = urlparse(s.resolved_blob_url)
    if parsed.scheme != "file":
        raise BackupNotConfigured("blob backup covers the local (file://) blob store only")
    return Path(parsed.path)


def blob_backup_configured(s: Settings) -> bool:
    """Whether CarePipe copies the blobs itself: a local blob store and a directory
    ``backup_url`` (an S3 blob store is backed up by its bucket's replication)."""
    if not s.backup_url or urlparse(s.resolved_blob_url).scheme != "file":
        return False
    try:
        return not backup_root(s).startswith("s3://")
    except BackupNotConfigured:  # an unsupported backup_url: ``backup status`` says why
        return False


def backup_dir(s: Settings) -> Path:
    """``<backup_url>/blobs`` (a local directory)."""
    root = backup_root(s)
    if root.startswith("s3://"):
        raise BackupNotConfigured("blob backup needs a directory backup_url")
    return Path(root, "blobs")


def read_manifest(s: Settings) -> dict[str, str]:
    """The manifest: relative path -> sha256 of the stored bytes (empty if none yet)."""
    path = backup_dir(s) / MANIFEST
    return json.loads(path.read_text()) if path.exists() else {}


def sync_blobs(s: Settings) -> BlobSync:
    """Copy blobs the backup lacks and record their hashes in the manifest."""
    src, dst = source_dir(s), backup_dir(s)
    dst.mkdir(parents=True, exist_ok=True)
    manifest = read_manifest(s)
    copied = 0
    for path in sorted(p for p in src.rglob("*") if p.is_file() and not p.name.startswith(".")):
        rel = path.relative_to(src).as_posix()
        if rel in manifest:
            continue
        target = dst / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".part")
        shutil.copyfile(path, tmp)
        os.replace(tmp, target)
        manifest[rel] = _file_sha256(target)
        copied += 1
    # Written last and atomically: a crash mid-sync leaves a manifest that lists only
    # files already copied, never one that promises a file not there.
    tmp = dst / (MANIFEST + ".part")
    tmp.write_text(json.dumps(manifest, indent=0, sort_keys=True))
    os.replace(tmp, dst / MANIFEST)
    return BlobSync(copied=copied, total=len(manifest))


def verify_blobs(s: Settings) -> BlobCheck:
    """Re-hash every file the manifest lists; missing or changed ones are ``bad``."""
    dst = backup_dir(s)
    manifest = read_manifest(s)
    bad = [
        rel
        for rel, sha in sorted(manifest.items())
        if not (dst / rel).is_file() or _file_sha256(dst / rel) != sha
    ]
    return BlobCheck(checked=len(manifest), bad=bad)
