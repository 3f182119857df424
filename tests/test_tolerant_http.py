"""The tolerant-reading decisions on real HTTP answers from LocalWillow with planted deviations.

Each test sends the request over loopback, then decides the raw answer the way the client core
does: ``read_success`` first, then the generated module's parser on the (normalised) response.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from willow_api_client import Client
from willow_api_client.api.ticket_metadata import post_tickets_categories, put_tickets_categories
from willow_api_client.models import TicketCategory, TicketCategoryPage

from willow_ext import Accepted, ResponseValidationError
from willow_ext._tolerant import Readable, accept_unparsed, find_operation, read_success
from willow_ext.testing import LocalWillow
from willow_ext.testing._deviations import bare_array, deviating, html, no_body, status

PLANTED = deviating(
    no_body("PUT", "/tickets", 201),
    no_body("PATCH", "/tickets/categories/{categoryId}", 204),
    status("PUT", "/tickets/categories", 201),
    bare_array("POST", "/tickets/categories"),
    html("POST", "/time-series"),
    html("GET", "/twins/{id}"),
    status("GET", "/models/{id}", 201),
)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[LocalWillow, httpx.Client]]:
    with LocalWillow(middleware=PLANTED) as willow, httpx.Client(base_url=willow.base_url) as http:
        form = {
            "client_id": willow.client_id,
            "client_secret": willow.client_secret,
            "grant_type": "client_credentials",
        }
        http.headers["Authorization"] = "Bearer " + http.post("/oauth2/token", data=form).json()["access_token"]
        yield willow, http


def decide(response: httpx.Response, module: Any = None) -> Any:
    """What the client core will do with a 2xx answer (see the report to the lead)."""
    facts = find_operation(response.request.method, response.request.url.path, api_root="/api/v3")
    assert facts is not None
    reading = read_success(facts, response)
    if isinstance(reading, Accepted):
        return reading
    assert isinstance(reading, Readable)
    if module is None:
        return reading
    try:
        return module._parse_response(client=Client("http://unused"), response=reading.response)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return accept_unparsed(facts, response, exc)


def test_a_create_answered_201_without_a_body_is_accepted_and_the_ticket_exists(
    served: tuple[LocalWillow, httpx.Client],
) -> None:
    willow, http = served
    before = len(willow.store.tickets)
    answer = http.put("/tickets", json={"summary": "Leak on level 2"})
    result = decide(answer)
    assert isinstance(result, Accepted)
    assert (result.operation, result.status_code, result.body) == ("PUT /tickets", 201, None)
    assert len(willow.store.tickets) == before + 1  # the write happened: an error here would invite a duplicate


def test_a_metadata_update_answered_204_is_accepted(served: tuple[LocalWillow, httpx.Client]) -> None:
    willow, http = served
    category = next(iter(willow.store.metadata["categories"]))
    answer = http.patch(f"/tickets/categories/{category}", json=[{"op": "replace", "path": "/name", "value": "HVAC 2"}])
    result = decide(answer)
    assert isinstance(result, Accepted)
    assert result.status_code == 204
    assert willow.store.metadata["categories"][category]["name"] == "HVAC 2"


def test_a_create_answered_201_with_the_body_parses_to_the_model(served: tuple[LocalWillow, httpx.Client]) -> None:
    _, http = served
    answer = http.put("/tickets/categories", json={"name": "Fire"})
    assert answer.status_code == 201
    parsed = decide(answer, put_tickets_categories)
    assert isinstance(parsed, TicketCategory)
    assert parsed.name == "Fire"


def test_a_bare_array_list_is_read_in_full_not_as_an_empty_page(served: tuple[LocalWillow, httpx.Client]) -> None:
    willow, http = served
    answer = http.post("/tickets/categories", json={"page": 1, "pageSize": 100})
    assert isinstance(answer.json(), list)
    page = decide(answer, post_tickets_categories)
    assert isinstance(page, TicketCategoryPage)
    assert {c.id for c in page.items or []} == set(willow.store.metadata["categories"])
    assert len(page.items or []) > 1


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        (
            "POST",
            "/time-series",
            [{"connectorId": "C", "dtId": "T", "sourceTimestamp": "2026-01-01T00:00:00Z", "scalarValue": 1}],
        ),
        ("GET", "/twins/AHU-1", None),
    ],
)
def test_an_html_2xx_is_never_success(
    served: tuple[LocalWillow, httpx.Client], method: str, path: str, body: Any
) -> None:
    _, http = served
    answer = http.request(method, path, json=body)
    assert answer.is_success
    with pytest.raises(ResponseValidationError, match="HTML"):
        decide(answer)


def test_published_operations_stay_strict_about_the_status(served: tuple[LocalWillow, httpx.Client]) -> None:
    _, http = served
    answer = http.get(f"/models/{next(iter(served[0].store.models))}")
    assert answer.status_code == 201
    with pytest.raises(ResponseValidationError, match="not a documented success"):
        decide(answer)


def test_import_willow_ext_stays_cheap() -> None:
    # The tolerant reader and its facts table are plain Python; the probe's heavy parts load lazily.
    code = (
        "import sys, willow_ext; "
        "heavy = ('openapi_core', 'starlette', 'uvicorn', 'yaml', 'willow_ext._probe'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"
