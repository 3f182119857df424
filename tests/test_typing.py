"""The seam to the generated operations is typed: mypy --strict rejects a wrong argument name or
type in a generated call made through the client (sync and async), and accepts a right one."""

from __future__ import annotations

from pathlib import Path

import pytest
from mypy import api as mypy_api

ROOT = Path(__file__).resolve().parent.parent

PROLOGUE = """
from willow_api_client.api.twins import twins_v2_get_twin_by_id_async
from willow_api_client.models import Twin
from willow_ext import AsyncWillowClient, WillowClient

def sync_call(client: WillowClient) -> None:
    {sync}

async def async_call(client: AsyncWillowClient) -> None:
    {async_}
"""
OP = "twins_v2_get_twin_by_id_async"


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Shared by the cases of this module: the first run type-checks willow_ext, the rest reuse it.
    return tmp_path_factory.mktemp("mypy-cache")


def _mypy(tmp_path: Path, cache_dir: Path, sync: str, async_: str) -> tuple[str, int]:
    source = tmp_path / "consumer.py"
    source.write_text(PROLOGUE.format(sync=sync, async_=async_), encoding="utf-8")
    stdout, stderr, status = mypy_api.run(
        ["--strict", f"--cache-dir={cache_dir}", "--config-file=", "--python-version=3.11", str(source)]
    )
    return stdout + stderr, status


def test_a_right_call_type_checks(tmp_path: Path, cache_dir: Path) -> None:
    out, status = _mypy(
        tmp_path,
        cache_dir,
        f'twin = client.call({OP}.sync_detailed, "AHU-1", client=client.generated, include_relationships=True)',
        f'twin = await client.call({OP}.asyncio_detailed, "AHU-1", client=client.generated)',
    )
    assert status == 0, out


@pytest.mark.parametrize(
    ("sync", "async_", "expected"),
    [
        (  # a misspelled keyword
            f'client.call({OP}.sync_detailed, "AHU-1", client=client.generated, include_relationship=True)',
            f'await client.call({OP}.asyncio_detailed, "AHU-1", client=client.generated, include_relationship=True)',
            'Unexpected keyword argument "include_relationship"',
        ),
        (  # a wrong argument type
            f"client.call({OP}.sync_detailed, 42, client=client.generated)",
            f"await client.call({OP}.asyncio_detailed, 42, client=client.generated)",
            'has incompatible type "int"; expected "str"',
        ),
        (  # a resource method with a misspelled keyword
            'client.twins.get("AHU-1", include_relationship=True)',
            'await client.twins.get("AHU-1", include_relationship=True)',
            'Unexpected keyword argument "include_relationship"',
        ),
    ],
)
def test_a_wrong_call_fails_mypy(tmp_path: Path, cache_dir: Path, sync: str, async_: str, expected: str) -> None:
    out, status = _mypy(tmp_path, cache_dir, sync, async_)
    assert status == 1
    assert out.count(expected) == 2, out  # once for the sync client, once for the async one
