"""willow_ext: the hand-written layer over the generated Willow v3 client.

OAuth2 client credentials (``httpx.Auth``), retries (a wrapping transport), typed errors,
pagination (including insight parent/child trees) and bulk helpers. The low-level generated
package is ``willow_api_client``; every generated operation works through ``client.generated``.
"""

import sys as _sys
import typing as _typing
from importlib import import_module as _import_module

if _typing.TYPE_CHECKING:
    from ._async._body_limit_transport import AsyncBodyLimitTransport as AsyncBodyLimitTransport
    from ._async._client import AsyncWillowClient as AsyncWillowClient
    from ._async._export import aexport_time_series as aexport_time_series
    from ._async._export import async_export_to_files as aexport_to_files
    from ._async._pager import AsyncPager as AsyncPager
    from ._async._retry_transport import AsyncRetryTransport as AsyncRetryTransport
    from ._async._throttle_transport import AsyncThrottleTransport as AsyncThrottleTransport
    from ._auth import ClientCredentials as ClientCredentials
    from ._auth import ClientCredentialsAuth as ClientCredentialsAuth
    from ._auth import Secret as Secret
    from ._bulk import ChunkFailure as ChunkFailure
    from ._bulk import IngestFailure as IngestFailure
    from ._bulk import IngestReport as IngestReport
    from ._bulk import TwinLookup as TwinLookup
    from ._bulk import aget_twins as aget_twins
    from ._bulk import aingest as aingest
    from ._bulk import get_twins as get_twins
    from ._bulk import ingest as ingest
    from ._errors import APIConnectionError as APIConnectionError
    from ._errors import APIStatusError as APIStatusError
    from ._errors import APITimeoutError as APITimeoutError
    from ._errors import AuthenticationError as AuthenticationError
    from ._errors import AuthenticationStatusError as AuthenticationStatusError
    from ._errors import BadRequestError as BadRequestError
    from ._errors import ConflictError as ConflictError
    from ._errors import InternalServerError as InternalServerError
    from ._errors import InvalidArgumentTypeError as InvalidArgumentTypeError
    from ._errors import InvalidPointError as InvalidPointError
    from ._errors import InvalidRequestError as InvalidRequestError
    from ._errors import NotFoundError as NotFoundError
    from ._errors import PermissionDeniedError as PermissionDeniedError
    from ._errors import RateLimitError as RateLimitError
    from ._errors import ResponseValidationError as ResponseValidationError
    from ._errors import UnprocessableEntityError as UnprocessableEntityError
    from ._errors import WillowError as WillowError
    from ._export_job import ExportReport as ExportReport
    from ._export_job import UnitFailure as UnitFailure
    from ._export_plan import ExportPlan as ExportPlan
    from ._export_plan import plan_export as plan_export
    from ._filters import sort_by as sort_by
    from ._filters import where as where
    from ._limits import ResponseTooLargeError as ResponseTooLargeError
    from ._outputs import to_arrow as to_arrow
    from ._outputs import to_pandas as to_pandas
    from ._pagination import InsightTree as InsightTree
    from ._pagination import PaginationError as PaginationError
    from ._partial import partial_result as partial_result
    from ._quirks import relationship_id as relationship_id
    from ._requests import base_url_for as base_url_for
    from ._retry import RetryPolicy as RetryPolicy
    from ._sync._body_limit_transport import BodyLimitTransport as BodyLimitTransport
    from ._sync._client import WillowClient as WillowClient
    from ._sync._export import export_time_series as export_time_series
    from ._sync._export import sync_export_to_files as export_to_files
    from ._sync._pager import Pager as Pager
    from ._sync._retry_transport import RetryTransport as RetryTransport
    from ._sync._throttle_transport import ThrottleTransport as ThrottleTransport
    from ._throttle import ThrottlePolicy as ThrottlePolicy
    from ._throttle_backends import MemoryBackend as MemoryBackend
    from ._throttle_backends import RedisBackend as RedisBackend
    from ._throttle_backends import SqliteBackend as SqliteBackend
    from ._throttle_backends import ThrottleBackend as ThrottleBackend
    from ._throttle_transport import ThrottleError as ThrottleError
    from ._throttle_transport import ThrottleStats as ThrottleStats
    from ._tolerant import Accepted as Accepted

    __version__: str

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "Accepted",
    "AsyncBodyLimitTransport",
    "AsyncPager",
    "AsyncRetryTransport",
    "AsyncThrottleTransport",
    "AsyncWillowClient",
    "AuthenticationError",
    "AuthenticationStatusError",
    "BadRequestError",
    "BodyLimitTransport",
    "ChunkFailure",
    "ClientCredentials",
    "ClientCredentialsAuth",
    "ConflictError",
    "ExportPlan",
    "ExportReport",
    "IngestFailure",
    "IngestReport",
    "InsightTree",
    "InternalServerError",
    "InvalidArgumentTypeError",
    "InvalidPointError",
    "InvalidRequestError",
    "MemoryBackend",
    "NotFoundError",
    "Pager",
    "PaginationError",
    "PermissionDeniedError",
    "RateLimitError",
    "RedisBackend",
    "ResponseTooLargeError",
    "ResponseValidationError",
    "RetryPolicy",
    "RetryTransport",
    "Secret",
    "SqliteBackend",
    "ThrottleBackend",
    "ThrottleError",
    "ThrottlePolicy",
    "ThrottleStats",
    "ThrottleTransport",
    "TwinLookup",
    "UnitFailure",
    "UnprocessableEntityError",
    "WillowClient",
    "WillowError",
    "aexport_time_series",
    "aexport_to_files",
    "aget_twins",
    "aingest",
    "base_url_for",
    "export_time_series",
    "export_to_files",
    "get_twins",
    "ingest",
    "partial_result",
    "plan_export",
    "relationship_id",
    "sort_by",
    "to_arrow",
    "to_pandas",
    "where",
]

