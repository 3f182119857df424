"""Spec validation for requests that tests send to in-process MockTransport handlers.

Requests to the local server are validated by the server itself; this covers the rest, so every
request the client sends in the test suite is checked against openapi/willow-api.yaml.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
from openapi_core.datatypes import RequestParameters
from starlette.datastructures import Headers, QueryParams

from willow_ext.testing._spec import validator

Handler = Callable[[httpx.Request], httpx.Response]


class HttpxOpenAPIRequest:
    """openapi-core's request protocol over an httpx.Request (the path stays percent-encoded)."""

    def __init__(self, request: httpx.Request) -> None:
        self.request = request
        self.parameters = RequestParameters(
            query=QueryParams(request.url.query.decode()),
            header=Headers(raw=list(request.headers.raw)),
            cookie={},
        )

    @property
    def host_url(self) -> str:
        return f"{self.request.url.scheme}://{self.request.url.netloc.decode()}"

    @property
    def path(self) -> str:
        return self.request.url.raw_path.decode("ascii").split("?", 1)[0]

    @property
    def method(self) -> str:
        return self.request.method.lower()

    @property
    def body(self) -> bytes:
        return self.request.read()

    @property
    def content_type(self) -> str:
        return self.request.headers.get("content-type", "application/octet-stream")


def check_request(request: httpx.Request) -> None:
    try:
        validator(True).validate_request(HttpxOpenAPIRequest(request))
    except Exception as exc:  # openapi-core raises a family of errors
        raise AssertionError(
            f"{request.method} {request.url.path} violates the spec: {exc!r} {exc.__cause__!r}"
        ) from exc


def validating(handler: Handler) -> Handler:
    """Wrap a MockTransport handler: every request is checked against the spec first."""

    def checked(request: httpx.Request) -> httpx.Response:
        check_request(request)
        return handler(request)

    return checked


def mock_transport(handler: Handler) -> httpx.MockTransport:
    return httpx.MockTransport(validating(handler))


def api_transport(handler: Handler) -> httpx.MockTransport:
    """A validating transport whose token endpoint always grants ``tok``; ``handler`` gets the rest."""

    def with_token(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth2/token"):
            return httpx.Response(200, json={"access_token": "tok", "expires_in": 3599})
        return handler(request)

    return mock_transport(with_token)
