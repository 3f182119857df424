"""One of several worker processes sharing a throttle backend (run by tests/test_throttle.py).

    python -m tests.throttle_worker BASE_URL TOKEN BACKEND_URL REQUESTS LIMIT WINDOW START_AT

Sends REQUESTS ``GET /twins/AHU-1`` through a ThrottleTransport, each until it succeeds (a 429 is
resent: the throttle itself makes the resend wait for the next window), and prints one JSON line.
"""

from __future__ import annotations

import json
import sys
import time

import httpx

from willow_ext import ThrottleTransport
from willow_ext._throttle import ThrottlePolicy


def main(base_url: str, token: str, backend: str, requests: int, limit: int, window: float, start_at: float) -> None:
    policy = ThrottlePolicy(limit=limit, window=window)
    transport = ThrottleTransport(
        httpx.HTTPTransport(), base_url=base_url, client_id="local-client", policy=policy, backend=backend
    )
    ok = rate_limited = 0
    with httpx.Client(transport=transport, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        time.sleep(max(0.0, start_at - time.time()))  # start together, so the workers really compete
        started = time.time()
        while ok < requests:
            response = client.get(f"{base_url}/twins/AHU-1")
            if response.status_code == 429:
                rate_limited += 1
                continue
            response.raise_for_status()
            ok += 1
    print(json.dumps({"ok": ok, "rate_limited": rate_limited, "started": started, "finished": time.time()}))


if __name__ == "__main__":
    base, token, backend, count, limit, window, start_at = sys.argv[1:8]
    main(base, token, backend, int(count), int(limit), float(window), float(start_at))
