"""pytest fixtures for the local Willow server (registered as the ``willow`` pytest11 plugin).

- ``local_willow``: a fresh seeded :class:`LocalWillow` per test. After the test it fails if the
  server answered outside the spec, or if the client sent a request the spec forbids (mark a
  test ``@pytest.mark.expect_rejections`` / ``@pytest.mark.newer_server`` to allow either).
- ``local_willow_client``: a :class:`~willow_ext.WillowClient` connected to it.

pytest loads this module in every repository where ``willow-api`` is installed, so it imports only
what a base install has; the server (the ``testing`` extra) is imported when a fixture is used.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from willow_ext import WillowClient

if TYPE_CHECKING:
    from ._server import LocalWillow

__all__ = ["local_willow", "local_willow_client"]

MISSING_EXTRA = "the local_willow fixtures need the testing extra: pip install 'willow-api[testing]'"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "expect_rejections: the test sends requests the spec forbids on purpose")
    config.addinivalue_line("markers", "newer_server: the server answers outside the pinned spec on purpose")


def check_contract(server: LocalWillow, request: pytest.FixtureRequest) -> None:
    stats = server.app.stats
    if request.node.get_closest_marker("newer_server") is None:
        assert stats.response_violations == [], "the local server answered outside the spec"
    if request.node.get_closest_marker("expect_rejections") is None:
        assert stats.rejected_requests == [], "the client sent requests the spec does not allow"


def _local_willow_class() -> type[LocalWillow]:
    try:
        server: type[LocalWillow] = importlib.import_module("willow_ext.testing._server").LocalWillow
    except ImportError as exc:
        missing = exc.name
    else:
        return server
    # Outside the except block, so pytest shows the one line, not the chained ImportError.
    pytest.fail(f"{MISSING_EXTRA} ({missing} is missing)", pytrace=False)


@pytest.fixture
def local_willow(request: pytest.FixtureRequest) -> Iterator[LocalWillow]:
    with _local_willow_class()() as server:
        yield server
        check_contract(server, request)


@pytest.fixture
def local_willow_client(local_willow: LocalWillow) -> Iterator[WillowClient]:
    with WillowClient(**local_willow.client_kwargs()) as client:
        yield client