# Each public name and where it is defined: (private module, attribute). Importing willow_ext loads
# none of them; a module is imported when one of its names is first used (PEP 562), so
# `import willow_ext` and the CLI start fast. A new public name goes in three places: __all__,
# here, and under TYPE_CHECKING above (tests/test_public_api.py checks that they agree).
_SOURCE: dict[str, tuple[str, str]] = {
    "AsyncBodyLimitTransport": ("._async._body_limit_transport", "AsyncBodyLimitTransport"),
    "BodyLimitTransport": ("._sync._body_limit_transport", "BodyLimitTransport"),
    "ResponseTooLargeError": ("._limits", "ResponseTooLargeError"),
    "APIConnectionError": ("._errors", "APIConnectionError"),
    "APIStatusError": ("._errors", "APIStatusError"),
    "APITimeoutError": ("._errors", "APITimeoutError"),
    "Accepted": ("._tolerant", "Accepted"),
    "AsyncPager": ("._async._pager", "AsyncPager"),
    "AsyncRetryTransport": ("._async._retry_transport", "AsyncRetryTransport"),
    "AsyncThrottleTransport": ("._async._throttle_transport", "AsyncThrottleTransport"),
    "AsyncWillowClient": ("._async._client", "AsyncWillowClient"),
    "AuthenticationError": ("._errors", "AuthenticationError"),
    "AuthenticationStatusError": ("._errors", "AuthenticationStatusError"),
    "BadRequestError": ("._errors", "BadRequestError"),
    "ChunkFailure": ("._bulk", "ChunkFailure"),
    "ClientCredentials": ("._auth", "ClientCredentials"),
    "ClientCredentialsAuth": ("._auth", "ClientCredentialsAuth"),
    "ConflictError": ("._errors", "ConflictError"),
    "ExportPlan": ("._export_plan", "ExportPlan"),
    "ExportReport": ("._export_job", "ExportReport"),
    "IngestFailure": ("._bulk", "IngestFailure"),
    "IngestReport": ("._bulk", "IngestReport"),
    "InsightTree": ("._pagination", "InsightTree"),
    "InternalServerError": ("._errors", "InternalServerError"),
    "InvalidPointError": ("._errors", "InvalidPointError"),
    "InvalidArgumentTypeError": ("._errors", "InvalidArgumentTypeError"),
    "InvalidRequestError": ("._errors", "InvalidRequestError"),
    "MemoryBackend": ("._throttle_backends", "MemoryBackend"),
    "NotFoundError": ("._errors", "NotFoundError"),
    "Pager": ("._sync._pager", "Pager"),
    "PaginationError": ("._pagination", "PaginationError"),
    "PermissionDeniedError": ("._errors", "PermissionDeniedError"),
    "RateLimitError": ("._errors", "RateLimitError"),
    "RedisBackend": ("._throttle_backends", "RedisBackend"),
    "ResponseValidationError": ("._errors", "ResponseValidationError"),
    "RetryPolicy": ("._retry", "RetryPolicy"),
    "RetryTransport": ("._sync._retry_transport", "RetryTransport"),
    "Secret": ("._auth", "Secret"),
    "SqliteBackend": ("._throttle_backends", "SqliteBackend"),
    "ThrottleBackend": ("._throttle_backends", "ThrottleBackend"),
    "ThrottleError": ("._throttle_transport", "ThrottleError"),
    "ThrottlePolicy": ("._throttle", "ThrottlePolicy"),
    "ThrottleStats": ("._throttle_transport", "ThrottleStats"),
    "ThrottleTransport": ("._sync._throttle_transport", "ThrottleTransport"),
    "TwinLookup": ("._bulk", "TwinLookup"),
    "UnitFailure": ("._export_job", "UnitFailure"),
    "UnprocessableEntityError": ("._errors", "UnprocessableEntityError"),
    "WillowClient": ("._sync._client", "WillowClient"),
    "WillowError": ("._errors", "WillowError"),
    "aexport_time_series": ("._async._export", "aexport_time_series"),
    "aexport_to_files": ("._async._export", "async_export_to_files"),
    "aget_twins": ("._bulk", "aget_twins"),
    "aingest": ("._bulk", "aingest"),
    "base_url_for": ("._requests", "base_url_for"),
    "export_time_series": ("._sync._export", "export_time_series"),
    "export_to_files": ("._sync._export", "sync_export_to_files"),
    "get_twins": ("._bulk", "get_twins"),
    "ingest": ("._bulk", "ingest"),
    "partial_result": ("._partial", "partial_result"),
    "plan_export": ("._export_plan", "plan_export"),
    "relationship_id": ("._quirks", "relationship_id"),
    "sort_by": ("._filters", "sort_by"),
    "to_arrow": ("._outputs", "to_arrow"),
    "to_pandas": ("._outputs", "to_pandas"),
    "where": ("._filters", "where"),
}


def _public_paths() -> None:
    """Tracebacks and reprs show the public path (willow_ext.NotFoundError), not the private module:
    done for every public name whose module is loaded, each time a public name is first used."""
    for source, attribute in _SOURCE.values():
        module = _sys.modules.get(__name__ + source)
        obj = getattr(module, attribute, None)
        if obj is not None and getattr(obj, "__module__", "").startswith(__name__ + "._"):
            obj.__module__ = __name__


def __getattr__(name: str) -> _typing.Any:
    if name == "__version__":
        # The installed distribution's version, read on first use: importlib.metadata costs tens
        # of milliseconds to import, too much for every `import willow_ext`.
        from ._version import installed_version

        version = installed_version()
        globals()["__version__"] = version
        return version
    found = _SOURCE.get(name)
    if found is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    source, attribute = found
    value = getattr(_import_module(source, __name__), attribute)
    globals()[name] = value
    _public_paths()
    return value


def __dir__() -> list[str]:
    return sorted({name for name in globals() if name.startswith("_")} | set(__all__))
