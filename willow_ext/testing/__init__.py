"""An embedded, stateful local Willow v3 server for development and tests (like moto or Azurite).

``LocalWillow`` serves all 43 operations over real HTTP on loopback, issues and checks OAuth2
tokens, validates requests and responses against the pinned spec, pages like Willow, and injects
faults on demand. ``WillowApp`` is the bare ASGI app (mount it with ``httpx.ASGITransport``).

Needs the ``testing`` extra (``pip install 'willow-api[testing]'``). The names load on first use
(PEP 562), so the pytest plugin in this package loads in a base install too.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["FaultConfig", "LocalWillow", "ServerStats", "Store", "WillowApp", "add_insight_trees", "seed_building"]

INSTALL_HINT = "pip install 'willow-api[testing]'"

_HOMES = {
    "FaultConfig": "._app",
    "ServerStats": "._app",
    "WillowApp": "._app",
    "add_insight_trees": "._seed",
    "seed_building": "._seed",
    "LocalWillow": "._server",
    "Store": "._store",
}

if TYPE_CHECKING:
    # What type checkers see; at run time ``__getattr__`` below imports the same names on demand.
    from ._app import FaultConfig as FaultConfig
    from ._app import ServerStats as ServerStats
    from ._app import WillowApp as WillowApp
    from ._seed import add_insight_trees as add_insight_trees
    from ._seed import seed_building as seed_building
    from ._server import LocalWillow as LocalWillow
    from ._store import Store as Store
else:

    def __getattr__(name: str) -> Any:
        home = _HOMES.get(name)
        if home is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        try:
            module = importlib.import_module(home, __name__)
        except ImportError as exc:
            raise ImportError(
                f"willow_ext.testing needs the 'testing' extra ({exc.name} is missing): {INSTALL_HINT}",
                name=exc.name,
            ) from exc
        value = getattr(module, name)
        globals()[name] = value
        return value
