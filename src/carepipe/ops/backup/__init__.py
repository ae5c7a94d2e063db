"""Backups, verification and restore (issue 17, docs/backups.md).

One module per concern: ``status`` (the backend protocol and its shared views),
``litestream`` (SQLite continuous replication), ``blobs`` (the blob store's
manifest and copy), ``sqlite_restore`` (restore and verify an SQLite backup).
"""
