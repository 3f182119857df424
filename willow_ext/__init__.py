"""willow_ext: the hand-written layer over the generated Willow v3 client.

OAuth2 client credentials (``httpx.Auth``), retries (a wrapping transport), typed errors,
pagination (including insight parent/child trees) and bulk helpers. The low-level generated
package is ``willow_api_client``; every generated operation works through ``client.generated``.
"""

import sys as _sys
import typing as _typing
from importlib import import_module as _import_module

if _typing.TYPE_CHECKING:
    from ._auth import ClientCredentials as ClientCredentials
    from ._auth import ClientCredentialsAuth as ClientCredentialsAuth
    from ._auth import Secret as Secret
    from ._bulk import IngestFailure as IngestFailure
    from ._bulk import IngestReport as IngestReport
    from ._bulk import TwinLookup as TwinLookup
    from ._bulk import aexport_time_series as aexport_time_series
    from ._bulk import aget_twins as aget_twins
    from ._bulk import aingest as aingest
    from ._bulk import export_time_series as export_time_series
    from ._bulk import get_twins as get_twins
    from ._bulk import ingest as ingest
    from ._client import AsyncWillowClient as AsyncWillowClient
    from ._client import WillowClient as WillowClient
    from ._client import base_url_for as base_url_for
    from ._errors import APIConnectionError as APIConnectionError
    from ._errors import APIStatusError as APIStatusError
    from ._errors import APITimeoutError as APITimeoutError
    from ._errors import AuthenticationError as AuthenticationError
    from ._errors import AuthenticationStatusError as AuthenticationStatusError
    from ._errors import BadRequestError as BadRequestError
    from ._errors import ConflictError as ConflictError
    from ._errors import InternalServerError as InternalServerError
    from ._errors import InvalidPointError as InvalidPointError
    from ._errors import InvalidRequestError as InvalidRequestError
    from ._errors import NotFoundError as NotFoundError
    from ._errors import PermissionDeniedError as PermissionDeniedError
    from ._errors import RateLimitError as RateLimitError
    from ._errors import ResponseValidationError as ResponseValidationError
    from ._errors import UnprocessableEntityError as UnprocessableEntityError
    from ._errors import WillowError as WillowError
    from ._filters import sort_by as sort_by
    from ._filters import where as where
    from ._pagination import AsyncPager as AsyncPager
    from ._pagination import InsightTree as InsightTree
    from ._pagination import Pager as Pager
    from ._pagination import PaginationError as PaginationError
    from ._quirks import relationship_id as relationship_id
    from ._retry import AsyncRetryTransport as AsyncRetryTransport
    from ._retry import RetryPolicy as RetryPolicy
    from ._retry import RetryTransport as RetryTransport

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncPager",
    "AsyncRetryTransport",
    "AsyncWillowClient",
    "AuthenticationError",
    "AuthenticationStatusError",
    "BadRequestError",
    "ClientCredentials",
    "ClientCredentialsAuth",
    "ConflictError",
    "IngestFailure",
    "IngestReport",
    "InsightTree",
    "InternalServerError",
    "InvalidPointError",
    "InvalidRequestError",
    "NotFoundError",
    "Pager",
    "PaginationError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseValidationError",
    "RetryPolicy",
    "RetryTransport",
    "Secret",
    "TwinLookup",
    "UnprocessableEntityError",
    "WillowClient",
    "WillowError",
    "aexport_time_series",
    "aget_twins",
    "aingest",
    "base_url_for",
    "export_time_series",
    "get_twins",
    "ingest",
    "relationship_id",
    "sort_by",
    "where",
]

# Each public name and the private module that defines it. Importing willow_ext loads none of them:
# a module is imported when one of its names is first used (PEP 562), so `import willow_ext` and
# the CLI start fast (issue 14). Add new public names here and under TYPE_CHECKING above.
_SOURCE: dict[str, str] = {
    "APIConnectionError": "._errors",
    "APIStatusError": "._errors",
    "APITimeoutError": "._errors",
    "AsyncPager": "._pagination",
    "AsyncRetryTransport": "._retry",
    "AsyncWillowClient": "._client",
    "AuthenticationError": "._errors",
    "AuthenticationStatusError": "._errors",
    "BadRequestError": "._errors",
    "ClientCredentials": "._auth",
    "ClientCredentialsAuth": "._auth",
    "ConflictError": "._errors",
    "IngestFailure": "._bulk",
    "IngestReport": "._bulk",
    "InsightTree": "._pagination",
    "InternalServerError": "._errors",
    "InvalidPointError": "._errors",
    "InvalidRequestError": "._errors",
    "NotFoundError": "._errors",
    "Pager": "._pagination",
    "PaginationError": "._pagination",
    "PermissionDeniedError": "._errors",
    "RateLimitError": "._errors",
    "ResponseValidationError": "._errors",
    "RetryPolicy": "._retry",
    "RetryTransport": "._retry",
    "Secret": "._auth",
    "TwinLookup": "._bulk",
    "UnprocessableEntityError": "._errors",
    "WillowClient": "._client",
    "WillowError": "._errors",
    "aexport_time_series": "._bulk",
    "aget_twins": "._bulk",
    "aingest": "._bulk",
    "base_url_for": "._client",
    "export_time_series": "._bulk",
    "get_twins": "._bulk",
    "ingest": "._bulk",
    "relationship_id": "._quirks",
    "sort_by": "._filters",
    "where": "._filters",
}


def _public_paths() -> None:
    """Tracebacks and reprs show the public path (willow_ext.NotFoundError), not the private module:
    done for every public name whose module is loaded, each time a public name is first used."""
    for name, source in _SOURCE.items():
        module = _sys.modules.get(__name__ + source)
        obj = getattr(module, name, None)
        if obj is not None and getattr(obj, "__module__", "").startswith(__name__ + "._"):
            obj.__module__ = __name__


def __getattr__(name: str) -> _typing.Any:
    source = _SOURCE.get(name)
    if source is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_import_module(source, __name__), name)
    globals()[name] = value
    _public_paths()
    return value


def __dir__() -> list[str]:
    return sorted({name for name in globals() if name.startswith("_")} | set(__all__))
