"""Per-request control: ``with_options`` views, a caller's own httpx client, proxies from the
environment, one deadline per call, and the shared retry budget."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import FAST_RETRY
from willow_ext import (
    AsyncWillowClient,
    InternalServerError,
    InvalidRequestError,
    RetryPolicy,
    ThrottlePolicy,
    WillowClient,
)
from willow_ext._base import proxy_for
from willow_ext._retry import RetryBudget
from willow_ext.testing import LocalWillow

# ------------------------------------------------------------------ with_options


def test_a_view_changes_timeout_and_headers_and_shares_pool_and_token(
    willow: LocalWillow, client: WillowClient
) -> None:
    client.twins.get("AHU-1")
    view = client.with_options(timeout=7.5, headers={"X-Trace": "abc"})
    assert view.twins.get("AHU-2").id == "AHU-2"
    sent = view.last_response
    assert sent is not None
    assert sent.request.extensions["timeout"]["read"] == 7.5
    assert sent.request.headers["X-Trace"] == "abc"
    assert willow.app.stats.token_requests == 1  # the view used the client's token
    client.twins.get("AHU-1")  # the original keeps its settings
    assert client.last_response is not None
    assert "X-Trace" not in client.last_response.request.headers
    assert client.last_response.request.extensions["timeout"]["read"] != 7.5


def test_a_view_can_turn_retries_off_for_one_call(willow: LocalWillow, client: WillowClient) -> None:
    client.twins.get("AHU-1")
    willow.faults.queue = ["503"]
    with pytest.raises(InternalServerError):
        client.with_options(max_retries=0).twins.get("AHU-1")
    willow.faults.queue = ["503", "503"]
    assert client.twins.get("AHU-1").id == "AHU-1"  # the client itself still retries


def test_closing_a_view_leaves_the_client_working(willow: LocalWillow, client: WillowClient) -> None:
    view = client.with_options(timeout=3)
    view.twins.get("AHU-1")
    view.close()
    assert client.twins.get("AHU-2").id == "AHU-2"


@pytest.mark.parametrize("bad", [-1, 1.5, True, "2"])
def test_max_retries_must_be_a_whole_number(bad: Any) -> None:
    with (
        WillowClient(base_url="http://127.0.0.1:1/api/v3", client_id="c", client_secret="s") as client,
        pytest.raises(InvalidRequestError, match="max_retries"),
    ):
        client.with_options(max_retries=bad)


# ------------------------------------------------------------------ a caller's own httpx client


def test_a_callers_own_client_keeps_retries_and_never_follows_redirects(willow: LocalWillow) -> None:
    own = httpx.Client(follow_redirects=True, timeout=10)
    with WillowClient(**willow.client_kwargs(retry=FAST_RETRY), http_client=own) as client:
        client.twins.get("AHU-1")
        willow.faults.queue = ["503", "reset"]
        assert client.twins.get("AHU-1").id == "AHU-1"  # retried through the caller's client
        assert client.retry_stats.retries == 2
        assert own.follow_redirects is False
    own.close()


async def test_an_async_callers_own_client_keeps_retries(willow: LocalWillow) -> None:
    own = httpx.AsyncClient(timeout=10)
    async with AsyncWillowClient(**willow.client_kwargs(retry=FAST_RETRY), http_client=own) as client:
        await client.twins.get("AHU-1")
        willow.faults.queue = ["503"]
        assert (await client.twins.get("AHU-1")).id == "AHU-1"
        assert client.retry_stats.retries == 1
    await own.aclose()


# ------------------------------------------------------------------ proxies from the environment


def test_proxy_for_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert proxy_for("https://contoso.app.willowinc.com/api/v3") is None
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp:3128")
    assert proxy_for("https://contoso.app.willowinc.com/api/v3") == "http://proxy.corp:3128"
    monkeypatch.setenv("NO_PROXY", ".willowinc.com")
    assert proxy_for("https://contoso.app.willowinc.com/api/v3") is None


class _ForwardingProxy(http.server.BaseHTTPRequestHandler):
    """A plain-HTTP forward proxy on loopback: it relays absolute-form requests and counts them."""

    seen: list[str] = []  # noqa: RUF012 - shared by the handler instances of one test

    def _relay(self) -> None:
        type(self).seen.append(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "proxy-connection", "connection")}
        upstream = httpx.request(self.command, self.path, headers=headers, content=body, timeout=10, trust_env=False)
        self.send_response(upstream.status_code)
        for key, value in upstream.headers.items():
            if key.lower() not in ("transfer-encoding", "connection", "content-length", "content-encoding"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(upstream.content)))
        self.end_headers()
        self.wfile.write(upstream.content)

    do_GET = do_POST = do_PUT = _relay  # noqa: N815

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def forwarding_proxy() -> Iterator[str]:
    _ForwardingProxy.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ForwardingProxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_requests_go_through_the_proxy_the_environment_names(
    willow: LocalWillow, forwarding_proxy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("NO_PROXY", "no_proxy", "http_proxy", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", forwarding_proxy)
    with WillowClient(**willow.client_kwargs(retry=FAST_RETRY)) as client:
        assert client.twins.get("AHU-1").id == "AHU-1"
    assert any(path.endswith("/oauth2/token") for path in _ForwardingProxy.seen), _ForwardingProxy.seen
    assert any("/twins/AHU-1" in path for path in _ForwardingProxy.seen)


# ------------------------------------------------------------------ one deadline per call


def test_the_token_fetch_and_the_retries_share_one_deadline() -> None:
    api_attempts: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth2/token"):
            time.sleep(0.6)  # a slow token endpoint spends most of the call's budget
            return httpx.Response(200, json={"access_token": "tok", "expires_in": 3599})
        api_attempts.append(time.monotonic())
        return httpx.Response(503, json={"title": "busy"})

    policy = RetryPolicy(max_total_seconds=1.0, backoff_initial=0.3, backoff_max=0.3, jitter=0, max_attempts=10)
    with WillowClient(
        base_url="http://127.0.0.1/api/v3",
        client_id="c",
        client_secret="s",
        retry=policy,
        transport=httpx.MockTransport(handler),
    ) as client:
        started = time.monotonic()
        with pytest.raises(InternalServerError):
            client.twins.get("AHU-1")
        elapsed = time.monotonic() - started
    # 0.6 s of token fetch leaves room for one 0.3 s backoff, not the three a fresh budget allows
    assert len(api_attempts) == 2
    assert elapsed < 1.0 + 0.2


# ------------------------------------------------------------------ the shared retry budget


def test_the_budget_allows_a_fraction_of_requests_plus_a_reserve() -> None:
    now = [0.0]
    budget = RetryBudget(ratio=0.2, min_per_second=0.0, window=10.0, clock=lambda: now[0])
    for _ in range(10):
        budget.record_request()
    assert [budget.try_withdraw() for _ in range(3)] == [True, True, False]
    now[0] = 11.0  # the window moved on: old requests and retries no longer count
    budget.record_request()
    assert budget.try_withdraw() is False  # 0.2 of one request is less than one retry
    reserve = RetryBudget(ratio=0.0, min_per_second=0.5, window=10.0, clock=lambda: now[0])
    assert sum(reserve.try_withdraw() for _ in range(10)) == 5


def test_many_callers_against_a_failing_server_retry_a_bounded_fraction() -> None:
    sent: list[str] = []
    lock = threading.Lock()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth2/token"):
            return httpx.Response(200, json={"access_token": "tok", "expires_in": 3599})
        with lock:
            sent.append(request.url.path)
        return httpx.Response(503, json={"title": "down"})

    policy = RetryPolicy(
        max_attempts=8, backoff_initial=0.001, backoff_max=0.002, budget_ratio=0.2, budget_min_per_second=0.5
    )
    callers = 40
    with WillowClient(
        base_url="http://127.0.0.1/api/v3",
        client_id="c",
        client_secret="s",
        retry=policy,
        throttle=ThrottlePolicy.disabled(),  # this test is about retries, not pacing
        transport=httpx.MockTransport(handler),
    ) as client:

        def one(index: int) -> None:
            with pytest.raises(InternalServerError):
                client.twins.get(f"T-{index}")

        threads = [threading.Thread(target=one, args=(i,)) for i in range(callers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    retries = len(sent) - callers
    # Without a budget: 40 callers x 7 retries = 280. With it: 20 % of 40, plus a 5-retry reserve.
    assert retries <= 0.2 * callers + 0.5 * 10 + 1
    assert len(sent) >= callers
