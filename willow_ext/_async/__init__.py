"""The client layer, written once as asyncio code in this package; ``scripts/unasync.py`` generates
its synchronous twin in the sibling ``_sync`` package (CI fails when the two differ)."""
