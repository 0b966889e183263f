"""The one SQLite database that owns every reference in the data root.

Schema (version 1)::

    meta(key PK, value)                      schema version
    images(id PK, config, size, created, added)
        id      image ID = digest of the config blob
        config  the image config JSON (also kept as a blob in the content store)
    tags(ref PK, image_id -> images, added)  normalized references (docker.io/library/busybox:latest)
    layer_blobs(diff_id PK, digest, media_type, size)
        the layer tar as it came in (content store blob), for save and push
    snapshots(key PK, sid UNIQUE, parent, kind, short, created, size)
        key     chain ID for committed layers, container ID (or "<id>-init") for active ones
    volumes(name PK, driver, options, labels, created, anonymous)
        options / labels JSON; the local driver keeps data in <root>/volumes/<name>/_data
    volume_refs(volume -> volumes, container)   which containers use a volume (rm refuses while any does)
    build_cache(key PK, image_id, created)   a build step's result, by parent + instruction + sources
    containers(id PK, name UNIQUE, image_id, created, config, host_config, extra)
        config / host_config  immutable JSON as given at create (Docker's shapes)
        extra   derived facts fixed at create (paths, resolved command), JSON
    container_state(id PK -> containers, status, pid, exit_code, started_at, finished_at,
                    oom_killed, error, restart_count, monitor_pid, started_once, health,
                    manually_stopped)
        the mutable part, rewritten in one transaction per state change
        manually_stopped  stopped or killed by the user (Docker's HasBeenManuallyStopped)

Columns added after a table first shipped are listed in ``_ADDED_COLUMNS`` and added
to older databases at open (``ALTER TABLE ... ADD COLUMN``): such additions keep the
schema version, since an older dockyard reads the table fine.

WAL mode with synchronous=NORMAL: a killed daemon (kill -9) never leaves a
half-written state change; the last committed transaction wins.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from typing import Any, Iterator

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS images (
    id TEXT PRIMARY KEY, config TEXT NOT NULL, size INTEGER NOT NULL,
    created INTEGER NOT NULL, added INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tags (
    ref TEXT PRIMARY KEY, image_id TEXT NOT NULL REFERENCES images(id), added INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS tags_image ON tags(image_id);
CREATE TABLE IF NOT EXISTS layer_blobs (
    diff_id TEXT PRIMARY KEY, digest TEXT NOT NULL, media_type TEXT NOT NULL, size INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS snapshots (
    key TEXT PRIMARY KEY, sid TEXT NOT NULL UNIQUE, parent TEXT, kind TEXT NOT NULL,
    short TEXT NOT NULL UNIQUE, created INTEGER NOT NULL, size INTEGER NOT NULL DEFAULT -1);
CREATE TABLE IF NOT EXISTS volumes (
    name TEXT PRIMARY KEY, driver TEXT NOT NULL, options TEXT NOT NULL, labels TEXT NOT NULL,
    created INTEGER NOT NULL, anonymous INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS volume_refs (
    volume TEXT NOT NULL REFERENCES volumes(name), container TEXT NOT NULL, PRIMARY KEY (volume, container));
CREATE TABLE IF NOT EXISTS build_cache (
    key TEXT PRIMARY KEY, image_id TEXT NOT NULL, created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS containers (
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, image_id TEXT NOT NULL,
    created INTEGER NOT NULL, config TEXT NOT NULL, host_config TEXT NOT NULL, extra TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS container_state (
    id TEXT PRIMARY KEY REFERENCES containers(id) ON DELETE CASCADE,
    status TEXT NOT NULL, pid INTEGER NOT NULL DEFAULT 0,
    exit_code INTEGER NOT NULL DEFAULT 0 CHECK (exit_code >= 0 AND exit_code <= 255),
    started_at INTEGER NOT NULL DEFAULT 0, finished_at INTEGER NOT NULL DEFAULT 0,
    oom_killed INTEGER NOT NULL DEFAULT 0, error TEXT NOT NULL DEFAULT '',
    restart_count INTEGER NOT NULL DEFAULT 0, monitor_pid INTEGER NOT NULL DEFAULT 0,
    started_once INTEGER NOT NULL DEFAULT 0, health TEXT, manually_stopped INTEGER NOT NULL DEFAULT 0);
"""

# (table, column, declaration): added to databases made before the column existed
_ADDED_COLUMNS = [
    ("container_state", "manually_stopped", "INTEGER NOT NULL DEFAULT 0"),
]


class MetadataDB:
    def __init__(self, path: str) -> None:
        self.path = path
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        c = self._conn
        c.execute("PRAGMA journal_mode=WAL")
        c.execute("PRAGMA synchronous=NORMAL")
        c.execute("PRAGMA foreign_keys=ON")
        c.execute("PRAGMA busy_timeout=5000")
        for stmt in _SCHEMA.strip().split(";"):
            if stmt.strip():
                c.execute(stmt)
        self._migrate()

    def _migrate(self) -> None:
        row = self._conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if row is None:
            self._conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        elif int(row[0]) > SCHEMA_VERSION:
            raise RuntimeError(f"data root schema {row[0]} is newer than this dockyard ({SCHEMA_VERSION})")
        for table, column, decl in _ADDED_COLUMNS:
            have = {r[1] for r in self._conn.execute(f"PRAGMA table_info({table})")}
            if column not in have:
                self._conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")

    @contextlib.contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One transaction; nested calls join the outer one."""
        with self._lock:
            if self._conn.in_transaction:
                yield self._conn
                return
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def query(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    def query_one(self, sql: str, args: tuple = ()) -> sqlite3.Row | None:
        with self._lock:
            return self._conn.execute(sql, args).fetchone()

    def execute(self, sql: str, args: tuple = ()) -> int:
        with self.tx() as c:
            return c.execute(sql, args).rowcount

    def close(self) -> None:
        self._conn.close()


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))
