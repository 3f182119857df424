"""The process-wide secret registry behind every message and log line.

A registration happens while other callers wait for a token (the auth flow holds its lock), so
its cost must not grow with what was registered before: a registry rebuilt whole on each
registration once turned a 1 MB bogus token, registered earlier in the process, into seconds per
later token refresh — a stall under 3 s tokens.
"""

from __future__ import annotations

import json
import secrets
from urllib.parse import quote, quote_plus

import pytest

from willow_ext import _redact
from willow_ext._auth import Secret
from willow_ext._redact import MASK, redact, register_secret, safe_text


@pytest.fixture
def fresh_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty registry for this test; the process's own is put back afterwards."""
    monkeypatch.setattr(_redact, "_registry", type(_redact._registry)())
    monkeypatch.setattr(_redact, "_scan", ())
    monkeypatch.setattr(_redact, "_permanent", {})


def test_a_registration_computes_the_forms_of_the_new_secret_only(
    fresh_registry: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    computed: list[int] = []
    real_forms_of = _redact.forms_of

    def counting_forms_of(secret: str) -> set[str]:
        computed.append(len(secret))
        return real_forms_of(secret)

    monkeypatch.setattr(_redact, "forms_of", counting_forms_of)
    for index in range(5):
        register_secret(f"{index}" + "x/&é" * 250_000)  # a megabyte each, every encoding different
    patterns_before = _redact._pattern_for.cache_info().currsize
    register_secret("a-fresh-access-token-value")
    register_secret("a-fresh-access-token-value")  # again: nothing to do
    assert computed == [1_000_001] * 5 + [26]
    assert _redact._pattern_for.cache_info().currsize == patterns_before  # no regex built on registration


def test_every_form_of_every_secret_is_masked_with_a_crowded_registry(fresh_registry: None) -> None:
    remembered = [secrets.token_urlsafe(32) for _ in range(_redact._MAX_REMEMBERED - 1)]
    for secret in remembered:
        register_secret(secret)
    odd = "s3cr/et+value== é<&>"
    register_secret(odd)
    for secret in (remembered[0], remembered[-1], odd):
        for form in (secret, quote(secret, safe=""), quote_plus(secret), quote(secret, safe="").lower()):
            text = f"echoed: {form} (end)"
            assert redact(text) == f"echoed: {MASK} (end)", form
    assert redact("nothing secret here") == "nothing secret here"


def test_a_secret_containing_another_is_masked_whole(fresh_registry: None) -> None:
    register_secret("inner-secret")
    register_secret("outer-inner-secret-tail")
    assert redact("x outer-inner-secret-tail y inner-secret z") == f"x {MASK} y {MASK} z"


def test_the_oldest_secret_is_forgotten_once_the_registry_is_full(fresh_registry: None) -> None:
    first = "the-very-first-token"
    register_secret(first)
    for _ in range(_redact._MAX_REMEMBERED):
        register_secret(secrets.token_urlsafe(32))
    assert len(_redact._registry) == _redact._MAX_REMEMBERED
    assert first not in _redact._registry
    assert safe_text(first) == first


def test_short_values_are_not_registered(fresh_registry: None) -> None:
    register_secret("short")
    assert redact("a short message") == "a short message"


def test_forms_cover_what_common_libraries_write_and_what_python_reprs_show() -> None:
    secret = "s3c/r+e t~*!'\"\\é<&>\u2028"
    forms = {form.lower() for form in _redact.forms_of(secret)}  # matching ignores case
    expected = {
        "PHP json_encode": json.dumps(secret)[1:-1].replace("/", "\\/"),
        "Go encoding/json": json.dumps(secret, ensure_ascii=False)[1:-1]
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028"),
        "JavaScript encodeURIComponent": quote(secret, safe="!'()*"),
        "Java URLEncoder": quote_plus(secret, safe="*").replace("~", "%7E"),
        "PHP urlencode": quote_plus(secret).replace("~", "%7E"),
        "repr of the str": repr(secret)[1:-1],
        "ascii of the str": ascii(secret)[1:-1],
        "repr of the UTF-8 bytes (httpcore's header log)": repr(secret.encode())[2:-1],
        "repr of the UTF-8 bytes of the form encoding": repr(quote_plus(secret).encode())[2:-1],
    }
    missing = [name for name, form in expected.items() if form.lower() not in forms]
    assert not missing


def test_a_secret_quoted_with_repr_is_masked_whichever_quotes_repr_picks(fresh_registry: None) -> None:
    secret = "it's-a\\secret-é"
    register_secret(secret)
    for shown in (repr(secret), repr(secret + '"'), ascii(secret), repr(secret.encode()), repr(secret.encode() + b'"')):
        assert "secret" not in redact(f"got {shown}").replace(MASK, ""), shown


def test_a_huge_secret_gets_no_repr_forms() -> None:
    huge = "x/é" * (_redact._MAX_REPR_CHARS // 3 + 1)
    assert repr(huge.encode())[2:-1] not in _redact.forms_of(huge)
    assert huge in _redact.forms_of(huge)


def test_a_client_secret_outlives_any_number_of_token_refreshes(fresh_registry: None) -> None:
    client_secret = Secret("client-secret-VALUE-123")
    token_seen_early = "an-early-access-token"
    register_secret(token_seen_early)
    for _ in range(_redact._MAX_REMEMBERED * 2):  # a service's tokens over many days
        register_secret(secrets.token_urlsafe(32))
    register_secret(client_secret.get_secret_value())  # registered again: still kept
    assert redact("leak client-secret-VALUE-123") == f"leak {MASK}"
    assert len(_redact._registry) == _redact._MAX_REMEMBERED  # tokens stay bounded
    assert token_seen_early not in _redact._registry


def test_a_token_registered_again_is_the_last_to_be_forgotten(fresh_registry: None) -> None:
    current = "the-current-access-token"
    register_secret(current)
    for _ in range(_redact._MAX_REMEMBERED - 1):
        register_secret(secrets.token_urlsafe(32))
    register_secret(current)  # still in use: moves to the end
    register_secret(secrets.token_urlsafe(32))
    assert current in _redact._registry
