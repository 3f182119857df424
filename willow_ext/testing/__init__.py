"""An embedded, stateful local Willow v3 server for development and tests (like moto or Azurite).

``LocalWillow`` serves all 43 operations over real HTTP on loopback, issues and checks OAuth2
tokens, validates requests and responses against the pinned spec, pages like Willow, and injects
faults on demand. ``WillowApp`` is the bare ASGI app (mount it with ``httpx.ASGITransport``).
"""

from ._app import FaultConfig as FaultConfig
from ._app import ServerStats as ServerStats
from ._app import WillowApp as WillowApp
from ._seed import add_insight_trees as add_insight_trees
from ._seed import seed_building as seed_building
from ._server import LocalWillow as LocalWillow
from ._store import Store as Store

__all__ = ["FaultConfig", "LocalWillow", "ServerStats", "Store", "WillowApp", "add_insight_trees", "seed_building"]
