"""Snapshotters: filesystem trees made of a parent chain, handed out as Mount records."""
