"""The CLI's log filter: credentials never reach a log line, whatever library logs them."""

from __future__ import annotations

import io
import logging

import pytest

from willow_ext._log_redaction import REDACTED, RedactingFilter, redact

SECRET = "s3cr/et+value=="


@pytest.mark.parametrize(
    "line",
    [
        f"client_secret={SECRET}",
        "client_secret=s3cr%2Fet%2Bvalue%3D%3D",  # form-encoded
        "grant_type=client_credentials&client_secret=s3cr%2Fet%2Bvalue%3D%3D&client_id=x",
        '{"access_token": "eyJhbGciOi.payload.sig", "expires_in": 3599}',
        "Authorization: Bearer eyJhbGciOi.payload.sig",
        "headers={'authorization': 'Basic dXNlcjpzM2Ny'}",
        "return_value=(b'HTTP/1.1', 200, b'OK', [(b'set-cookie', b'session=eyJhbGciOi.payload.sig; Path=/')])",
        "send_request_headers [(b'Authorization', b'Bearer eyJhbGciOi.payload.sig')]",
        f"error talking to the token endpoint with {SECRET}",
    ],
)
def test_credentials_are_redacted(line: str) -> None:
    cleaned = redact(line, [SECRET])
    assert REDACTED in cleaned
    for fragment in ("s3cr", "eyJhbGciOi", "payload.sig", "dXNlcjpzM2Ny", "session="):
        assert fragment not in cleaned


def test_ordinary_lines_are_untouched() -> None:
    line = "GET /api/v3/twins/AHU-1 -> 200 attempt=1 elapsed_ms=26"
    assert redact(line, [SECRET]) == line


def test_the_filter_rewrites_records_of_every_logger_under_the_handler() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter([SECRET]))
    logger = logging.getLogger("tests.redaction.child")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("token response %s", {"access_token": "eyJhbGciOi.payload.sig"})
        try:
            raise RuntimeError(f"failed with {SECRET}")
        except RuntimeError:
            logger.exception("boom")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert "eyJhbGciOi" not in output
    assert "s3cr" not in output
    assert output.count(REDACTED) == 2
    assert "RuntimeError: failed with [redacted]" in output
