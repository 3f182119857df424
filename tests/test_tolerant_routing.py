"""The segment router of ``find_operation`` decides exactly as the regex table it replaced."""

from __future__ import annotations

import itertools
import random

from willow_ext._operations import OPERATIONS, OperationFacts
from willow_ext._tolerant import _routes, find_operation

VALUES = ["AHU-1", "ids", "status", "latest", "incoming", "outgoing", "", " ", "a b", "x\n", "\n", "%2F", "{id}", "é"]
METHODS = ["GET", "get", "Post", "PUT", "PATCH", "DELETE", "HEAD", "GET\n", "G ET"]


def by_regex(method: str, path: str, api_root: str = "") -> OperationFacts | None:
    """The decision before the segment router (regexes over all 43 operations, in priority order)."""
    if api_root and path.startswith(api_root):
        path = path[len(api_root) :]
    key = f"{method.upper()} {path.rstrip('/') or '/'}"
    for facts in OPERATIONS:
        if key == f"{facts.method} {facts.path}":
            return facts
    return next((facts for pattern, facts in _routes() if pattern.match(key)), None)


def concrete_paths() -> list[str]:
    paths = {"/", "", "//", "/twins//", "/twins/ids/", "twins/AHU-1", "/twins/AHU-1/", "/api/v3/twins/x"}
    for facts in OPERATIONS:
        segments = facts.path.split("/")
        slots = [i for i, part in enumerate(segments) if part.startswith("{")]
        for values in itertools.product(VALUES, repeat=len(slots)):
            filled = list(segments)
            for index, value in zip(slots, values, strict=True):
                filled[index] = value
            path = "/".join(filled)
            paths.update({path, path + "/", path + "/extra", path + "\n", "/api/v3" + path})
    vocabulary = sorted({part for facts in OPERATIONS for part in facts.path.split("/")} | set(VALUES))
    rng = random.Random(14)
    for _ in range(3000):
        paths.add("/" + "/".join(rng.choice(vocabulary) for _ in range(rng.randint(1, 5))))
    return sorted(paths)


def test_the_segment_router_decides_like_the_regexes_on_every_path() -> None:
    checked = 0
    for path in concrete_paths():
        for method in METHODS:
            for api_root in ("", "/api/v3"):
                assert find_operation(method, path, api_root=api_root) is by_regex(method, path, api_root), (
                    method,
                    path,
                    api_root,
                )
                checked += 1
    assert checked > 50_000
