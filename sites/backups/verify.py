"""What makes a folder in the bucket a backup, checked with boto3 before anything counts.

A backup is verified when its manifest.json (written last by backup.sh) can be read and
names every object; each object exists with the size and the SHA-256 the manifest gives
(every file is read back and hashed, not only the dump); and the dump is non-empty,
gunzips completely to a mysqldump/mariadb-dump header, ends with the dump's "Dump
completed" line, and creates at least as many tables as the database had when backup.sh
counted them. Anything else fails, with the reason.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from clusters.storage import ObjectStorage

MANIFEST = "manifest.json"
HEADERS = (b"-- MariaDB dump", b"-- MySQL dump")
TRAILER = b"-- Dump completed"
_HEAD_BYTES = 4096
_TAIL_BYTES = 1024
_CREATE_TABLE = b"\nCREATE TABLE "


class VerificationFailed(Exception):
    """The folder is not a usable backup; the message says why."""


@dataclass(frozen=True)
class VerifiedBackup:
    manifest: dict[str, Any]
    manifest_sha256: str
    database_size: int
    database_sha256: str
    files_count: int
    files_size: int
    # Tables the dump creates; None for a check that did not read the dump.
    database_tables: int | None = None
    # Empty "folder" keys under the files prefix, not backed up (there is nothing in them).
    directory_markers: list[str] = field(default_factory=list)
    objects: list[dict[str, Any]] = field(default_factory=list)


def _manifest(storage: ObjectStorage, prefix: str) -> tuple[dict[str, Any], str]:
    key = prefix + MANIFEST
    if storage.head(key) is None:
        # A missing bucket (or refused credentials) answers a HEAD with the same bare 404:
        # name that cause rather than blaming the backup.
        storage.check()
        raise VerificationFailed(
            f"{MANIFEST} is missing: the backup did not finish (backup.sh writes it last)."
        )
    raw = storage.get_bytes(key)
    try:
        manifest = json.loads(raw)
    except ValueError as exc:
        raise VerificationFailed(f"{MANIFEST} is not valid JSON: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != 1:
        raise VerificationFailed(f"{MANIFEST} is not a Hangar backup manifest (format 1).")
    return manifest, hashlib.sha256(raw).hexdigest()


def _entries(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    database = manifest.get("database")
    files = manifest.get("files")
    if not isinstance(database, dict) or not isinstance(files, list):
        raise VerificationFailed(f"{MANIFEST} lacks its database or files section.")
    entries = [database, *files]
    for entry in entries:
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("key"), str)
            or not entry["key"]
            or ".." in entry["key"].split("/")
            or not isinstance(entry.get("size"), int)
            or not isinstance(entry.get("sha256"), str)
            or len(entry["sha256"]) != 64
        ):
            raise VerificationFailed(f"{MANIFEST} has an unreadable entry: {entry!r:.200}")
    return entries


@dataclass(frozen=True)
class DumpFacts:
    plain_size: int
    tables: int


def check_dump(storage: ObjectStorage, key: str, *, sha256: str) -> DumpFacts:
    """Stream the dump: its checksum, a complete gzip stream, the header and the trailer,
    and how many tables it creates."""
    digest = hashlib.sha256()
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    name = key.rsplit("/", 1)[-1]
    head = b""
    tail = b""
    plain = 0
    tables = 0
    carry = b""
    try:
        for chunk in storage.iter_chunks(key):
            digest.update(chunk)
            pending = chunk
            while pending:
                if inflater.eof:
                    # Another gzip member follows: concatenated streams are valid gzip.
                    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
                data = inflater.decompress(pending)
                plain += len(data)
                window = carry + data
                tables += window.count(_CREATE_TABLE)
                carry = window[-(len(_CREATE_TABLE) - 1) :]
                if len(head) < _HEAD_BYTES:
                    head += data[: _HEAD_BYTES - len(head)]
                tail = (tail + data)[-_TAIL_BYTES:]
                pending = inflater.unused_data if inflater.eof else b""
    except zlib.error as exc:
        raise VerificationFailed(f"{name} is not a valid gzip stream: {exc}") from exc
    if digest.hexdigest() != sha256:
        raise VerificationFailed(
            f"{name} has SHA-256 {digest.hexdigest()}, the manifest says {sha256}."
        )
    if not inflater.eof:
        raise VerificationFailed(f"{name} is truncated: its gzip stream does not end.")
    if plain == 0:
        raise VerificationFailed("The database dump is empty.")
    if not any(header in head for header in HEADERS):
        raise VerificationFailed(
            f"{name} does not start like a mariadb-dump or mysqldump dump: "
            f"{head[:80].decode('utf-8', 'replace')!r}"
        )
    if TRAILER not in tail:
        raise VerificationFailed(
            f"{name} is incomplete: it lacks the dump's closing '-- Dump completed' line."
        )
    return DumpFacts(plain_size=plain, tables=tables)


def check_file(storage: ObjectStorage, key: str, *, sha256: str, name: str) -> None:
    """Read an object back and compare its SHA-256 with the manifest's."""
    found, _ = storage.sha256(key)
    if found != sha256:
        raise VerificationFailed(
            f"{name} is corrupt: its SHA-256 is {found}, the manifest says {sha256}."
        )


