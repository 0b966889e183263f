"""The build cache: which image a step produced, by (parent, instruction, sources) key."""

from __future__ import annotations

import time

from dockyard.store.metadata import MetadataDB

class BuildCache:
    def __init__(self, db: MetadataDB) -> None:
        self.db = db

    def get(self, key: str) -> str | None:
        r = self.db.query_one("SELECT image_id FROM build_cache WHERE key=?", (key,))
        return r["image_id"] if r else None

    def put(self, key: str, image_id: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO build_cache (key, image_id, created) VALUES (?,?,?)",
                        (key, image_id, time.time_ns()))

    def forget_image(self, image_id: str) -> None:
        self.db.execute("DELETE FROM build_cache WHERE image_id=?", (image_id,))

    def clear(self) -> int:
        return self.db.execute("DELETE FROM build_cache")
