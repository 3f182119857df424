"""Run the local Willow app over real HTTP on a loopback port (uvicorn in a background thread)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

import uvicorn
from starlette.types import ASGIApp

from willow_ext._throttle import ThrottlePolicy

from ._app import FaultConfig, WillowApp
from ._seed import seed_building
from ._store import Store

__all__ = ["LocalWillow"]


class LocalWillow:
    """A seeded local Willow instance on ``http://127.0.0.1:<free port>/api/v3``.

    >>> with LocalWillow() as willow:
    ...     client = WillowClient(**willow.client_kwargs())
    """

    client_id = "local-client"
    client_secret = "local-secret"  # noqa: S105 - a fixed credential of the local test server

    def __init__(
        self,
        *,
        seed: bool = True,
        faults: FaultConfig | None = None,
        validate_requests: bool = True,
        validate_responses: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
        middleware: Callable[[ASGIApp], ASGIApp] | None = None,
    ) -> None:
        store = Store()
        if seed:
            seed_building(store)
        self.app = WillowApp(
            store,
            clients={self.client_id: self.client_secret},
            faults=faults,
            validate_requests=validate_requests,
            validate_responses=validate_responses,
        )
        # ``middleware`` wraps the app on the wire only (e.g. planted deviations, testing/_deviations.py).
        self._config = uvicorn.Config(
            middleware(self.app) if middleware is not None else self.app,
            host=host,
            port=port,
            log_level="critical",
            lifespan="off",
            access_log=False,
            timeout_keep_alive=30,
        )
        self._server = uvicorn.Server(self._config)
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def store(self) -> Store:
        return self.app.store

    @property
    def faults(self) -> FaultConfig:
        return self.app.faults

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v3"

    def client_kwargs(self, **extra: Any) -> dict[str, Any]:
        """Arguments for ``WillowClient`` / ``AsyncWillowClient``.

        The client's throttle matches this server's rate limit: the same limit and window when
        ``faults.rate_limit`` is on, off when it is not (so tests are not paced for nothing).
        """
        faults = self.app.faults
        throttle = (
            ThrottlePolicy(limit=faults.rate_limit_requests, window=faults.rate_limit_window)
            if faults.rate_limit
            else ThrottlePolicy.disabled()
        )
        return {
            "base_url": self.base_url,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "throttle": throttle,
            **extra,
        }

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._server.run, name="local-willow", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the local Willow server did not start")
            time.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