def _representable(relative: str) -> bool:
    """Whether a key is a path rclone copies: no empty, '.' or '..' segments."""
    return all(part not in ("", ".", "..") for part in relative.split("/"))


def check_complete(
    storage: ObjectStorage,
    files_prefix: str,
    files: list[dict[str, Any]],
    *,
    started: datetime,
) -> list[str]:
    """Every object under the environment's files prefix that existed when the backup
    started must be in the manifest: rclone skips keys it cannot represent as a path
    (``a//b.txt``, ``./x``) without failing. Raises VerificationFailed naming them.
    Returns the directory markers (empty keys ending in /: no content) it left out."""
    backed_up = {entry["key"][len("files/") :] for entry in files}
    left_out: list[str] = []
    markers: list[str] = []
    # Object times have whole seconds: one of the backup's first second may be either.
    since = started.replace(microsecond=0)
    for item in storage.list(files_prefix):
        relative = item.key[len(files_prefix) :]
        if relative in backed_up:
            continue
        if item.key.endswith("/") and item.size == 0:
            markers.append(item.key)
        elif not _representable(relative) or (
            item.last_modified is None or item.last_modified < since
        ):
            # Written while the backup ran, a representable key is the next backup's.
            left_out.append(item.key)
    if left_out:
        shown = ", ".join(repr(key) for key in left_out[:10])
        more = f" and {len(left_out) - 10} more" if len(left_out) > 10 else ""
        raise VerificationFailed(
            f"{len(left_out)} file(s) were not backed up, as their keys are not paths the "
            f"copy tool (rclone) can represent: {shown}{more}. Rename them (no empty, '.' "
            "or '..' path segments) and back up again."
        )
    return markers


def verify_backup(
    storage: ObjectStorage,
    prefix: str,
    *,
    expect_manifest_sha256: str = "",
    expect_database_sha256: str = "",
    files_prefix: str = "",
    started: datetime | None = None,
) -> VerifiedBackup:
    """Verify the backup in folder ``prefix``; raises VerificationFailed with the reason,
    StorageError when the storage cannot be asked. With ``expect_*``, also that nothing
    changed since an earlier verification (before a restore). With ``files_prefix`` and
    ``started`` (a new backup), also that it holds every file that was there."""
    manifest, manifest_sha256 = _manifest(storage, prefix)
    if expect_manifest_sha256 and manifest_sha256 != expect_manifest_sha256:
        raise VerificationFailed(f"{MANIFEST} changed since the backup was verified.")
    entries = _entries(manifest)
    database = entries[0]
    if expect_database_sha256 and database["sha256"] != expect_database_sha256:
        raise VerificationFailed("The dump's checksum changed since the backup was verified.")
    for entry in entries:
        found = storage.head(prefix + entry["key"])
        if found is None:
            raise VerificationFailed(f"{entry['key']} is missing from the backup.")
        if found.size != entry["size"]:
            raise VerificationFailed(
                f"{entry['key']} is {found.size} bytes; the manifest says {entry['size']}."
            )
    if database["size"] == 0:
        raise VerificationFailed("The database dump is empty (0 bytes).")
    facts = check_dump(storage, prefix + database["key"], sha256=database["sha256"])
    source_tables = database.get("tables")
    if isinstance(source_tables, int) and facts.tables < source_tables:
        raise VerificationFailed(
            f"The database had {source_tables} tables when it was backed up, but the dump "
            f"creates {facts.tables}."
        )
    files = entries[1:]
    markers: list[str] = []
    if files_prefix and started is not None:
        markers = check_complete(storage, files_prefix, files, started=started)
    for entry in files:
        check_file(storage, prefix + entry["key"], sha256=entry["sha256"], name=entry["key"])
    return VerifiedBackup(
        manifest=manifest,
        manifest_sha256=manifest_sha256,
        database_size=database["size"],
        database_sha256=database["sha256"],
        files_count=len(files),
        files_size=sum(entry["size"] for entry in files),
        database_tables=facts.tables,
        directory_markers=markers,
        objects=entries,
    )
