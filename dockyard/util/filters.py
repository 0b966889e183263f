"""Docker's ``filters`` query parameter: ``{"name": {"web": true}}`` or the old ``{"name": ["web"]}``."""

from __future__ import annotations

import json

from dockyard import errdefs


class Filters:
    def __init__(self, fields: dict[str, list[str]] | None = None) -> None:
        self.fields: dict[str, list[str]] = fields or {}

    @classmethod
    def parse(cls, raw: str | None) -> "Filters":
        if not raw:
            return cls()
        try:
            data = json.loads(raw)
        except ValueError as e:
            raise errdefs.InvalidArgument(f"invalid filter: {e}") from None
        if not isinstance(data, dict):
            raise errdefs.InvalidArgument("invalid filter: expected a JSON object")
        fields: dict[str, list[str]] = {}
        for key, val in data.items():
            if isinstance(val, dict):
                fields[key] = [k for k, on in val.items() if on]
            elif isinstance(val, list):
                fields[key] = [str(v) for v in val]
            elif isinstance(val, str):
                fields[key] = [val]
            else:
                raise errdefs.InvalidArgument(f"invalid filter '{key}'")
        return cls(fields)

    def validate(self, accepted: set[str]) -> None:
        for key in self.fields:
            if key not in accepted:
                raise errdefs.InvalidArgument(f"invalid filter '{key}'")

    def get(self, key: str) -> list[str]:
        return self.fields.get(key, [])

    def __contains__(self, key: str) -> bool:
        return key in self.fields

    def match_labels(self, labels: dict[str, str] | None, key: str = "label") -> bool:
        """Every ``label=k`` / ``label=k=v`` given must hold."""
        labels = labels or {}
        for want in self.get(key):
            k, sep, v = want.partition("=")
            if k not in labels or (sep and labels[k] != v):
                return False
        return True

    def match_any(self, key: str, value: str) -> bool:
        vals = self.get(key)
        return not vals or value in vals
