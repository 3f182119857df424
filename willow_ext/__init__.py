"""willow_ext: the hand-written layer over the generated Willow v3 client.

OAuth2 client credentials (``httpx.Auth``), retries (a wrapping transport), typed errors,
pagination (including insight parent/child trees) and bulk helpers. The low-level generated
package is ``willow_api_client``; every generated operation works through ``client.generated``.
"""

import typing

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
from ._outputs import to_arrow as to_arrow
from ._outputs import to_pandas as to_pandas
from ._pagination import InsightTree as InsightTree
from ._pagination import PaginationError as PaginationError
from ._partial import partial_result as partial_result
from ._quirks import relationship_id as relationship_id
from ._requests import base_url_for as base_url_for
from ._retry import RetryPolicy as RetryPolicy
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

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "Accepted",
    "AsyncPager",
    "AsyncRetryTransport",
    "AsyncThrottleTransport",
    "AsyncWillowClient",
    "AuthenticationError",
    "AuthenticationStatusError",
    "BadRequestError",
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
    "InvalidRequestError",
    "MemoryBackend",
    "NotFoundError",
    "Pager",
    "PaginationError",
    "PermissionDeniedError",
    "RateLimitError",
    "RedisBackend",
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

# Tracebacks and reprs show the public path (willow_ext.NotFoundError), not the private module.
for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith("willow_ext._"):
        _obj.__module__ = "willow_ext"
del _name, _obj

if typing.TYPE_CHECKING:
    __version__: str
else:

    def __getattr__(name: str) -> str:
        # The installed distribution's version, read on first use: importlib.metadata costs tens of
        # milliseconds to import, too much for every `import willow_ext`. Hidden from type checkers,
        # which would otherwise accept any misspelled name as this function's return type.
        if name != "__version__":
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        from ._version import installed_version

        version = installed_version()
        globals()["__version__"] = version
        return version
