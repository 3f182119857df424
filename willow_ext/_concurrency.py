"""The few primitives whose sync and async forms differ only in name, so ``scripts/unasync.py``
can turn ``async_sleep`` in ``willow_ext/_async`` into ``sync_sleep`` in ``willow_ext/_sync``."""

from __future__ import annotations

import asyncio
import time

__all__ = ["async_sleep", "sync_sleep"]


async def async_sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


def sync_sleep(seconds: float) -> None:
    time.sleep(seconds)
