"""The typed error factory."""

from __future__ import annotations

import types

import httpx
import pytest

import willow_ext
from willow_ext import (
    APIStatusError,
    AuthenticationStatusError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)
from willow_ext._errors import excerpt, make_status_error


def _response(status: int, **kwargs: object) -> httpx.Response:
    request = httpx.Request("GET", "https://x.app.willowinc.com/api/v3/twins/T-1")
    response = httpx.Response(status, request=request, **kwargs)  # type: ignore[arg-type]
    response.read()
    return response


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationStatusError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, InternalServerError),
        (502, InternalServerError),
        (503, InternalServerError),
        (418, APIStatusError),
    ],
)
def test_one_class_per_status(status: int, cls: type[APIStatusError]) -> None:
    error = make_status_error(_response(status, text=""))
    assert type(error) is cls
    assert error.status_code == status
    assert isinstance(error, willow_ext.WillowError)


def test_problem_details_and_validation_errors_are_parsed() -> None:
    body = {
        "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
        "title": "One or more validation errors occurred.",
        "status": 400,
        "detail": None,
        "errors": {"pageSize": ["must be between 1 and 1000"], "$": "bad"},
        "traceId": "00-abc",
    }
    error = make_status_error(_response(400, json=body, headers={"x-request-id": "req-42"}))
    assert error.title == "One or more validation errors occurred."
    assert error.errors == {"pageSize": ["must be between 1 and 1000"], "$": ["bad"]}
    assert error.request_id == "req-42"
    assert error.body == body
    assert "GET /api/v3/twins/T-1 -> 400" in str(error)
    assert "pageSize: must be between 1 and 1000" in str(error)


def test_non_json_error_bodies_are_quoted_in_bounded_form() -> None:
    html = "<html>" + "x" * 5000 + "</html>"
    error = make_status_error(_response(503, text=html, headers={"content-type": "text/html"}))
    assert isinstance(error, InternalServerError)
    assert error.body == html
    assert len(str(error)) < 500
    assert "chars)" in str(error)


def test_excerpt_is_single_line_and_bounded() -> None:
    assert excerpt(b"a\n  b\tc") == "a b c"
    assert len(excerpt("y" * 10_000)) < 330


def test_public_errors_report_the_public_module() -> None:
    assert NotFoundError.__module__ == "willow_ext"
    public = {
        name
        for name in dir(willow_ext)
        if not name.startswith("_") and not isinstance(getattr(willow_ext, name), types.ModuleType)
    }
    assert set(willow_ext.__all__) == public
